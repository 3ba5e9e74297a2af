package sequencer

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"sync"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/ethereum/go-ethereum/common"

	"github.com/modex/modex/bridge"
	"github.com/modex/modex/circuits"
	"github.com/modex/modex/prover"
	"github.com/modex/modex/rpc"
	"github.com/modex/modex/state"
	"github.com/modex/modex/state/store"
	"github.com/modex/modex/types"
)

// ErrStageMismatch: two stages of the pipeline disagree on a batch (its
// re-executed root, its proof's public input, or the root L1 holds). The
// pipeline halts on it; an operator must look.
var ErrStageMismatch = errors.New("pipeline: stages disagree on a batch")

// Submitter sends a proven batch to L1 (bridge.Submitter).
type Submitter interface {
	Step(ctx context.Context, h *state.Header, pubdata []byte, proof *prover.Proof) (bridge.Status, error)
}

// PipelineConfig configures the proving pipeline.
type PipelineConfig struct {
	Params types.Params
	Domain types.Domain
	// Provers proves each family's batches (CPU, GPU or remote: anything
	// behind prover.Prover).
	Provers map[types.Family]prover.Prover
	// Workers is how many batches are proven at once (default 1).
	Workers int
	// Submitter, if set, takes proven batches to L1 in order.
	Submitter Submitter
	// Poll is how often a sent commit is checked (default 500 ms).
	Poll    time.Duration
	Logger  *slog.Logger
	Metrics *rpc.Metrics
	// Progress, if set, receives each stage change (the sequencer's
	// PublishBatch and SetProven/SetVerified hang here).
	Progress func(h *state.Header, st rpc.BatchStatus, l1Tx common.Hash, proveMillis int64)
}

// stageRecord is a batch's pipeline record (journal key p/<n>).
type stageRecord struct {
	Stage       rpc.BatchStatus `json:"stage"`
	Proof       []byte          `json:"proof,omitempty"`
	ProveMillis int64           `json:"proveMillis,omitempty"`
	L1Tx        common.Hash     `json:"l1Tx,omitempty"`
	SentAt      int64           `json:"sentAt,omitempty"` // unix ms of the first send
	Error       string          `json:"error,omitempty"`
}

var (
	pfxStage    = []byte("p/")
	keyVerified = []byte("s/verified")
)

// Pipeline proves sealed batches and takes them to L1 (docs/node.md §2).
type Pipeline struct {
	cfg PipelineConfig
	db  *state.DB
	j   *store.Plain
	log *slog.Logger

	mu       sync.Mutex
	proofs   map[uint64]*prover.Proof
	queued   map[uint64]bool
	proving  []uint64 // FIFO of batches to prove
	halted   error
	sealed   uint64
	proven   uint64 // highest n with every batch ≤ n proven
	sent     uint64
	verified uint64

	work chan struct{}
	kick chan struct{}
	quit chan struct{}
	wg   sync.WaitGroup
	once sync.Once
}

