package store

import (
	"fmt"
	"os"

	"github.com/dgraph-io/badger/v4"
)

// Plain is an ordinary (non-versioned) Badger database opened with the same
// crash precautions as Open: our own directory lock, then the removal of the
// empty memtable or value-log files a SIGKILL can leave (dgraph-io/badger#2207).
// The sequencer's journal (pool, orders, records, pipeline) is one.
type Plain struct {
	*badger.DB
	lock *os.File
}

// OpenPlain opens dir ("" with inMemory for tests). Writes are synced before
// they return unless noSync.
func OpenPlain(dir string, inMemory, noSync bool) (*Plain, error) {
	if !inMemory && dir == "" {
		return nil, fmt.Errorf("%w: no directory", ErrInvalidOptions)
	}
	var lock *os.File
	if !inMemory {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("store: %w", err)
		}
		var err error
		if lock, err = lockDir(dir); err != nil {
			return nil, err
		}
		if err := removeEmptyMemtables(dir); err != nil {
			unlockDir(lock)
			return nil, err
		}
	}
	o := badger.DefaultOptions(dir).WithInMemory(inMemory).WithSyncWrites(!noSync).
		WithLoggingLevel(badger.WARNING).WithMetricsEnabled(false).WithNumVersionsToKeep(1)
	if inMemory {
		o = o.WithDir("").WithValueDir("")
	}
	db, err := badger.Open(o)
	if err != nil {
		unlockDir(lock)
		return nil, fmt.Errorf("store: open badger: %w", err)
	}
	return &Plain{DB: db, lock: lock}, nil
}

// Close closes the database and releases the lock.
func (p *Plain) Close() error {
	err := p.DB.Close()
	unlockDir(p.lock)
	return err
}
