// Package mempool is the sequencer's pool of signed L2 transactions.
//
// A transaction is accepted only after it passes the stateless encoding
// checks, its signer exists, its signature verifies under the pool's domain
// (docs/protocol.md §1, §5) and the nonce rules below hold; it is then written
// to Badger, synced, before Add returns, so nothing acknowledged is lost on
// kill -9 or power loss (SECURITY item 18). The sequencer pulls executable
// transactions with Executable, removes them with Remove once the batch that
// includes them is sealed, and calls Revalidate after each batch.
//
// Storage: the pool either shares an open Badger database (Options.DB, the
// sequencer's journal) or opens its own (Options.Dir, or in memory). Either
// way all its keys are under KeyPrefix ("m/"), so both layouts are the same
// on disk. Its own directory is opened with the crash precautions of
// state/store: a directory lock of its own (ErrLocked), then the removal of
// the empty *.mem / *.vlog files a SIGKILL during Badger's file creation
// leaves, on which badger.Open would fail (dgraph-io/badger#2207).
//
// Nonce rules, for an account whose state nonce is n and which has k pending
// transactions at nonces >= n:
//   - nonce < n is refused (ErrNonceTooLow);
//   - nonce > n + k + MaxNonceGap is refused (ErrNonceGap);
//   - a nonce already pending is a replacement: accepted only if the new fee
//     is in the same fee token and at least 10% higher (and strictly higher),
//     else ErrReplacementUnderpriced. The replaced transaction is deleted in
//     the same Badger transaction that stores the new one.
//
// Every refusal is one of the exported errors below or one of the types
// package's (errors.Is).
//
// Locking: signature verification (~0.3 ms) and the Accounts lookup run
// outside every lock. Adds of one account are serialized by a per-account
// mutex; the decision and the in-memory indexes take the pool mutex only
// briefly; the durable Badger write runs under neither the pool mutex nor
// another account's lock, so concurrent Adds of different accounts share one
// group commit (store.GroupWriter, or the journal's through Options.Writer: one Badger transaction, one
// fsync, for every write waiting).
package mempool

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"sync"

	"github.com/dgraph-io/badger/v4"
	"github.com/holiman/uint256"

	"github.com/modex/modex/state/store"
	"github.com/modex/modex/types"
	"github.com/modex/modex/types/seqerr"
)

// Typed errors of the pool. The nonce errors wrap types.ErrNonce, so
// errors.Is(err, types.ErrNonce) also holds. Signature, encoding and fee
// width refusals are the types package's (types.ErrBadSignature,
// types.ErrSignatureMalleable, types.ErrNotPackable, types.ErrAmountTooLarge,
// ...), an unknown signer is types.ErrAccountNotFound.
//
// The sentinels are types/seqerr's (so the API maps them without importing
// this package); these are their names here.
var (
	ErrNotPoolTx              = seqerr.ErrNotPoolTx
	ErrNonceTooLow            = seqerr.ErrNonceTooLow
	ErrNonceGap               = seqerr.ErrNonceGap
	ErrReplacementUnderpriced = seqerr.ErrReplacementUnderpriced
	ErrPoolFull               = seqerr.ErrPoolFull
	ErrAccountFull            = seqerr.ErrAccountFull
	ErrClosed                 = seqerr.ErrPoolClosed

	// Node faults (not the sender's): they wrap the underlying error too.
	ErrAccountLookup = seqerr.ErrPoolAccountLookup // Accounts returned an error other than types.ErrAccountNotFound
	ErrStore         = seqerr.ErrPoolStore         // a Badger read or write failed (an Add that returns it is not acknowledged)
	ErrCorrupt       = seqerr.ErrPoolCorrupt       // Open found a record it cannot decode
	ErrLocked        = seqerr.ErrPoolLocked        // another pool holds Options.Dir
	ErrUnsupportedDB = seqerr.ErrPoolUnsupportedDB // Options.DB is managed, read-only, or unsynced without NoSync
)

