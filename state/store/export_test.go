package store

import (
	"bytes"

	"github.com/dgraph-io/badger/v4"
)

// DumpSnapshot returns every user key/value visible in s.
func DumpSnapshot(s *Snapshot) map[string]string {
	return dump(s.btxn, false)
}

// DumpInternal returns every internal (0xFF-prefixed) key visible at the
// latest commit.
func DumpInternal(db *DB) map[string]string {
	db.mu.Lock()
	r := db.bdb.NewTransactionAt(db.m.lastTs, false)
	db.mu.Unlock()
	defer r.Discard()
	return dump(r, true)
}

func dump(t *badger.Txn, internal bool) map[string]string {
	out := map[string]string{}
	it := t.NewIterator(badger.DefaultIteratorOptions)
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		k := it.Item().KeyCopy(nil)
		if (len(k) > 0 && k[0] == reservedPrefix) != internal || bytes.HasPrefix(k, []byte("!badger!")) {
			continue
		}
		v, err := it.Item().ValueCopy(nil)
		if err != nil {
			panic(err)
		}
		out[string(k)] = string(v)
	}
	return out
}

// Flatten compacts the LSM tree (applying the discard timestamp).
func Flatten(db *DB) error { return db.bdb.Flatten(2) }
