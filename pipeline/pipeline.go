package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"

	"github.com/dgraph-io/badger/v4"
	"github.com/ethereum/go-ethereum/common"

	"github.com/modex/modex/prover"
	"github.com/modex/modex/rpc"
	"github.com/modex/modex/sequencer/journal"
	"github.com/modex/modex/state"
	"github.com/modex/modex/state/store"
	"github.com/modex/modex/types"
)

// Pipeline proves sealed batches and takes them to L1 (docs/node.md §2).
type Pipeline struct {
	cfg Config
	db  *state.DB
	j   *store.Plain
	lis Listener
	log *slog.Logger

	mu       sync.Mutex
	proofs   map[uint64]*prover.Proof
	queued   map[uint64]bool
	attempts map[uint64]int // failed proving attempts per batch

	// provers are Config.Provers and those AddProver added; awaited are
	// the families still waiting for theirs, with their parked batches.
	provers map[types.Family]prover.Prover
	awaited map[types.Family][]uint64

	l1Failures int      // consecutive failed L1 steps (the submitter goroutine's own)
	proving    []uint64 // FIFO of batches to prove
	halted     error
	sealed     uint64
	proven     uint64 // highest n with every batch ≤ n proven
	sent       uint64
	verified   uint64

	work   chan struct{}
	kick   chan struct{}
	cancel context.CancelFunc
	wg     sync.WaitGroup
	start  sync.Once
	stop   sync.Once
}

// New loads the pipeline's records: every committed batch after the last
// verified one resumes at its recorded stage. lis (may be nil) hears of
// every stage change. Nothing runs until Start.
func New(cfg Config, db *state.DB, j *store.Plain, lis Listener) (*Pipeline, error) {
	if err := cfg.Check(); err != nil {
		return nil, err
	}
	cfg.defaults()
	p := &Pipeline{cfg: cfg, db: db, j: j, lis: lis, log: cfg.Logger, proofs: map[uint64]*prover.Proof{},
		queued: map[uint64]bool{}, attempts: map[uint64]int{},
		provers: maps.Clone(cfg.Provers), awaited: map[types.Family][]uint64{},
		work: make(chan struct{}, 1), kick: make(chan struct{}, 1)}
	err := j.View(func(txn *badger.Txn) error {
		var err error
		p.verified, err = journal.ReadVerified(txn)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("pipeline: last verified batch: %w", err)
	}
	p.proven, p.sent = p.verified, p.verified
	head := db.Head()
	for n := p.verified + 1; n <= head; n++ {
		rec, err := p.record(n)
		if errors.Is(err, journal.ErrNotFound) {
			p.enqueue(n)
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("pipeline: batch %d: %w", n, err)
		}
		if len(rec.Proof) == 0 {
			p.enqueue(n)
			continue
		}
		pr := new(prover.Proof)
		if err := pr.UnmarshalBinary(rec.Proof); err != nil {
			return nil, fmt.Errorf("pipeline: proof of batch %d: %w: %w", n, journal.ErrCorrupt, err)
		}
		p.proofs[n] = pr
	}
	p.sealed = head
	p.advanceProven()
	if p.provers == nil {
		p.provers = map[types.Family]prover.Prover{}
	}
	for _, f := range cfg.Awaited {
		if p.provers[f] == nil {
			p.awaited[f] = nil
		}
	}
	return p, nil
}

// ErrProverSet: AddProver was given a family that is not awaited (its
// prover is already set, or it is not one of Config.Awaited), or no prover.
var ErrProverSet = errors.New("pipeline: prover not awaited")

// AddProver sets the prover of an awaited family (Config.Awaited): its
// batches that waited for it are proven now, in order.
func (p *Pipeline) AddProver(f types.Family, pv prover.Prover) error {
	p.mu.Lock()
	parked, ok := p.awaited[f]
	if !ok || pv == nil {
		p.mu.Unlock()
		return fmt.Errorf("%w: %v (a prover may be added once, for a family awaiting it)", ErrProverSet, f)
	}
	delete(p.awaited, f)
	p.provers[f] = pv
	slices.Sort(parked)
	for _, n := range parked {
		p.enqueue(n)
	}
	// the proving FIFO in batch order: the submitter takes them in order
	slices.Sort(p.proving)
	p.mu.Unlock()
	if len(parked) > 0 {
		p.log.Info("pipeline: prover added; proving the batches that waited for it", "family", f, "batches", len(parked))
	}
	p.signal(p.work)
	return nil
}

// Awaiting lists the families still waiting for their provers.
func (p *Pipeline) Awaiting() []types.Family {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := slices.Collect(maps.Keys(p.awaited))
	slices.Sort(out)
	return out
}

// record reads batch n's stage record (journal.ErrNotFound: none yet).
func (p *Pipeline) record(n uint64) (*journal.StageRecord, error) {
	var rec *journal.StageRecord
	err := p.j.View(func(txn *badger.Txn) error {
		var err error
		rec, err = journal.ReadStage(txn, n)
		return err
	})
	return rec, err
}

func (p *Pipeline) putRecord(n uint64, rec *journal.StageRecord) error {
	return p.j.Update(func(txn *badger.Txn) error { return journal.WriteStage(txn, n, rec) })
}

// enqueue schedules batch n for proving (caller holds mu or is New).
func (p *Pipeline) enqueue(n uint64) {
	if p.queued[n] || p.proofs[n] != nil {
		return
	}
	p.queued[n] = true
	p.proving = append(p.proving, n)
}

// Start runs the provers and the submitter until Stop, and tells the
// listener the heads New loaded.
func (p *Pipeline) Start(ctx context.Context) error {
	p.start.Do(func() {
		var run context.Context
		run, p.cancel = context.WithCancel(context.Background())
		if p.lis != nil {
			proven, _, verified := p.Heads()
			p.lis.SetProven(proven)
			p.lis.SetVerified(verified)
		}
		for i := 0; i < p.cfg.Workers; i++ {
			p.wg.Add(1)
			go p.prover(run)
		}
		if p.cfg.Submitter != nil {
			p.wg.Add(1)
			go p.submitter(run)
		}
		p.signal(p.work)
		p.signal(p.kick)
	})
	return nil
}

// Stop stops the pipeline and waits for its goroutines, or for ctx; a
// proof in progress is abandoned (it is made again after the restart).
func (p *Pipeline) Stop(ctx context.Context) error {
	p.start.Do(func() {}) // a pipeline never started stays stopped
	p.stop.Do(func() {
		if p.cancel != nil {
			p.cancel()
		}
	})
	done := make(chan struct{})
	go func() {
		p.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("pipeline: stop: %w", ctx.Err())
	}
}

func (p *Pipeline) signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// Sealed hands a batch the tree stage committed to the pipeline (the
// sequencer's Config.OnSeal).
func (p *Pipeline) Sealed(sb *state.SealedBatch) {
	p.mu.Lock()
	p.sealed = max(p.sealed, sb.Header.Number)
	p.enqueue(sb.Header.Number)
	p.mu.Unlock()
	p.signal(p.work)
}

// Halted is why the pipeline stopped, or nil.
func (p *Pipeline) Halted() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.halted
}