// KeyPrefix is the prefix of every key the pool writes (in a shared
// database, the other users must keep out of it).
const KeyPrefix = "m/"

// ReplaceBumpPercent is the minimum fee increase of a replacement.
const ReplaceBumpPercent = 10

// Accounts is the view of account state the pool checks against (the
// sequencer's soft state). It must be safe for concurrent use. A missing
// account returns an error wrapping types.ErrAccountNotFound.
type Accounts interface {
	Account(id uint32) (pk types.PubKey, nonce uint32, err error)
}

// Options bound the pool and say where it stores its transactions.
type Options struct {
	MaxTxs        int    // total pending transactions (0: 1<<16)
	MaxPerAccount int    // pending transactions per account (0: 64)
	MaxNonceGap   uint32 // how far above the account nonce + pending count a nonce may be

	// DB, when set, is an open Badger database the pool shares (the
	// sequencer's journal): the pool neither opens nor closes it, and keeps
	// its keys under KeyPrefix. It must be opened with badger.Open (not
	// OpenManaged), writable, and with SyncWrites unless NoSync (or in
	// memory); otherwise Open returns ErrUnsupportedDB. One pool per DB.
	DB *badger.DB
	// Dir is the pool's own Badger directory when DB is nil; both empty:
	// in memory (tests).
	Dir string
	// NoSync: the pool's own database does not fsync each accepted
	// transaction, and a shared DB may lack SyncWrites (tests, benchmarks).
	NoSync bool
	// Writer, with a shared DB, group-commits the pool's writes with the
	// DB owner's own (one fsync for both: Badger syncs once per
	// transaction and does not group concurrent ones). Nil: the pool's
	// own store.GroupWriter. It must keep running until the pool is closed.
	Writer Writer
}

// Writer group-commits writes to a shared Badger database: fn is applied in
// a transaction with other writes, and done receives the commit's result
// once it is durable or failed (store.GroupWriter).
type Writer interface {
	Write(fn func(*badger.Txn) error, done func(error))
}

// Status of a transaction hash.
type Status int

const (
	StatusUnknown Status = iota // not in the pool (never added, replaced, removed or dropped)
	StatusReady                 // pending, contiguous from the account nonce: executable now
	StatusQueued                // pending, waits for a lower nonce
	StatusStale                 // pending, but its nonce is below the account nonce (Revalidate drops it)
)

func (s Status) String() string {
	if s < StatusUnknown || s > StatusStale {
		return fmt.Sprintf("Status(%d)", int(s))
	}
	return [...]string{"unknown", "ready", "queued", "stale"}[s]
}

type entry struct {
	hash  [32]byte
	raw   []byte // types.EncodeTx(tx)
	seq   uint64 // arrival order; also the Badger key
	tx    types.SignedTx
	fee   uint256.Int
	token feeToken
}

// feeToken identifies a fee's token without reading state.
type feeToken = types.FeeToken

type account struct {
	mu   sync.Mutex // serializes Adds of this account (decision and write)
	txs  map[uint32]*entry
	refs int // Adds holding this struct (keeps it in the map)
}

// Pool is the mempool. Its methods are safe for concurrent use.
type Pool struct {
	d     types.Domain
	acc   Accounts
	opts  Options
	db    *badger.DB
	own   bool         // db opened by Open: Close closes it
	plain *store.Plain // our own database, when we opened it

	inflight sync.WaitGroup // Adds past the closed check; Close waits for them

	writer Writer             // group-commits the Adds' writes: Options.Writer or own
	ownW   *store.GroupWriter // the pool's own group writer (no Options.Writer), closed by Close

	mu       sync.Mutex
	accounts map[uint32]*account
	byHash   map[[32]byte]*entry
	count    int // stored entries
	reserved int // decided, write in progress
	seq      uint64
	closed   bool
}

