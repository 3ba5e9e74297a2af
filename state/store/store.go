package store

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/dgraph-io/badger/v4"
)

// DB is a versioned key/value store: every committed batch is an MVCC
// version of a managed-mode Badger database. All methods are safe for
// concurrent use; writes (Txn commits, Rollback, SetFinalized) are serialized.
type DB struct {
	bdb   *badger.DB
	opts  Options
	chunk int

	closed atomic.Bool

	mu        sync.Mutex
	m         meta   // in-memory copy of the persisted meta
	pruneTs   uint64 // commit timestamp of batch m.pruneFloor
	txn       *Txn   // the open Txn, if any
	snaps     map[*Snapshot]struct{}
	discardTs uint64
	failed    error    // sticky: set after an unexpected commit error
	lock      *os.File // our directory lock (nil in memory)
}

// Open opens (or creates) the store and resumes at the last committed batch.
func Open(opts Options) (*DB, error) {
	if err := opts.Check(); err != nil {
		return nil, err
	}
	var lock *os.File
	if !opts.InMemory {
		// Our own lock first: the clean-up below must never run beside a live
		// instance (it could unlink a memtable that instance just created).
		var err error
		if lock, err = lockDir(opts.Dir); err != nil {
			return nil, err
		}
		if err := removeEmptyMemtables(opts.Dir); err != nil {
			unlockDir(lock)
			return nil, err
		}
	}
	bdb, err := badger.OpenManaged(opts.badger())
	if err != nil {
		unlockDir(lock)
		return nil, fmt.Errorf("store: open badger: %w", err)
	}
	db := &DB{bdb: bdb, opts: opts, chunk: opts.undoChunk(), snaps: map[*Snapshot]struct{}{}, lock: lock}
	if err := db.load(); err != nil {
		_ = bdb.Close()
		unlockDir(lock) // else every later Open in this process says ErrLocked
		return nil, err
	}
	db.mu.Lock()
	db.applyDiscardTs()
	err = db.gc()
	db.mu.Unlock()
	if err != nil {
		_ = bdb.Close()
		unlockDir(lock)
		return nil, err
	}
	return db, nil
}

func (db *DB) load() error {
	r := db.bdb.NewTransactionAt(math.MaxUint64, false)
	defer r.Discard()
	v, err := getCopy(r, metaKey)
	if err != nil {
		return fmt.Errorf("store: read meta: %w", err)
	}
	if v == nil { // fresh store: genesis is batch 0 at timestamp 0
		db.m = meta{undoFloor: 1}
		return nil
	}
	if db.m, err = decodeMeta(v); err != nil {
		return err
	}
	db.pruneTs, err = db.tsOf(r, db.m.pruneFloor)
	return err
}

// getCopy returns a copy of key's value, nil if absent, non-nil if present.
func getCopy(t *badger.Txn, key []byte) ([]byte, error) {
	it, err := t.Get(key)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	v, err := it.ValueCopy(nil)
	if err != nil {
		return nil, err
	}
	if v == nil {
		v = []byte{}
	}
	return v, nil
}

// tsOf returns the commit timestamp of batch (0 for genesis) via r.
func (db *DB) tsOf(r *badger.Txn, batch uint64) (uint64, error) {
	if batch == 0 {
		return 0, nil
	}
	v, err := getCopy(r, tsKey(batch))
	if err != nil {
		return 0, fmt.Errorf("store: read timestamp of batch %d: %w", batch, err)
	}
	if v == nil {
		return 0, fmt.Errorf("%w: no timestamp for batch %d", ErrCorrupt, batch)
	}
	return decodeTs(v)
}

// Close closes the store. An open Txn is discarded; open Snapshots must not
// be used afterwards (they return ErrClosed).
func (db *DB) Close() error {
	db.mu.Lock()
	defer db.mu.Unlock()
	if db.closed.Swap(true) {
		return ErrClosed
	}
	if db.txn != nil {
		db.txn.finish()
	}
	for s := range db.snaps {
		s.btxn.Discard()
		s.done = true
	}
	db.snaps = nil
	err := db.bdb.Close()
	unlockDir(db.lock)
	if err != nil {
		return fmt.Errorf("store: close badger: %w", err)
	}
	return nil
}

