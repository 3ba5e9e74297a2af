package mempool

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/modex/modex/types"
)

func openBadger(t *testing.T, o badger.Options) *badger.DB {
	t.Helper()
	db, err := badger.Open(o.WithLoggingLevel(badger.WARNING))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// keys lists a database's keys.
func keys(t *testing.T, db *badger.DB) []string {
	t.Helper()
	var ks []string
	err := db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			ks = append(ks, string(it.Item().KeyCopy(nil)))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return ks
}

// TestHash: Add returns Hash(tx) = SHA-256 of types.EncodeTx, and a client
// that holds only the raw bytes (the RPC layer) finds the transaction by it.
func TestHash(t *testing.T) {
	acc := newAccounts(t, 3)
	p := open(t, acc, Options{})
	tx := transfer(t, 1, 0, 5)
	raw, err := types.EncodeTx(tx)
	if err != nil {
		t.Fatal(err)
	}
	h, err := p.Add(tx)
	if err != nil {
		t.Fatal(err)
	}
	if h != sha256.Sum256(raw) {
		t.Fatal("Add's hash is not SHA-256 of EncodeTx")
	}
	dec, err := types.DecodeTx(raw)
	if err != nil {
		t.Fatal(err)
	}
	h2, err := Hash(dec.(types.SignedTx))
	if err != nil || h2 != h {
		t.Fatalf("Hash of the decoded tx: %x, %v; want %x", h2, err, h)
	}
	if got, ok := p.Get(h2); !ok || got.GetNonce() != 0 || got.Signer() != 1 {
		t.Fatal("Get by Hash")
	}
	if s, err := p.Status(h2); err != nil || s != StatusReady {
		t.Fatalf("status %v %v", s, err)
	}
	if x := "0x" + hex.EncodeToString(h[:]); len(x) != 66 {
		t.Fatalf("hex %q", x)
	}
	// the signature is part of the hash: a re-signed tx (other domain) differs
	other := transfer(t, 1, 0, 5)
	types.SignTx(key(t, 1), types.Domain{ChainID: 1}, other)
	if h3, _ := Hash(other); h3 == h {
		t.Fatal("hash ignores the signature")
	}
	// Get returns the pool's copy: changing the caller's tx changes nothing
	tx.Amount.SetUint64(1)
	if got, _ := p.Get(h); got.(*types.Transfer).Amount.Uint64() == 1 {
		t.Fatal("pool shares the caller's tx")
	}
}

// TestSharedDB: with Options.DB the pool writes only under "m/", leaves
// the other keys alone, does not close the database, and reloads from it;
// the layout is the one of a pool in its own directory.
func TestSharedDB(t *testing.T) {
	dir := t.TempDir()
	db := openBadger(t, badger.DefaultOptions(dir).WithSyncWrites(true))
	foreign := map[string]string{"o/\x00\x01": "order", "r/abc": "record", "s/order-seq": "7", "m": "not the pool's", "mx": "neither"}
	err := db.Update(func(txn *badger.Txn) error {
		for k, v := range foreign {
			if err := txn.Set([]byte(k), []byte(v)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	acc := newAccounts(t, 4)
	p, err := Open(dom, acc, Options{DB: db})
	if err != nil {
		t.Fatal(err)
	}
	var hs [][32]byte
	for n := uint32(0); n < 3; n++ {
		hs = append(hs, mustAdd(t, p, transfer(t, 1, n, 1)), mustAdd(t, p, transfer(t, 2, n, 1)))
	}
	rep := mustAdd(t, p, transfer(t, 2, 2, 5)) // replaces hs[5]
	if err := p.Remove(hs[0]); err != nil {
		t.Fatal(err)
	}
	acc.setNonce(1, 1)
	wantExec := nonces(p.Executable(0))
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	// the database is still open and ours
	if err := db.Update(func(txn *badger.Txn) error { return txn.Set([]byte("o/after"), []byte("x")) }); err != nil {
		t.Fatalf("shared DB closed by the pool: %v", err)
	}
	foreign["o/after"] = "x"
	pool := 0
	for _, k := range keys(t, db) {
		if bytes.HasPrefix([]byte(k), []byte(KeyPrefix)) {
			pool++
			continue
		}
		if _, ok := foreign[k]; !ok {
			t.Fatalf("pool wrote %q outside %q", k, KeyPrefix)
		}
	}
	if pool != 5 || len(keys(t, db)) != 5+len(foreign) {
		t.Fatalf("%d pool keys, %d keys", pool, len(keys(t, db)))
	}

	// reopen on the shared DB
	q, err := Open(dom, acc, Options{DB: db})
	if err != nil {
		t.Fatal(err)
	}
	if got := nonces(q.Executable(0)); got != wantExec || q.Len() != 5 {
		t.Fatalf("reopened: %q len %d, want %q", got, q.Len(), wantExec)
	}
	if _, ok := q.Get(rep); !ok {
		t.Fatal("replacement lost")
	}
	for _, h := range [][32]byte{hs[0], hs[5]} {
		if _, ok := q.Get(h); ok {
			t.Fatal("removed or replaced tx came back")
		}
	}
	q.Close()
	db.Close()

	// the same directory opened by the pool itself: the same transactions
	r := open(t, acc, Options{Dir: dir})
	if got := nonces(r.Executable(0)); got != wantExec {
		t.Fatalf("own dir: %q, want %q", got, wantExec)
	}
}

func TestSharedDBRefused(t *testing.T) {
	acc := newAccounts(t, 2)
	dir := t.TempDir()
	// without SyncWrites an acknowledged tx could be lost on power loss
	db := openBadger(t, badger.DefaultOptions(dir))
	_, err := Open(dom, acc, Options{DB: db})
	wantErr(t, err, ErrUnsupportedDB)
	p, err := Open(dom, acc, Options{DB: db, NoSync: true}) // explicitly unsynced: allowed
	if err != nil {
		t.Fatal(err)
	}
	p.Close()
	db.Close()

	// managed mode: Update would panic
	mdb, err := badger.OpenManaged(badger.DefaultOptions(t.TempDir()).WithSyncWrites(true).WithLoggingLevel(badger.WARNING))
	if err != nil {
		t.Fatal(err)
	}
	defer mdb.Close()
	_, err = Open(dom, acc, Options{DB: mdb})
	wantErr(t, err, ErrUnsupportedDB)

	// in memory: nothing to sync
	p = open(t, acc, Options{DB: openBadger(t, badger.DefaultOptions("").WithInMemory(true))})
	mustAdd(t, p, transfer(t, 1, 0, 1))
}

// TestStoreErrors: a failing database gives ErrStore (and nothing pending),
// a closed pool ErrClosed, a stored record that does not decode ErrCorrupt.
func TestStoreErrors(t *testing.T) {
	acc := newAccounts(t, 3)
	db := openBadger(t, badger.DefaultOptions("").WithInMemory(true))
	p, err := Open(dom, acc, Options{DB: db})
	if err != nil {
		t.Fatal(err)
	}
	h := mustAdd(t, p, transfer(t, 1, 0, 1))
	db.Close() // under the pool
	_, err = p.Add(transfer(t, 2, 0, 1))
	wantErr(t, err, ErrStore)
	wantErr(t, err, badger.ErrDBClosed)
	wantErr(t, p.Remove(h), ErrStore)
	if p.Len() != 1 {
		t.Fatalf("len %d", p.Len())
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	_, err = p.Add(transfer(t, 2, 0, 1))
	wantErr(t, err, ErrClosed)
	wantErr(t, p.Remove(h), ErrClosed)
	_, err = p.Revalidate()
	wantErr(t, err, ErrClosed)

	db = openBadger(t, badger.DefaultOptions("").WithInMemory(true))
	if err := db.Update(func(txn *badger.Txn) error { return txn.Set(txKey(1), []byte{0xff, 1, 2}) }); err != nil {
		t.Fatal(err)
	}
	_, err = Open(dom, acc, Options{DB: db})
	wantErr(t, err, ErrCorrupt)
	wantErr(t, err, types.ErrUnknownKind)
}

// failingAccounts fails every lookup but the ones of missing accounts.
type failingAccounts struct{ *memAccounts }

var errBackend = errors.New("backend down")

func (f failingAccounts) Account(id uint32) (types.PubKey, uint32, error) {
	if _, _, err := f.memAccounts.Account(id); err != nil {
		return types.PubKey{}, 0, err
	}
	return types.PubKey{}, 0, errBackend
}

func TestAccountLookupError(t *testing.T) {
	acc := newAccounts(t, 3)
	dir := t.TempDir()
	p, err := Open(dom, acc, Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	h := mustAdd(t, p, transfer(t, 1, 0, 1))
	p.Close()

	p = open(t, failingAccounts{acc}, Options{Dir: dir})
	_, err = p.Add(transfer(t, 2, 0, 1))
	wantErr(t, err, ErrAccountLookup)
	wantErr(t, err, errBackend)
	_, err = p.Add(transfer(t, 9, 0, 1)) // missing: still the types error, not a fault
	wantErr(t, err, types.ErrAccountNotFound)
	if errors.Is(err, ErrAccountLookup) {
		t.Fatal("a missing account is not a lookup fault")
	}
	_, err = p.Status(h)
	wantErr(t, err, ErrAccountLookup)
	n, err := p.Revalidate()
	wantErr(t, err, ErrAccountLookup)
	if n != 0 || p.Len() != 1 {
		t.Fatalf("revalidate dropped %d, len %d", n, p.Len())
	}
}

func TestLocked(t *testing.T) {
	acc := newAccounts(t, 2)
	dir := t.TempDir()
	p, err := Open(dom, acc, Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	_, err = Open(dom, acc, Options{Dir: dir})
	wantErr(t, err, ErrLocked)
	mustAdd(t, p, transfer(t, 1, 0, 1))
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	q := open(t, acc, Options{Dir: dir})
	if q.Len() != 1 {
		t.Fatalf("len %d", q.Len())
	}
}

// TestOpenAfterEmptyLogFiles: a SIGKILL between Badger creating a memtable
// or value-log file and sizing it leaves an empty file, on which
// badger.Open fails (dgraph-io/badger#2207); the pool removes it first.
func TestOpenAfterEmptyLogFiles(t *testing.T) {
	for _, name := range []string{"00099.mem", "000099.vlog"} {
		t.Run(name, func(t *testing.T) {
			acc := newAccounts(t, 2)
			dir := t.TempDir()
			p, err := Open(dom, acc, Options{Dir: dir})
			if err != nil {
				t.Fatal(err)
			}
			h := mustAdd(t, p, transfer(t, 1, 0, 1))
			p.Close()
			if err := os.WriteFile(filepath.Join(dir, name), nil, 0o644); err != nil {
				t.Fatal(err)
			}
			q, err := Open(dom, acc, Options{Dir: dir})
			if err != nil {
				t.Fatalf("open after an empty %s: %v", name, err)
			}
			defer q.Close()
			if _, ok := q.Get(h); !ok {
				t.Fatal("tx lost")
			}
		})
	}
}

// TestCloseDuringAdds: Close waits for the Adds in progress; each Add either
// succeeds (and is pending after reopen) or returns ErrClosed.
func TestCloseDuringAdds(t *testing.T) {
	acc := newAccounts(t, 9)
	txs := map[uint32][]*types.Transfer{}
	for u := uint32(1); u <= 8; u++ {
		for n := uint32(0); n < 8; n++ {
			txs[u] = append(txs[u], transfer(t, u, n, 1))
		}
	}
	dir := t.TempDir()
	p, err := Open(dom, acc, Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		acked [][32]byte
		bad   error
	)
	for u := uint32(1); u <= 8; u++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, tx := range txs[u] {
				h, err := p.Add(tx)
				mu.Lock()
				switch {
				case err == nil:
					acked = append(acked, h)
				case errors.Is(err, ErrClosed):
				default:
					bad = err
				}
				mu.Unlock()
				if err != nil {
					return
				}
			}
		}()
	}
	for deadline := time.Now().Add(10 * time.Second); p.Len() < 8; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no progress")
		}
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if bad != nil {
		t.Fatal(bad)
	}
	q := open(t, acc, Options{Dir: dir})
	for _, h := range acked {
		if _, ok := q.Get(h); !ok {
			t.Fatalf("acknowledged %x lost", h)
		}
	}
	if q.Len() != len(acked) {
		t.Fatalf("len %d, %d acknowledged", q.Len(), len(acked))
	}
}
