package sequencer

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/modex/modex/rpc"
	"github.com/modex/modex/sequencer/journal"
	"github.com/modex/modex/state"
	"github.com/modex/modex/types"
)

func newSealedRecord(sb *state.SealedBatch, list []openTx) (*journal.SealedBatch, error) {
	h := &sb.Header
	rec := &journal.SealedBatch{Number: h.Number, Timestamp: h.Timestamp, Family: uint8(h.Family),
		FirstPriority: h.FirstPriority, PriorityCount: h.PriorityCount, PubdataHash: sha256.Sum256(sb.Pubdata)}
	rec.Txs = make([][]byte, len(sb.Txs))
	for i, tx := range sb.Txs {
		if i < len(list) && list[i].raw != nil && list[i].tx == tx {
			rec.Txs[i] = list[i].raw
			continue
		}
		enc, err := types.EncodeTx(tx)
		if err != nil {
			return nil, err
		}
		rec.Txs[i] = enc
	}
	return rec, nil
}

// addTo adds a journaled transaction to a batch: priority operations with
// Add, signed ones with AddVerified (the pool or order intake verified
// their signatures; the pipeline's re-execution verifies them again).
func addTo(b *state.Batch, tx types.Tx) (*state.Receipt, error) {
	if isPriority(tx) {
		return b.Add(tx)
	}
	return b.AddVerified(tx)
}

// treeStage is the tree stage (docs/node.md §2): it applies each sealed
// batch, in order, to the state store (hashing the trees), checks that it
// reproduces the sealed batch, commits it and hands it on. It runs in its
// own goroutine behind the loop; the loop hands it sealed batches (add)
// once their journal write is durable.
type treeStage struct {
	db      *state.DB
	params  types.Params
	jw      *journalWriter
	log     *slog.Logger
	metrics *rpc.Metrics
	// committed is told of each committed batch (in the stage's
	// goroutine); it moves head.
	committed func(sb *state.SealedBatch)
	// halt is told why the stage stopped for good.
	halt func(error)

	kick   chan struct{}
	done   chan struct{}
	mu     sync.Mutex
	recs   map[uint64]*journal.SealedBatch // sealed, not yet committed
	head   atomic.Uint64                   // the last batch committed
	paused atomic.Bool
}

func newTreeStage(db *state.DB, params types.Params, jw *journalWriter, log *slog.Logger, m *rpc.Metrics) *treeStage {
	t := &treeStage{db: db, params: params, jw: jw, log: log, metrics: m,
		kick: make(chan struct{}, 1), done: make(chan struct{}), recs: map[uint64]*journal.SealedBatch{}}
	t.head.Store(db.Head())
	return t
}

// signal wakes the stage.
func (t *treeStage) signal() {
	select {
	case t.kick <- struct{}{}:
	default:
	}
}

// add queues a sealed batch whose journal record is durable.
func (t *treeStage) add(rec *journal.SealedBatch) {
	t.mu.Lock()
	t.recs[rec.Number] = rec
	t.mu.Unlock()
	t.signal()
}

// record is sealed batch n's record while it waits, or nil.
func (t *treeStage) record(n uint64) *journal.SealedBatch {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.recs[n]
}

// backlog is how many sealed batches wait.
func (t *treeStage) backlog() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.recs)
}

// run commits the waiting batches in order until quit; a batch it cannot
// commit halts it.
func (t *treeStage) run(quit <-chan struct{}) {
	defer close(t.done)
	for {
		select {
		case <-quit:
			return
		case <-t.kick:
		}
		for {
			select {
			case <-quit:
				return
			default:
			}
			if t.paused.Load() {
				break
			}
			rec := t.record(t.db.Head() + 1)
			if rec == nil {
				break
			}
			sb, err := t.commit(rec)
			if err != nil {
				t.halt(err)
				return
			}
			t.committed(sb)
		}
	}
}