// Head returns the last committed batch number (0 = genesis, nothing committed).
func (db *DB) Head() uint64 {
	db.mu.Lock()
	defer db.mu.Unlock()
	return db.m.head
}

// Finalized returns the finalized batch: batches <= Finalized() cannot be
// rolled back.
func (db *DB) Finalized() uint64 {
	db.mu.Lock()
	defer db.mu.Unlock()
	return db.m.finalized
}

// checkWritable must hold db.mu.
func (db *DB) checkWritable() error {
	if db.closed.Load() {
		return ErrClosed
	}
	return db.failed
}

// commit commits w at the next timestamp with meta m (m.lastTs is set
// here). It must hold db.mu. ErrTxnTooBig becomes ErrBatchTooLarge and
// leaves the DB usable; any other Badger error makes the DB fail.
func (db *DB) commit(w *badger.Txn, m meta, what string) error {
	defer w.Discard()
	ts := db.m.lastTs + 1
	m.lastTs = ts
	if err := w.Set(metaKey, m.encode()); err != nil {
		return db.writeErr(err, what)
	}
	if err := w.CommitAt(ts, nil); err != nil {
		err = db.writeErr(err, what)
		if !errors.Is(err, ErrBatchTooLarge) {
			db.failed = fmt.Errorf("%w: %w", ErrFailed, err)
		}
		return err
	}
	db.m = m
	return nil
}

func (db *DB) writeErr(err error, what string) error {
	if errors.Is(err, badger.ErrTxnTooBig) {
		return fmt.Errorf("%w: %s: %w", ErrBatchTooLarge, what, err)
	}
	return fmt.Errorf("store: %s: %w", what, err)
}

// Begin opens the read-write transaction that will become batch Head()+1.
// Its reads see Head()'s state plus its own writes. Only one Txn may be open:
// a second Begin returns ErrTxnOpen until Commit or Discard.
func (db *DB) Begin() (*Txn, error) {
	db.mu.Lock()
	defer db.mu.Unlock()
	if err := db.checkWritable(); err != nil {
		return nil, err
	}
	if db.txn != nil {
		return nil, ErrTxnOpen
	}
	t := &Txn{
		db:      db,
		btxn:    db.bdb.NewTransactionAt(db.m.lastTs, true),
		batch:   db.m.head + 1,
		changed: map[string]struct{}{},
	}
	db.txn = t
	return t, nil
}

// View returns a read-only snapshot of the state as of batch (0..Head()).
// It fails with ErrBatchUnknown above Head() and ErrBatchPruned for batches
// older than Finalized()-KeepBatches (or already pruned under a previous
// setting). An open Snapshot holds back pruning of its versions.
func (db *DB) View(batch uint64) (*Snapshot, error) {
	db.mu.Lock()
	defer db.mu.Unlock()
	if db.closed.Load() {
		return nil, ErrClosed
	}
	if batch > db.m.head {
		return nil, fmt.Errorf("%w: %d > head %d", ErrBatchUnknown, batch, db.m.head)
	}
	if batch < db.m.pruneFloor {
		return nil, fmt.Errorf("%w: %d < %d", ErrBatchPruned, batch, db.m.pruneFloor)
	}
	r := db.bdb.NewTransactionAt(db.m.lastTs, false)
	ts, err := db.tsOf(r, batch)
	r.Discard()
	if err != nil {
		return nil, err
	}
	s := &Snapshot{db: db, batch: batch, ts: ts, btxn: db.bdb.NewTransactionAt(ts, false)}
	db.snaps[s] = struct{}{}
	return s, nil
}

// applyDiscardTs lets Badger discard versions no longer readable: the
// oldest readable batch's timestamp, held back by open snapshots. It must
// hold db.mu.
func (db *DB) applyDiscardTs() {
	ts := db.pruneTs
	for s := range db.snaps {
		ts = min(ts, s.ts)
	}
	if ts > db.discardTs {
		db.discardTs = ts
		db.bdb.SetDiscardTs(ts)
	}
}

