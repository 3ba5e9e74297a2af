package pipeline

import (
	"context"
	"encoding/binary"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark/backend/groth16"
	"github.com/consensys/gnark/frontend"
	"github.com/dgraph-io/badger/v4"
	"github.com/ethereum/go-ethereum/common"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/modex/modex/bench/workload"
	"github.com/modex/modex/prover"
	"github.com/modex/modex/rpc"
	"github.com/modex/modex/sequencer/journal"
	"github.com/modex/modex/state"
	"github.com/modex/modex/state/store"
	"github.com/modex/modex/types"
)

var testDomain = types.Domain{ChainID: 1337, Bridge: common.HexToAddress("0xb1d9e")}

// fixture is a state store holding one committed batch (two deposits) and
// an in-memory journal: what the tree stage leaves for the pipeline.
type fixture struct {
	p  types.Params
	db *state.DB
	j  *store.Plain
	sb *state.SealedBatch
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	p := types.TestParams()
	p.BatchCapacity = 4
	db, err := state.Open(p, testDomain, store.Options{InMemory: true, KeepBatches: 1 << 10})
	if err != nil {
		t.Fatal(err)
	}
	j, err := store.OpenPlain("", true, true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = j.Close()
		_ = db.Close()
	})
	b, err := db.NewBatch(1_800_000_000)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		k, err := workload.Key(i)
		if err != nil {
			t.Fatal(err)
		}
		d := &types.Deposit{PriorityID: uint64(i), Account: uint32(i), L1Address: workload.Addr(i), PubKey: types.PublicKeyOf(k)}
		d.Amount.SetUint64(1000)
		if _, err := b.Add(d); err != nil {
			t.Fatal(err)
		}
	}
	sb, err := b.Seal()
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{p: p, db: db, j: j, sb: sb}
}

// failingProver fails every proof: a prover that cannot prove on demand,
// which the real ones cannot be made to be.
type failingProver struct {
	calls atomic.Int32
	err   error
}

func (f *failingProver) Prove(context.Context, frontend.Circuit) (*prover.Proof, error) {
	f.calls.Add(1)
	return nil, f.err
}

func (f *failingProver) VerifyingKey() groth16.VerifyingKey { return nil }

// listener records the stages the pipeline reports.
type listener struct {
	mu     sync.Mutex
	stages []rpc.BatchStatus
}

func (l *listener) SetProven(uint64)   {}
func (l *listener) SetVerified(uint64) {}
func (l *listener) PublishBatch(_ *state.Header, st rpc.BatchStatus, _ common.Hash, _ int64) {
	l.mu.Lock()
	l.stages = append(l.stages, st)
	l.mu.Unlock()
}

func waitHalted(t *testing.T, p *Pipeline) error {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for p.Halted() == nil && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	return p.Halted()
}

func stop(t *testing.T, p *Pipeline, within time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	start := time.Now()
	if err := p.Stop(ctx); err != nil {
		t.Fatalf("Stop after %s: %v", time.Since(start), err)
	}
}

// TestHaltsOnMismatch: a committed batch whose stored header its
// transactions do not reproduce stops the pipeline loudly (Halted, the
// metric) and nothing is proven.
func TestHaltsOnMismatch(t *testing.T) {
	f := newFixture(t)
	h := f.sb.Header
	h.NewRoot.SetUint64(42)
	if err := rewriteHeader(f.db, &h); err != nil {
		t.Fatal(err)
	}
	m := rpc.NewMetrics(prometheus.NewRegistry(), "test")
	lis := &listener{}
	p, err := New(Config{Params: f.p, Domain: testDomain, Metrics: m}, f.db, f.j, lis)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer stop(t, p, 5*time.Second)
	if err := waitHalted(t, p); !errors.Is(err, state.ErrReexecMismatch) {
		t.Fatalf("halted with %v, want ErrReexecMismatch", err)
	}
	if v := testutil.ToFloat64(m.PipelineHalted); v != 1 {
		t.Fatalf("modex_pipeline_halted = %v", v)
	}
	lis.mu.Lock()
	defer lis.mu.Unlock()
	if proven, _, _ := p.Heads(); proven != 0 || len(lis.stages) != 0 {
		t.Fatalf("proven %d, stages %v after a mismatch", proven, lis.stages)
	}
}

// TestHaltsAfterMaxAttempts: a batch its prover never proves is tried
// MaxAttempts times with a backoff, then the pipeline halts loudly
// (ErrProofFailed, the metric) instead of retrying forever, and Stop
// returns promptly.
func TestHaltsAfterMaxAttempts(t *testing.T) {
	f := newFixture(t)
	pv := &failingProver{err: errors.New("prover down")}
	m := rpc.NewMetrics(prometheus.NewRegistry(), "test")
	p, err := New(Config{Params: f.p, Domain: testDomain, Metrics: m, MaxAttempts: 3,
		RetryBase: time.Millisecond, RetryMax: 4 * time.Millisecond,
		Provers: map[types.Family]prover.Prover{types.FamilyPriority: pv}}, f.db, f.j, &listener{})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	err = waitHalted(t, p)
	if !errors.Is(err, ErrProofFailed) || !errors.Is(err, pv.err) {
		t.Fatalf("halted with %v, want ErrProofFailed wrapping the prover's error", err)
	}
	time.Sleep(20 * time.Millisecond) // a pipeline still retrying would call again
	if n := pv.calls.Load(); n != 3 {
		t.Fatalf("prover called %d times, want 3", n)
	}
	if v := testutil.ToFloat64(m.PipelineHalted); v != 1 {
		t.Fatalf("modex_pipeline_halted = %v", v)
	}
	stop(t, p, time.Second)
}

