package sequencer

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/modex/modex/rpc"
	"github.com/modex/modex/sequencer/journal"
	"github.com/modex/modex/types"
)

// sealOnly seals the open batch and waits until its journal write is
// durable, without waiting for the tree stage.
func (f *fixture) sealOnly() uint64 {
	f.t.Helper()
	var n uint64
	if err := f.s.do(f.ctx, func() { f.s.step(); f.s.seal(); n = f.s.lastSealed }); err != nil {
		f.t.Fatal(err)
	}
	if err := f.s.Synced(f.ctx); err != nil {
		f.t.Fatal(err)
	}
	return n
}

// TestTreeStageLagsAndCatchesUp: with the tree stage paused the sequencer
// goes on sealing over its soft state (balances, nonces, books), the state
// store stays behind, and a restart in that state loses nothing: the sealed
// batches are replayed from the journal and committed when the stage runs,
// to the same roots as a sequencer whose tree stage never paused.
func TestTreeStageLagsAndCatchesUp(t *testing.T) {
	run := func(pause bool) (roots []string, bal2, bal3 uint64) {
		f := newFixture(t, 4)
		f.deposit(0, 0)
		f.deposit(1, 1_000_000)
		f.deposit(2, 1_000_000)
		f.flush()
		f.createModel(1, 1, 1000, 0)
		head := f.db.Head()
		if pause {
			f.s.PauseTree(true)
		}
		// three more batches: transfers, a trade, a deposit creating account 3
		for i := uint32(0); i < 3; i++ {
			if _, err := f.submit(2, transfer(2, 1, 100+uint64(i), i)); err != nil {
				t.Fatal(err)
			}
		}
		f.sealOnly()
		if _, err := f.s.Place(f.ctx, f.order(1, 1, types.Sell, 1, 40, 50)); err != nil {
			t.Fatal(err)
		}
		res, err := f.s.Place(f.ctx, f.order(2, 1, types.Buy, 1, 30, 60))
		if err != nil || len(res.Trades) != 1 {
			t.Fatalf("buy: %+v %v", res, err)
		}
		f.sealOnly()
		f.deposit(3, 777)
		last := f.sealOnly()
		if pause {
			if got := f.db.Head(); got != head {
				t.Fatalf("state store at %d with the tree stage paused, want %d", got, head)
			}
			if f.s.TreeBacklog() != int(last-head) || f.s.Sealed() != last {
				t.Fatalf("backlog %d, sealed %d, want %d and %d", f.s.TreeBacklog(), f.s.Sealed(), last-head, last)
			}
			// the soft state has everything: balances, nonces, the new account
			if got := f.balance(3, 0); got != 777 {
				t.Fatalf("soft balance of the new account %d", got)
			}
			if _, err := f.submit(2, transfer(2, 1, 5, 2)); !errors.Is(err, types.ErrNonce) {
				t.Fatalf("an included nonce again: %v, want ErrNonce", err)
			}
			// a batch sealed and not committed is described without roots
			info := f.s.Queries().SealedBatch(last)
			if info == nil || info.Status != rpc.BatchSealed || info.NewRoot != "" || info.Txs != 1 {
				t.Fatalf("sealed batch info %+v", info)
			}
			// restart with three batches waiting for the tree stage
			f.restart()
			if f.s.Sealed() != last || f.s.TreeBacklog() != int(last-head) || f.db.Head() != head {
				t.Fatalf("after restart: sealed %d backlog %d head %d", f.s.Sealed(), f.s.TreeBacklog(), f.db.Head())
			}
			if got := f.balance(3, 0); got != 777 {
				t.Fatalf("soft balance after restart %d", got)
			}
			f.s.PauseTree(false)
		}
		ctx, cancel := context.WithTimeout(f.ctx, 20*time.Second)
		defer cancel()
		if err := f.s.WaitCommitted(ctx, last); err != nil {
			t.Fatal(err)
		}
		if f.db.Head() != last || f.s.TreeBacklog() != 0 {
			t.Fatalf("head %d backlog %d after catching up to %d", f.db.Head(), f.s.TreeBacklog(), last)
		}
		for n := uint64(1); n <= last; n++ {
			h, err := f.db.Header(n)
			if err != nil {
				t.Fatal(err)
			}
			roots = append(roots, h.NewRoot.Text(16))
		}
		return roots, f.balance(2, 0), f.balance(3, 0)
	}
	want, w2, w3 := run(false)
	got, g2, g3 := run(true)
	if len(got) != len(want) || g2 != w2 || g3 != w3 {
		t.Fatalf("paused run: %d batches, balances %d %d; straight run: %d, %d %d", len(got), g2, g3, len(want), w2, w3)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("batch %d root %s after the lag and restart, %s straight", i+1, got[i], want[i])
		}
	}
}

// TestTreeStageHaltsOnMismatch: a sealed batch the tree stage cannot
// reproduce (its record altered) halts sequencing loudly and commits
// nothing.
func TestTreeStageHaltsOnMismatch(t *testing.T) {
	f := newFixture(t, 3)
	f.deposit(0, 0)
	f.deposit(1, 1_000_000)
	f.deposit(2, 1_000_000)
	f.flush()
	head := f.db.Head()
	f.s.PauseTree(true)
	if _, err := f.submit(1, transfer(1, 2, 100, 0)); err != nil {
		t.Fatal(err)
	}
	n := f.sealOnly()
	// the record the tree stage works from says other pubdata
	f.s.tree.mu.Lock()
	rec := *f.s.tree.recs[n]
	rec.PubdataHash[0] ^= 1
	f.s.tree.recs[n] = &rec
	f.s.tree.mu.Unlock()
	f.s.PauseTree(false)
	deadline := time.Now().Add(10 * time.Second)
	for f.s.Halted() == nil && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if err := f.s.Halted(); !errors.Is(err, ErrCommitMismatch) {
		t.Fatalf("halted with %v, want ErrCommitMismatch", err)
	}
	if f.db.Head() != head || !f.s.Paused() {
		t.Fatalf("head %d (want %d), paused %v after a mismatch", f.db.Head(), head, f.s.Paused())
	}
	if err := f.s.WaitCommitted(f.ctx, n); !errors.Is(err, ErrCommitMismatch) {
		t.Fatalf("WaitCommitted: %v", err)
	}
	// a journal record that no longer replays stops the next Open
	if err := f.s.Stop(f.ctx); err != nil {
		t.Fatal(err)
	}
	if err := f.j.Update(func(txn *badger.Txn) error { return journal.WriteSealedBatch(txn, &rec) }); err != nil {
		t.Fatal(err)
	}
	if _, err := New(Config{Params: f.p, Domain: testDomain}, f.db, f.j); !errors.Is(err, ErrCommitMismatch) {
		t.Fatalf("Open over an altered journal: %v, want ErrCommitMismatch", err)
	}
}