// Heads are the last proven (contiguously), sent and verified batches.
func (p *Pipeline) Heads() (proven, sent, verified uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.proven, p.sent, p.verified
}

// StageOf is a batch's pipeline status, its L1 transaction and how long
// its proof took. A stage record that cannot be read is an error, never
// taken for a batch with no record.
func (p *Pipeline) StageOf(n uint64) (rpc.BatchStatus, common.Hash, int64, error) {
	p.mu.Lock()
	verified, hasProof := p.verified, p.proofs[n] != nil
	p.mu.Unlock()
	rec, err := p.record(n)
	if errors.Is(err, journal.ErrNotFound) {
		rec, err = nil, nil
	}
	if err != nil {
		return "", common.Hash{}, 0, fmt.Errorf("pipeline: stage of batch %d: %w", n, err)
	}
	switch {
	case n <= verified && rec != nil:
		return rpc.BatchVerified, rec.L1Tx, rec.ProveMillis, nil
	case n <= verified:
		return rpc.BatchVerified, common.Hash{}, 0, nil
	case rec != nil && rec.Stage == rpc.BatchSubmitted:
		return rpc.BatchSubmitted, rec.L1Tx, rec.ProveMillis, nil
	case hasProof || (rec != nil && rec.Stage == rpc.BatchProven):
		var ms int64
		if rec != nil {
			ms = rec.ProveMillis
		}
		return rpc.BatchProven, common.Hash{}, ms, nil
	case rec != nil && rec.Stage == rpc.BatchWitness:
		return rpc.BatchWitness, common.Hash{}, 0, nil
	}
	return rpc.BatchCommitted, common.Hash{}, 0, nil // in the state store, not yet re-executed
}

// halt stops the pipeline for good (until a restart), loudly.
func (p *Pipeline) halt(err error) {
	if m := p.cfg.Metrics; m != nil {
		m.PipelineHalted.Set(1) // before Halted reports it
	}
	p.mu.Lock()
	if p.halted == nil {
		p.halted = err
	}
	p.mu.Unlock()
	p.log.Error("PIPELINE HALTED: operator action needed", "err", err)
}

func (p *Pipeline) progress(h *state.Header, st rpc.BatchStatus, l1Tx common.Hash, ms int64) {
	if p.lis == nil {
		return
	}
	proven, _, verified := p.Heads()
	switch st {
	case rpc.BatchProven:
		p.lis.SetProven(proven)
	case rpc.BatchVerified:
		p.lis.SetProven(proven)
		p.lis.SetVerified(verified)
	}
	p.lis.PublishBatch(h, st, l1Tx, ms)
}
