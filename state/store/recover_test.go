package store

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/dgraph-io/badger/v4"
)

// TestOpenAfterKillDuringMemtableCreate reproduces the state a SIGKILL leaves
// when it lands between Badger creating a memtable file and sizing it: an
// empty *.mem file. Open must recover with the committed data intact.
func TestOpenAfterKillDuringMemtableCreate(t *testing.T) {
	dir := t.TempDir()
	db, err := Open(DefaultOptions(dir))
	if err != nil {
		t.Fatal(err)
	}
	txn, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	if err := txn.Set([]byte("k"), []byte("v")); err != nil {
		t.Fatal(err)
	}
	if err := txn.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "00099.mem"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	db, err = Open(DefaultOptions(dir))
	if err != nil {
		t.Fatalf("open after an empty memtable file: %v", err)
	}
	defer db.Close()
	snap, err := db.View(db.Head())
	if err != nil {
		t.Fatal(err)
	}
	defer snap.Discard()
	if v, err := snap.Get([]byte("k")); err != nil || string(v) != "v" || db.Head() != 1 {
		t.Fatalf("after recovery: head %d, k=%q, err %v", db.Head(), v, err)
	}
}

// TestOpenLocked: a second Open of a live directory is refused before it
// touches anything (its memtable clean-up must never run beside a writer).
func TestOpenLocked(t *testing.T) {
	dir := t.TempDir()
	db, err := Open(DefaultOptions(dir))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Open(DefaultOptions(dir)); !errors.Is(err, ErrLocked) {
		t.Fatalf("second open: %v, want ErrLocked", err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db, err = Open(DefaultOptions(dir))
	if err != nil {
		t.Fatalf("open after close: %v", err)
	}
	db.Close()
}

// TestFailedOpenReleasesLock: an Open that fails after taking the directory
// lock (here on a corrupt meta record) releases it, so the real error shows
// on the next try instead of ErrLocked.
func TestFailedOpenReleasesLock(t *testing.T) {
	dir := t.TempDir()
	db, err := Open(DefaultOptions(dir))
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	bdb, err := badger.OpenManaged(DefaultOptions(dir).badger())
	if err != nil {
		t.Fatal(err)
	}
	w := bdb.NewTransactionAt(math.MaxUint64, true)
	if err := w.Set(metaKey, []byte{0xEE}); err != nil {
		t.Fatal(err)
	}
	if err := w.CommitAt(1<<40, nil); err != nil {
		t.Fatal(err)
	}
	bdb.Close()
	for i := 0; i < 2; i++ {
		if _, err := Open(DefaultOptions(dir)); err == nil || errors.Is(err, ErrLocked) {
			t.Fatalf("open %d of a corrupt store: %v, want the corruption error (not ErrLocked)", i, err)
		}
	}
}

// TestOpenAfterKillDuringVlogCreate: the same for a value-log file: a SIGKILL
// between Badger creating the next *.vlog and writing its header leaves an
// empty file (seen in the crash test; dgraph-io/badger#2207).
func TestOpenAfterKillDuringVlogCreate(t *testing.T) {
	dir := t.TempDir()
	db, err := Open(DefaultOptions(dir))
	if err != nil {
		t.Fatal(err)
	}
	txn, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	if err := txn.Set([]byte("k"), []byte("v")); err != nil {
		t.Fatal(err)
	}
	if err := txn.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	vlogs, err := filepath.Glob(filepath.Join(dir, "*.vlog"))
	if err != nil || len(vlogs) == 0 {
		t.Fatalf("no value log in %s (%v)", dir, err)
	}
	if err := os.WriteFile(filepath.Join(dir, "000099.vlog"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	db, err = Open(DefaultOptions(dir))
	if err != nil {
		t.Fatalf("open after an empty value-log file: %v", err)
	}
	defer db.Close()
	snap, err := db.View(db.Head())
	if err != nil {
		t.Fatal(err)
	}
	defer snap.Discard()
	if v, err := snap.Get([]byte("k")); err != nil || string(v) != "v" || db.Head() != 1 {
		t.Fatalf("after recovery: head %d, k=%q, err %v", db.Head(), v, err)
	}
}