// commit applies one sealed batch to the state store.
func (t *treeStage) commit(rec *journal.SealedBatch) (*state.SealedBatch, error) {
	start := time.Now()
	b, err := t.db.NewBatch(rec.Timestamp)
	if err != nil {
		return nil, fmt.Errorf("tree stage: batch %d: %w", rec.Number, err)
	}
	if b.Number() != rec.Number {
		b.Discard()
		return nil, fmt.Errorf("%w: the store's next batch is %d, the sealed one %d", ErrCommitMismatch, b.Number(), rec.Number)
	}
	for i, raw := range rec.Txs {
		tx, err := types.DecodeTx(raw)
		if err == nil {
			_, err = addTo(b, tx)
		}
		if err != nil {
			b.Discard()
			return nil, fmt.Errorf("%w: batch %d tx %d: %w", ErrCommitMismatch, rec.Number, i, err)
		}
	}
	pub := b.Pubdata()
	if f := b.Family(); f != types.Family(rec.Family) {
		b.Discard()
		return nil, fmt.Errorf("%w: batch %d family %v, sealed %v", ErrCommitMismatch, rec.Number, f, types.Family(rec.Family))
	}
	padded := append(bytes.Clone(pub), make([]byte, (t.params.BatchCapacity-len(rec.Txs))*b.Family().SlotBytes())...)
	if sha256.Sum256(padded) != rec.PubdataHash {
		b.Discard()
		return nil, fmt.Errorf("%w: batch %d pubdata", ErrCommitMismatch, rec.Number)
	}
	sb, err := b.Seal()
	if err != nil {
		return nil, fmt.Errorf("tree stage: seal batch %d: %w", rec.Number, err)
	}
	if sb.Header.FirstPriority != rec.FirstPriority || sb.Header.PriorityCount != rec.PriorityCount ||
		sb.Header.Timestamp != rec.Timestamp {
		return nil, fmt.Errorf("%w: batch %d header", ErrCommitMismatch, rec.Number)
	}
	n := rec.Number
	t.mu.Lock()
	delete(t.recs, n)
	t.mu.Unlock()
	t.jw.Write(func(txn *badger.Txn) error { return journal.DeleteSealedBatch(txn, n) }, nil)
	t.log.Info("batch committed", "batch", n, "root", sb.Header.NewRoot.Text(16), "took", time.Since(start))
	if m := t.metrics; m != nil {
		m.BatchCommitSeconds.Observe(time.Since(start).Seconds())
		m.BatchCommitted.Set(float64(n))
	}
	return sb, nil
}

// committedBatch is the tree stage's hand-off: the loop moves its soft
// state's base up, the batch is announced and goes to the pipeline.
func (s *Sequencer) committedBatch(sb *state.SealedBatch) {
	n := sb.Header.Number
	select {
	case s.cmds <- func() {
		if err := s.kv.advance(n); err != nil {
			// the loop would go on over a soft state whose base is behind
			s.halt(fmt.Errorf("sequencer: soft state base to batch %d: %w", n, err))
		}
	}:
	case <-s.quit:
	}
	s.tree.head.Store(n)
	s.PublishBatch(&sb.Header, rpc.BatchCommitted, [32]byte{}, 0)
	if s.cfg.OnSeal != nil {
		s.cfg.OnSeal(sb)
	}
}

// halt stops sequencing for good (until a restart): a journal write failed
// or the tree stage disagrees with a sealed batch.
func (s *Sequencer) halt(err error) {
	s.haltMu.Lock()
	if s.halted == nil {
		s.halted = err
	}
	s.haltMu.Unlock()
	s.paused.Store(true)
	s.log.Error("sequencer: HALTED", "err", err)
	if m := s.cfg.Metrics; m != nil {
		m.PipelineHalted.Set(1)
	}
}

// Halted is why sequencing halted, or nil.
func (s *Sequencer) Halted() error {
	s.haltMu.Lock()
	defer s.haltMu.Unlock()
	return s.halted
}

// SealedBatch describes a sealed batch the tree stage has not committed
// yet (no roots), or nil.
func (q *Queries) SealedBatch(n uint64) *rpc.BatchInfo {
	rec := q.s.tree.record(n)
	if rec == nil {
		return nil
	}
	return &rpc.BatchInfo{Number: n, Family: types.Family(rec.Family).String(), Status: rpc.BatchSealed,
		Timestamp: rec.Timestamp, Txs: len(rec.Txs), FirstPriority: rec.FirstPriority, PriorityCount: rec.PriorityCount}
}

// PauseTree pauses (true) or resumes the tree stage: paused, sealed batches
// wait in the journal and nothing reaches the pipeline. Benchmarks measure
// the sequencer alone with it; an operator may use it to give the
// sequencer the CPU through a burst.
func (s *Sequencer) PauseTree(paused bool) {
	s.tree.paused.Store(paused)
	s.tree.signal()
}

// TreeBacklog is how many sealed batches the tree stage has not committed.
func (s *Sequencer) TreeBacklog() int {
	return s.tree.backlog()
}

// Committed is the last batch the tree stage committed to the state store.
func (s *Sequencer) Committed() uint64 { return s.tree.head.Load() }

// WaitCommitted waits until the tree stage has committed batch n.
func (s *Sequencer) WaitCommitted(ctx context.Context, n uint64) error {
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for s.tree.head.Load() < n {
		if err := s.Halted(); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-s.done:
			return ErrClosed
		case <-t.C:
		}
	}
	return nil
}