// txPrefix: a pending transaction is stored at "m/t" + seq (8 bytes, big
// endian), its value types.EncodeTx's output.
var txPrefix = []byte(KeyPrefix + "t")

const txKeyLen = 3 + 8

func txKey(seq uint64) []byte {
	return binary.BigEndian.AppendUint64(append(make([]byte, 0, txKeyLen), txPrefix...), seq)
}

// Open opens (or creates) the pool and reloads the persisted transactions in
// their arrival order. Transactions are not re-verified on reload: they were
// verified before they were stored. Call Revalidate once acc is current.
func Open(d types.Domain, acc Accounts, opts Options) (*Pool, error) {
	if opts.MaxTxs <= 0 {
		opts.MaxTxs = 1 << 16
	}
	if opts.MaxPerAccount <= 0 {
		opts.MaxPerAccount = 64
	}
	p := &Pool{d: d, acc: acc, opts: opts, accounts: map[uint32]*account{}, byHash: map[[32]byte]*entry{}}
	if opts.DB != nil {
		if err := checkShared(opts.DB, opts.NoSync); err != nil {
			return nil, err
		}
		p.db = opts.DB
	} else if err := p.openOwn(); err != nil {
		return nil, err
	}
	if err := p.load(); err != nil {
		p.closeOwn()
		return nil, err
	}
	// Adds' writes are group-committed: one fsync acknowledges many
	if opts.Writer != nil && opts.DB != nil {
		p.writer = opts.Writer
	} else {
		p.ownW = store.NewGroupWriter(p.db)
		p.writer = p.ownW
	}
	return p, nil
}

// write is one Add's durable write, handed to the group writer.
type write struct {
	set  []byte // key of the new transaction
	val  []byte
	del  []byte // key of the replaced one, or nil
	done chan error
}

func (w *write) apply(txn *badger.Txn) error {
	if err := txn.Set(w.set, w.val); err != nil {
		return err
	}
	if w.del != nil {
		return txn.Delete(w.del)
	}
	return nil
}

// checkShared refuses a database the pool cannot write durably through
// Update: managed (Update panics there), read-only, or not synced.
func checkShared(db *badger.DB, noSync bool) (err error) {
	o := db.Opts()
	switch {
	case o.ReadOnly:
		return fmt.Errorf("%w: read-only", ErrUnsupportedDB)
	case !o.SyncWrites && !o.InMemory && !noSync:
		return fmt.Errorf("%w: SyncWrites is off (open it with SyncWrites, or set NoSync)", ErrUnsupportedDB)
	}
	defer func() {
		if recover() != nil {
			err = fmt.Errorf("%w: managed mode (open it with badger.Open)", ErrUnsupportedDB)
		}
	}()
	// an empty read-write transaction: commits nothing, panics in managed mode
	if err := db.Update(func(*badger.Txn) error { return nil }); err != nil {
		return fmt.Errorf("%w: %w", ErrStore, err)
	}
	return nil
}

// openOwn opens the pool's own database: in memory, or in opts.Dir with the
// crash precautions of state/store (its directory lock, then the removal of
// the empty log files a SIGKILL can leave; store.OpenPlain).
func (p *Pool) openOwn() error {
	pl, err := store.OpenPlain(p.opts.Dir, p.opts.Dir == "", p.opts.NoSync)
	if errors.Is(err, store.ErrLocked) {
		return fmt.Errorf("%w: %s: %w", ErrLocked, p.opts.Dir, err)
	}
	if err != nil {
		return fmt.Errorf("%w: open: %w", ErrStore, err)
	}
	p.plain, p.db, p.own = pl, pl.DB, true
	return nil
}

// closeOwn closes the database if the pool opened it.
func (p *Pool) closeOwn() error {
	if !p.own {
		return nil
	}
	if err := p.plain.Close(); err != nil {
		return fmt.Errorf("%w: close: %w", ErrStore, err)
	}
	return nil
}

