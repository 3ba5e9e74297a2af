package rpc

import (
	"context"
	"encoding/hex"
	"errors"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ethereum/go-ethereum/common"

	"github.com/modex/modex/types"
)

// core is what every namespace shares.
type core struct{ s *Server }

// run calls f, maps its error with the table (Wrap) and counts the call.
func run[T any](c *core, method string, f func() (T, error)) (T, error) {
	start := time.Now()
	v, err := f()
	if err != nil {
		err = wrap(err, c.s.log)
		var zero T
		v = zero
	}
	c.s.metrics.observeCall(method, err, time.Since(start).Seconds())
	return v, err
}

// found turns a nil result without error into notFound.
func found[T any](v *T, err error, notFound error) (*T, error) {
	if err == nil && v == nil {
		return nil, notFound
	}
	return v, err
}

// nonNil makes a nil slice an empty one (JSON [] rather than null).
func nonNil[T any](v []T, err error) ([]T, error) {
	if err == nil && v == nil {
		v = []T{}
	}
	return v, err
}

// decodeRaw parses a 0x-hex encoded transaction or order of 1 to
// MaxRawBytes bytes.
func decodeRaw(param, s string) ([]byte, error) {
	if len(s) > 2+2*MaxRawBytes {
		return nil, paramErr(ErrRawTooLarge, param, "%d hex digits, at most %d bytes", len(s)-2, MaxRawBytes)
	}
	if len(s) < 2 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X') {
		return nil, paramErr(ErrHexPrefix, param, "%q", cut(s, 16))
	}
	if len(s)%2 != 0 {
		return nil, paramErr(ErrHexOddLength, param, "%d hex digit%s", len(s)-2, plural(len(s)-2))
	}
	b, err := hex.DecodeString(s[2:])
	if err != nil {
		var ib hex.InvalidByteError
		if errors.As(err, &ib) {
			return nil, paramErr(ErrHexDigit, param, "%q", rune(ib))
		}
		return nil, paramErr(ErrHexDigit, param, "%v", err)
	}
	if len(b) == 0 {
		return nil, paramErr(ErrEmptyRaw, param, "0x")
	}
	return b, nil
}

// cut shortens s to at most n bytes, on a rune boundary, marking the cut
// with "…" (error details quote client input; a cut inside a UTF-8
// sequence would quote a broken character).
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := n
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + "…"
}