// TestStopDuringBackoff: Stop does not wait out a retry's backoff.
func TestStopDuringBackoff(t *testing.T) {
	f := newFixture(t)
	pv := &failingProver{err: errors.New("prover down")}
	p, err := New(Config{Params: f.p, Domain: testDomain, RetryBase: time.Hour,
		Provers: map[types.Family]prover.Prover{types.FamilyPriority: pv}}, f.db, f.j, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for pv.calls.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if pv.calls.Load() == 0 {
		t.Fatal("the prover was never called")
	}
	stop(t, p, 500*time.Millisecond)
	if err := p.Halted(); err != nil {
		t.Fatalf("halted after one failure: %v", err)
	}
}

// TestStageRecordErrors: a stage record that does not decode is reported
// as journal.ErrCorrupt, both when the pipeline loads and when a batch's
// stage is asked for, never taken for a batch with no record.
func TestStageRecordErrors(t *testing.T) {
	f := newFixture(t)
	p, err := New(Config{Params: f.p, Domain: testDomain}, f.db, f.j, nil)
	if err != nil {
		t.Fatal(err)
	}
	if st, _, _, err := p.StageOf(1); err != nil || st != rpc.BatchCommitted {
		t.Fatalf("StageOf(1) = %v, %v; want committed", st, err)
	}
	if err := f.j.Update(func(txn *badger.Txn) error { return txn.Set(journal.StageKey(1), []byte("{not json")) }); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := p.StageOf(1); !errors.Is(err, journal.ErrCorrupt) {
		t.Fatalf("StageOf over a corrupt record: %v, want ErrCorrupt", err)
	}
	if _, err := New(Config{Params: f.p, Domain: testDomain}, f.db, f.j, nil); !errors.Is(err, journal.ErrCorrupt) {
		t.Fatalf("New over a corrupt record: %v, want ErrCorrupt", err)
	}
}

// TestConfigCheck: bad settings are refused before anything is built.
func TestConfigCheck(t *testing.T) {
	for name, c := range map[string]Config{
		"workers":  {Workers: -1},
		"attempts": {MaxAttempts: -1},
		"retry":    {RetryBase: time.Minute, RetryMax: time.Second},
		"poll":     {Poll: -time.Second},
	} {
		t.Run(name, func(t *testing.T) {
			if err := c.Check(); !errors.Is(err, ErrConfig) {
				t.Fatalf("Check: %v, want ErrConfig", err)
			}
		})
	}
	d := DefaultConfig()
	if err := d.Check(); err != nil {
		t.Fatal(err)
	}
}

// rewriteHeader commits a new store version holding h as batch h.Number's
// header: a corrupted store, written through the store's own API at the
// header's schema key ('h' ‖ batch u64, state/schema.go). Were the layout to
// change, the pipeline would see no mismatch and the test above would fail.
func rewriteHeader(db *state.DB, h *state.Header) error {
	txn, err := db.Store().Begin()
	if err != nil {
		return err
	}
	if err := txn.Set(binary.BigEndian.AppendUint64([]byte{'h'}, h.Number), h.Encode()); err != nil {
		txn.Discard()
		return err
	}
	return txn.Commit()
}

// scriptedSubmitter plays a script of L1 steps: each call runs the next
// step's function (nil: the call fails as an unreachable L1 would).
type scriptedSubmitter struct {
	mu    sync.Mutex
	calls int
	steps []func() (SubmitStatus, error)
}

func (s *scriptedSubmitter) Step(context.Context, *state.Header, []byte, *prover.Proof) (SubmitStatus, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if s.calls > len(s.steps) {
		return SubmitStatus{}, errors.New("script over")
	}
	return s.steps[s.calls-1]()
}

// TestSubmitPathFailures: a failing L1 is retried and counted, never a
// halt; a stage record the journal can no longer read halts the pipeline
// with ErrStore instead of being retried (or overwritten) forever.
func TestSubmitPathFailures(t *testing.T) {
	f := newFixture(t)
	l1Down := func() (SubmitStatus, error) { return SubmitStatus{}, errors.New("L1 unreachable") }
	sub := &scriptedSubmitter{steps: []func() (SubmitStatus, error){
		l1Down,
		func() (SubmitStatus, error) { return SubmitStatus{Tx: common.HexToHash("0xabc")}, nil }, // sent
		func() (SubmitStatus, error) {
			// the journal loses the record while the commit is in flight
			if err := f.j.Update(func(txn *badger.Txn) error { return txn.Set(journal.StageKey(1), []byte("{not json")) }); err != nil {
				return SubmitStatus{}, err
			}
			return l1Down()
		},
	}}
	m := rpc.NewMetrics(prometheus.NewRegistry(), "test")
	p, err := New(Config{Params: f.p, Domain: testDomain, Metrics: m, Submitter: sub, Poll: 2 * time.Millisecond, RetryBase: time.Hour,
		Provers: map[types.Family]prover.Prover{types.FamilyPriority: &failingProver{err: errors.New("unused")}}}, f.db, f.j, &listener{})
	if err != nil {
		t.Fatal(err)
	}
	p.proofs[1] = &prover.Proof{} // proven: the submitter's turn (the Submitter does not look at it)
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer stop(t, p, time.Second)
	err = waitHalted(t, p)
	if !errors.Is(err, ErrStore) || !errors.Is(err, journal.ErrCorrupt) {
		t.Fatalf("halted with %v, want ErrStore wrapping journal.ErrCorrupt", err)
	}
	time.Sleep(20 * time.Millisecond) // a submitter still going would step again
	sub.mu.Lock()
	calls := sub.calls
	sub.mu.Unlock()
	if calls != 3 {
		t.Fatalf("L1 stepped %d times, want 3 (no step after the halt)", calls)
	}
	if v := testutil.ToFloat64(m.L1SubmitErrors); v != 2 {
		t.Fatalf("modex_l1_submit_errors_total = %v, want 2", v)
	}
	if v := testutil.ToFloat64(m.PipelineHalted); v != 1 {
		t.Fatalf("modex_pipeline_halted = %v", v)
	}
}

// publicProver "proves" by computing the assignment's public witness: the
// pipeline checks a proof's public input against the header and nothing
// else (the L1 verifies the Groth16 proof: the devnet tests cover that).
type publicProver struct{ calls atomic.Int32 }

func (p *publicProver) Prove(_ context.Context, c frontend.Circuit) (*prover.Proof, error) {
	p.calls.Add(1)
	w, err := frontend.NewWitness(c, ecc.BN254.ScalarField(), frontend.PublicOnly())
	if err != nil {
		return nil, err
	}
	return &prover.Proof{Groth16: groth16.NewProof(ecc.BN254), Public: w}, nil
}

func (p *publicProver) VerifyingKey() groth16.VerifyingKey { return nil }

// TestAwaitedProver: a batch of a family whose prover comes later
// (Config.Awaited) waits for it without spending its attempts (MaxAttempts
// 1 would halt on the first failure), and is proven once AddProver gives
// it; a prover for a family not awaited is refused.
func TestAwaitedProver(t *testing.T) {
	f := newFixture(t)
	lis := &listener{}
	p, err := New(Config{Params: f.p, Domain: testDomain, MaxAttempts: 1, RetryBase: time.Millisecond,
		Awaited: []types.Family{types.FamilyPriority}}, f.db, f.j, lis)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer stop(t, p, time.Second)
	// The batch reaches the witness stage, then waits.
	deadline := time.Now().Add(20 * time.Second)
	for {
		p.mu.Lock()
		parked := len(p.awaited[types.FamilyPriority])
		p.mu.Unlock()
		if parked == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("batch 1 never waited for its prover")
		}
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond) // a pipeline retrying would halt (MaxAttempts 1) or re-park
	if err := p.Halted(); err != nil {
		t.Fatalf("halted while waiting for a prover: %v", err)
	}
	p.mu.Lock()
	attempts, queued := p.attempts[1], len(p.proving)
	p.mu.Unlock()
	if attempts != 0 || queued != 0 {
		t.Fatalf("waiting batch: %d attempts, %d queued; want 0, 0", attempts, queued)
	}
	if st, _, _, err := p.StageOf(1); err != nil || st != rpc.BatchWitness {
		t.Fatalf("stage %v (%v), want witness", st, err)
	}
	if got := p.Awaiting(); len(got) != 1 || got[0] != types.FamilyPriority {
		t.Fatalf("awaiting %v", got)
	}

	pv := &publicProver{}
	if err := p.AddProver(types.FamilyTransfer, pv); !errors.Is(err, ErrProverSet) {
		t.Fatalf("a prover for a family not awaited: %v, want ErrProverSet", err)
	}
	if err := p.AddProver(types.FamilyPriority, pv); err != nil {
		t.Fatal(err)
	}
	if err := p.AddProver(types.FamilyPriority, pv); !errors.Is(err, ErrProverSet) {
		t.Fatalf("a second prover: %v, want ErrProverSet", err)
	}
	for {
		if proven, _, _ := p.Heads(); proven == 1 {
			break
		}
		if time.Now().After(deadline) || p.Halted() != nil {
			t.Fatalf("batch 1 not proven after its prover came (halted: %v)", p.Halted())
		}
		time.Sleep(5 * time.Millisecond)
	}
	if n := pv.calls.Load(); n != 1 {
		t.Fatalf("prover called %d times, want 1", n)
	}
	if len(p.Awaiting()) != 0 {
		t.Fatalf("still awaiting %v", p.Awaiting())
	}
}
