// Package client is a Go client of the node's API (docs/node.md §4) over
// go-ethereum's rpc client: one typed method per API method, subscription
// helpers (websocket only), and WaitTx. API errors come back as
// *rpc.APIError (errors.As), and errors.Is matches them against the
// sentinels of rpc's error table (errors.Is(err, types.ErrBadSignature)).
package client

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	gethrpc "github.com/ethereum/go-ethereum/rpc"

	"github.com/modex/modex/rpc"
	"github.com/modex/modex/types"
)

// Client is an API client. It is safe for concurrent use.
type Client struct {
	c    *gethrpc.Client
	isWS bool
}

// Dial connects to an http(s):// or ws(s):// URL. Subscriptions need a
// websocket URL.
func Dial(ctx context.Context, url string, opts ...gethrpc.ClientOption) (*Client, error) {
	c, err := gethrpc.DialOptions(ctx, url, opts...)
	if err != nil {
		return nil, err
	}
	u := strings.ToLower(url)
	return &Client{c: c, isWS: strings.HasPrefix(u, "ws://") || strings.HasPrefix(u, "wss://")}, nil
}

// New wraps a go-ethereum rpc client (isWS: whether it can subscribe).
func New(c *gethrpc.Client, isWS bool) *Client { return &Client{c: c, isWS: isWS} }

// Close closes the connection.
func (c *Client) Close() { c.c.Close() }

// RPC is the underlying go-ethereum client.
func (c *Client) RPC() *gethrpc.Client { return c.c }

func (c *Client) call(ctx context.Context, result any, method string, args ...any) error {
	return rpc.DecodeError(c.c.CallContext(ctx, result, method, args...))
}

// optional returns nil for a zero value (the server then takes its default).
func optional[T comparable](v T) *T {
	var zero T
	if v == zero {
		return nil
	}
	return &v
}

// SubmitTx encodes (types.EncodeTx) and submits a signed transaction.
func (c *Client) SubmitTx(ctx context.Context, tx types.SignedTx) (common.Hash, error) {
	raw, err := types.EncodeTx(tx)
	if err != nil {
		return common.Hash{}, fmt.Errorf("client: encode tx: %w", err)
	}
	return c.SubmitRaw(ctx, raw)
}

// SubmitRaw submits an encoded transaction (tx_submit).
func (c *Client) SubmitRaw(ctx context.Context, raw []byte) (common.Hash, error) {
	var h common.Hash
	err := c.call(ctx, &h, "tx_submit", hexutil.Bytes(raw))
	return h, err
}

// SubmitBatch submits signed transactions in order (tx_submitBatch); each
// result has a hash or an error.
func (c *Client) SubmitBatch(ctx context.Context, txs []types.SignedTx) ([]rpc.SubmitResult, error) {
	raws := make([]hexutil.Bytes, len(txs))
	for i, tx := range txs {
		b, err := types.EncodeTx(tx)
		if err != nil {
			return nil, fmt.Errorf("client: encode tx %d: %w", i, err)
		}
		raws[i] = b
	}
	var res []rpc.SubmitResult
	err := c.call(ctx, &res, "tx_submitBatch", raws)
	return res, err
}

// Tx is a transaction's status (tx_info).
func (c *Client) Tx(ctx context.Context, hash common.Hash) (*rpc.TxInfo, error) {
	var v rpc.TxInfo
	if err := c.call(ctx, &v, "tx_info", hash); err != nil {
		return nil, err
	}
	return &v, nil
}

// History is a page of an account's transactions (tx_history); cursor ""
// is the first page, limit 0 the server's default.
func (c *Client) History(ctx context.Context, account uint32, cursor string, limit int) (*rpc.Page[rpc.TxInfo], error) {
	var v rpc.Page[rpc.TxInfo]
	if err := c.call(ctx, &v, "tx_history", account, optional(cursor), optional(limit)); err != nil {
		return nil, err
	}
	return &v, nil
}

// Account is an account's state (account_info).
func (c *Client) Account(ctx context.Context, id uint32) (*rpc.AccountInfo, error) {
	var v rpc.AccountInfo
	if err := c.call(ctx, &v, "account_info", id); err != nil {
		return nil, err
	}
	return &v, nil
}

