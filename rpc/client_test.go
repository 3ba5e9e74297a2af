package rpc_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/holiman/uint256"

	"github.com/modex/modex/rpc"
	"github.com/modex/modex/rpc/client"
	"github.com/modex/modex/types"
	"github.com/modex/modex/types/seqerr"
)

func signedTransfer(t *testing.T, nonce uint32) *types.Transfer {
	t.Helper()
	k, err := types.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tx := &types.Transfer{From: 1, To: 2, Asset: 0, Amount: *uint256.NewInt(1000), Fee: *uint256.NewInt(1), Nonce: nonce}
	if err := types.SignTx(k, types.Domain{}, tx); err != nil {
		t.Fatal(err)
	}
	return tx
}

// TestTypedErrorThroughClient: a typed error of the backend arrives at the
// Go client as *rpc.APIError with its code and reason, over HTTP and
// websocket, and errors.Is matches the sentinel.
func TestTypedErrorThroughClient(t *testing.T) {
	f := newFakeBackend()
	s := testServer(t, f, nil)
	for _, url := range []string{"http://" + s.Addr(), "ws://" + s.Addr()} {
		c := dial(t, url)
		ctx := context.Background()

		f.mu.Lock()
		f.submitErr = fmt.Errorf("tx of account 1: %w", types.ErrBadSignature)
		f.mu.Unlock()
		_, err := c.SubmitTx(ctx, signedTransfer(t, 0))
		var ae *rpc.APIError
		if !errors.As(err, &ae) {
			t.Fatalf("%s: SubmitTx error %T %v, not *rpc.APIError", url, err, err)
		}
		if ae.Code != 1010 || ae.Reason != "bad_signature" || ae.Detail != "tx of account 1: invalid signature" {
			t.Errorf("%s: got %+v", url, ae)
		}
		if !errors.Is(err, types.ErrBadSignature) || errors.Is(err, types.ErrNonce) {
			t.Errorf("%s: errors.Is by sentinel wrong", url)
		}

		f.mu.Lock()
		f.submitErr = fmt.Errorf("%w: nonce 0, account at 4", seqerr.ErrNonceTooLow)
		f.mu.Unlock()
		_, err = c.SubmitTx(ctx, signedTransfer(t, 0))
		if !errors.As(err, &ae) || ae.Code != 1020 || ae.Reason != "nonce_too_low" {
			t.Errorf("%s: nonce too low: %v", url, err)
		}

		// Order errors: PlaceOrder encodes with types.EncodeOrder.
		_, err = c.PlaceOrder(ctx, &types.Order{Account: 1, Model: 1, OrderID: 5, Amount: 10, Price: *uint256.NewInt(3)})
		if !errors.As(err, &ae) || ae.Code != 4010 || !errors.Is(err, types.ErrOrderExpired) {
			t.Errorf("%s: PlaceOrder: %v", url, err)
		}
		// A parameter error from the client side of the API.
		_, err = c.Book(ctx, 1, 500)
		if !errors.As(err, &ae) || ae.Code != -32602 || ae.Reason != "bad_depth" || !errors.Is(err, rpc.ErrBadDepth) {
			t.Errorf("%s: Book depth 500: %v", url, err)
		}
		// Not found.
		_, err = c.Account(ctx, 99)
		if !errors.Is(err, types.ErrAccountNotFound) || !errors.Is(err, rpc.ErrAccountNotFound) {
			t.Errorf("%s: Account 99: %v", url, err)
		}
		// Admin is off: method not found.
		err = c.StopSequencing(ctx)
		if !errors.As(err, &ae) || ae.Code != -32601 || ae.Reason != "method_not_found" {
			t.Errorf("%s: admin without the flag: %v", url, err)
		}
	}
}