func (p *Pool) load() error {
	var dups [][]byte
	err := p.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{PrefetchValues: true, PrefetchSize: 256, Prefix: txPrefix})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			item := it.Item()
			k := item.KeyCopy(nil)
			if len(k) != txKeyLen {
				return fmt.Errorf("%w: key %x", ErrCorrupt, k)
			}
			seq := binary.BigEndian.Uint64(k[len(txPrefix):])
			v, err := item.ValueCopy(nil)
			if err != nil {
				return fmt.Errorf("%w: read tx %d: %w", ErrStore, seq, err)
			}
			tx, err := types.DecodeTx(v)
			if err != nil {
				return fmt.Errorf("%w: tx %d: %w", ErrCorrupt, seq, err)
			}
			st, ok := tx.(types.SignedTx)
			if !ok {
				return fmt.Errorf("%w: tx %d: %w", ErrCorrupt, seq, ErrNotPoolTx)
			}
			e := &entry{hash: sha256.Sum256(v), raw: bytes.Clone(v), seq: seq, tx: st}
			if e.fee, e.token, err = feeOf(st); err != nil {
				return fmt.Errorf("%w: tx %d: %w", ErrCorrupt, seq, err)
			}
			a := p.accountStruct(st.Signer())
			if old := a.txs[st.GetNonce()]; old != nil { // cannot happen (replacements delete atomically); keep the newer
				delete(p.byHash, old.hash)
				dups = append(dups, txKey(old.seq))
				p.count--
			}
			a.txs[st.GetNonce()] = e
			p.byHash[e.hash] = e
			p.count++
			p.seq = max(p.seq, seq)
		}
		return nil
	})
	if err != nil || len(dups) == 0 {
		if err != nil && !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrStore) {
			err = fmt.Errorf("%w: load: %w", ErrStore, err)
		}
		return err
	}
	return p.deleteKeys(dups)
}

// account looks the signer up; an error is types.ErrAccountNotFound's or
// wraps ErrAccountLookup.
func (p *Pool) account(id uint32) (types.PubKey, uint32, error) {
	pk, n, err := p.acc.Account(id)
	if err != nil && !errors.Is(err, types.ErrAccountNotFound) {
		err = fmt.Errorf("%w: account %d: %w", ErrAccountLookup, id, err)
	}
	return pk, n, err
}

// accountStruct returns the account's struct, creating it; p.mu held.
func (p *Pool) accountStruct(id uint32) *account {
	a := p.accounts[id]
	if a == nil {
		a = &account{txs: map[uint32]*entry{}}
		p.accounts[id] = a
	}
	return a
}

// gc drops an account struct nobody uses; p.mu held.
func (p *Pool) gc(id uint32, a *account) {
	if len(a.txs) == 0 && a.refs == 0 && p.accounts[id] == a {
		delete(p.accounts, id)
	}
}

// Close stops the pool: later calls return ErrClosed. It waits for the Adds
// in progress, then closes the database if the pool opened it (a shared
// Options.DB stays open). Pending transactions stay persisted.
func (p *Pool) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	p.mu.Unlock()
	p.inflight.Wait() // no Add sends a write after this
	if p.ownW != nil {
		p.ownW.Close()
	}
	return p.closeOwn()
}

// Hash is the pool's transaction hash, the one Add returns and Get and Status
// take: SHA-256 of types.EncodeTx(tx). The RPC shows it as 0x-hex.
func Hash(tx types.SignedTx) ([32]byte, error) {
	if isNil(tx) {
		return [32]byte{}, ErrNotPoolTx
	}
	return types.TxHash(tx)
}

// isNil: a nil interface or a typed nil pointer (whose methods would panic).
func isNil(tx types.Tx) bool {
	if tx == nil {
		return true
	}
	v := reflect.ValueOf(tx)
	return v.Kind() == reflect.Pointer && v.IsNil()
}