// AccountByAddress is the accounts bound to an L1 address (account_byAddress).
func (c *Client) AccountByAddress(ctx context.Context, l1 common.Address) ([]uint32, error) {
	var v []uint32
	err := c.call(ctx, &v, "account_byAddress", l1)
	return v, err
}

// PlaceOrder encodes (types.EncodeOrder) and places a signed order
// (market_placeOrder).
func (c *Client) PlaceOrder(ctx context.Context, o *types.Order) (*rpc.OrderResult, error) {
	raw, err := types.EncodeOrder(o)
	if err != nil {
		return nil, fmt.Errorf("client: encode order: %w", err)
	}
	var v rpc.OrderResult
	if err := c.call(ctx, &v, "market_placeOrder", hexutil.Bytes(raw)); err != nil {
		return nil, err
	}
	return &v, nil
}

// Markets is every market (market_list).
func (c *Client) Markets(ctx context.Context) ([]rpc.Market, error) {
	var v []rpc.Market
	err := c.call(ctx, &v, "market_list")
	return v, err
}

// Book is the top of a market's book (market_book); depth 0 is the server's
// default.
func (c *Client) Book(ctx context.Context, model uint16, depth int) (*rpc.BookSnapshot, error) {
	var v rpc.BookSnapshot
	if err := c.call(ctx, &v, "market_book", model, optional(depth)); err != nil {
		return nil, err
	}
	return &v, nil
}

// Trades is a page of a market's trades (market_trades).
func (c *Client) Trades(ctx context.Context, model uint16, cursor string, limit int) (*rpc.Page[rpc.TradeInfo], error) {
	var v rpc.Page[rpc.TradeInfo]
	if err := c.call(ctx, &v, "market_trades", model, optional(cursor), optional(limit)); err != nil {
		return nil, err
	}
	return &v, nil
}

// Models is every model (model_list).
func (c *Client) Models(ctx context.Context) ([]rpc.ModelInfo, error) {
	var v []rpc.ModelInfo
	err := c.call(ctx, &v, "model_list")
	return v, err
}

// Model is one model (model_info).
func (c *Client) Model(ctx context.Context, id uint16) (*rpc.ModelInfo, error) {
	var v rpc.ModelInfo
	if err := c.call(ctx, &v, "model_info", id); err != nil {
		return nil, err
	}
	return &v, nil
}

// Assets is every base token (asset_list).
func (c *Client) Assets(ctx context.Context) ([]rpc.Asset, error) {
	var v []rpc.Asset
	err := c.call(ctx, &v, "asset_list")
	return v, err
}

// FeeQuote is the fee for a transaction kind (fee_quote).
func (c *Client) FeeQuote(ctx context.Context, kind types.Kind) (*rpc.FeeQuote, error) {
	var v rpc.FeeQuote
	if err := c.call(ctx, &v, "fee_quote", kind.String()); err != nil {
		return nil, err
	}
	return &v, nil
}

// Batch is a batch's header and status (batch_info).
func (c *Client) Batch(ctx context.Context, n uint64) (*rpc.BatchInfo, error) {
	var v rpc.BatchInfo
	if err := c.call(ctx, &v, "batch_info", n); err != nil {
		return nil, err
	}
	return &v, nil
}

// SyncStatus is the node's heads (node_syncStatus).
func (c *Client) SyncStatus(ctx context.Context) (*rpc.SyncStatus, error) {
	var v rpc.SyncStatus
	if err := c.call(ctx, &v, "node_syncStatus"); err != nil {
		return nil, err
	}
	return &v, nil
}

// Contracts are the L1 addresses (node_contracts).
func (c *Client) Contracts(ctx context.Context) (*rpc.Contracts, error) {
	var v rpc.Contracts
	if err := c.call(ctx, &v, "node_contracts"); err != nil {
		return nil, err
	}
	return &v, nil
}

