package store

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/dgraph-io/badger/v4"
)

// openAfterEmptyFile commits k=v, closes, leaves an empty file named name
// (what a SIGKILL during Badger's file creation leaves), and checks that Open
// recovers with the committed data intact.
func openAfterEmptyFile(t *testing.T, name string) {
	t.Helper()
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
	if err := os.WriteFile(filepath.Join(dir, name), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	db, err = Open(DefaultOptions(dir))
	if err != nil {
		t.Fatalf("open after an empty %s: %v", name, err)
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

// TestOpenAfterKillDuringMemtableCreate reproduces the state a SIGKILL leaves
// when it lands between Badger creating a memtable file and sizing it: an
// empty *.mem file.
func TestOpenAfterKillDuringMemtableCreate(t *testing.T) { openAfterEmptyFile(t, "00099.mem") }

// TestOpenAfterKillDuringVlogCreate: the same for a value-log file (seen in
// the crash test; dgraph-io/badger#2207).
func TestOpenAfterKillDuringVlogCreate(t *testing.T) { openAfterEmptyFile(t, "000099.vlog") }

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