// paged runs a paged method: it checks the cursor and limit, fetches the
// page and answers an empty page as one with no items (never null).
func paged[T any](c *core, method string, cursor *string, limit *int, fetch func(cur string, n int) (*Page[T], error)) (*Page[T], error) {
	return run(c, method, func() (*Page[T], error) {
		cur, err := pageCursor(cursor)
		if err != nil {
			return nil, err
		}
		n, err := pageLimit(limit)
		if err != nil {
			return nil, err
		}
		p, err := fetch(cur, n)
		if err == nil && p == nil {
			p = &Page[T]{}
		}
		if p != nil && p.Items == nil {
			p.Items = []T{}
		}
		return p, err
	})
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func pageLimit(limit *int) (int, error) {
	if limit == nil {
		return DefaultPageLimit, nil
	}
	if *limit < 1 || *limit > MaxPageLimit {
		return 0, paramErr(ErrBadLimit, "limit", "%d not in 1..%d", *limit, MaxPageLimit)
	}
	return *limit, nil
}

func pageCursor(cursor *string) (string, error) {
	if cursor == nil {
		return "", nil
	}
	c := *cursor
	if len(c) > MaxCursorLen {
		return "", paramErr(ErrBadCursor, "cursor", "longer than %d characters", MaxCursorLen)
	}
	for i := 0; i < len(c); i++ {
		if c[i] < 0x21 || c[i] > 0x7e {
			return "", paramErr(ErrBadCursor, "cursor", "not printable ASCII")
		}
	}
	return c, nil
}

func bookDepth(depth *int) (int, error) {
	if depth == nil {
		return DefaultBookDepth, nil
	}
	if *depth < 1 || *depth > MaxBookDepth {
		return 0, paramErr(ErrBadDepth, "depth", "%d not in 1..%d", *depth, MaxBookDepth)
	}
	return *depth, nil
}

// kindName is the canonical name of a transaction kind (case-insensitive).
func kindName(s string) (string, error) {
	names := make([]string, 0, len(types.AllKinds()))
	for _, k := range types.AllKinds() {
		if strings.EqualFold(k.String(), s) {
			return k.String(), nil
		}
		names = append(names, k.String())
	}
	return "", paramErr(ErrBadKindName, "kind", "%q (want one of %s)", cut(s, 32), strings.Join(names, ", "))
}

// TxAPI is the tx namespace.
type TxAPI struct{ c *core }

// Submit (tx_submit) submits one signed transaction (0x-hex of
// types.EncodeTx); the hash is returned once it is durable in the pool.
func (a *TxAPI) Submit(ctx context.Context, raw string) (common.Hash, error) {
	return run(a.c, "tx_submit", func() (common.Hash, error) {
		b, err := decodeRaw("raw", raw)
		if err != nil {
			return common.Hash{}, err
		}
		return a.c.s.b.SubmitTx(ctx, b)
	})
}

// SubmitBatch (tx_submitBatch) submits each transaction in order; each
// result has its hash or its error.
func (a *TxAPI) SubmitBatch(ctx context.Context, raws []string) ([]SubmitResult, error) {
	return run(a.c, "tx_submitBatch", func() ([]SubmitResult, error) {
		if len(raws) == 0 {
			return nil, paramErr(ErrBadParams, "txs", "empty list")
		}
		if max := a.c.s.cfg.BatchItemLimit; len(raws) > max {
			return nil, paramErr(ErrTooManyItems, "txs", "%d transactions, at most %d", len(raws), max)
		}
		out := make([]SubmitResult, len(raws))
		for i, raw := range raws {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			b, err := decodeRaw("raw", raw)
			if err == nil {
				out[i].Hash, err = a.c.s.b.SubmitTx(ctx, b)
			}
			if err != nil {
				out[i] = SubmitResult{Error: toAPIError(wrap(err, a.c.s.log)).Info()}
			}
		}
		return out, nil
	})
}

// Info (tx_info) is a transaction's status.
func (a *TxAPI) Info(ctx context.Context, hash common.Hash) (*TxInfo, error) {
	return run(a.c, "tx_info", func() (*TxInfo, error) {
		v, err := a.c.s.b.Tx(ctx, hash)
		return found(v, err, ErrTxNotFound)
	})
}

// History (tx_history) is an account's transactions, newest first, a page
// at a time.
func (a *TxAPI) History(ctx context.Context, account uint32, cursor *string, limit *int) (*Page[TxInfo], error) {
	return paged(a.c, "tx_history", cursor, limit, func(cur string, n int) (*Page[TxInfo], error) {
		return a.c.s.b.History(ctx, account, cur, n)
	})
}

// AccountAPI is the account namespace.
type AccountAPI struct{ c *core }

// Info (account_info) is an account's balances, nonces and open orders.
func (a *AccountAPI) Info(ctx context.Context, id uint32) (*AccountInfo, error) {
	return run(a.c, "account_info", func() (*AccountInfo, error) {
		v, err := a.c.s.b.Account(ctx, id)
		return found(v, err, ErrAccountNotFound)
	})
}

// ByAddress (account_byAddress) is the accounts bound to an L1 address.
func (a *AccountAPI) ByAddress(ctx context.Context, l1 common.Address) ([]uint32, error) {
	return run(a.c, "account_byAddress", func() ([]uint32, error) {
		return nonNil(a.c.s.b.AccountByAddress(ctx, l1))
	})
}

// MarketAPI is the market namespace.
type MarketAPI struct{ c *core }

// List (market_list) is every market.
func (a *MarketAPI) List(ctx context.Context) ([]Market, error) {
	return run(a.c, "market_list", func() ([]Market, error) {
		return nonNil(a.c.s.b.Markets(ctx))
	})
}

// PlaceOrder (market_placeOrder) places a signed order (0x-hex of
// types.EncodeOrder).
func (a *MarketAPI) PlaceOrder(ctx context.Context, raw string) (*OrderResult, error) {
	return run(a.c, "market_placeOrder", func() (*OrderResult, error) {
		b, err := decodeRaw("raw", raw)
		if err != nil {
			return nil, err
		}
		v, err := a.c.s.b.PlaceOrder(ctx, b)
		return found(v, err, ErrMarketNotFound)
	})
}

// Book (market_book) is the top depth levels of a market's book (default
// 50, at most 200).
func (a *MarketAPI) Book(ctx context.Context, model uint16, depth *int) (*BookSnapshot, error) {
	return run(a.c, "market_book", func() (*BookSnapshot, error) {
		d, err := bookDepth(depth)
		if err != nil {
			return nil, err
		}
		v, err := a.c.s.b.Book(ctx, model, d)
		return found(v, err, ErrMarketNotFound)
	})
}

// Trades (market_trades) is a market's trades, a page at a time.
func (a *MarketAPI) Trades(ctx context.Context, model uint16, cursor *string, limit *int) (*Page[TradeInfo], error) {
	return paged(a.c, "market_trades", cursor, limit, func(cur string, n int) (*Page[TradeInfo], error) {
		return a.c.s.b.Trades(ctx, model, cur, n)
	})
}

// ModelAPI is the model namespace.
type ModelAPI struct{ c *core }

// List (model_list) is every model.
func (a *ModelAPI) List(ctx context.Context) ([]ModelInfo, error) {
	return run(a.c, "model_list", func() ([]ModelInfo, error) {
		return nonNil(a.c.s.b.Models(ctx))
	})
}

// Info (model_info) is one model.
func (a *ModelAPI) Info(ctx context.Context, id uint16) (*ModelInfo, error) {
	return run(a.c, "model_info", func() (*ModelInfo, error) {
		v, err := a.c.s.b.Model(ctx, id)
		return found(v, err, ErrModelNotFound)
	})
}

// AssetAPI is the asset namespace.
type AssetAPI struct{ c *core }

// List (asset_list) is every base token.
func (a *AssetAPI) List(ctx context.Context) ([]Asset, error) {
	return run(a.c, "asset_list", func() ([]Asset, error) {
		return nonNil(a.c.s.b.Assets(ctx))
	})
}

// FeeAPI is the fee namespace.
type FeeAPI struct{ c *core }

// Quote (fee_quote) is the fee the sequencer asks for a transaction kind
// (its name, as types.Kind.String, case-insensitive).
func (a *FeeAPI) Quote(ctx context.Context, kind string) (*FeeQuote, error) {
	return run(a.c, "fee_quote", func() (*FeeQuote, error) {
		k, err := kindName(kind)
		if err != nil {
			return nil, err
		}
		v, err := a.c.s.b.FeeQuote(ctx, k)
		return found(v, err, ErrBadKindName)
	})
}

// BatchAPI is the batch namespace.
type BatchAPI struct{ c *core }

// Info (batch_info) is a batch's header and pipeline status.
func (a *BatchAPI) Info(ctx context.Context, n uint64) (*BatchInfo, error) {
	return run(a.c, "batch_info", func() (*BatchInfo, error) {
		v, err := a.c.s.b.Batch(ctx, n)
		return found(v, err, ErrBatchNotFound)
	})
}

// NodeAPI is the node namespace.
type NodeAPI struct{ c *core }

// SyncStatus (node_syncStatus) is the node's heads.
func (a *NodeAPI) SyncStatus(ctx context.Context) (*SyncStatus, error) {
	return run(a.c, "node_syncStatus", func() (*SyncStatus, error) {
		v, err := a.c.s.b.SyncStatus(ctx)
		return found(v, err, ErrShuttingDown)
	})
}

// Contracts (node_contracts) are the L1 addresses.
func (a *NodeAPI) Contracts(ctx context.Context) (*Contracts, error) {
	return run(a.c, "node_contracts", func() (*Contracts, error) {
		v, err := a.c.s.b.Contracts(ctx)
		return found(v, err, ErrShuttingDown)
	})
}

// Health (node_health) is the /healthz body.
func (a *NodeAPI) Health(ctx context.Context) (*Health, error) {
	return run(a.c, "node_health", func() (*Health, error) {
		h := a.c.s.b.Health()
		if h.Version == "" {
			h.Version = a.c.s.cfg.Version
		}
		return &h, nil
	})
}

// BridgeAPI is the bridge namespace.
type BridgeAPI struct{ c *core }

// Priority (bridge_priority) is a deposit's or forced withdrawal's status.
func (a *BridgeAPI) Priority(ctx context.Context, id uint64) (*PriorityInfo, error) {
	return run(a.c, "bridge_priority", func() (*PriorityInfo, error) {
		v, err := a.c.s.b.Priority(ctx, id)
		return found(v, err, ErrPriorityNotFound)
	})
}

// Withdrawal (bridge_withdrawal) is an L2 withdrawal's status.
func (a *BridgeAPI) Withdrawal(ctx context.Context, hash common.Hash) (*WithdrawalInfo, error) {
	return run(a.c, "bridge_withdrawal", func() (*WithdrawalInfo, error) {
		v, err := a.c.s.b.Withdrawal(ctx, hash)
		return found(v, err, ErrWithdrawalNotFound)
	})
}

// AdminAPI is the admin namespace (served only with Config.Admin).
type AdminAPI struct{ c *core }

// StartSequencing (admin_startSequencing) resumes sequencing.
func (a *AdminAPI) StartSequencing(ctx context.Context) error {
	_, err := run(a.c, "admin_startSequencing", func() (struct{}, error) {
		return struct{}{}, a.c.s.b.StartSequencing(ctx)
	})
	return err
}

// StopSequencing (admin_stopSequencing) stops taking transactions and
// orders; the pipeline goes on with the sealed batches.
func (a *AdminAPI) StopSequencing(ctx context.Context) error {
	_, err := run(a.c, "admin_stopSequencing", func() (struct{}, error) {
		return struct{}{}, a.c.s.b.StopSequencing(ctx)
	})
	return err
}
