package bridge

import (
	"context"
	"math/big"
	"testing"

	"github.com/ethereum/go-ethereum/common"

	"github.com/modex/modex/prover"
	"github.com/modex/modex/types"
)

// TestBenchGas runs `modex bench gas` at capacity 2: every kind and
// operation is measured, and every batch paid for at least one verification.
func TestBenchGas(t *testing.T) {
	rep, err := BenchGas(context.Background(), []int{2}, 1, "osaka")
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
	if _, err := BenchGas(context.Background(), []int{2}, 1, "frontier"); err == nil {
		t.Fatal("an unknown fork was accepted")
	}
}

// TestStandInVerifierGas: the benchmark's stand-in verifier (one public
// input) costs what a real batch verifier costs on a real batch proof.
func TestStandInVerifierGas(t *testing.T) {
	if testing.Short() {
		t.Skip("real proofs: skipped under -short")
	}
	e := newEnv(t, envOpts{})
	e.depositETH(e.users[0], big.NewInt(1e18))
	sb, _ := e.sealQueued(0)
	proof := e.prove(sb)
	args, err := prover.SolidityCalldata(proof)
	if err != nil {
		t.Fatal(err)
	}
	data, err := args.Pack()
	if err != nil {
		t.Fatal(err)
	}
	real := e.deployCode(e.op, setupFor(t, types.FamilyPriority).code, nil)
	r := e.must(e.send(e.op, &real, nil, data))
	rep, err := BenchGas(context.Background(), []int{1}, 1, "dev") // the fixture's chain runs the dev rules
	if err != nil {
		t.Fatal(err)
	}
	diff := int64(r.GasUsed) - int64(rep.VerifyGas)
	t.Logf("verifyProof: real batch verifier %d gas, stand-in %d gas", r.GasUsed, rep.VerifyGas)
	if diff < -1000 || diff > 1000 { // calldata of the proof's bytes differs a little
		t.Fatalf("real verifier %d gas, stand-in %d", r.GasUsed, rep.VerifyGas)
	}
	_ = common.Address{}
}