func TestClientMethods(t *testing.T) {
	f := newFakeBackend()
	s := testServer(t, f, func(c *rpc.Config) { c.Admin = true })
	c := dial(t, "http://"+s.Addr())
	ctx := context.Background()

	// SubmitTx / SubmitRaw / SubmitBatch.
	tx := signedTransfer(t, 0)
	h, err := c.SubmitTx(ctx, tx)
	if err != nil || h == (common.Hash{}) {
		t.Fatalf("SubmitTx: %v %v", h, err)
	}
	raw, _ := types.EncodeTx(tx)
	f.mu.Lock()
	got := f.submitted[0]
	f.mu.Unlock()
	if string(got) != string(raw) {
		t.Errorf("backend got %x, want EncodeTx %x", got, raw)
	}
	if _, err := c.SubmitRaw(ctx, []byte{0xff}); !errors.Is(err, types.ErrUnknownKind) {
		t.Errorf("SubmitRaw(0xff): %v", err)
	}
	res, err := c.SubmitBatch(ctx, []types.SignedTx{tx, signedTransfer(t, 1)})
	if err != nil || len(res) != 2 || res[0].Error != nil || res[1].Hash == (common.Hash{}) {
		t.Errorf("SubmitBatch: %+v %v", res, err)
	}
	f.mu.Lock()
	f.submitErr = types.ErrInsufficientFunds
	f.mu.Unlock()
	res, err = c.SubmitBatch(ctx, []types.SignedTx{tx})
	if err != nil || len(res) != 1 || res[0].Error == nil || res[0].Error.Code != 2003 || res[0].Error.Reason != "insufficient_funds" {
		t.Errorf("SubmitBatch with a refused tx: %+v %v", res, err)
	}
	f.mu.Lock()
	f.submitErr = nil
	f.mu.Unlock()

	// Paging defaults and parameters reach the backend.
	if p, err := c.History(ctx, 4, "", 0); err != nil || len(p.Items) != 1 || p.Next != "c2" {
		t.Errorf("History: %+v %v", p, err)
	}
	f.mu.Lock()
	if f.gotLimit != rpc.DefaultPageLimit || f.gotCursor != "" {
		t.Errorf("History defaults: limit %d cursor %q", f.gotLimit, f.gotCursor)
	}
	f.mu.Unlock()
	if _, err := c.History(ctx, 4, "c2", 7); err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	if f.gotLimit != 7 || f.gotCursor != "c2" {
		t.Errorf("History params: limit %d cursor %q", f.gotLimit, f.gotCursor)
	}
	f.mu.Unlock()
	if b, err := c.Book(ctx, 1, 0); err != nil || b.Seq != 9 {
		t.Errorf("Book: %+v %v", b, err)
	}
	f.mu.Lock()
	if f.gotDepth != rpc.DefaultBookDepth {
		t.Errorf("Book default depth %d", f.gotDepth)
	}
	f.mu.Unlock()
	if p, err := c.Trades(ctx, 1, "", 0); err != nil || p.Items == nil {
		t.Errorf("Trades: %+v %v", p, err)
	}

	if a, err := c.Account(ctx, 7); err != nil || a.ID != 7 || a.Nonce != 2 {
		t.Errorf("Account: %+v %v", a, err)
	}
	if ids, err := c.AccountByAddress(ctx, common.Address{1}); err != nil || ids == nil || len(ids) != 0 {
		t.Errorf("AccountByAddress: %v %v (want an empty list)", ids, err)
	}
	if m, err := c.Markets(ctx); err != nil || len(m) != 1 {
		t.Errorf("Markets: %v %v", m, err)
	}
	if m, err := c.Models(ctx); err != nil || m == nil {
		t.Errorf("Models: %v %v", m, err)
	}
	if _, err := c.Model(ctx, 3); !errors.Is(err, types.ErrModelNotFound) {
		t.Errorf("Model: %v", err)
	}
	if a, err := c.Assets(ctx); err != nil || len(a) != 1 || a[0].Symbol != "ETH" {
		t.Errorf("Assets: %v %v", a, err)
	}
	if q, err := c.FeeQuote(ctx, types.KindTransfer); err != nil || q.Kind != "Transfer" {
		t.Errorf("FeeQuote: %+v %v", q, err)
	}
	if b, err := c.Batch(ctx, 1); err != nil || b.Number != 1 {
		t.Errorf("Batch: %+v %v", b, err)
	}
	if _, err := c.Batch(ctx, 2); !errors.Is(err, rpc.ErrBatchNotFound) {
		t.Errorf("Batch 2: %v", err)
	}
	var ae *rpc.APIError
	if _, err := c.SyncStatus(ctx); !errors.As(err, &ae) || ae.Code != -32603 || ae.Message != "internal error" {
		t.Errorf("SyncStatus: %v", err)
	}
	if k, err := c.Contracts(ctx); err != nil || k.ChainID != 31337 || !k.InsecureDevKeys {
		t.Errorf("Contracts: %+v %v", k, err)
	}
	if hl, err := c.Health(ctx); err != nil || !hl.OK {
		t.Errorf("Health: %+v %v", hl, err)
	}
	if _, err := c.Priority(ctx, 1); !errors.Is(err, rpc.ErrPriorityNotFound) {
		t.Errorf("Priority: %v", err)
	}
	if _, err := c.Withdrawal(ctx, common.Hash{}); !errors.Is(err, rpc.ErrWithdrawalNotFound) {
		t.Errorf("Withdrawal: %v", err)
	}
	if err := c.StopSequencing(ctx); err != nil {
		t.Errorf("StopSequencing: %v", err)
	}
	if err := c.StopSequencing(ctx); !errors.Is(err, rpc.ErrSequencingStopped) {
		t.Errorf("StopSequencing twice: %v", err)
	}
	if err := c.StartSequencing(ctx); err != nil {
		t.Errorf("StartSequencing: %v", err)
	}
	// Subscriptions need a websocket.
	if _, err := c.SubscribeBatches(ctx, make(chan *rpc.BatchInfo)); err == nil {
		t.Errorf("subscription over HTTP succeeded")
	}
}

