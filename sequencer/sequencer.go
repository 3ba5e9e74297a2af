package sequencer

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/ethereum/go-ethereum/common"

	"github.com/modex/modex/rpc"
	"github.com/modex/modex/sequencer/book"
	"github.com/modex/modex/sequencer/mempool"
	"github.com/modex/modex/state"
	"github.com/modex/modex/state/store"
	"github.com/modex/modex/types"
)

// The sequencer's own refusals are the API's (rpc/errors.go), so that each
// has one code.
var (
	ErrStopped     = rpc.ErrSequencingStopped
	ErrClosed      = rpc.ErrShuttingDown
	ErrRawTooLarge = rpc.ErrRawTooLarge
	ErrNotSigned   = mempool.ErrNotPoolTx
)

// MaxRawSize bounds a submitted transaction or order encoding.
const MaxRawSize = 4096

// Config configures a Sequencer.
type Config struct {
	Params types.Params
	Domain types.Domain
	// BatchTimeout: an open batch is sealed this long after its first
	// transaction even if it is not full (default 1 s).
	BatchTimeout time.Duration
	// FamilyWait: an open batch is sealed once a transaction of another
	// family has waited this long behind it (a batch holds one family), so
	// that a busy market and a stream of transfers take turns (default
	// 10 ms, at most BatchTimeout).
	FamilyWait   time.Duration
	MakerFeeBips uint8
	TakerFeeBips uint8
	MaxOrders    int // resting orders per market (default 100,000)
	// Pool bounds the pool (its Dir and DB are set by the sequencer).
	Pool mempool.Options
	// Clock gives batch timestamps and the order books' time, in unix
	// seconds. The node passes the L1 head's timestamp, which a batch may
	// not exceed (protocol §11.3). Default: wall clock.
	Clock func() uint64
	// OnSeal, if set, is called (in the sequencer's goroutine) after each
	// sealed batch; the pipeline takes it from there.
	OnSeal func(sb *state.SealedBatch)
	// Families, if set, are the batch families this rollup can prove (its
	// bridge has their verifiers); transactions and orders of any other
	// family are refused with rpc.ErrFamilyDisabled. Priority batches are
	// always on. Nil: every family.
	Families map[types.Family]bool
	// Tokens is how many base tokens are registered on L1 (account queries
	// list their balances; default: ETH only).
	Tokens func() int
	Logger *slog.Logger
	// Metrics, if set, receives pool, batch and trade figures.
	Metrics *rpc.Metrics
}