// Health is the node's health (node_health).
func (c *Client) Health(ctx context.Context) (*rpc.Health, error) {
	var v rpc.Health
	if err := c.call(ctx, &v, "node_health"); err != nil {
		return nil, err
	}
	return &v, nil
}

// Priority is a priority request's status (bridge_priority).
func (c *Client) Priority(ctx context.Context, id uint64) (*rpc.PriorityInfo, error) {
	var v rpc.PriorityInfo
	if err := c.call(ctx, &v, "bridge_priority", id); err != nil {
		return nil, err
	}
	return &v, nil
}

// Withdrawal is an L2 withdrawal's status (bridge_withdrawal).
func (c *Client) Withdrawal(ctx context.Context, hash common.Hash) (*rpc.WithdrawalInfo, error) {
	var v rpc.WithdrawalInfo
	if err := c.call(ctx, &v, "bridge_withdrawal", hash); err != nil {
		return nil, err
	}
	return &v, nil
}

// StartSequencing resumes sequencing (admin_startSequencing; the node must
// serve the admin namespace).
func (c *Client) StartSequencing(ctx context.Context) error {
	return c.call(ctx, nil, "admin_startSequencing")
}

// StopSequencing stops sequencing (admin_stopSequencing).
func (c *Client) StopSequencing(ctx context.Context) error {
	return c.call(ctx, nil, "admin_stopSequencing")
}

// Subscriptions (websocket only). ctx bounds only the subscribe call; end a
// subscription with Unsubscribe. Its Err channel reports a lost connection
// (the server closes the connection of a subscriber that falls
// rpc.SubscriptionBuffer notifications behind).

func (c *Client) subscribe(ctx context.Context, ch any, args ...any) (*gethrpc.ClientSubscription, error) {
	sub, err := c.c.Subscribe(ctx, "modex", ch, args...)
	return sub, rpc.DecodeError(err)
}

// SubscribeBatches sends every new or changed batch to ch.
func (c *Client) SubscribeBatches(ctx context.Context, ch chan<- *rpc.BatchInfo) (*gethrpc.ClientSubscription, error) {
	return c.subscribe(ctx, ch, "batches")
}

// SubscribeTx sends a transaction's status changes to ch, starting with its
// current status when the node knows it.
func (c *Client) SubscribeTx(ctx context.Context, hash common.Hash, ch chan<- *rpc.TxInfo) (*gethrpc.ClientSubscription, error) {
	return c.subscribe(ctx, ch, "tx", hash)
}

// SubscribeAccount sends an account's updates to ch, starting with its
// current state when it exists.
func (c *Client) SubscribeAccount(ctx context.Context, id uint32, ch chan<- *rpc.AccountUpdate) (*gethrpc.ClientSubscription, error) {
	return c.subscribe(ctx, ch, "account", id)
}

// SubscribeBook sends a market's book to ch: one event with the snapshot,
// then the deltas after it.
func (c *Client) SubscribeBook(ctx context.Context, model uint16, ch chan<- *rpc.BookEvent) (*gethrpc.ClientSubscription, error) {
	return c.subscribe(ctx, ch, "orderbook", model)
}

// SubscribeTrades sends a market's trades to ch.
func (c *Client) SubscribeTrades(ctx context.Context, model uint16, ch chan<- *rpc.TradeInfo) (*gethrpc.ClientSubscription, error) {
	return c.subscribe(ctx, ch, "trades", model)
}

// SubscribeRedemptions sends a model's credit redemptions to ch.
func (c *Client) SubscribeRedemptions(ctx context.Context, model uint16, ch chan<- *rpc.Redemption) (*gethrpc.ClientSubscription, error) {
	return c.subscribe(ctx, ch, "redemptions", model)
}

// StatusRank orders the lifecycle pending < included < proven < finalized
// (1..4); failed, replaced and unknown statuses are 0.
func StatusRank(s rpc.TxStatus) int {
	switch s {
	case rpc.TxPending:
		return 1
	case rpc.TxIncluded:
		return 2
	case rpc.TxProven:
		return 3
	case rpc.TxFinalized:
		return 4
	}
	return 0
}

// PollInterval is WaitTx's polling period over HTTP.
var PollInterval = 250 * time.Millisecond

