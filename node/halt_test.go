package node

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/consensys/gnark/backend/groth16"
	"github.com/consensys/gnark/frontend"
	"github.com/ethereum/go-ethereum/common"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/modex/modex/bench/workload"
	"github.com/modex/modex/pipeline"
	"github.com/modex/modex/prover"
	"github.com/modex/modex/rpc"
	"github.com/modex/modex/sequencer"
	"github.com/modex/modex/state"
	"github.com/modex/modex/state/store"
	"github.com/modex/modex/types"
)

// downProver fails every proof (a real prover cannot be made to).
type downProver struct{ calls atomic.Int32 }

func (p *downProver) Prove(context.Context, frontend.Circuit) (*prover.Proof, error) {
	p.calls.Add(1)
	return nil, errors.New("prover down")
}

func (p *downProver) VerifyingKey() groth16.VerifyingKey { return nil }

// TestProverFailureHaltsHealth: a batch its prover keeps failing halts the
// pipeline after ProveAttempts, and the node says so where an operator
// looks: /healthz answers 503 with the reason, modex_pipeline_halted is 1
// on /metrics, submissions are refused; and the node stops promptly.
// The node is wired by hand over in-memory stores (no L1): the real
// sequencer and pipeline, with a prover that fails.
func TestProverFailureHaltsHealth(t *testing.T) {
	ctx := context.Background()
	params := types.TestParams()
	params.BatchCapacity = 2
	d := types.Domain{ChainID: 1337, Bridge: common.HexToAddress("0xb1d9e")}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	n := &Node{cfg: Config{Params: params}, log: logger, d: d, quit: make(chan struct{})}
	var err error
	if n.db, err = state.Open(params, d, store.Options{InMemory: true, KeepBatches: 64}); err != nil {
		t.Fatal(err)
	}
	if n.j, err = store.OpenPlain("", true, false); err != nil {
		t.Fatal(err)
	}
	n.reg = prometheus.NewRegistry()
	n.metrics = rpc.NewMetrics(n.reg, Version)
	pv := &downProver{}
	provers := map[types.Family]prover.Prover{types.FamilyPriority: pv}
	if n.seq, err = sequencer.New(sequencer.Config{Params: params, Domain: d, BatchTimeout: time.Hour,
		OnSeal: func(sb *state.SealedBatch) { n.pipe.Sealed(sb) }, Families: families(provers, nil),
		Logger: logger, Metrics: n.metrics}, n.db, n.j); err != nil {
		t.Fatal(err)
	}
	n.q = n.seq.Queries()
	if n.pipe, err = pipeline.New(pipeline.Config{Params: params, Domain: d, Provers: provers,
		MaxAttempts: 2, RetryBase: time.Millisecond, Logger: logger, Metrics: n.metrics}, n.db, n.j, n.seq); err != nil {
		t.Fatal(err)
	}
	if n.api, err = rpc.NewServer(n, rpc.Config{Addr: "127.0.0.1:0", Version: Version, Registry: n.reg, Metrics: n.metrics, Logger: logger}); err != nil {
		t.Fatal(err)
	}
	if err := n.seq.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := n.pipe.Start(ctx); err != nil {
		t.Fatal(err)
	}
	stopped := false
	defer func() {
		if !stopped {
			_ = n.close()
		}
	}()
	srv := httptest.NewServer(n.api.Handler())
	defer srv.Close()
	get := func(path string) (int, string) {
		t.Helper()
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("/healthz"); code != http.StatusOK {
		t.Fatalf("healthz before: %d %s", code, body)
	}

	k, err := workload.Key(0)
	if err != nil {
		t.Fatal(err)
	}
	dep := &types.Deposit{Account: 0, L1Address: workload.Addr(0), PubKey: types.PublicKeyOf(k)}
	dep.Amount.SetUint64(1000)
	raw, err := types.EncodeTx(dep)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.seq.AddPriority(ctx, []sequencer.PriorityRequest{{ID: 0, Raw: raw}}); err != nil {
		t.Fatal(err)
	}
	if err := n.seq.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for n.pipe.Halted() == nil && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if err := n.pipe.Halted(); !errors.Is(err, pipeline.ErrProofFailed) {
		t.Fatalf("pipeline halted with %v, want ErrProofFailed", err)
	}
	if c := pv.calls.Load(); c != 2 {
		t.Fatalf("prover called %d times, want ProveAttempts = 2", c)
	}
	code, body := get("/healthz")
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "cannot be proven") {
		t.Fatalf("healthz after the halt: %d %s", code, body)
	}
	if _, body := get("/metrics"); !strings.Contains(body, "modex_pipeline_halted 1") {
		t.Fatalf("metrics lack modex_pipeline_halted 1")
	}
	if _, err := n.SubmitTx(ctx, raw); !errors.Is(err, rpc.ErrPipelineHalted) {
		t.Fatalf("SubmitTx after the halt: %v, want ErrPipelineHalted", err)
	}
	sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	stopped = true
	if err := errors.Join(n.stopServices(sctx), n.close()); err != nil {
		t.Fatalf("stop: %v", err)
	}
}
