package gas

import (
	"context"
	"math/big"
	"testing"

	"github.com/holiman/uint256"

	"github.com/modex/modex/bench/workload"
	"github.com/modex/modex/bridge"
	"github.com/modex/modex/circuits"
	"github.com/modex/modex/prover"
	"github.com/modex/modex/state"
	"github.com/modex/modex/state/store"
	"github.com/modex/modex/types"
)

// TestRun runs `modex bench gas` at capacity 2: every kind and operation is
// measured, and every batch paid for at least one verification.
func TestRun(t *testing.T) {
	rep, err := Run(context.Background(), []int{2}, 1, "osaka")
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Batches) != 13 {
		t.Fatalf("%d batch rows, want 13 (every kind)", len(rep.Batches))
	}
	for _, b := range rep.Batches {
		if b.Gas < rep.VerifyGas || b.Txs != 2 || b.CalldataBytes < 2*types.FamilyTransfer.SlotBytes() {
			t.Fatalf("batch row %+v (verify alone %d)", b, rep.VerifyGas)
		}
	}
	want := map[string]bool{"depositETH": true, "depositERC20": true, "claim ETH": true, "exit": true, "refundDeposit": true, "activateExodus": true}
	for _, o := range rep.Operations {
		if o.Gas == 0 {
			t.Fatalf("operation %+v", o)
		}
		delete(want, o.Name)
	}
	if len(want) > 0 {
		t.Fatalf("operations not measured: %v", want)
	}
	if _, err := Run(context.Background(), []int{2}, 1, "frontier"); err == nil {
		t.Fatal("an unknown fork was accepted")
	}
}

// TestStandInVerifierGas: the benchmark's stand-in verifier (one public
// input) costs what a real batch verifier costs on a real batch proof, on the
// same chain.
func TestStandInVerifierGas(t *testing.T) {
	if testing.Short() {
		t.Skip("real proofs: skipped under -short")
	}
	ctx := context.Background()
	g, err := newGasBench(ctx, 1, "dev")
	if err != nil {
		t.Fatal(err)
	}
	defer g.sim.Close()

	// a real priority batch of two deposits at test depths, proven with the
	// real batch circuit
	p := types.TestParams()
	p.BatchCapacity = 2
	d := workload.DevDomain
	db, err := state.Open(p, d, store.Options{InMemory: true, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	b, err := db.NewBatch(1_700_000_000)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		k, err := workload.Key(i)
		if err != nil {
			t.Fatal(err)
		}
		dep := &types.Deposit{PriorityID: uint64(i), Account: uint32(i), L1Address: workload.Addr(i), PubKey: types.PublicKeyOf(k),
			Amount: *uint256.NewInt(1e18)}
		if _, err := b.Add(dep); err != nil {
			t.Fatal(err)
		}
	}
	sb, err := b.Seal()
	if err != nil {
		t.Fatal(err)
	}
	shape, err := circuits.NewBatch(types.FamilyPriority, p)
	if err != nil {
		t.Fatal(err)
	}
	ccs, err := prover.Compile(shape, circuits.BatchKey(types.FamilyPriority, p), "")
	if err != nil {
		t.Fatal(err)
	}
	keys, err := prover.DevSetup(ccs)
	if err != nil {
		t.Fatal(err)
	}
	c, err := circuits.AssignBatch(p, d, sb)
	if err != nil {
		t.Fatal(err)
	}
	proof, err := prover.NewCPU(keys).Prove(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	code, err := bridge.VerifierDeployCode(keys.VK)
	if err != nil {
		t.Fatal(err)
	}
	real, err := g.deploy(0, code)
	if err != nil {
		t.Fatal(err)
	}
	realGas, err := g.verifyGas(real, proof)
	if err != nil {
		t.Fatal(err)
	}

	stand, err := g.deploy(0, g.vcode)
	if err != nil {
		t.Fatal(err)
	}
	piProof, err := g.provePI(big.NewInt(12345))
	if err != nil {
		t.Fatal(err)
	}
	standGas, err := g.verifyGas(stand, piProof)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("verifyProof: real batch verifier %d gas, stand-in %d gas", realGas, standGas)
	if diff := int64(realGas) - int64(standGas); diff < -1000 || diff > 1000 { // calldata of the proof's bytes differs a little
		t.Fatalf("real verifier %d gas, stand-in %d", realGas, standGas)
	}
}