// feeOf returns a signed transaction's fee and fee token (docs/protocol.md §7).
func feeOf(tx types.SignedTx) (uint256.Int, feeToken, error) {
	// the kind itself must be a signed one: a Trade or a priority operation
	// wrapped as a SignedTx (as an RPC layer might) is refused
	if zero, err := types.NewTx(tx.Kind()); err != nil {
		return uint256.Int{}, feeToken{}, fmt.Errorf("%w: %v", ErrNotPoolTx, err)
	} else if _, ok := zero.(types.SignedTx); !ok {
		return uint256.Int{}, feeToken{}, fmt.Errorf("%w: %v", ErrNotPoolTx, tx.Kind())
	}
	fee, tok := tx.FeePaid()
	return fee, tok, nil
}

// outbids reports whether fee n replaces fee o: n >= o * 110% and n > o.
func outbids(n, o *uint256.Int) bool {
	if !n.Gt(o) {
		return false
	}
	var l, r uint256.Int // fees fit 96 bits, so the products do not overflow
	l.Mul(n, uint256.NewInt(100))
	r.Mul(o, uint256.NewInt(100+ReplaceBumpPercent))
	return !l.Lt(&r)
}

// Add verifies tx and stores it durably; the returned hash identifies it.
// Adding a transaction already pending (same hash) returns its hash and nil.
func (p *Pool) Add(tx types.SignedTx) ([32]byte, error) {
	var zero [32]byte
	if isNil(tx) {
		return zero, ErrNotPoolTx
	}
	fee, token, err := feeOf(tx) // also the kind check: Trade, Deposit, ... are refused
	if err != nil {
		return zero, err
	}
	// the fee rule of docs/protocol.md §5 (the batch re-checks everything)
	if !types.Fits(&fee, types.AmountBits) {
		return zero, fmt.Errorf("%w: fee", types.ErrAmountTooLarge)
	}
	if !types.Fee16.Packable(&fee) {
		return zero, fmt.Errorf("%w: fee %s", types.ErrNotPackable, fee.Dec())
	}
	enc, err := types.EncodeTx(tx) // field widths (typed types errors)
	if err != nil {
		return zero, err
	}
	hash := sha256.Sum256(enc) // = Hash(tx)
	signer, nonce := tx.Signer(), tx.GetNonce()

	// outside every lock: the account's key and nonce, and the signature
	pk, accNonce, err := p.account(signer)
	if err != nil {
		return zero, err
	}
	if nonce < accNonce {
		return zero, fmt.Errorf("%w: nonce %d < account nonce %d", ErrNonceTooLow, nonce, accNonce)
	}
	if err := types.VerifyTx(pk, p.d, tx); err != nil {
		return zero, err
	}
	// the pool keeps its own copy: callers may reuse tx
	dtx, err := types.DecodeTx(enc)
	if err != nil {
		return zero, err
	}
	own, ok := dtx.(types.SignedTx)
	if !ok {
		return zero, fmt.Errorf("%w: %v", ErrNotPoolTx, dtx.Kind())
	}
	e := &entry{hash: hash, raw: enc, tx: own, fee: fee, token: token}

	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return zero, ErrClosed
	}
	p.inflight.Add(1) // Close waits for this Add before closing the database
	defer p.inflight.Done()
	a := p.accountStruct(signer)
	a.refs++
	p.mu.Unlock()
	a.mu.Lock()
	defer func() {
		a.mu.Unlock()
		p.mu.Lock()
		a.refs--
		p.gc(signer, a)
		p.mu.Unlock()
	}()

	// decide, and reserve the slot
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return zero, ErrClosed
	}
	if _, ok := p.byHash[hash]; ok {
		p.mu.Unlock()
		return hash, nil
	}
	// The account nonce again, now that the pool cannot change: the one
	// read before the signature check may predate a transaction of this
	// account that was applied and left the pool meanwhile (the gap rule
	// would then count it neither as used nor as pending).
	if _, n, err := p.account(signer); err == nil {
		accNonce = n
	}
	if nonce < accNonce {
		p.mu.Unlock()
		return zero, fmt.Errorf("%w: nonce %d < account nonce %d", ErrNonceTooLow, nonce, accNonce)
	}
	old := a.txs[nonce]
	if old == nil {
		if err := p.checkNew(a, nonce, accNonce); err != nil {
			p.mu.Unlock()
			return zero, err
		}
		p.reserved++
	} else if old.token != token || !outbids(&fee, &old.fee) {
		p.mu.Unlock()
		return zero, fmt.Errorf("%w: fee %s vs pending %s", ErrReplacementUnderpriced, fee.Dec(), old.fee.Dec())
	}
	p.seq++
	e.seq = p.seq
	p.mu.Unlock()

	// Durable write, outside the pool mutex, group-committed with the other
	// Adds waiting (the group writer): it returns once the write is synced
	// (SyncWrites), and only then is the transaction pending and acknowledged.
	w := &write{set: txKey(e.seq), val: enc, done: make(chan error, 1)}
	if old != nil {
		w.del = txKey(old.seq)
	}
	p.writer.Write(w.apply, func(err error) { w.done <- err })
	werr := <-w.done

	p.mu.Lock()
	defer p.mu.Unlock()
	if old == nil {
		p.reserved--
	}
	if werr != nil {
		return zero, fmt.Errorf("%w: add: %w", ErrStore, werr)
	}
	if cur := a.txs[nonce]; cur != nil { // old, unless Remove/Revalidate dropped it meanwhile
		delete(p.byHash, cur.hash)
		p.count--
	}
	a.txs[nonce] = e
	p.byHash[hash] = e
	p.count++
	return hash, nil
}

