package rpc_test

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/event"

	"github.com/modex/modex/rpc"
	"github.com/modex/modex/rpc/client"
	"github.com/modex/modex/types"
)

// fakeBackend is a minimal Backend for the transport tests: fixed answers,
// fixed errors, and feeds the test sends on. The node's integration tests
// exercise the real one.
type fakeBackend struct {
	mu        sync.Mutex
	submitErr error // SubmitTx's error (nil: hash of the raw bytes)
	txs       map[common.Hash]*rpc.TxInfo
	health    rpc.Health
	submitted [][]byte
	stopped   bool
	bookSnap  rpc.BookSnapshot
	gotLimit  int
	gotCursor string
	gotDepth  int

	batches, txFeed, accounts, book, trades, redemptions event.Feed
}

func newFakeBackend() *fakeBackend {
	return &fakeBackend{
		txs:    map[common.Hash]*rpc.TxInfo{},
		health: rpc.Health{OK: true, Version: "test", Sealed: 3, Verified: 1},
	}
}

func (f *fakeBackend) SubmitTx(_ context.Context, raw []byte) (common.Hash, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.submitErr != nil {
		return common.Hash{}, f.submitErr
	}
	if _, err := types.DecodeTx(raw); err != nil {
		return common.Hash{}, err
	}
	f.submitted = append(f.submitted, raw)
	h := common.BytesToHash(raw[:min(len(raw), 32)])
	return h, nil
}

func (f *fakeBackend) Tx(_ context.Context, hash common.Hash) (*rpc.TxInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if v, ok := f.txs[hash]; ok {
		c := *v
		return &c, nil
	}
	return nil, fmt.Errorf("%w: %s", rpc.ErrTxNotFound, hash)
}

func (f *fakeBackend) setTx(v *rpc.TxInfo) {
	f.mu.Lock()
	f.txs[v.Hash] = v
	f.mu.Unlock()
}

func (f *fakeBackend) History(_ context.Context, account uint32, cursor string, limit int) (*rpc.Page[rpc.TxInfo], error) {
	f.mu.Lock()
	f.gotLimit, f.gotCursor = limit, cursor
	f.mu.Unlock()
	if cursor == "bogus" {
		return nil, fmt.Errorf("%w: %q", rpc.ErrBadCursor, cursor)
	}
	return &rpc.Page[rpc.TxInfo]{Items: []rpc.TxInfo{{Account: account, Status: rpc.TxPending}}, Next: "c2"}, nil
}

func (f *fakeBackend) Account(_ context.Context, id uint32) (*rpc.AccountInfo, error) {
	if id == 7 {
		return &rpc.AccountInfo{ID: 7, Nonce: 2}, nil
	}
	return nil, fmt.Errorf("account %d: %w", id, types.ErrAccountNotFound)
}

func (f *fakeBackend) AccountByAddress(context.Context, common.Address) ([]uint32, error) {
	return nil, nil
}

func (f *fakeBackend) PlaceOrder(_ context.Context, raw []byte) (*rpc.OrderResult, error) {
	o, err := types.DecodeOrder(raw)
	if err != nil {
		return nil, err
	}
	return nil, fmt.Errorf("%w: order %d", types.ErrOrderExpired, o.OrderID)
}

func (f *fakeBackend) Markets(context.Context) ([]rpc.Market, error) {
	return []rpc.Market{{Model: 1}}, nil
}

func (f *fakeBackend) Book(_ context.Context, model uint16, depth int) (*rpc.BookSnapshot, error) {
	f.mu.Lock()
	f.gotDepth = depth
	f.mu.Unlock()
	if model != 1 && model != 3 { // the fake's markets: 1 and 3
		return nil, rpc.ErrMarketNotFound
	}
	return &rpc.BookSnapshot{Model: model, Seq: 9}, nil
}

func (f *fakeBackend) Trades(_ context.Context, model uint16, cursor string, limit int) (*rpc.Page[rpc.TradeInfo], error) {
	if model == 13 {
		panic("backend bug")
	}
	return nil, nil
}

