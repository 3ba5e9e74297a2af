package sequencer

import (
	"encoding/binary"
	"errors"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/modex/modex/rpc"
	"github.com/modex/modex/state"
)

// TestPipelineHaltsOnMismatch: a sealed batch whose stored header its
// transactions do not reproduce stops the pipeline loudly (Halted, the
// metric) and nothing is proven.
func TestPipelineHaltsOnMismatch(t *testing.T) {
	f := newFixture(t, 2)
	f.deposit(0, 0)
	f.deposit(1, 500)
	f.flush()
	if len(f.seals) != 1 {
		t.Fatalf("sealed %d batches", len(f.seals))
	}
	// corrupt the stored header of batch 1 (a later version rewrites it)
	if err := f.s.Close(); err != nil {
		t.Fatal(err)
	}
	h := f.seals[0].Header
	h.NewRoot.SetUint64(42)
	if err := rewriteHeader(f.db, &h); err != nil {
		t.Fatal(err)
	}
	var stages []rpc.BatchStatus
	p, err := NewPipeline(PipelineConfig{Params: f.p, Domain: testDomain,
		Progress: func(_ *state.Header, st rpc.BatchStatus, _ common.Hash, _ int64) { stages = append(stages, st) }}, f.db, f.j)
	if err != nil {
		t.Fatal(err)
	}
	p.Start()
	defer p.Close()
	deadline := time.Now().Add(10 * time.Second)
	for p.Halted() == nil && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if err := p.Halted(); !errors.Is(err, state.ErrReexecMismatch) {
		t.Fatalf("halted with %v, want ErrReexecMismatch", err)
	}
	if proven, _, _ := p.Heads(); proven != 0 || len(stages) != 0 {
		t.Fatalf("proven %d, stages %v after a mismatch", proven, stages)
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