// checkNew applies the bounds and the gap rule to a new nonce; p.mu held.
func (p *Pool) checkNew(a *account, nonce, accNonce uint32) error {
	pending := 0
	for n := range a.txs {
		if n >= accNonce {
			pending++
		}
	}
	if uint64(nonce) > uint64(accNonce)+uint64(pending)+uint64(p.opts.MaxNonceGap) {
		return fmt.Errorf("%w: nonce %d, account nonce %d, %d pending, max gap %d", ErrNonceGap, nonce, accNonce, pending, p.opts.MaxNonceGap)
	}
	if len(a.txs) >= p.opts.MaxPerAccount {
		return fmt.Errorf("%w: %d", ErrAccountFull, p.opts.MaxPerAccount)
	}
	if p.count+p.reserved >= p.opts.MaxTxs {
		return fmt.Errorf("%w: %d", ErrPoolFull, p.opts.MaxTxs)
	}
	return nil
}

// Get returns a pending transaction (a copy the caller may keep).
func (p *Pool) Get(hash [32]byte) (types.SignedTx, bool) {
	p.mu.Lock()
	e := p.byHash[hash]
	p.mu.Unlock()
	if e == nil {
		return nil, false
	}
	return e.tx, true
}

// Len is the number of pending transactions.
func (p *Pool) Len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.count
}

// Pending returns an account's pending transactions in nonce order.
func (p *Pool) Pending(id uint32) []types.SignedTx {
	p.mu.Lock()
	defer p.mu.Unlock()
	a := p.accounts[id]
	if a == nil {
		return nil
	}
	es := sortedEntries(a)
	out := make([]types.SignedTx, len(es))
	for i, e := range es {
		out[i] = e.tx
	}
	return out
}

func sortedEntries(a *account) []*entry {
	es := make([]*entry, 0, len(a.txs))
	for _, e := range a.txs {
		es = append(es, e)
	}
	slices.SortFunc(es, func(x, y *entry) int { return cmp.Compare(x.tx.GetNonce(), y.tx.GetNonce()) })
	return es
}

