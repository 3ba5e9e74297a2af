package sequencer

import (
	"context"
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
	"github.com/modex/modex/sequencer/journal"
	"github.com/modex/modex/sequencer/mempool"
	"github.com/modex/modex/state"
	"github.com/modex/modex/state/store"
	"github.com/modex/modex/types"
)

// Sequencer orders transactions into batches (docs/node.md §1). One
// goroutine, the loop, owns the open batch and the books; the exported
// methods are safe for concurrent use. The loop (loop.go) fills, applies
// and seals; submission (submit.go) takes transactions, orders and L1
// requests; the tree stage (commit.go) hashes and commits sealed batches;
// recovery (recovery.go) rebuilds the loop's state at New and Start; reads go
// through Queries (query.go).
type Sequencer struct {
	cfg  Config
	db   *state.DB
	j    *store.Plain
	pool *mempool.Pool
	log  *slog.Logger

	cache accountCache
	jw    journalWriter // the journal's writes, group-committed (from Start)

	cmds              chan func()
	wake              chan struct{}
	quit              chan struct{}
	done              chan struct{}
	started, stopOnce sync.Once
	quitOnce          sync.Once
	running           atomic.Bool

	tree   *treeStage // commit.go
	haltMu sync.Mutex
	halted error

	// owned by the loop
	failing    sync.Map      // hash → true: failed, its record not yet durable
	sealing    sync.Map      // hash → sealingTx: sealed, its records not yet durable
	kv         *softKV       // the soft state
	lastSealed uint64        // the last batch the loop sealed
	lastTs     atomic.Uint64 // its timestamp (Now reads it from any goroutine)
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
	pl         placement        // what the order being placed did
	restore    []journaledOrder // found by New, replayed by Start
	waitSince  time.Time        // when a transaction of another family than the open batch's first waited

	paused   atomic.Bool // Pause, or a halt
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

// New builds a sequencer over the state and its journal and recovers what
// the journal holds (recovery.go): the batches sealed and not yet committed
// are replayed softly, the pool and the confirmed priority requests
// reloaded, and the records of the batch a crash left unsealed dropped.
// It starts nothing: Start rebuilds the books from the journaled orders
// (a match may seal, through the journal writer Start opens) and runs the
// loop and the tree stage.
func New(cfg Config, db *state.DB, j *store.Plain) (*Sequencer, error) {
	if err := cfg.Check(); err != nil {
		return nil, err
	}
	cfg.defaults()
	s := &Sequencer{
		cfg: cfg, db: db, j: j, log: cfg.Logger,
		cmds: make(chan func(), 1024), wake: make(chan struct{}, 1),
		quit: make(chan struct{}), done: make(chan struct{}),
		books: map[uint16]*book.Book{}, orderKeys: map[orderKey]uint64{},
		tradeSeq: map[uint16]uint64{}, models: map[uint16]bool{},
	}
	s.cache = accountCache{db: db, m: map[uint32]cachedAccount{}}
	s.tree = newTreeStage(db, cfg.Params, &s.jw, cfg.Logger, cfg.Metrics)
	s.tree.committed, s.tree.halt = s.committedBatch, s.halt
	if err := j.Update(journal.CheckSchema); err != nil {
		return nil, fmt.Errorf("sequencer: %w", err)
	}
	popts := cfg.Pool
	popts.Dir = ""
	popts.DB = j.DB
	popts.Writer = &s.jw // one fsync for the pool's writes and the journal's
	pool, err := mempool.Open(cfg.Domain, &s.cache, popts)
	if err != nil {
		return nil, fmt.Errorf("sequencer: pool: %w", err)
	}
	s.pool = pool
	if s.kv, err = newSoftKV(db); err != nil {
		return nil, errors.Join(err, pool.Close())
	}
	if err := recoverJournal(s); err != nil {
		s.kv.close()
		return nil, errors.Join(err, pool.Close())
	}
	return s, nil
}

// Start runs the loop and the tree stage until Stop.
func (s *Sequencer) Start(ctx context.Context) error {
	err := ErrClosed
	s.started.Do(func() {
		select {
		case <-s.quit:
			return
		default:
		}
		err = nil
		s.jw.start(store.NewGroupWriter(s.j.DB))
		if err = restoreOrders(s); err != nil {
			err = fmt.Errorf("sequencer: restoring orders: %w", err)
			return
		}
		s.running.Store(true)
		go s.loop()
		go s.tree.run(s.quit)
		s.tree.signal()
	})
	return err
}

// Stop stops the loop and the tree stage and closes the pool; the journal
// and the state stay open. The open batch is discarded: its transactions
// are still in the pool and its orders in the journal, so the next New
// applies them again. Stop waits for the loop or for ctx.
func (s *Sequencer) Stop(ctx context.Context) error {
	s.started.Do(func() {}) // never started: stays stopped
	s.quitOnce.Do(func() { close(s.quit) })
	if s.running.Load() {
		// a stop cut short by ctx releases nothing (the loop may still
		// write through the pool and the journal writer); a later Stop
		// waits again and releases them
		for _, done := range []<-chan struct{}{s.done, s.tree.done} {
			select {
			case <-done:
			case <-ctx.Done():
				return fmt.Errorf("sequencer: stop: %w", ctx.Err())
			}
		}
	}
	var err error
	s.stopOnce.Do(func() {
		err = s.pool.Close() // its last Adds still need the journal writer
		s.jw.close()
		s.kv.close()
	})
	return err
}

// journalWriter is the journal's group writer, shared with the pool: it
// exists between Start and Stop; a write outside them fails.
type journalWriter struct {
	w atomic.Pointer[store.GroupWriter]
}

func (j *journalWriter) start(w *store.GroupWriter) { j.w.Store(w) }

func (j *journalWriter) close() {
	if w := j.w.Swap(nil); w != nil {
		w.Close()
	}
}

// Write implements mempool.Writer (store.GroupWriter.Write).
func (j *journalWriter) Write(fn func(*badger.Txn) error, done func(error)) {
	if w := j.w.Load(); w != nil {
		w.Write(fn, done)
		return
	}
	if done != nil {
		done(ErrNotRunning)
	}
}

// live refuses work before Start (ErrNotRunning) and after Stop (ErrClosed).
func (s *Sequencer) live() error {
	select {
	case <-s.quit:
		return ErrClosed
	default:
	}
	if !s.running.Load() {
		return ErrNotRunning
	}
	return nil
}

// do runs f in the loop and waits for it.
func (s *Sequencer) do(ctx context.Context, f func()) error {
	if err := s.live(); err != nil {
		return err
	}
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

// Now is the sequencer's clock in unix seconds: Config.Clock, never
// behind the last sealed batch's timestamp. The next batch is stamped with
// it at the earliest, and an order's validity is checked against it (a
// batch's timestamp is what the circuit and the bridge check expiry by).
func (s *Sequencer) Now() uint64 { return max(s.cfg.Clock(), s.lastTs.Load()) }

// Sealed is the last sealed batch.
func (s *Sequencer) Sealed() uint64 { return s.sealed.Load() }

// SetProven and SetVerified move the pipeline heads the queries report
// (pipeline.Listener).
func (s *Sequencer) SetProven(n uint64)   { s.proven.Store(max(s.proven.Load(), n)) }
func (s *Sequencer) SetVerified(n uint64) { s.verified.Store(max(s.verified.Load(), n)) }

// Pause and Resume switch sequencing (the operator's admin API). Paused,
// the sequencer still accepts and journals transactions, but applies
// nothing and seals nothing. A halted sequencer does not resume.
func (s *Sequencer) Pause() { s.paused.Store(true) }

// Resume: see Pause.
func (s *Sequencer) Resume() error {
	if err := s.Halted(); err != nil {
		return fmt.Errorf("%w: %w", ErrHalted, err)
	}
	s.paused.Store(false)
	s.poke()
	return nil
}

// Paused reports whether sequencing is paused (or halted).
func (s *Sequencer) Paused() bool { return s.paused.Load() }

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

// PoolLen is the number of pooled transactions.
func (s *Sequencer) PoolLen() int { return s.pool.Len() }