// NewPipeline loads the pipeline's records: every sealed batch after the
// last verified one resumes at its recorded stage.
func NewPipeline(cfg PipelineConfig, db *state.DB, j *store.Plain) (*Pipeline, error) {
	if cfg.Workers <= 0 {
		cfg.Workers = 1
	}
	if cfg.Poll <= 0 {
		cfg.Poll = 500 * time.Millisecond
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	p := &Pipeline{cfg: cfg, db: db, j: j, log: cfg.Logger, proofs: map[uint64]*prover.Proof{}, queued: map[uint64]bool{},
		work: make(chan struct{}, 1), kick: make(chan struct{}, 1), quit: make(chan struct{})}
	err := j.View(func(txn *badger.Txn) error {
		it, err := txn.Get(keyVerified)
		if err == nil {
			return it.Value(func(b []byte) error { p.verified = beUint64(b); return nil })
		}
		if errors.Is(err, badger.ErrKeyNotFound) {
			return nil
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	p.proven, p.sent = p.verified, p.verified
	head := db.Head()
	for n := p.verified + 1; n <= head; n++ {
		rec, err := p.record(n)
		if err != nil {
			return nil, err
		}
		if rec != nil && len(rec.Proof) > 0 {
			pr := new(prover.Proof)
			if err := pr.UnmarshalBinary(rec.Proof); err != nil {
				return nil, fmt.Errorf("pipeline: proof of batch %d: %w", n, err)
			}
			p.proofs[n] = pr
			continue
		}
		p.enqueue(n)
	}
	p.sealed = head
	p.advanceProven()
	return p, nil
}

func (p *Pipeline) record(n uint64) (*stageRecord, error) {
	var rec stageRecord
	var ok bool
	err := p.j.View(func(txn *badger.Txn) error {
		var err error
		ok, err = getJSON(txn, key(pfxStage, n), &rec)
		return err
	})
	if err != nil || !ok {
		return nil, err
	}
	return &rec, nil
}

func (p *Pipeline) putRecord(n uint64, rec *stageRecord) error {
	return p.j.Update(func(txn *badger.Txn) error { return putJSON(txn, key(pfxStage, n), rec) })
}

// enqueue schedules batch n for proving (caller holds mu or is NewPipeline).
func (p *Pipeline) enqueue(n uint64) {
	if p.queued[n] || p.proofs[n] != nil {
		return
	}
	p.queued[n] = true
	p.proving = append(p.proving, n)
}

// Start runs the provers and the submitter until Close.
func (p *Pipeline) Start() {
	for i := 0; i < p.cfg.Workers; i++ {
		p.wg.Add(1)
		go p.prover()
	}
	p.wg.Add(1)
	go p.submitter()
	p.signal(p.work)
	p.signal(p.kick)
}

// Close stops the pipeline; a proof in progress is abandoned (it is made
// again after the restart).
func (p *Pipeline) Close() {
	p.once.Do(func() { close(p.quit) })
	p.wg.Wait()
}

func (p *Pipeline) signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// Sealed hands a newly sealed batch to the pipeline.
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

// StageOf is a batch's pipeline status.
func (p *Pipeline) StageOf(n uint64) (rpc.BatchStatus, common.Hash, int64) {
	p.mu.Lock()
	verified, hasProof := p.verified, p.proofs[n] != nil
	p.mu.Unlock()
	if n <= verified {
		rec, _ := p.record(n)
		if rec != nil {
			return rpc.BatchVerified, rec.L1Tx, rec.ProveMillis
		}
		return rpc.BatchVerified, common.Hash{}, 0
	}
	rec, _ := p.record(n)
	switch {
	case rec != nil && rec.Stage == rpc.BatchSubmitted:
		return rpc.BatchSubmitted, rec.L1Tx, rec.ProveMillis
	case hasProof || (rec != nil && rec.Stage == rpc.BatchProven):
		var ms int64
		if rec != nil {
			ms = rec.ProveMillis
		}
		return rpc.BatchProven, common.Hash{}, ms
	case rec != nil && rec.Stage == rpc.BatchWitness:
		return rpc.BatchWitness, common.Hash{}, 0
	}
	return rpc.BatchCommitted, common.Hash{}, 0 // in the state store, not yet re-executed
}

func (p *Pipeline) halt(err error) {
	p.mu.Lock()
	if p.halted == nil {
		p.halted = err
	}
	p.mu.Unlock()
	p.log.Error("PIPELINE HALTED: operator action needed", "err", err)
	if m := p.cfg.Metrics; m != nil {
		m.PipelineHalted.Set(1)
	}
}

func (p *Pipeline) progress(h *state.Header, st rpc.BatchStatus, l1Tx common.Hash, ms int64) {
	if p.cfg.Progress != nil {
		p.cfg.Progress(h, st, l1Tx, ms)
	}
}

// prover takes batches off the queue and proves them.
func (p *Pipeline) prover() {
	defer p.wg.Done()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-p.quit
		cancel()
	}()
	for {
		p.mu.Lock()
		var n uint64
		if p.halted == nil && len(p.proving) > 0 {
			n, p.proving = p.proving[0], p.proving[1:]
		}
		p.mu.Unlock()
		if n == 0 {
			select {
			case <-p.quit:
				return
			case <-p.work:
				continue
			}
		}
		if err := p.prove(ctx, n); err != nil {
			if ctx.Err() != nil {
				return
			}
			if errors.Is(err, ErrStageMismatch) || errors.Is(err, state.ErrReexecMismatch) {
				p.halt(err)
				return
			}
			p.log.Error("pipeline: proving failed; retrying", "batch", n, "err", err)
			time.Sleep(time.Second)
			p.mu.Lock()
			delete(p.queued, n)
			p.enqueue(n)
			p.mu.Unlock()
		}
		p.signal(p.work) // another worker may take the next
	}
}

// prove runs the witness and proof stages of batch n.
func (p *Pipeline) prove(ctx context.Context, n uint64) error {
	// witness: re-execute over n−1; the result must be the sealed batch
	sb, err := p.db.Reexecute(n)
	if err != nil {
		return err
	}
	if err := p.putRecord(n, &stageRecord{Stage: rpc.BatchWitness}); err != nil {
		return err
	}
	p.progress(&sb.Header, rpc.BatchWitness, common.Hash{}, 0)
	pv := p.cfg.Provers[sb.Header.Family]
	if pv == nil {
		return fmt.Errorf("pipeline: no prover for %v batches", sb.Header.Family)
	}
	assign, err := circuits.AssignBatch(p.cfg.Params, p.cfg.Domain, sb)
	if err != nil {
		return fmt.Errorf("%w: batch %d: witness: %w", ErrStageMismatch, n, err)
	}
	start := time.Now()
	proof, err := pv.Prove(ctx, assign)
	if err != nil {
		return err
	}
	took := time.Since(start)
	// proof: its public input must be the sealed header's
	pub, err := proof.PublicInputs()
	if err != nil {
		return err
	}
	want := sb.Header.PublicInput(p.cfg.Domain)
	if len(pub) != 1 || pub[0].Cmp(want.BigInt(new(big.Int))) != 0 {
		return fmt.Errorf("%w: batch %d: proof public input differs from the header's", ErrStageMismatch, n)
	}
	enc, err := proof.MarshalBinary()
	if err != nil {
		return err
	}
	if err := p.putRecord(n, &stageRecord{Stage: rpc.BatchProven, Proof: enc, ProveMillis: took.Milliseconds()}); err != nil {
		return err
	}
	p.log.Info("batch proven", "batch", n, "family", sb.Header.Family, "took", took)
	if m := p.cfg.Metrics; m != nil {
		m.ProofSeconds.Observe(took.Seconds())
	}
	p.mu.Lock()
	p.proofs[n] = proof
	delete(p.queued, n)
	p.advanceProven()
	p.mu.Unlock()
	p.progress(&sb.Header, rpc.BatchProven, common.Hash{}, took.Milliseconds())
	p.signal(p.kick)
	return nil
}

// advanceProven moves the contiguous proven head (mu held).
func (p *Pipeline) advanceProven() {
	for p.proofs[p.proven+1] != nil {
		p.proven++
	}
	if m := p.cfg.Metrics; m != nil {
		m.BatchProven.Set(float64(p.proven))
	}
}

// submitter takes proven batches to L1, in order.
func (p *Pipeline) submitter() {
	defer p.wg.Done()
	if p.cfg.Submitter == nil {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-p.quit
		cancel()
	}()
	t := time.NewTicker(p.cfg.Poll)
	defer t.Stop()
	for {
		select {
		case <-p.quit:
			return
		case <-p.kick:
		case <-t.C:
		}
		for p.submitNext(ctx) {
		}
	}
}

// submitNext steps the next unverified batch; true if it landed (go on).
func (p *Pipeline) submitNext(ctx context.Context) bool {
	p.mu.Lock()
	if p.halted != nil {
		p.mu.Unlock()
		return false
	}
	n := p.verified + 1
	proof := p.proofs[n]
	p.mu.Unlock()
	if proof == nil {
		return false
	}
	h, err := p.db.Header(n)
	if err != nil {
		p.log.Error("pipeline: header", "batch", n, "err", err)
		return false
	}
	pub, err := p.db.Pubdata(n)
	if err != nil {
		p.log.Error("pipeline: pubdata", "batch", n, "err", err)
		return false
	}
	st, err := p.cfg.Submitter.Step(ctx, h, pub, proof)
	switch {
	case err == nil:
	case errors.Is(err, bridge.ErrForeignBatch), errors.Is(err, bridge.ErrRejected):
		p.halt(fmt.Errorf("%w: batch %d on L1: %w", ErrStageMismatch, n, err))
		return false
	default:
		if ctx.Err() == nil {
			p.log.Warn("pipeline: L1 step failed; retrying", "batch", n, "err", err)
		}
		return false
	}
	rec, _ := p.record(n)
	if rec == nil {
		rec = &stageRecord{}
	}
	if st.Tx != (common.Hash{}) {
		rec.L1Tx = st.Tx
	}
	if st.State != bridge.Landed {
		if rec.Stage != rpc.BatchSubmitted {
			rec.Stage, rec.SentAt = rpc.BatchSubmitted, time.Now().UnixMilli()
			if err := p.putRecord(n, rec); err != nil {
				p.log.Error("pipeline: record", "err", err)
			}
			p.mu.Lock()
			p.sent = max(p.sent, n)
			p.mu.Unlock()
			p.log.Info("batch sent to L1", "batch", n, "tx", st.Tx)
			p.progress(h, rpc.BatchSubmitted, st.Tx, rec.ProveMillis)
		}
		return false
	}
	// verified: Step checked batchRoot(n) on L1 against the header
	rec.Stage = rpc.BatchVerified
	err = p.j.Update(func(txn *badger.Txn) error {
		if err := putJSON(txn, key(pfxStage, n), rec); err != nil {
			return err
		}
		return txn.Set(keyVerified, binary.BigEndian.AppendUint64(nil, n))
	})
	if err != nil {
		p.log.Error("pipeline: record verified", "err", err)
		return false
	}
	if err := p.db.Store().SetFinalized(n); err != nil {
		p.log.Error("pipeline: finalize", "batch", n, "err", err)
	}
	p.mu.Lock()
	p.verified, p.sent = n, max(p.sent, n)
	delete(p.proofs, n-1)
	p.mu.Unlock()
	p.log.Info("batch verified on L1", "batch", n, "tx", rec.L1Tx)
	if m := p.cfg.Metrics; m != nil {
		m.BatchVerified.Set(float64(n))
		if rec.SentAt > 0 {
			m.L1SubmitSeconds.Observe(time.Since(time.UnixMilli(rec.SentAt)).Seconds())
		}
	}
	p.progress(h, rpc.BatchVerified, rec.L1Tx, rec.ProveMillis)
	return true
}