// Status reports where a transaction stands.
func (p *Pool) Status(hash [32]byte) (Status, error) {
	p.mu.Lock()
	e := p.byHash[hash]
	var es []*entry
	if e != nil {
		es = sortedEntries(p.accounts[e.tx.Signer()])
	}
	p.mu.Unlock()
	if e == nil {
		return StatusUnknown, nil
	}
	_, n, err := p.account(e.tx.Signer())
	if err != nil {
		return StatusUnknown, err
	}
	if e.tx.GetNonce() < n {
		return StatusStale, nil
	}
	for _, x := range es {
		xn := x.tx.GetNonce()
		if xn < n {
			continue
		}
		if xn != n {
			return StatusQueued, nil
		}
		if x == e {
			return StatusReady, nil
		}
		n++
	}
	return StatusQueued, nil
}

// Executable returns up to max transactions the sequencer can apply in this
// order: per account, the run of nonces contiguous from the account's current
// nonce; across accounts, round-robin (one transaction per account per round),
// the accounts ordered by the arrival of their first executable transaction.
// A nonce above a gap waits (nonce 5 is not returned until 4 is pending).
// max <= 0 means no limit. The transactions stay pending until Remove.
func (p *Pool) Executable(max int) []types.SignedTx {
	es := p.executable(max)
	out := make([]types.SignedTx, len(es))
	for i, e := range es {
		out[i] = e.tx
	}
	return out
}

// Ready is an executable transaction with its hash and encoding.
type Ready struct {
	Tx   types.SignedTx
	Hash [32]byte
	Raw  []byte // types.EncodeTx(Tx); do not modify
}

// Ready is Executable with each transaction's hash and encoding (the
// sequencer's loop would otherwise encode and hash each again).
func (p *Pool) Ready(max int) []Ready {
	es := p.executable(max)
	out := make([]Ready, len(es))
	for i, e := range es {
		out[i] = Ready{e.tx, e.hash, e.raw}
	}
	return out
}

func (p *Pool) executable(max int) []*entry {
	type run struct {
		first uint64 // arrival of the run's first transaction
		es    []*entry
	}
	p.mu.Lock()
	ids := make([]uint32, 0, len(p.accounts))
	for id, a := range p.accounts {
		if len(a.txs) > 0 {
			ids = append(ids, id)
		}
	}
	p.mu.Unlock()
	// the accounts' current nonces, outside the pool's lock
	nonces := make([]uint32, len(ids))
	ok := make([]bool, len(ids))
	for k, id := range ids {
		if _, n, err := p.account(id); err == nil { // else Revalidate drops them
			nonces[k], ok[k] = n, true
		}
	}
	// per account, the run of nonces from the current one: map lookups,
	// no sort (the pool is looked at on every fill of the loop); with max
	// set, round-robin takes no more than max/accounts+1 of each
	per := 0
	if max > 0 && len(ids) > 0 {
		per = max/len(ids) + 1
	}
	runs := make([]run, 0, len(ids))
	p.mu.Lock()
	for k, id := range ids {
		a := p.accounts[id]
		if !ok[k] || a == nil {
			continue
		}
		var es []*entry
		for n := nonces[k]; ; n++ {
			e := a.txs[n]
			if e == nil || (per > 0 && len(es) >= per) {
				break
			}
			es = append(es, e)
			if n == ^uint32(0) {
				break
			}
		}
		if len(es) > 0 {
			runs = append(runs, run{es[0].seq, es})
		}
	}
	p.mu.Unlock()
	sort.Slice(runs, func(x, y int) bool { return runs[x].first < runs[y].first })
	var out []*entry
	for round := 0; ; round++ {
		any := false
		for _, r := range runs {
			if round >= len(r.es) {
				continue
			}
			if max > 0 && len(out) >= max {
				return out
			}
			out = append(out, r.es[round])
			any = true
		}
		if !any {
			return out
		}
	}
}