func (f *fakeBackend) Models(context.Context) ([]rpc.ModelInfo, error) { return nil, nil }

func (f *fakeBackend) Model(_ context.Context, id uint16) (*rpc.ModelInfo, error) {
	return nil, nil // (nil, nil): the server answers model_not_found
}

func (f *fakeBackend) Assets(context.Context) ([]rpc.Asset, error) {
	return []rpc.Asset{{ID: 0, Symbol: "ETH"}}, nil
}

func (f *fakeBackend) FeeQuote(_ context.Context, kind string) (*rpc.FeeQuote, error) {
	return &rpc.FeeQuote{Kind: kind}, nil
}

func (f *fakeBackend) Batch(_ context.Context, n uint64) (*rpc.BatchInfo, error) {
	if n == 1 {
		return &rpc.BatchInfo{Number: 1, Status: rpc.BatchSealed}, nil
	}
	return nil, fmt.Errorf("batch %d: %w", n, rpc.ErrBatchNotFound)
}

func (f *fakeBackend) SyncStatus(context.Context) (*rpc.SyncStatus, error) {
	return nil, fmt.Errorf("boom: %s", "/secret/internal/path")
}

func (f *fakeBackend) Contracts(context.Context) (*rpc.Contracts, error) {
	return &rpc.Contracts{ChainID: 31337, InsecureDevKeys: true}, nil
}

func (f *fakeBackend) Priority(context.Context, uint64) (*rpc.PriorityInfo, error) {
	return nil, rpc.ErrPriorityNotFound
}

func (f *fakeBackend) Withdrawal(context.Context, common.Hash) (*rpc.WithdrawalInfo, error) {
	return nil, rpc.ErrWithdrawalNotFound
}

func (f *fakeBackend) StartSequencing(context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.stopped = false
	return nil
}

func (f *fakeBackend) StopSequencing(context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.stopped {
		return rpc.ErrSequencingStopped
	}
	f.stopped = true
	return nil
}

func (f *fakeBackend) Health() rpc.Health {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.health
}

func (f *fakeBackend) SubscribeBatches(ch chan<- *rpc.BatchInfo) event.Subscription {
	return f.batches.Subscribe(ch)
}
func (f *fakeBackend) SubscribeTxs(ch chan<- *rpc.TxInfo) event.Subscription {
	return f.txFeed.Subscribe(ch)
}
func (f *fakeBackend) SubscribeAccounts(ch chan<- *rpc.AccountUpdate) event.Subscription {
	return f.accounts.Subscribe(ch)
}

func (f *fakeBackend) SubscribeBook(model uint16, ch chan<- *rpc.BookDelta) (*rpc.BookSnapshot, event.Subscription, error) {
	if model != 1 {
		return nil, nil, fmt.Errorf("%w: %d", rpc.ErrMarketNotFound, model)
	}
	f.mu.Lock()
	snap := f.bookSnap
	f.mu.Unlock()
	return &snap, f.book.Subscribe(ch), nil
}

func (f *fakeBackend) SubscribeTrades(ch chan<- *rpc.TradeInfo) event.Subscription {
	return f.trades.Subscribe(ch)
}
func (f *fakeBackend) SubscribeRedemptions(ch chan<- *rpc.Redemption) event.Subscription {
	return f.redemptions.Subscribe(ch)
}

// testServer starts a Server on a free port with small limits.
func testServer(t *testing.T, b rpc.Backend, mod func(*rpc.Config)) *rpc.Server {
	t.Helper()
	cfg := rpc.Config{
		Addr:           "127.0.0.1:0",
		BatchItemLimit: 10,
		HTTPBodyLimit:  64 << 10,
		WSReadLimit:    64 << 10,
		Version:        "v-test",
		Logger:         slog.New(slog.DiscardHandler),
	}
	if mod != nil {
		mod(&cfg)
	}
	s, err := rpc.NewServer(b, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Stop(ctx); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
	return s
}

func dial(t *testing.T, url string) *client.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}
