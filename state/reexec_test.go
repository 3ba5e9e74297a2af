package state

import (
	"errors"
	"reflect"
	"testing"

	"github.com/modex/modex/types"
)

// TestReexecute: every sealed batch of a mixed flow re-executes over the
// state before it to the same header, pubdata, transactions and witnesses.
func TestReexecute(t *testing.T) {
	w := newWorld(t, types.TestParams(), 3)
	w.deposit(0, 0, 0)
	w.deposit(1, 0, 1_000_000)
	w.deposit(2, 0, 1_000_000)
	w.fit(&types.CreateModel{})
	w.mustAdd(w.sign(1, &types.CreateModel{Account: w.acct[1], Model: 1, Supply: 1000, MaxSupply: 1000,
		CreditPrice: u256(10), HolderBps: 5000, Weights: elem(1), Metadata: elem(2), Fee: u256(3)}))
	w.fit(&types.Trade{})
	w.mustAdd(&types.Trade{Buy: w.order(2, 1, types.Buy, 1, 100, 20, 10), Sell: w.order(1, 1, types.Sell, 1, 100, 20, 10),
		Fill: 100, Price: u256(20), BuyFeeBips: 5, SellFeeBips: 5})
	w.fit(&types.BuyCredits{})
	w.mustAdd(w.sign(2, &types.BuyCredits{Account: w.acct[2], Model: 1, Credits: 7, MaxPrice: u256(10), Fee: u256(1)}))
	w.seal()
	if len(w.sealed) < 4 {
		t.Fatalf("want several batches, got %d", len(w.sealed))
	}
	for _, want := range w.sealed {
		got, err := w.db.Reexecute(want.Header.Number)
		if err != nil {
			t.Fatalf("batch %d: %v", want.Header.Number, err)
		}
		if got.Header != want.Header {
			t.Fatalf("batch %d: header %+v, want %+v", want.Header.Number, got.Header, want.Header)
		}
		if !reflect.DeepEqual(got.Pubdata, want.Pubdata) || !reflect.DeepEqual(got.Witnesses, want.Witnesses) ||
			!reflect.DeepEqual(got.Withdrawals, want.Withdrawals) {
			t.Fatalf("batch %d: re-executed batch differs", want.Header.Number)
		}
	}
	if _, err := w.db.Reexecute(w.db.Head() + 1); !errors.Is(err, ErrUnknownBatch) {
		t.Fatalf("future batch: %v", err)
	}
	if _, err := w.db.Reexecute(0); !errors.Is(err, ErrUnknownBatch) {
		t.Fatalf("batch 0: %v", err)
	}
}

// TestReexecuteMismatch: a stored header that the transactions do not
// reproduce is ErrReexecMismatch.
func TestReexecuteMismatch(t *testing.T) {
	w := newWorld(t, types.TestParams(), 2)
	w.deposit(0, 0, 0)
	w.deposit(1, 0, 500)
	sb := w.seal()
	h := sb.Header
	h.NewRoot.SetUint64(7) // a root the batch's transactions do not produce
	w.batch.Discard()
	txn, err := w.db.store.Begin()
	if err != nil {
		t.Fatal(err)
	}
	// rewrite batch 1's header in a later version: Header reads the head.
	if err := txn.Set(batchKey(keyHeader, h.Number), h.Encode()); err != nil {
		t.Fatal(err)
	}
	if err := txn.Commit(); err != nil {
		t.Fatal(err)
	}
	if _, err := w.db.Reexecute(1); !errors.Is(err, ErrReexecMismatch) {
		t.Fatalf("got %v, want ErrReexecMismatch", err)
	}
}

// TestAddVerified: AddVerified skips only the signature check: an unsigned
// transfer applies, a wrong nonce is still refused, and the signatures are
// checked again when the batch is re-executed.
func TestAddVerified(t *testing.T) {
	w := newWorld(t, types.TestParams(), 3)
	w.deposit(0, 0, 0)
	w.deposit(1, 0, 1000)
	w.deposit(2, 0, 1000)
	w.seal()
	tr := &types.Transfer{From: w.acct[1], To: w.acct[2], Asset: types.ETH, Amount: u256(10), Nonce: 1}
	if _, err := w.batch.AddVerified(tr); !errors.Is(err, types.ErrNonce) {
		t.Fatalf("wrong nonce: %v", err)
	}
	tr.Nonce = 0
	if _, err := w.batch.Add(tr); !errors.Is(err, types.ErrBadSignature) {
		t.Fatalf("Add of an unsigned transfer: %v", err)
	}
	if _, err := w.batch.AddVerified(tr); err != nil {
		t.Fatalf("AddVerified: %v", err)
	}
	sb := w.seal()
	if _, err := w.db.Reexecute(sb.Header.Number); !errors.Is(err, ErrReexecMismatch) || !errors.Is(err, types.ErrBadSignature) {
		t.Fatalf("re-execution of the unsigned transfer: %v", err)
	}
}