// Rollback undoes batches to+1..Head() in one atomic Badger transaction:
// afterwards Head() == to, every key reads as it did at batch to, and the
// next Begin gives batch to+1 again (at a new, higher timestamp). It refuses
// with ErrRollbackFinalized below Finalized(), ErrBatchUnknown above Head(),
// ErrTxnOpen while a Txn is open, and ErrBatchTooLarge if the undo does not
// fit in one transaction (nothing is changed; roll back in smaller steps).
// Snapshots of rolled-back batches stay readable until discarded.
func (db *DB) Rollback(to uint64) error {
	db.mu.Lock()
	defer db.mu.Unlock()
	if err := db.checkWritable(); err != nil {
		return err
	}
	if db.txn != nil {
		return ErrTxnOpen
	}
	if to > db.m.head {
		return fmt.Errorf("%w: %d > head %d", ErrBatchUnknown, to, db.m.head)
	}
	if to < db.m.finalized {
		return fmt.Errorf("%w: %d < finalized %d", ErrRollbackFinalized, to, db.m.finalized)
	}
	if to == db.m.head {
		return nil
	}
	cur := db.bdb.NewTransactionAt(db.m.lastTs, false)
	defer cur.Discard()
	toTs, err := db.tsOf(cur, to)
	if err != nil {
		return err
	}
	// Collect the keys changed by batches to+1..head and their undo records.
	changed := map[string]struct{}{}
	var undoKeys [][]byte
	it := cur.NewIterator(badger.IteratorOptions{Prefix: undoPrefix, PrefetchValues: false})
	for it.Seek(undoKey(to+1, 0)); it.Valid(); it.Next() {
		item := it.Item()
		v, err := item.ValueCopy(nil)
		if err == nil {
			err = decodeUndo(v, changed)
		}
		if err != nil {
			it.Close()
			return fmt.Errorf("store: rollback: read undo record: %w", err)
		}
		undoKeys = append(undoKeys, item.KeyCopy(nil))
	}
	it.Close()

	old := db.bdb.NewTransactionAt(toTs, false)
	defer old.Discard()
	w := db.bdb.NewTransactionAt(db.m.lastTs, true)
	defer w.Discard()
	what := fmt.Sprintf("rollback to batch %d", to)
	for k := range changed {
		key := []byte(k)
		v, err := getCopy(old, key)
		if err != nil {
			return fmt.Errorf("store: rollback: read %x at batch %d: %w", key, to, err)
		}
		if v == nil {
			err = w.Delete(key)
		} else {
			err = w.Set(key, v)
		}
		if err != nil {
			return db.writeErr(err, what)
		}
	}
	for _, k := range undoKeys {
		if err := w.Delete(k); err != nil {
			return db.writeErr(err, what)
		}
	}
	for b := to + 1; b <= db.m.head; b++ {
		if err := w.Delete(tsKey(b)); err != nil {
			return db.writeErr(err, what)
		}
	}
	m := db.m
	m.head = to
	return db.commit(w, m, what)
}

// SetFinalized marks batches <= batch as proven: they can no longer be
// rolled back. It is monotonic (a batch <= Finalized() is a no-op) and fails
// with ErrBatchUnknown above Head(). It may be called while a Txn is open.
// It prunes: versions only needed by batches older than batch-KeepBatches
// may be discarded by Badger's compaction, and undo records of finalized
// batches and timestamps of pruned batches are deleted.
func (db *DB) SetFinalized(batch uint64) error {
	db.mu.Lock()
	defer db.mu.Unlock()
	if err := db.checkWritable(); err != nil {
		return err
	}
	if batch > db.m.head {
		return fmt.Errorf("%w: %d > head %d", ErrBatchUnknown, batch, db.m.head)
	}
	if batch <= db.m.finalized {
		return nil
	}
	m := db.m
	m.finalized = batch
	if batch > db.opts.KeepBatches {
		m.pruneFloor = max(m.pruneFloor, batch-db.opts.KeepBatches)
	}
	r := db.bdb.NewTransactionAt(db.m.lastTs, false)
	pruneTs, err := db.tsOf(r, m.pruneFloor)
	r.Discard()
	if err != nil {
		return err
	}
	w := db.bdb.NewTransactionAt(db.m.lastTs, true)
	if err := db.commit(w, m, fmt.Sprintf("finalize batch %d", batch)); err != nil {
		return err
	}
	db.pruneTs = pruneTs
	db.applyDiscardTs()
	return db.gc()
}

