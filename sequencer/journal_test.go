package sequencer

import (
	"context"
	"errors"
	"testing"

	"github.com/dgraph-io/badger/v4"

	"github.com/modex/modex/rpc"
	"github.com/modex/modex/sequencer/journal"
)

// TestCorruptTxRecord: a transaction record in the (real Badger) journal
// that does not decode is reported as journal.ErrCorrupt by Tx and
// History, never as a transaction with no body or as an absent one.
func TestCorruptTxRecord(t *testing.T) {
	f := newFixture(t, 2)
	f.deposit(0, 0)
	f.deposit(1, 1_000_000)
	f.flush()
	h, err := f.submit(1, transfer(1, 0, 100, 0))
	if err != nil {
		t.Fatal(err)
	}
	f.flush()
	if _, err := f.s.Queries().Tx(f.ctx, h); err != nil {
		t.Fatal(err)
	}
	for name, v := range map[string][]byte{
		"json": []byte("{not json"),
		"tx":   []byte(`{"kind":"Transfer","account":1,"batch":2,"raw":"AAEC"}`), // a body that does not decode
	} {
		t.Run(name, func(t *testing.T) {
			if err := f.j.Update(func(txn *badger.Txn) error { return txn.Set(journal.TxKey(h), v) }); err != nil {
				t.Fatal(err)
			}
			info, err := f.s.Queries().Tx(f.ctx, h)
			if !errors.Is(err, journal.ErrCorrupt) {
				t.Fatalf("Tx over a corrupt record: %+v, %v; want ErrCorrupt", info, err)
			}
			if errors.Is(err, rpc.ErrTxNotFound) {
				t.Fatalf("a corrupt record reported as absent: %v", err)
			}
			if _, err := f.s.Queries().History(f.ctx, 1, "", 10); !errors.Is(err, journal.ErrCorrupt) {
				t.Fatalf("History over a corrupt record: %v, want ErrCorrupt", err)
			}
		})
	}
}

// TestLifecycle: New starts nothing (every call that needs the loop is
// refused with ErrNotRunning), Start runs it, Stop stops it for good.
func TestLifecycle(t *testing.T) {
	f := newFixture(t, 1)
	if err := f.s.Stop(f.ctx); err != nil {
		t.Fatal(err)
	}
	s, err := New(Config{Params: f.p, Domain: testDomain}, f.db, f.j)
	if err != nil {
		t.Fatal(err)
	}
	f.s = s // the fixture's cleanup stops it
	tx := f.sign(0, transfer(0, 0, 1, 0))
	if _, err := s.Submit(f.ctx, tx); !errors.Is(err, ErrNotRunning) {
		t.Fatalf("Submit before Start: %v, want ErrNotRunning", err)
	}
	if _, err := s.Queries().Markets(f.ctx); !errors.Is(err, ErrNotRunning) {
		t.Fatalf("Markets before Start: %v, want ErrNotRunning", err)
	}
	if err := s.Start(f.ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Queries().Markets(f.ctx); err != nil {
		t.Fatalf("Markets after Start: %v", err)
	}
	if err := s.Stop(f.ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Queries().Markets(f.ctx); !errors.Is(err, ErrClosed) {
		t.Fatalf("Markets after Stop: %v, want ErrClosed", err)
	}
	if err := s.Start(f.ctx); !errors.Is(err, ErrClosed) {
		t.Fatalf("Start after Stop: %v, want ErrClosed", err)
	}
}

// TestResumeAfterHalt: the operator's Resume does not restart a halted
// sequencer.
func TestResumeAfterHalt(t *testing.T) {
	f := newFixture(t, 1)
	f.s.halt(errors.New("test halt"))
	if err := f.s.Resume(); !errors.Is(err, ErrHalted) {
		t.Fatalf("Resume after a halt: %v, want ErrHalted", err)
	}
	if !f.s.Paused() {
		t.Fatal("a halted sequencer resumed")
	}
}

// TestCorruptOrderSeq: recovery does not take an order sequence it cannot
// read for none (it would hand out sequence numbers again): New fails with
// journal.ErrCorrupt.
func TestCorruptOrderSeq(t *testing.T) {
	f := newFixture(t, 1)
	if err := f.s.Stop(f.ctx); err != nil {
		t.Fatal(err)
	}
	if err := f.j.Update(func(txn *badger.Txn) error { return txn.Set(journal.OrderSeqKey(), []byte{0, 7}) }); err != nil {
		t.Fatal(err)
	}
	if _, err := New(Config{Params: f.p, Domain: testDomain}, f.db, f.j); !errors.Is(err, journal.ErrCorrupt) {
		t.Fatalf("New over a corrupt order sequence: %v, want ErrCorrupt", err)
	}
}

// TestStopCutShort: a Stop whose context ends while the loop is still busy
// releases nothing (the loop may still write through the pool and the
// journal writer); a later Stop waits for the loop and releases them.
func TestStopCutShort(t *testing.T) {
	f := newFixture(t, 1)
	busy, release := make(chan struct{}), make(chan struct{})
	go f.s.do(f.ctx, func() { close(busy); <-release })
	<-busy
	cut, cancel := context.WithCancel(f.ctx)
	cancel()
	if err := f.s.Stop(cut); !errors.Is(err, context.Canceled) {
		t.Fatalf("Stop with an ended context while the loop is busy: %v, want context.Canceled", err)
	}
	if f.s.jw.w.Load() == nil {
		t.Fatal("a Stop cut short closed the journal writer under the running loop")
	}
	close(release)
	if err := f.s.Stop(f.ctx); err != nil {
		t.Fatalf("the second Stop: %v", err)
	}
	if f.s.jw.w.Load() != nil {
		t.Fatal("the second Stop left the journal writer open")
	}
}

// TestPendingPriorityCorrupt: a queued priority request whose bytes do not
// decode is reported as journal.ErrCorrupt, not as a request of no kind.
func TestPendingPriorityCorrupt(t *testing.T) {
	f := newFixture(t, 1)
	f.s.Pause() // the loop must not try to apply it
	if err := f.s.do(f.ctx, func() { f.s.prio = append(f.s.prio, PriorityRequest{ID: 99, Raw: []byte{0xff, 1}}) }); err != nil {
		t.Fatal(err)
	}
	if pi, err := f.s.Queries().Priority(f.ctx, 99); !errors.Is(err, journal.ErrCorrupt) {
		t.Fatalf("Priority(99) = %+v, %v; want journal.ErrCorrupt", pi, err)
	}
}