func (c *Config) defaults() {
	if c.BatchTimeout <= 0 {
		c.BatchTimeout = time.Second
	}
	if c.FamilyWait <= 0 {
		c.FamilyWait = 10 * time.Millisecond
	}
	c.FamilyWait = min(c.FamilyWait, c.BatchTimeout)
	if c.MaxOrders <= 0 {
		c.MaxOrders = 100_000
	}
	if c.Clock == nil {
		c.Clock = func() uint64 { return uint64(time.Now().Unix()) }
	}
	if c.Tokens == nil {
		c.Tokens = func() int { return 1 }
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// PriorityRequest is an L1 request the watcher confirmed.
type PriorityRequest struct {
	ID   uint64      `json:"id"`
	Raw  []byte      `json:"raw"` // types.EncodeTx of the Deposit or ForcedWithdraw
	L1Tx common.Hash `json:"l1Tx"`
}

// Sequencer orders transactions into batches (docs/node.md §1). One
// goroutine, the loop, owns the open batch and the books; the exported
// methods are safe for concurrent use.
type Sequencer struct {
	cfg  Config
	db   *state.DB
	j    *store.Plain
	pool *mempool.Pool
	log  *slog.Logger

	cache accountCache
	jw    *store.GroupWriter // the journal's writes, group-committed

	cmds chan func()
	wake chan struct{}
	quit chan struct{}
	done chan struct{}
	once sync.Once

	// the tree stage (commit.go)
	cdone       chan struct{}
	ckick       chan struct{}
	cmu         sync.Mutex
	pendingRecs map[uint64]*sealedRecord // sealed, not yet committed
	committed   atomic.Uint64
	treePaused  atomic.Bool
	haltMu      sync.Mutex
	halted      error

	// owned by the loop
	failing    sync.Map // hash → true: failed, its record not yet durable
	sealing    sync.Map // hash → sealingTx: sealed, its records not yet durable
	kv         *softKV  // the soft state
	lastSealed uint64   // the last batch the loop sealed
	lastTs     uint64   // its timestamp
	open       *state.Batch
	openSince  time.Time
	openTxs    map[common.Hash]int // hash → index in the open batch
	openList   []openTx
	books      map[uint16]*book.Book
	prio       []PriorityRequest // confirmed, not yet sealed (id order)
	prioNext   uint64            // next id AddPriority expects
	orderSeq   uint64
	orderKeys  map[orderKey]uint64 // resting order → journal seq
	tradeSeq   map[uint16]uint64
	models     map[uint16]bool
	pl         placement // what the order being placed did
	waitSince  time.Time // when a transaction of another family than the open batch's first waited

	stopped  atomic.Bool
	proven   atomic.Uint64
	verified atomic.Uint64
	sealed   atomic.Uint64

	feeds feeds
}

type orderKey struct {
	account uint32
	model   uint16
	id      uint32
}

// openTx is a transaction applied in the open batch.
type openTx struct {
	hash   common.Hash
	tx     types.Tx
	raw    []byte // its encoding when known (pool transactions)
	rcpt   *state.Receipt
	trade  *rpc.TradeInfo
	pooled bool
}

// Open starts a sequencer over the state and its journal. It reloads the
// pool, the confirmed priority requests and the open orders (rebuilding the
// books), and drops the records of the batch a crash left unsealed.
func Open(cfg Config, db *state.DB, j *store.Plain) (*Sequencer, error) {
	cfg.defaults()
	s := &Sequencer{
		cfg: cfg, db: db, j: j, log: cfg.Logger,
		cmds: make(chan func(), 1024), wake: make(chan struct{}, 1),
		quit: make(chan struct{}), done: make(chan struct{}),
		books: map[uint16]*book.Book{}, orderKeys: map[orderKey]uint64{},
		tradeSeq: map[uint16]uint64{}, models: map[uint16]bool{},
	}
	s.cache = accountCache{db: db, m: map[uint32]cachedAccount{}}
	s.cdone, s.ckick, s.pendingRecs = make(chan struct{}), make(chan struct{}, 1), map[uint64]*sealedRecord{}
	s.committed.Store(db.Head())
	s.jw = store.NewGroupWriter(j.DB)
	popts := cfg.Pool
	popts.Dir = ""
	popts.DB = j.DB
	popts.Writer = s.jw // one fsync for the pool's writes and the journal's
	pool, err := mempool.Open(cfg.Domain, &s.cache, popts)
	if err != nil {
		s.jw.Close()
		return nil, fmt.Errorf("sequencer: pool: %w", err)
	}
	s.pool = pool
	if s.kv, err = newSoftKV(db); err != nil {
		_ = pool.Close()
		s.jw.Close()
		return nil, err
	}
	fail := func(err error) (*Sequencer, error) {
		_ = pool.Close()
		s.jw.Close()
		s.kv.close()
		return nil, err
	}
	if err := s.replaySealed(); err != nil {
		return fail(err)
	}
	if err := s.recover(); err != nil {
		return fail(err)
	}
	go s.loop()
	go s.committer()
	s.signal()
	return s, nil
}

// signal wakes the tree stage.
func (s *Sequencer) signal() {
	select {
	case s.ckick <- struct{}{}:
	default:
	}
}

// Close stops the loop (the open batch is discarded: its transactions are
// still in the pool and its orders in the journal, so the next Open applies
// them again) and closes the pool. The journal and state stay open.
func (s *Sequencer) Close() error {
	var err error
	s.once.Do(func() {
		close(s.quit)
		<-s.done
		<-s.cdone
		err = s.pool.Close() // its last Adds still need the journal writer
		s.jw.Close()
		s.kv.close()
	})
	return err
}

// do runs f in the loop and waits for it.
func (s *Sequencer) do(ctx context.Context, f func()) error {
	ch := make(chan struct{})
	select {
	case s.cmds <- func() { f(); close(ch) }:
	case <-s.quit:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-ch:
		return nil
	case <-s.done:
		return ErrClosed
	}
}

func (s *Sequencer) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *Sequencer) loop() {
	defer close(s.done)
	tick := time.NewTicker(min(50*time.Millisecond, max(time.Millisecond, s.cfg.FamilyWait/2)))
	defer tick.Stop()
	var lastExpire time.Time
	for {
		select {
		case <-s.quit:
			if s.open != nil {
				s.open.Discard()
				s.kv.discardOpen()
				s.open = nil
			}
			return
		case f := <-s.cmds:
			f()
		case <-s.wake:
		case <-tick.C:
			if time.Since(lastExpire) >= 50*time.Millisecond {
				lastExpire = time.Now()
				s.expire()
			}
		}
		s.step()
	}
}

// step applies what is executable and seals when it is time.
func (s *Sequencer) step() {
	if s.stopped.Load() {
		return
	}
	for i := 0; i < 8 && len(s.cmds) == 0; i++ { // a waiting command (an order, a query) goes first
		if !s.fill() {
			break
		}
	}
	if s.open == nil || s.open.Len() == 0 {
		return
	}
	// Seal when the batch is old, or when transactions of another family
	// have waited FamilyWait behind it (a market busy enough to keep a
	// Trade batch open must not starve transfers); the waiting family then
	// gets the next batch at once.
	starved := !s.waitSince.IsZero() && time.Since(s.waitSince) >= s.cfg.FamilyWait
	if starved || time.Since(s.openSince) >= s.cfg.BatchTimeout {
		s.seal()
		if starved {
			s.waitSince = time.Time{}
			s.fill()
		}
	}
}

// ensure makes sure an open batch of family f with room exists: it seals an
// open batch of another family or a full one. It reports false when no batch
// can be opened (a store error, logged).
func (s *Sequencer) ensure(f types.Family) bool {
	if s.open != nil && s.open.Len() > 0 {
		if s.openFamily() != f || s.open.Len() >= s.cfg.Params.BatchCapacity {
			s.seal()
		}
	}
	if s.open == nil {
		if err := s.begin(); err != nil {
			s.log.Error("sequencer: cannot open a batch", "err", err)
			return false
		}
	}
	return true
}

func (s *Sequencer) openFamily() types.Family {
	if s.open == nil || len(s.openList) == 0 {
		return types.FamilyNone
	}
	return types.FamilyOf(s.openList[0].tx)
}

func (s *Sequencer) begin() error {
	ts := max(s.cfg.Clock(), s.lastTs)
	b, err := state.NewSoftBatch(s.cfg.Params, s.cfg.Domain, s.kv, s.lastSealed+1, ts)
	if err != nil {
		return err
	}
	s.open, s.openTxs, s.openList = b, map[common.Hash]int{}, nil
	return nil
}

// fill applies the next run of executable work to the open batch and
// reports whether it applied anything.
func (s *Sequencer) fill() bool {
	if len(s.prio) > 0 && (s.open == nil || s.open.Len() == 0 || s.openFamily() == types.FamilyPriority) {
		return s.fillPriority()
	}
	if len(s.prio) > 0 {
		return false // the open batch seals on its timeout, then the queue goes first
	}
	ready := s.pool.Ready(4 * s.cfg.Params.BatchCapacity)
	if len(ready) == 0 {
		return false
	}
	fam := s.openFamily()
	if fam == types.FamilyNone {
		fam = types.FamilyOf(ready[0].Tx)
	}
	applied := false
	blocked := map[uint32]bool{}
	for _, rd := range ready {
		tx := rd.Tx
		acct := tx.Signer()
		if blocked[acct] {
			continue
		}
		if types.FamilyOf(tx) != fam {
			blocked[acct] = true // its later nonces wait behind it
			if s.waitSince.IsZero() {
				s.waitSince = time.Now()
			}
			continue
		}
		if s.open != nil && s.open.Len() >= s.cfg.Params.BatchCapacity {
			s.seal()
		}
		if !s.ensure(fam) {
			return applied
		}
		ok, retry := s.apply(rd)
		if retry { // the batch's fee assets are full: seal, then try again
			s.seal()
			if !s.ensure(fam) {
				return applied
			}
			ok, _ = s.apply(rd)
		}
		if !ok {
			blocked[acct] = true
			continue
		}
		applied = true
	}
	if applied {
		s.waitSince = time.Time{} // the pool's oldest family got its turn
	}
	return applied
}

// apply adds one pool transaction to the open batch. A state refusal drops
// it from the pool and records it as failed. retry: the batch cannot take
// another fee asset (seal and apply again).
func (s *Sequencer) apply(rd mempool.Ready) (ok, retry bool) {
	tx, hash := rd.Tx, common.Hash(rd.Hash)
	if _, ok := s.failing.Load(hash); ok {
		return false, false // failed; leaves the pool once its record is durable
	}
	r, err := s.open.AddVerified(tx) // the pool verified its signature
	switch {
	case err == nil:
	case errors.Is(err, types.ErrFeeAssetsFull) && s.open.Len() > 0:
		return false, true
	case errors.Is(err, state.ErrWriteFailed), errors.Is(err, state.ErrBatchBroken):
		s.log.Error("sequencer: batch broken, discarding it", "batch", s.open.Number(), "err", err)
		s.reset()
		return false, false
	default:
		s.fail(hash, tx, err)
		return false, false
	}
	if len(s.openList) == 0 {
		s.openSince = time.Now()
	}
	s.openTxs[hash] = len(s.openList)
	s.openList = append(s.openList, openTx{hash: hash, tx: tx, raw: rd.Raw, rcpt: r, pooled: true})
	s.cache.set(s.open.State(), tx.Signer())
	s.afterApply(hash, tx)
	return true, false
}

// fail records a pool transaction the state refused and drops it.
func (s *Sequencer) fail(hash common.Hash, tx types.SignedTx, cause error) {
	info := rpc.Info(cause)
	enc, _ := types.EncodeTx(tx)
	rec := record{Kind: tx.Kind().String(), Account: tx.Signer(), Nonce: tx.GetNonce(), Error: info, Raw: enc}
	s.failing.Store(hash, true)
	poolKeys := s.pool.Keys(hash)
	s.jw.Write(func(txn *badger.Txn) error {
		for _, k := range poolKeys {
			if err := txn.Delete(k); err != nil {
				return err
			}
		}
		return putJSON(txn, key(pfxRecord, hash), rec)
	}, func(err error) {
		if err != nil { // it stays in the pool; a restart applies it again
			s.log.Error("sequencer: record failed tx", "err", err)
			return
		}
		s.pool.Forget(hash)
		s.failing.Delete(hash)
	})
	if m := s.cfg.Metrics; m != nil {
		m.TxsRejected.WithLabelValues(info.Reason).Inc()
	}
	s.log.Info("tx failed", "hash", hash, "kind", rec.Kind, "account", rec.Account, "reason", info.Reason)
	s.feeds.tx(&rpc.TxInfo{Hash: hash, Kind: rec.Kind, Account: rec.Account, Nonce: rec.Nonce, Status: rpc.TxFailed, Error: info})
}

// reset discards the open batch; its pool transactions apply again, its
// trades are matched again from the journaled orders on the next restart.
func (s *Sequencer) reset() {
	if s.open != nil {
		s.open.Discard()
	}
	list := s.openList
	s.kv.discardOpen()
	s.open, s.openTxs, s.openList = nil, nil, nil
	// the pool's view of the accounts the batch changed goes back to the
	// soft state without it
	_ = s.soft(func(st *state.State) error {
		for _, o := range list {
			for _, a := range accountsOf(o.tx) {
				s.cache.refresh(st, a)
			}
		}
		return nil
	})
}

// accountsOf lists the accounts whose key or nonce a transaction may change.
func accountsOf(tx types.Tx) []uint32 {
	if st, ok := tx.(types.SignedTx); ok {
		return append(touched(tx), st.Signer())
	}
	return touched(tx)
}

func (s *Sequencer) fillPriority() bool {
	if !s.ensure(types.FamilyPriority) {
		return false
	}
	applied := false
	for len(s.prio) > 0 {
		if s.open.Len() >= s.cfg.Params.BatchCapacity {
			s.seal()
			if !s.ensure(types.FamilyPriority) {
				return applied
			}
		}
		req := s.prio[0]
		tx, err := types.DecodeTx(req.Raw)
		if err != nil {
			s.log.Error("sequencer: undecodable priority request", "id", req.ID, "err", err)
			return applied
		}
		r, err := s.open.Add(tx)
		if err != nil {
			// A priority operation is never refused by Apply (a deposit that
			// cannot be credited is marked refused); this is a broken store.
			s.log.Error("sequencer: priority request not applied", "id", req.ID, "err", err)
			s.reset()
			return applied
		}
		hash := common.BytesToHash(req.L1Tx[:])
		if len(s.openList) == 0 {
			s.openSince = time.Now()
		}
		s.openList = append(s.openList, openTx{hash: hash, tx: tx, rcpt: r})
		var acct uint32
		switch t := tx.(type) {
		case *types.Deposit:
			acct = t.Account
		case *types.ForcedWithdraw:
			acct = t.Account
		}
		s.cache.set(s.open.State(), acct)
		s.afterApplyAccounts(hash, acct)
		s.prio = s.prio[1:]
		applied = true
	}
	return applied
}

// seal seals the open batch: its soft state becomes sealed batch n's, and
// one group-committed journal write records the batch (S/<n>, which the
// tree stage applies to the state store) and its transactions' records.
// Once that write is durable the batch's pool transactions leave the pool
// and the batch is announced; the loop goes on meanwhile.
func (s *Sequencer) seal() {
	if s.open == nil || s.open.Len() == 0 {
		return
	}
	start := time.Now()
	sb, err := s.open.Finish()
	list := s.openList
	if err == nil {
		var rec *sealedRecord
		if rec, err = newSealedRecord(sb, list); err == nil {
			s.kv.sealOpen(sb.Header.Number)
			s.open, s.openTxs, s.openList = nil, nil, nil
			s.lastSealed, s.lastTs = sb.Header.Number, sb.Header.Timestamp
			s.journalSealed(sb, rec, list, start)
			return
		}
	}
	s.log.Error("sequencer: seal failed; its transactions apply again", "err", err)
	s.reset()
}

// journalSealed writes a sealed batch to the journal (see seal).
func (s *Sequencer) journalSealed(sb *state.SealedBatch, rec *sealedRecord, list []openTx, start time.Time) {
	n := sb.Header.Number
	var hashes [][32]byte
	for _, o := range list {
		if o.pooled {
			hashes = append(hashes, o.hash)
		}
	}
	// the pool's copies go in the same write (the pool shares the journal)
	poolKeys := s.pool.Keys(hashes...)
	for _, o := range list {
		s.sealing.Store(o.hash, sealingTx{o.tx, n})
	}
	write := func(txn *badger.Txn) error {
		if err := putJSON(txn, key(pfxSealed, n), rec); err != nil {
			return err
		}
		for _, k := range poolKeys {
			if err := txn.Delete(k); err != nil {
				return err
			}
		}
		for i, o := range list {
			enc := rec.Txs[i]
			r := record{Kind: o.tx.Kind().String(), Batch: n, Raw: enc}
			if st, ok := o.tx.(types.SignedTx); ok {
				r.Account, r.Nonce = st.Signer(), st.GetNonce()
			}
			for _, a := range touched(o.tx) {
				if err := txn.Set(key(pfxHistory, a, n, uint32(i)), o.hash[:]); err != nil {
					return err
				}
			}
			switch t := o.tx.(type) {
			case *types.Deposit:
				r.Account = t.Account
				if err := txn.Set(key(pfxAddress, t.L1Address, t.Account), nil); err != nil {
					return err
				}
				if err := sealPriority(txn, t.PriorityID, n, o.hash, enc); err != nil {
					return err
				}
			case *types.ForcedWithdraw:
				r.Account = t.Account
				if err := sealPriority(txn, t.PriorityID, n, o.hash, enc); err != nil {
					return err
				}
			case *types.RedeemCredits:
				if err := putJSON(txn, key(pfxRedeem, t.Model, n, uint32(i)), redemption(t, o.hash, n)); err != nil {
					return err
				}
			}
			if err := putJSON(txn, key(pfxRecord, o.hash), r); err != nil {
				return err
			}
			// A trade's record goes with its order's journal write too;
			// written here as well, a batch that fills in the middle of
			// an order's matches never holds a trade without its record.
			if o.trade != nil {
				if err := putJSON(txn, key(pfxTrade, o.trade.Model, o.trade.Seq), o.trade); err != nil {
					return err
				}
			}
		}
		return nil
	}
	s.jw.Write(write, func(err error) {
		if err != nil {
			// The loop built later batches on this one: nothing more may
			// be sealed. A restart applies the pool and journal again.
			s.halt(fmt.Errorf("journal of sealed batch %d: %w", n, err))
			for _, o := range list {
				s.sealing.Delete(o.hash)
			}
			return
		}
		s.sealed.Store(n)
		s.pool.Forget(hashes...)
		for _, o := range list {
			s.sealing.Delete(o.hash)
		}
		s.log.Info("batch sealed", "batch", n, "family", sb.Header.Family, "txs", len(list), "took", time.Since(start))
		if m := s.cfg.Metrics; m != nil {
			m.BatchSealSeconds.Observe(time.Since(start).Seconds())
			m.BatchSealed.Set(float64(n))
			m.PoolTxs.Set(float64(s.pool.Len()))
		}
		s.publishSealed(sb, list)
		s.cmu.Lock()
		s.pendingRecs[n] = rec
		s.cmu.Unlock()
		s.signal()
	})
}

// sealingTx is a transaction of a batch sealed whose journal write is not
// yet durable (Tx reports it included in that batch meanwhile).
type sealingTx struct {
	tx    types.Tx
	batch uint64
}

// touched lists the accounts a transaction changes (for their histories).
func touched(tx types.Tx) []uint32 {
	switch t := tx.(type) {
	case *types.Deposit:
		return []uint32{t.Account}
	case *types.ForcedWithdraw:
		return []uint32{t.Account}
	case *types.Transfer:
		return []uint32{t.From, t.To}
	case *types.Trade:
		return []uint32{t.Buy.Account, t.Sell.Account}
	case types.SignedTx:
		return []uint32{t.Signer()}
	}
	return nil
}

// Sealed is the last sealed batch.
func (s *Sequencer) Sealed() uint64 { return s.sealed.Load() }

// SetProven and SetVerified move the pipeline heads the API reports.
func (s *Sequencer) SetProven(n uint64)   { s.proven.Store(max(s.proven.Load(), n)) }
func (s *Sequencer) SetVerified(n uint64) { s.verified.Store(max(s.verified.Load(), n)) }

// Proven and Verified are the pipeline heads.
func (s *Sequencer) Proven() uint64   { return s.proven.Load() }
func (s *Sequencer) Verified() uint64 { return s.verified.Load() }

// Start and Stop switch sequencing (the operator's admin API). Stopped, the
// sequencer still accepts and journals transactions and orders' signatures,
// but applies nothing and seals nothing.
func (s *Sequencer) Start() { s.stopped.Store(false); s.poke() }
func (s *Sequencer) Stop()  { s.stopped.Store(true) }

// Stopped reports whether sequencing is stopped.
func (s *Sequencer) Stopped() bool { return s.stopped.Load() }

// Flush seals the open batch now and waits until every batch sealed so far
// is durable and committed by the tree stage (tests, shutdown).
func (s *Sequencer) Flush(ctx context.Context) error {
	var n uint64
	if err := s.do(ctx, func() {
		s.step()
		s.seal()
		n = s.lastSealed
	}); err != nil {
		return err
	}
	if err := s.Synced(ctx); err != nil {
		return err
	}
	return s.WaitCommitted(ctx, n)
}

// Synced waits until every journal write queued so far is durable.
func (s *Sequencer) Synced(ctx context.Context) error {
	done := make(chan error, 1)
	s.jw.Write(func(*badger.Txn) error { return nil }, func(err error) { done <- err })
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// SubmitTx decodes, checks and pools a signed transaction: when it returns
// nil the transaction is durable (soft-confirmed).
func (s *Sequencer) SubmitTx(ctx context.Context, raw []byte) (common.Hash, error) {
	if len(raw) > MaxRawSize {
		return common.Hash{}, fmt.Errorf("%w: %d bytes", ErrRawTooLarge, len(raw))
	}
	tx, err := types.DecodeTx(raw)
	if err != nil {
		return common.Hash{}, err
	}
	st, ok := tx.(types.SignedTx)
	if !ok {
		return common.Hash{}, fmt.Errorf("%w: %s", ErrNotSigned, tx.Kind())
	}
	return s.Submit(ctx, st)
}

// Submit pools a signed transaction (see SubmitTx).
func (s *Sequencer) Submit(ctx context.Context, tx types.SignedTx) (common.Hash, error) {
	if err := state.Precheck(s.cfg.Params, tx); err != nil {
		s.reject(err)
		return common.Hash{}, err
	}
	if err := s.enabled(tx); err != nil {
		s.reject(err)
		return common.Hash{}, err
	}
	h, err := s.pool.Add(tx)
	if err != nil {
		s.reject(err)
		return common.Hash{}, err
	}
	if m := s.cfg.Metrics; m != nil {
		m.TxsAccepted.Inc()
	}
	hash := common.Hash(h)
	s.feeds.tx(&rpc.TxInfo{Hash: hash, Kind: tx.Kind().String(), Account: tx.Signer(), Nonce: tx.GetNonce(), Status: rpc.TxPending})
	s.poke()
	return hash, nil
}

// enabled refuses a transaction of a family this rollup cannot prove.
func (s *Sequencer) enabled(tx types.Tx) error {
	if s.cfg.Families == nil || tx == nil {
		return nil
	}
	if f := types.FamilyOf(tx); f != types.FamilyNone && !s.cfg.Families[f] {
		return fmt.Errorf("%w: %s (%v batches)", rpc.ErrFamilyDisabled, tx.Kind(), f)
	}
	return nil
}

func (s *Sequencer) reject(err error) {
	if m := s.cfg.Metrics; m != nil {
		m.Rejected(err)
	}
}

// AddPriority queues confirmed L1 requests. They are journaled (synced)
// before it returns; ids must continue the queue (earlier ids are ignored:
// the watcher may deliver them again after a restart).
func (s *Sequencer) AddPriority(ctx context.Context, reqs []PriorityRequest) error {
	if len(reqs) == 0 {
		return nil
	}
	err := s.j.Update(func(txn *badger.Txn) error {
		for _, r := range reqs {
			if err := putJSON(txn, key(pfxPriority, r.ID), r); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	return s.do(ctx, func() {
		for _, r := range reqs {
			if r.ID < s.prioNext {
				continue
			}
			if r.ID != s.prioNext {
				s.log.Error("sequencer: priority request out of order", "id", r.ID, "want", s.prioNext)
				return
			}
			s.prio = append(s.prio, r)
			s.prioNext++
		}
	})
}

// PriorityNext is the next priority id the sequencer expects.
func (s *Sequencer) PriorityNext(ctx context.Context) (uint64, error) {
	var n uint64
	err := s.do(ctx, func() { n = s.prioNext })
	return n, err
}

// recover reloads the journal after Open.
func (s *Sequencer) recover() error {
	st, err := state.New(s.cfg.Params, s.cfg.Domain, s.kv) // the soft state
	if err != nil {
		return err
	}
	if s.prioNext, err = st.NextPriority(); err != nil {
		return err
	}
	if _, err := s.pool.Revalidate(); err != nil {
		return err
	}
	var orders []journaledOrder
	err = s.j.Update(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.DefaultIteratorOptions)
		defer it.Close()
		// priority requests not yet sealed
		for it.Seek(pfxPriority); it.ValidForPrefix(pfxPriority); it.Next() {
			var r PriorityRequest
			if err := it.Item().Value(func(b []byte) error { return jsonUnmarshal(b, &r) }); err != nil {
				return err
			}
			if r.ID < s.prioNext {
				continue
			}
			if r.ID != s.prioNext+uint64(len(s.prio)) {
				return fmt.Errorf("sequencer: journaled priority request %d out of order", r.ID)
			}
			s.prio = append(s.prio, r)
		}
		s.prioNext += uint64(len(s.prio))
		// trades and redemptions recorded for a batch the crash left unsealed
		var stale [][]byte
		for it.Seek(pfxTrade); it.ValidForPrefix(pfxTrade); it.Next() {
			var t rpc.TradeInfo
			if err := it.Item().Value(func(b []byte) error { return jsonUnmarshal(b, &t) }); err != nil {
				return err
			}
			if t.Batch > s.lastSealed {
				stale = append(stale, it.Item().KeyCopy(nil))
				continue
			}
			s.tradeSeq[t.Model] = max(s.tradeSeq[t.Model], t.Seq)
		}
		for it.Seek(pfxOrder); it.ValidForPrefix(pfxOrder); it.Next() {
			var o journaledOrder
			if err := it.Item().Value(func(b []byte) error { return jsonUnmarshal(b, &o) }); err != nil {
				return err
			}
			o.seq = seqOf(it.Item().Key())
			orders = append(orders, o)
		}
		for _, k := range stale {
			if err := txn.Delete(k); err != nil {
				return err
			}
		}
		it2, err := txn.Get(keyOrderSeq)
		if err == nil {
			_ = it2.Value(func(b []byte) error { s.orderSeq = beUint64(b); return nil })
		} else if !errors.Is(err, badger.ErrKeyNotFound) {
			return err
		}
		return nil
	})
	if err != nil {
		return err
	}
	// models and tokens that exist
	for i := uint64(0); i < 1<<uint(s.cfg.Params.ModelDepth); i++ { // uint64: 2^16 models wrap a uint16
		m := uint16(i)
		md, err := st.Model(m)
		if errors.Is(err, types.ErrModelNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		if md.Exists() {
			s.models[m] = true
		}
	}
	return s.restoreOrders(orders)
}

// replaySealed rebuilds the soft state after Open: the batches the loop
// sealed that the tree stage had not committed are executed again (soft,
// from their journal records) over the state store's head, and queued for
// the tree stage; records of batches it committed are dropped.
func (s *Sequencer) replaySealed() error {
	head := s.db.Head()
	s.lastSealed = head
	if head > 0 {
		h, err := s.db.Header(head)
		if err != nil {
			return err
		}
		s.lastTs = h.Timestamp
	}
	var recs []*sealedRecord
	var gone [][]byte
	err := s.j.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.DefaultIteratorOptions)
		defer it.Close()
		for it.Seek(pfxSealed); it.ValidForPrefix(pfxSealed); it.Next() {
			if n := seqOf(it.Item().Key()); n <= head {
				gone = append(gone, it.Item().KeyCopy(nil))
				continue
			}
			rec := new(sealedRecord)
			if err := it.Item().Value(func(b []byte) error { return jsonUnmarshal(b, rec) }); err != nil {
				return err
			}
			recs = append(recs, rec)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if len(gone) > 0 {
		if err := s.j.Update(func(txn *badger.Txn) error {
			for _, k := range gone {
				if err := txn.Delete(k); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			return err
		}
	}
	for _, rec := range recs {
		if rec.Number != s.lastSealed+1 {
			return fmt.Errorf("sequencer: journal holds sealed batch %d after %d", rec.Number, s.lastSealed)
		}
		b, err := state.NewSoftBatch(s.cfg.Params, s.cfg.Domain, s.kv, rec.Number, rec.Timestamp)
		if err != nil {
			return err
		}
		for i, raw := range rec.Txs {
			tx, err := types.DecodeTx(raw)
			if err == nil {
				_, err = addTo(b, tx)
			}
			if err != nil {
				s.kv.discardOpen()
				return fmt.Errorf("%w: replaying sealed batch %d tx %d: %w", ErrCommitMismatch, rec.Number, i, err)
			}
			for _, a := range accountsOf(tx) {
				s.cache.set(b.State(), a)
			}
		}
		sb, err := b.Finish()
		if err != nil {
			s.kv.discardOpen()
			return err
		}
		if sha256.Sum256(sb.Pubdata) != rec.PubdataHash {
			s.kv.discardOpen()
			return fmt.Errorf("%w: replaying sealed batch %d: pubdata", ErrCommitMismatch, rec.Number)
		}
		s.kv.sealOpen(rec.Number)
		s.lastSealed, s.lastTs = rec.Number, rec.Timestamp
		s.pendingRecs[rec.Number] = rec
	}
	s.sealed.Store(s.lastSealed)
	if len(recs) > 0 {
		s.log.Info("sequencer: sealed batches awaiting the tree stage", "from", recs[0].Number, "to", s.lastSealed)
	}
	return nil
}

// sealPriority moves a priority request from the queue to its sealed record.
func sealPriority(txn *badger.Txn, id, batch uint64, l1Tx common.Hash, raw []byte) error {
	if err := txn.Delete(key(pfxPriority, id)); err != nil {
		return err
	}
	return putJSON(txn, key(pfxPrioDone, id), priorityRecord{Batch: batch, L1Tx: l1Tx, Raw: raw})
}