// gcChunk bounds the number of deletions per garbage-collection commit; it
// is halved while a commit is too large for a small MemTableSize.
const gcChunk = 4096

// gc deletes undo records of finalized batches and timestamps of pruned
// batches, in bounded commits that advance undoFloor/tsFloor atomically with
// the deletions (so an interrupted gc resumes on the next Open). It must
// hold db.mu.
func (db *DB) gc() error {
	limit := gcChunk
	for db.m.undoFloor <= db.m.finalized || db.m.tsFloor < db.m.pruneFloor {
		err := db.gcStep(limit)
		if errors.Is(err, ErrBatchTooLarge) && limit > 1 {
			limit /= 2
			continue
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// gcStep commits one bounded garbage-collection step.
func (db *DB) gcStep(limit int) error {
	m := db.m
	w := db.bdb.NewTransactionAt(m.lastTs, true)
	defer w.Discard()
	n := 0
	// Undo records: delete whole batches, stopping at a batch boundary.
	if m.undoFloor <= m.finalized {
		r := db.bdb.NewTransactionAt(m.lastTs, false)
		defer r.Discard()
		it := r.NewIterator(badger.IteratorOptions{Prefix: undoPrefix})
		defer it.Close()
		next := m.finalized + 1
		for it.Seek(undoKey(m.undoFloor, 0)); it.Valid(); it.Next() {
			k := it.Item().KeyCopy(nil)
			b, err := undoBatch(k)
			if err != nil {
				return err
			}
			if b > m.finalized {
				break
			}
			if n >= limit && isFirstChunk(k) {
				next = b
				break
			}
			if err := w.Delete(k); err != nil {
				return db.writeErr(err, "gc undo records")
			}
			n++
		}
		m.undoFloor = next
	}
	// Timestamps of pruned batches: keys are dense, delete directly.
	for m.tsFloor < m.pruneFloor && n < 2*limit {
		if m.tsFloor > 0 {
			if err := w.Delete(tsKey(m.tsFloor)); err != nil {
				return db.writeErr(err, "gc timestamps")
			}
			n++
		}
		m.tsFloor++
	}
	return db.commit(w, m, "gc")
}

func isFirstChunk(undoK []byte) bool {
	return bytes.Equal(undoK[len(undoK)-4:], []byte{0, 0, 0, 0})
}

// removeEmptyMemtables deletes zero-length memtable WAL files (*.mem) and
// value-log files (*.vlog). Badger creates such a file, then truncates it to
// size and writes its header; a SIGKILL between the two leaves an empty file
// on which every later Open fails ("Create a new file"; dgraph-io/badger#2207).
// An empty file cannot hold a write (writes need the sized,
// header-bootstrapped file, and no value pointer can point into it), so
// removing it loses nothing. The crash test found both.
func removeEmptyMemtables(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("store: read dir: %w", err)
	}
	for _, e := range entries {
		if e.IsDir() || !(strings.HasSuffix(e.Name(), ".mem") || strings.HasSuffix(e.Name(), ".vlog")) {
			continue
		}
		info, err := e.Info()
		if err != nil {
			return fmt.Errorf("store: stat %s: %w", e.Name(), err)
		}
		if info.Size() == 0 {
			if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
				return fmt.Errorf("store: remove empty %s: %w", e.Name(), err)
			}
		}
	}
	return nil
}

// lockDir takes an exclusive, non-blocking flock on dir/modex.lock, creating
// dir if needed. It is released by unlockDir (and by the kernel if the
// process dies).
func lockDir(dir string) (*os.File, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("store: create dir: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(dir, "modex.lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("store: lock file: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("%w: %s: %v", ErrLocked, dir, err)
	}
	return f, nil
}

func unlockDir(f *os.File) {
	if f != nil {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		_ = f.Close()
	}
}