func TestWaitTx(t *testing.T) {
	client.PollInterval = 20 * time.Millisecond
	f := newFakeBackend()
	s := testServer(t, f, nil)
	for _, url := range []string{"http://" + s.Addr(), "ws://" + s.Addr()} {
		c := dial(t, url)
		h := common.Hash{byte(len(url))}
		f.setTx(&rpc.TxInfo{Hash: h, Status: rpc.TxPending})

		// Already there.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if v, err := c.WaitTx(ctx, h, rpc.TxPending); err != nil || v.Status != rpc.TxPending {
			t.Errorf("%s: WaitTx pending: %+v %v", url, v, err)
		}
		// Reached later: the backend's state changes and its feed says so.
		go func() {
			time.Sleep(50 * time.Millisecond)
			v := &rpc.TxInfo{Hash: h, Status: rpc.TxIncluded, Batch: 3}
			f.setTx(v)
			f.txFeed.Send(v)
			time.Sleep(50 * time.Millisecond)
			v = &rpc.TxInfo{Hash: h, Status: rpc.TxProven, Batch: 3}
			f.setTx(v)
			f.txFeed.Send(v)
		}()
		v, err := c.WaitTx(ctx, h, rpc.TxProven)
		if err != nil || v.Status != rpc.TxProven {
			t.Errorf("%s: WaitTx proven: %+v %v", url, v, err)
		}
		// Failed: the error comes back typed.
		h2 := common.Hash{byte(len(url)), 2}
		go func() {
			time.Sleep(50 * time.Millisecond)
			v := &rpc.TxInfo{Hash: h2, Status: rpc.TxFailed, Error: rpc.Info(fmt.Errorf("%w: have 1, need 2", types.ErrInsufficientFunds))}
			f.setTx(v)
			f.txFeed.Send(v)
		}()
		_, err = c.WaitTx(ctx, h2, rpc.TxFinalized)
		var ae *rpc.APIError
		if !errors.As(err, &ae) || ae.Code != 2003 || !errors.Is(err, types.ErrInsufficientFunds) {
			t.Errorf("%s: WaitTx failed tx: %v", url, err)
		}
		// Never comes: ctx ends.
		short, cancel2 := context.WithTimeout(ctx, 100*time.Millisecond)
		if _, err := c.WaitTx(short, common.Hash{9, 9}, rpc.TxIncluded); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("%s: WaitTx unknown: %v", url, err)
		}
		cancel2()
		cancel()
	}
}
