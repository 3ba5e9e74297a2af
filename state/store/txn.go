package store

import (
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"
)

// Txn is the read-write transaction building one batch. It is not safe for
// concurrent use.
type Txn struct {
	db      *DB
	btxn    *badger.Txn
	batch   uint64
	changed map[string]struct{} // keys written by this batch (its undo record)
	err     error               // sticky ErrBatchTooLarge
	done    bool
}

// Batch returns the batch number this Txn commits as.
func (t *Txn) Batch() uint64 { return t.batch }

func checkKey(key []byte) error {
	if len(key) == 0 || key[0] == reservedPrefix {
		return fmt.Errorf("%w: %x", ErrReservedKey, key)
	}
	return nil
}

func (t *Txn) usable() error {
	if t.done {
		return ErrTxnDone
	}
	if t.db.closed.Load() {
		return ErrClosed
	}
	return t.err
}

// Get returns the value of key as seen by this batch: Head()'s state plus
// this Txn's own writes. It returns (nil, nil) if the key is absent; the
// returned slice is a copy, safe to keep.
func (t *Txn) Get(key []byte) ([]byte, error) {
	if err := t.usable(); err != nil {
		return nil, err
	}
	if err := checkKey(key); err != nil {
		return nil, err
	}
	v, err := getCopy(t.btxn, key)
	if err != nil {
		return nil, fmt.Errorf("store: get %x: %w", key, err)
	}
	return v, nil
}

// Set writes key = value in this batch. key and value are copied.
func (t *Txn) Set(key, value []byte) error {
	if err := t.usable(); err != nil {
		return err
	}
	if err := checkKey(key); err != nil {
		return err
	}
	buf := make([]byte, len(key)+len(value))
	k := buf[:len(key):len(key)]
	copy(k, key)
	v := buf[len(key):]
	copy(v, value)
	return t.record(k, t.btxn.Set(k, v))
}

// Delete removes key in this batch.
func (t *Txn) Delete(key []byte) error {
	if err := t.usable(); err != nil {
		return err
	}
	if err := checkKey(key); err != nil {
		return err
	}
	k := append([]byte(nil), key...)
	return t.record(k, t.btxn.Delete(k))
}

func (t *Txn) record(k []byte, err error) error {
	if err != nil {
		err = t.db.writeErr(err, fmt.Sprintf("batch %d", t.batch))
		if errors.Is(err, ErrBatchTooLarge) {
			t.err = err // the whole batch is lost; Commit reports it again
			t.btxn.Discard()
		}
		return err
	}
	t.changed[string(k)] = struct{}{}
	return nil
}

// Commit commits everything as batch Batch(), atomically, and - with
// synced writes - durably: once it returns nil the batch survives a crash. If
// the batch does not fit in one Badger transaction it fails with
// ErrBatchTooLarge and nothing is written (Head() is unchanged); a batch is
// never split. The Txn is finished either way.
func (t *Txn) Commit() error {
	if t.done {
		return ErrTxnDone
	}
	db := t.db
	db.mu.Lock()
	defer db.mu.Unlock()
	defer t.finish()
	if err := t.usable(); err != nil {
		return err
	}
	if err := db.checkWritable(); err != nil {
		return err
	}
	what := fmt.Sprintf("batch %d", t.batch)
	ts := db.m.lastTs + 1 // db.commit uses the same
	for i, chunk := range encodeUndo(t.changed, db.chunk) {
		if err := t.btxn.Set(undoKey(t.batch, uint32(i)), chunk); err != nil {
			return db.writeErr(err, what)
		}
	}
	var tsv [8]byte
	putU64(tsv[:], ts)
	if err := t.btxn.Set(tsKey(t.batch), tsv[:]); err != nil {
		return db.writeErr(err, what)
	}
	m := db.m
	m.head = t.batch
	return db.commit(t.btxn, m, what)
}

// Discard abandons the Txn; nothing of it is written. It is a no-op after
// Commit or Discard.
func (t *Txn) Discard() {
	if t.done {
		return
	}
	t.db.mu.Lock()
	defer t.db.mu.Unlock()
	t.finish()
}

// finish must hold db.mu.
func (t *Txn) finish() {
	if t.done {
		return
	}
	t.done = true
	t.btxn.Discard()
	if t.db.txn == t {
		t.db.txn = nil
	}
}

// Snapshot is a read-only view of the state as of one batch. It is safe for
// concurrent use. Discard it when done: it holds back pruning.
type Snapshot struct {
	db    *DB
	batch uint64
	ts    uint64
	btxn  *badger.Txn
	done  bool // guarded by db.mu
}

// Batch returns the batch this snapshot shows.
func (s *Snapshot) Batch() uint64 { return s.batch }

// Get returns the value of key at the snapshot's batch, (nil, nil) if absent.
// The returned slice is a copy, safe to keep.
func (s *Snapshot) Get(key []byte) ([]byte, error) {
	if s.db.closed.Load() {
		return nil, ErrClosed
	}
	if err := checkKey(key); err != nil {
		return nil, err
	}
	v, err := getCopy(s.btxn, key)
	if errors.Is(err, badger.ErrDiscardedTxn) {
		return nil, ErrTxnDone
	}
	if err != nil {
		return nil, fmt.Errorf("store: get %x at batch %d: %w", key, s.batch, err)
	}
	return v, nil
}

// Discard releases the snapshot.
func (s *Snapshot) Discard() {
	db := s.db
	db.mu.Lock()
	defer db.mu.Unlock()
	if s.done {
		return
	}
	s.done = true
	s.btxn.Discard()
	if db.snaps != nil {
		delete(db.snaps, s)
		db.applyDiscardTs()
	}
}