// Remove deletes transactions (after the batch that includes them is sealed),
// durably. Unknown hashes are ignored.
func (p *Pool) Remove(hashes ...[32]byte) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	var drop []*entry
	for _, h := range hashes {
		if e := p.byHash[h]; e != nil {
			drop = append(drop, e)
		}
	}
	return p.drop(drop)
}

// Keys returns the storage keys of the transactions with these hashes
// (unknown ones are skipped), for a caller sharing the pool's database
// (Options.DB) that deletes them in its own write, atomically with what
// made them obsolete, and then calls Forget.
func (p *Pool) Keys(hashes ...[32]byte) [][]byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	keys := make([][]byte, 0, len(hashes))
	for _, h := range hashes {
		if e := p.byHash[h]; e != nil {
			keys = append(keys, txKey(e.seq))
		}
	}
	return keys
}

// Forget drops transactions from memory whose keys (Keys) the caller has
// deleted durably.
func (p *Pool) Forget(hashes ...[32]byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	es := make([]*entry, 0, len(hashes))
	for _, h := range hashes {
		if e := p.byHash[h]; e != nil {
			es = append(es, e)
		}
	}
	p.forget(es)
}

// drop deletes entries from Badger (synced like Adds), then from memory;
// p.mu held. Were a delete lost (a crash between two chunks of a large drop),
// it would only bring back a transaction whose nonce is used, which
// Revalidate drops.
func (p *Pool) drop(es []*entry) error {
	if p.closed {
		return ErrClosed
	}
	if len(es) == 0 {
		return nil
	}
	keys := make([][]byte, len(es))
	for i, e := range es {
		keys[i] = txKey(e.seq)
	}
	if err := p.deleteKeys(keys); err != nil {
		return err
	}
	p.forget(es)
	return nil
}

// forget drops entries from memory; p.mu held.
func (p *Pool) forget(es []*entry) {
	for _, e := range es {
		id := e.tx.Signer()
		a := p.accounts[id]
		if a == nil || a.txs[e.tx.GetNonce()] != e {
			continue
		}
		delete(a.txs, e.tx.GetNonce())
		delete(p.byHash, e.hash)
		p.count--
		p.gc(id, a)
	}
}

// deleteChunk bounds one delete transaction (far below Badger's
// ErrTxnTooBig for these small keys).
const deleteChunk = 4096

// deleteKeys deletes keys in transactions of up to deleteChunk keys.
func (p *Pool) deleteKeys(keys [][]byte) error {
	for len(keys) > 0 {
		n := min(len(keys), deleteChunk)
		err := p.db.Update(func(txn *badger.Txn) error {
			for _, k := range keys[:n] {
				if err := txn.Delete(k); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("%w: delete: %w", ErrStore, err)
		}
		keys = keys[n:]
	}
	return nil
}

// Revalidate drops every transaction whose nonce is below its account's
// current nonce (included in a batch, or overtaken), and those of accounts
// that no longer resolve. It returns how many it dropped.
func (p *Pool) Revalidate() (int, error) {
	p.mu.Lock()
	ids := make([]uint32, 0, len(p.accounts))
	for id := range p.accounts {
		ids = append(ids, id)
	}
	p.mu.Unlock()
	nonces := make(map[uint32]uint32, len(ids))
	gone := map[uint32]bool{}
	for _, id := range ids {
		_, n, err := p.account(id)
		switch {
		case errors.Is(err, types.ErrAccountNotFound):
			gone[id] = true
		case err != nil:
			return 0, err
		default:
			nonces[id] = n
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	var drop []*entry
	for _, id := range ids {
		a := p.accounts[id]
		if a == nil {
			continue
		}
		for n, e := range a.txs {
			if gone[id] || n < nonces[id] {
				drop = append(drop, e)
			}
		}
	}
	if err := p.drop(drop); err != nil {
		return 0, err
	}
	return len(drop), nil
}