// WaitOption configures WaitTx.
type WaitOption func(*waitConfig)

type waitConfig struct {
	every    time.Duration
	progress func(v *rpc.TxInfo, changed bool)
}

// WithProgress has WaitTx call fn with the transaction's info each time
// its status changes (changed true, the first known status included), and
// with the latest info every `every` while it does not (changed false;
// every 0: only on changes). fn runs on WaitTx's goroutine.
func WithProgress(every time.Duration, fn func(v *rpc.TxInfo, changed bool)) WaitOption {
	return func(c *waitConfig) { c.every, c.progress = every, fn }
}

// WaitTx waits until the transaction reaches at least status (pending <
// included < proven < finalized) and returns its info. A failed
// transaction returns its error as *rpc.APIError; a replaced one
// rpc.ErrTxReplaced's. Over websocket it subscribes, else it polls; an
// unknown hash is waited for (until ctx ends). WithProgress reports the
// way there.
func (c *Client) WaitTx(ctx context.Context, hash common.Hash, status rpc.TxStatus, opts ...WaitOption) (*rpc.TxInfo, error) {
	want := StatusRank(status)
	if want == 0 {
		return nil, fmt.Errorf("client: WaitTx: cannot wait for status %q", status)
	}
	var cfg waitConfig
	for _, o := range opts {
		o(&cfg)
	}
	var (
		last       *rpc.TxInfo
		lastReport time.Time
	)
	report := func(v *rpc.TxInfo) {
		if cfg.progress == nil || v == nil {
			return
		}
		changed := last == nil || last.Status != v.Status || last.Batch != v.Batch
		last = v
		if changed || (cfg.every > 0 && time.Since(lastReport) >= cfg.every) {
			lastReport = time.Now()
			cfg.progress(v, changed)
		}
	}
	check := func(v *rpc.TxInfo) (bool, error) {
		report(v)
		switch v.Status {
		case rpc.TxFailed:
			if v.Error != nil {
				return true, &rpc.APIError{Code: v.Error.Code, Reason: v.Error.Reason, Message: v.Error.Message}
			}
			return true, &rpc.APIError{Code: rpc.CodeInternal, Reason: rpc.ReasonInternal, Message: "transaction failed"}
		case rpc.TxReplaced:
			return true, rpc.Wrap(rpc.ErrTxReplaced)
		}
		return StatusRank(v.Status) >= want, nil
	}
	var (
		updates chan *rpc.TxInfo
		sub     *gethrpc.ClientSubscription
	)
	if c.isWS {
		updates = make(chan *rpc.TxInfo, 16)
		s, err := c.SubscribeTx(ctx, hash, updates)
		if err != nil {
			return nil, err
		}
		sub = s
		defer sub.Unsubscribe()
	}
	// One poll first (and the only mechanism over HTTP).
	poll := func() (*rpc.TxInfo, bool, error) {
		v, err := c.Tx(ctx, hash)
		if errors.Is(err, rpc.ErrTxNotFound) {
			return nil, false, nil
		}
		if err != nil {
			return nil, false, err
		}
		done, err := check(v)
		return v, done, err
	}
	if v, done, err := poll(); err != nil || done {
		return v, err
	}
	ticker := time.NewTicker(PollInterval)
	defer ticker.Stop()
	var subErr <-chan error
	if sub != nil {
		subErr = sub.Err()
		// The subscription pushes changes; poll slowly as a safety net.
		ticker.Reset(10 * PollInterval)
	}
	var every <-chan time.Time
	if cfg.progress != nil && cfg.every > 0 {
		t := time.NewTicker(cfg.every)
		defer t.Stop()
		every = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case v := <-updates:
			if v == nil {
				continue
			}
			if done, err := check(v); err != nil || done {
				return v, err
			}
		case <-subErr:
			// Lost the subscription: fall back to polling.
			subErr, updates = nil, nil
			ticker.Reset(PollInterval)
		case <-ticker.C:
			if v, done, err := poll(); err != nil || done {
				return v, err
			}
		case <-every:
			report(last)
		}
	}
}
