package store_test

import (
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/modex/modex/state/smt"
	"github.com/modex/modex/state/store"
)

func openMem(t testing.TB, mod func(*store.Options)) *store.DB {
	t.Helper()
	o := store.DefaultOptions("")
	o.InMemory = true
	o.MemTableSize = 4 << 20
	if mod != nil {
		mod(&o)
	}
	db, err := store.Open(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func openDisk(t testing.TB, dir string, mod func(*store.Options)) *store.DB {
	t.Helper()
	o := store.DefaultOptions(dir)
	o.MemTableSize = 4 << 20
	if mod != nil {
		mod(&o)
	}
	db, err := store.Open(o)
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// commitBatch applies ops (value "" = delete) as one batch and returns the batch number.
func commitBatch(t testing.TB, db *store.DB, ops map[string]string) uint64 {
	t.Helper()
	txn, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range ops {
		if v == "" {
			err = txn.Delete([]byte(k))
		} else {
			err = txn.Set([]byte(k), []byte(v))
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	b := txn.Batch()
	if err := txn.Commit(); err != nil {
		t.Fatal(err)
	}
	return b
}

func apply(state, ops map[string]string) map[string]string {
	next := maps.Clone(state)
	for k, v := range ops {
		if v == "" {
			delete(next, k)
		} else {
			next[k] = v
		}
	}
	return next
}

func view(t testing.TB, db *store.DB, b uint64) map[string]string {
	t.Helper()
	s, err := db.View(b)
	if err != nil {
		t.Fatalf("View(%d): %v", b, err)
	}
	defer s.Discard()
	if s.Batch() != b {
		t.Fatalf("snapshot batch %d want %d", s.Batch(), b)
	}
	return store.DumpSnapshot(s)
}

func randomOps(rng *rand.Rand, n, universe int) map[string]string {
	ops := map[string]string{}
	for i := 0; i < n; i++ {
		k := fmt.Sprintf("k%03d", rng.IntN(universe))
		if rng.IntN(4) == 0 {
			ops[k] = ""
		} else {
			ops[k] = fmt.Sprintf("v%d", rng.Uint32())
		}
	}
	return ops
}

// history commits n random batches and returns the state after each (index = batch).
func history(t testing.TB, db *store.DB, rng *rand.Rand, n int) []map[string]string {
	states := []map[string]string{{}}
	for i := 1; i <= n; i++ {
		ops := randomOps(rng, 20, 50)
		if b := commitBatch(t, db, ops); b != uint64(i) {
			t.Fatalf("batch %d want %d", b, i)
		}
		states = append(states, apply(states[i-1], ops))
	}
	return states
}

func TestCommitReadView(t *testing.T) {
	db := openMem(t, nil)
	if db.Head() != 0 || db.Finalized() != 0 {
		t.Fatal("fresh store not at genesis")
	}
	if got := view(t, db, 0); len(got) != 0 {
		t.Fatal("genesis not empty")
	}
	states := history(t, db, rand.New(rand.NewPCG(1, 1)), 8)
	if db.Head() != 8 {
		t.Fatalf("head %d", db.Head())
	}
	for b := range states {
		t.Run(fmt.Sprintf("batch%d", b), func(t *testing.T) {
			if got := view(t, db, uint64(b)); !maps.Equal(got, states[b]) {
				t.Fatalf("View(%d) = %v want %v", b, got, states[b])
			}
		})
	}
	t.Run("txn reads own writes", func(t *testing.T) {
		txn, err := db.Begin()
		if err != nil {
			t.Fatal(err)
		}
		defer txn.Discard()
		for k, v := range states[8] {
			got, err := txn.Get([]byte(k))
			if err != nil || string(got) != v {
				t.Fatalf("Get(%s) = %q, %v want %q", k, got, err, v)
			}
		}
		if got, err := txn.Get([]byte("nope")); got != nil || err != nil {
			t.Fatalf("absent key: %q %v", got, err)
		}
		_ = txn.Set([]byte("new"), []byte("x"))
		_ = txn.Set([]byte("empty"), nil)
		if got, _ := txn.Get([]byte("new")); string(got) != "x" {
			t.Fatal("own write invisible")
		}
		if got, _ := txn.Get([]byte("empty")); got == nil || len(got) != 0 {
			t.Fatalf("present empty value must be non-nil, got %v", got)
		}
	})
	t.Run("view unknown", func(t *testing.T) {
		if _, err := db.View(9); !errors.Is(err, store.ErrBatchUnknown) {
			t.Fatalf("got %v", err)
		}
	})
}

func TestTxnLifecycle(t *testing.T) {
	db := openMem(t, nil)
	txn, err := db.Begin()
	if err != nil || txn.Batch() != 1 {
		t.Fatal(err)
	}
	if _, err := db.Begin(); !errors.Is(err, store.ErrTxnOpen) {
		t.Fatalf("second Begin: %v", err)
	}
	if err := db.Rollback(0); !errors.Is(err, store.ErrTxnOpen) {
		t.Fatalf("Rollback with open txn: %v", err)
	}
	_ = txn.Set([]byte("a"), []byte("1"))
	txn.Discard()
	txn.Discard() // idempotent
	if err := txn.Set([]byte("a"), []byte("1")); !errors.Is(err, store.ErrTxnDone) {
		t.Fatalf("Set after Discard: %v", err)
	}
	if err := txn.Commit(); !errors.Is(err, store.ErrTxnDone) {
		t.Fatalf("Commit after Discard: %v", err)
	}
	if db.Head() != 0 || len(view(t, db, 0)) != 0 {
		t.Fatal("discarded txn changed state")
	}
	txn, err = db.Begin()
	if err != nil || txn.Batch() != 1 {
		t.Fatalf("Begin after Discard: %v", err)
	}
	_ = txn.Set([]byte("a"), []byte("1"))
	if err := txn.Commit(); err != nil {
		t.Fatal(err)
	}
	if _, err := txn.Get([]byte("a")); !errors.Is(err, store.ErrTxnDone) {
		t.Fatalf("Get after Commit: %v", err)
	}
	txn, err = db.Begin()
	if err != nil || txn.Batch() != 2 {
		t.Fatalf("Begin after Commit: %v", err)
	}
	if err := db.SetFinalized(1); err != nil { // allowed with an open Txn
		t.Fatal(err)
	}
	_ = txn.Set([]byte("b"), []byte("2"))
	if err := txn.Commit(); err != nil {
		t.Fatal(err)
	}
	if db.Head() != 2 || db.Finalized() != 1 {
		t.Fatalf("head %d finalized %d", db.Head(), db.Finalized())
	}
}

func TestReservedKey(t *testing.T) {
	db := openMem(t, nil)
	txn, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer txn.Discard()
	for _, k := range [][]byte{{0xFF}, {0xFF, 'm'}, []byte("\xffhello"), {}, nil} {
		if err := txn.Set(k, []byte("x")); !errors.Is(err, store.ErrReservedKey) {
			t.Fatalf("Set(%x): %v", k, err)
		}
		if err := txn.Delete(k); !errors.Is(err, store.ErrReservedKey) {
			t.Fatalf("Delete(%x): %v", k, err)
		}
		if _, err := txn.Get(k); !errors.Is(err, store.ErrReservedKey) {
			t.Fatalf("Get(%x): %v", k, err)
		}
	}
	if err := txn.Set([]byte{0xFE, 0xFF}, []byte("ok")); err != nil {
		t.Fatal(err)
	}
}

func TestBatchTooLarge(t *testing.T) {
	const memTable = 64 << 10
	for _, tc := range []struct {
		name    string
		atSet   bool // fail at Set (true) or only at Commit (false)
		onDisk  bool
		deletes bool
	}{
		{"at set", true, false, false},
		{"at commit", false, false, false},
		{"at set deletes", true, false, true},
		{"at commit on disk", false, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mod := func(o *store.Options) { o.MemTableSize = memTable }
			var db *store.DB
			if tc.onDisk {
				db = openDisk(t, t.TempDir(), mod)
				defer db.Close()
			} else {
				db = openMem(t, mod)
			}
			base := map[string]string{"keep": "1", "k0000": "old"}
			commitBatch(t, db, base)
			key := func(i int) []byte { return []byte(fmt.Sprintf("k%04d", i)) }
			write := func(txn *store.Txn, i int) error {
				if tc.deletes {
					return txn.Delete(key(i))
				}
				return txn.Set(key(i), []byte("value-value-value"))
			}
			// Find how many writes a Txn accepts.
			txn, _ := db.Begin()
			n := 0
			var err error
			for ; ; n++ {
				if err = write(txn, n); err != nil {
					break
				}
			}
			if !errors.Is(err, store.ErrBatchTooLarge) {
				t.Fatalf("Set #%d: %v", n, err)
			}
			if err := txn.Set([]byte("x"), []byte("y")); !errors.Is(err, store.ErrBatchTooLarge) {
				t.Fatalf("Set after too large: %v", err)
			}
			if tc.atSet {
				if err := txn.Commit(); !errors.Is(err, store.ErrBatchTooLarge) {
					t.Fatalf("Commit: %v", err)
				}
			} else {
				txn.Discard()
				// n accepted writes plus the undo record, timestamp and meta cannot fit.
				txn, _ = db.Begin()
				for i := 0; i < n; i++ {
					if err := write(txn, i); err != nil {
						t.Fatal(err)
					}
				}
				if err := txn.Commit(); !errors.Is(err, store.ErrBatchTooLarge) {
					t.Fatalf("Commit: %v", err)
				}
			}
			if db.Head() != 1 {
				t.Fatalf("head moved to %d", db.Head())
			}
			if got := view(t, db, 1); !maps.Equal(got, base) {
				t.Fatalf("state after failed batch: %v", got)
			}
			// The store is still usable and the batch number is reused.
			if b := commitBatch(t, db, map[string]string{"after": "1"}); b != 2 {
				t.Fatalf("next batch %d", b)
			}
			if n < 10 {
				t.Fatalf("only %d writes fit", n)
			}
		})
	}
}

func TestRollback(t *testing.T) {
	for _, onDisk := range []bool{false, true} {
		t.Run(fmt.Sprintf("onDisk=%v", onDisk), func(t *testing.T) {
			dir := t.TempDir()
			var db *store.DB
			reopen := func() {
				if onDisk {
					if db != nil {
						if err := db.Close(); err != nil {
							t.Fatal(err)
						}
					}
					db = openDisk(t, dir, nil)
				}
			}
			if onDisk {
				reopen()
				defer func() { db.Close() }()
			} else {
				db = openMem(t, nil)
			}
			rng := rand.New(rand.NewPCG(7, 7))
			states := history(t, db, rng, 12)
			if err := db.SetFinalized(3); err != nil {
				t.Fatal(err)
			}
			for _, tc := range []struct {
				to      uint64
				wantErr error
			}{
				{2, store.ErrRollbackFinalized},
				{0, store.ErrRollbackFinalized},
				{13, store.ErrBatchUnknown},
			} {
				if err := db.Rollback(tc.to); !errors.Is(err, tc.wantErr) {
					t.Fatalf("Rollback(%d): %v want %v", tc.to, err, tc.wantErr)
				}
			}
			if err := db.Rollback(12); err != nil || db.Head() != 12 {
				t.Fatalf("no-op rollback: %v", err)
			}
			check := func(b uint64) {
				t.Helper()
				if got := view(t, db, b); !maps.Equal(got, states[b]) {
					t.Fatalf("state at %d differs:\n got %v\nwant %v", b, got, states[b])
				}
			}
			// Keep a snapshot of a batch that will be rolled back.
			snap, err := db.View(10)
			if err != nil {
				t.Fatal(err)
			}
			if err := db.Rollback(7); err != nil {
				t.Fatal(err)
			}
			if db.Head() != 7 {
				t.Fatalf("head %d", db.Head())
			}
			if got := store.DumpSnapshot(snap); !maps.Equal(got, states[10]) {
				t.Fatal("open snapshot of rolled-back batch changed")
			}
			snap.Discard()
			for b := uint64(0); b <= 7; b++ {
				check(b)
			}
			if _, err := db.View(8); !errors.Is(err, store.ErrBatchUnknown) {
				t.Fatalf("View(8) after rollback: %v", err)
			}
			reopen()
			if db.Head() != 7 || db.Finalized() != 3 {
				t.Fatalf("after reopen head %d finalized %d", db.Head(), db.Finalized())
			}
			// Txn reads the rolled-back state, redo batches 8.. with new content.
			txn, err := db.Begin()
			if err != nil || txn.Batch() != 8 {
				t.Fatal(err)
			}
			for k, v := range states[7] {
				if got, _ := txn.Get([]byte(k)); string(got) != v {
					t.Fatalf("txn after rollback reads %q=%q want %q", k, got, v)
				}
			}
			txn.Discard()
			states = states[:8]
			for i := 8; i <= 11; i++ {
				ops := randomOps(rng, 20, 50)
				commitBatch(t, db, ops)
				states = append(states, apply(states[i-1], ops))
			}
			reopen()
			for b := uint64(0); b <= 11; b++ {
				check(b)
			}
			if err := db.Rollback(3); err != nil {
				t.Fatal(err)
			}
			reopen()
			for b := uint64(0); b <= 3; b++ {
				check(b)
			}
			if db.Head() != 3 {
				t.Fatalf("head %d", db.Head())
			}
			// Undo records of finalized batches are gone, none is left over.
			for k := range store.DumpInternal(db) {
				if strings.HasPrefix(k, "\xffu") {
					t.Fatalf("stray undo record %x", k)
				}
			}
		})
	}
}

func TestPrune(t *testing.T) {
	dir := t.TempDir()
	db := openDisk(t, dir, func(o *store.Options) { o.KeepBatches = 2 })
	states := history(t, db, rand.New(rand.NewPCG(3, 3)), 10)
	if err := db.SetFinalized(11); !errors.Is(err, store.ErrBatchUnknown) {
		t.Fatalf("SetFinalized(11): %v", err)
	}
	if err := db.SetFinalized(8); err != nil {
		t.Fatal(err)
	}
	if err := db.SetFinalized(5); err != nil || db.Finalized() != 8 { // monotonic no-op
		t.Fatalf("SetFinalized(5): %v, finalized %d", err, db.Finalized())
	}
	checkPruned := func() {
		t.Helper()
		for b := uint64(0); b <= 10; b++ {
			s, err := db.View(b)
			if b < 6 {
				if !errors.Is(err, store.ErrBatchPruned) {
					t.Fatalf("View(%d): %v want ErrBatchPruned", b, err)
				}
				continue
			}
			if err != nil {
				t.Fatalf("View(%d): %v", b, err)
			}
			if got := store.DumpSnapshot(s); !maps.Equal(got, states[b]) {
				t.Fatalf("View(%d) differs", b)
			}
			s.Discard()
		}
	}
	checkPruned()
	if err := db.Rollback(7); !errors.Is(err, store.ErrRollbackFinalized) {
		t.Fatalf("Rollback(7): %v", err)
	}
	internal := store.DumpInternal(db)
	for b := uint64(1); b <= 10; b++ {
		_, hasUndo := internal[string(undoKeyForTest(b))]
		if hasUndo != (b > 8) {
			t.Fatalf("batch %d: undo record present=%v", b, hasUndo)
		}
		_, hasTs := internal[string(append([]byte{0xff, 't'}, be64(b)...))]
		if hasTs != (b >= 6) {
			t.Fatalf("batch %d: timestamp present=%v", b, hasTs)
		}
	}
	// Reopen (flushes the memtable) and compact with the discard timestamp set:
	// readable batches must be unaffected.
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = openDisk(t, dir, func(o *store.Options) { o.KeepBatches = 2 })
	defer db.Close()
	if err := store.Flatten(db); err != nil {
		t.Fatal(err)
	}
	checkPruned()
	if err := db.Rollback(8); err != nil {
		t.Fatal(err)
	}
	if got := view(t, db, 8); !maps.Equal(got, states[8]) {
		t.Fatal("rollback to finalized batch differs")
	}
}

func be64(v uint64) []byte {
	return []byte{byte(v >> 56), byte(v >> 48), byte(v >> 40), byte(v >> 32), byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}
}

func undoKeyForTest(b uint64) []byte {
	return append(append([]byte{0xff, 'u'}, be64(b)...), 0, 0, 0, 0)
}

func TestReopen(t *testing.T) {
	dir := t.TempDir()
	db := openDisk(t, dir, nil)
	states := history(t, db, rand.New(rand.NewPCG(5, 5)), 5)
	if err := db.SetFinalized(2); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); !errors.Is(err, store.ErrClosed) {
		t.Fatalf("double Close: %v", err)
	}
	if _, err := db.Begin(); !errors.Is(err, store.ErrClosed) {
		t.Fatalf("Begin after Close: %v", err)
	}
	db = openDisk(t, dir, nil)
	defer db.Close()
	if db.Head() != 5 || db.Finalized() != 2 {
		t.Fatalf("reopened at head %d finalized %d", db.Head(), db.Finalized())
	}
	for b := range states {
		if got := view(t, db, uint64(b)); !maps.Equal(got, states[b]) {
			t.Fatalf("batch %d differs after reopen", b)
		}
	}
	if b := commitBatch(t, db, map[string]string{"z": "1"}); b != 6 {
		t.Fatalf("next batch %d", b)
	}
}

func TestOptions(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    store.Options
		ok   bool
	}{
		{"default", store.DefaultOptions("/tmp/x"), true},
		{"no dir", store.DefaultOptions(""), false},
		{"in memory", store.Options{InMemory: true}, true},
		{"tiny memtable", store.Options{InMemory: true, MemTableSize: 1024}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.o.Check()
			if (err == nil) != tc.ok || (err != nil && !errors.Is(err, store.ErrInvalidOptions)) {
				t.Fatalf("Check: %v", err)
			}
		})
	}
	if o := store.DefaultOptions("d"); o.NoSync || o.KeepBatches != 128 {
		t.Fatalf("defaults: %+v", o)
	}
}

func TestTreeOnStore(t *testing.T) {
	db := openMem(t, nil)
	tr := smt.New([]byte("acct"), 16, fr.Element{})
	rng := rand.New(rand.NewPCG(9, 9))
	roots := []fr.Element{tr.EmptyRoot()}
	for b := 1; b <= 3; b++ {
		txn, _ := db.Begin()
		for i := 0; i < 50; i++ {
			var e fr.Element
			e.SetUint64(rng.Uint64())
			if _, err := tr.Update(txn, rng.Uint64N(1<<16), e); err != nil {
				t.Fatal(err)
			}
		}
		r, _ := tr.Root(txn)
		roots = append(roots, r)
		if err := txn.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	for b, want := range roots {
		s, _ := db.View(uint64(b))
		got, err := tr.Root(s)
		if err != nil || got != want {
			t.Fatalf("root at batch %d", b)
		}
		p, err := tr.Prove(s, 12345)
		if err != nil || !p.Verify(want, tr.Depth()) {
			t.Fatalf("proof at batch %d", b)
		}
		s.Discard()
	}
}

// memKV is an in-memory smt.Writer used as the replay model.
type memKV map[string][]byte

func (m memKV) Get(k []byte) ([]byte, error) {
	v, ok := m[string(k)]
	if !ok {
		return nil, nil
	}
	return append([]byte{}, v...), nil
}
func (m memKV) Set(k, v []byte) error { m[string(k)] = append([]byte(nil), v...); return nil }
func (m memKV) Delete(k []byte) error { delete(m, string(k)); return nil }

func TestGCInSteps(t *testing.T) {
	// A tiny memtable cannot hold all deletions of one big finalization step.
	dir := t.TempDir()
	mod := func(o *store.Options) { o.MemTableSize = 64 << 10; o.KeepBatches = 0 }
	db := openDisk(t, dir, mod)
	const n = 400
	for i := 1; i <= n; i++ {
		commitBatch(t, db, map[string]string{fmt.Sprintf("k%d", i%7): fmt.Sprint(i)})
	}
	if err := db.SetFinalized(n); err != nil {
		t.Fatal(err)
	}
	for k := range store.DumpInternal(db) {
		if strings.HasPrefix(k, "\xffu") || (strings.HasPrefix(k, "\xfft") && k != string(append([]byte{0xff, 't'}, be64(n)...))) {
			t.Fatalf("stray internal key %x", k)
		}
	}
	if _, err := db.View(n - 1); !errors.Is(err, store.ErrBatchPruned) {
		t.Fatalf("View(%d): %v", n-1, err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = openDisk(t, dir, mod)
	defer db.Close()
	if db.Head() != n || db.Finalized() != n {
		t.Fatalf("head %d finalized %d", db.Head(), db.Finalized())
	}
	want := map[string]string{}
	for i := n - 6; i <= n; i++ {
		want[fmt.Sprintf("k%d", i%7)] = fmt.Sprint(i)
	}
	if got := view(t, db, n); !maps.Equal(got, want) {
		t.Fatalf("state %v", got)
	}
}
