package bridge

import (
	"errors"
	"sync"

	badger "github.com/dgraph-io/badger/v4"

	"github.com/modex/modex/state/store"
)

// ErrNotFound is a key the store does not hold.
var ErrNotFound = errors.New("bridge: not found")

// Store keeps the watcher's cursor and the submitter's sent transactions
// across restarts. Put must be durable when it returns.
type Store interface {
	Get(key string) ([]byte, error) // ErrNotFound if absent
	Put(key string, value []byte) error
	Delete(key string) error
}

// MemStore is a Store in memory (tests; a process that may forget).
type MemStore struct {
	mu sync.Mutex
	m  map[string][]byte
}

// NewMemStore returns an empty MemStore.
func NewMemStore() *MemStore { return &MemStore{m: map[string][]byte{}} }

func (s *MemStore) Get(key string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.m[key]
	if !ok {
		return nil, ErrNotFound
	}
	return append([]byte(nil), v...), nil
}

func (s *MemStore) Put(key string, value []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[key] = append([]byte(nil), value...)
	return nil
}

func (s *MemStore) Delete(key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, key)
	return nil
}

// BadgerStore is a Store in a Badger database, under a key prefix: its own
// directory (OpenBadgerStore), or a database it shares (NewBadgerStore: the
// node keeps it in its journal, under "b/"). Writes are synced when the
// database syncs them.
type BadgerStore struct {
	db     *badger.DB
	prefix string
	own    *store.Plain // the database, when the store opened it
}

// OpenBadgerStore opens (or creates) the store in its own directory, with
// synced writes and the store package's crash precautions.
func OpenBadgerStore(dir string) (*BadgerStore, error) {
	pl, err := store.OpenPlain(dir, false, false)
	if err != nil {
		return nil, err
	}
	return &BadgerStore{db: pl.DB, own: pl}, nil
}

// NewBadgerStore is a store in an open database shared with others; its keys
// start with prefix. Close does not close the database.
func NewBadgerStore(db *badger.DB, prefix string) *BadgerStore {
	return &BadgerStore{db: db, prefix: prefix}
}

// Close closes the database if the store opened it.
func (s *BadgerStore) Close() error {
	if s.own == nil {
		return nil
	}
	return s.own.Close()
}

func (s *BadgerStore) Get(key string) ([]byte, error) {
	var out []byte
	err := s.db.View(func(txn *badger.Txn) error {
		it, err := txn.Get([]byte(s.prefix + key))
		if errors.Is(err, badger.ErrKeyNotFound) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		out, err = it.ValueCopy(nil)
		return err
	})
	return out, err
}

func (s *BadgerStore) Put(key string, value []byte) error {
	return s.db.Update(func(txn *badger.Txn) error { return txn.Set([]byte(s.prefix+key), value) })
}

func (s *BadgerStore) Delete(key string) error {
	return s.db.Update(func(txn *badger.Txn) error { return txn.Delete([]byte(s.prefix + key)) })
}
