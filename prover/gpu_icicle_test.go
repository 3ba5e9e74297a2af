//go:build icicle

package prover_test

import (
	"bytes"
	"context"
	"math/big"
	"os"
	"testing"

	"github.com/modex/modex/bench/workload"
	"github.com/modex/modex/circuits"
	"github.com/modex/modex/internal/testutil/evmtest"
	"github.com/modex/modex/prover"
	"github.com/modex/modex/state/store"
	"github.com/modex/modex/types"
)

// TestICICLEBatchProofOnEVM: the ICICLE prover (ICICLE's CPU backend here;
// CUDA with MODEX_ICICLE_BACKEND=CUDA) proves the same real batch as the CPU
// prover, with the same keys; its proof verifies natively, carries the
// header's public input, and the exported Solidity verifier accepts it on the
// in-process EVM.
func TestICICLEBatchProofOnEVM(t *testing.T) {
	p := types.TestParams()
	p.BatchCapacity = 2
	w, err := workload.NewWorld(p, store.Options{InMemory: true, NoSync: true}, 3)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	for u := 0; u < 2; u++ {
		if err := w.Deposit(u, 0, 1_000_000); err != nil {
			t.Fatal(err)
		}
	}
	sb, err := w.Seal()
	if err != nil {
		t.Fatal(err)
	}
	shape, err := circuits.NewBatch(sb.Header.Family, p)
	if err != nil {
		t.Fatal(err)
	}
	ccs, err := prover.Compile(shape, circuits.BatchKey(sb.Header.Family, p), "")
	if err != nil {
		t.Fatal(err)
	}
	keys, err := prover.DevSetup(ccs)
	if err != nil {
		t.Fatal(err)
	}
	assignment, err := circuits.AssignBatch(p, w.D, sb)
	if err != nil {
		t.Fatal(err)
	}
	be := os.Getenv("MODEX_ICICLE_BACKEND")
	if be == "" {
		be = "CPU"
	}
	gpu, err := prover.NewGPU(keys, prover.GPUConfig{Backend: be, BackendLibs: os.Getenv("MODEX_ICICLE_LIBS"), Pin: true})
	if err != nil {
		t.Fatal(err)
	}
	gp, err := gpu.Prove(context.Background(), assignment)
	if err != nil {
		t.Fatal(err)
	}
	if st := gpu.(interface{ Stats() prover.GPUStats }).Stats(); st.Proofs != 1 || st.Fallbacks != 0 {
		t.Fatalf("the device proof was not used: %+v", st)
	}
	cp, err := prover.NewCPU(keys).Prove(context.Background(), assignment)
	if err != nil {
		t.Fatal(err)
	}
	for name, pf := range map[string]*prover.Proof{"ICICLE": gp, "CPU": cp} {
		if err := pf.Verify(keys.VK); err != nil {
			t.Fatalf("%s proof: %v", name, err)
		}
	}
	chain := evmtest.New(t)
	verifier, _ := chain.DeployVerifier(keys.VK)
	args, err := prover.SolidityCalldata(gp)
	if err != nil {
		t.Fatal(err)
	}
	pi := sb.Header.PublicInput(w.D)
	if args.Input[0].Cmp(pi.BigInt(new(big.Int))) != 0 {
		t.Fatalf("the ICICLE proof's public input %v is not the header's %s", args.Input[0], pi.String())
	}
	data, err := args.Pack()
	if err != nil {
		t.Fatal(err)
	}
	if reverted, rd := chain.Call(verifier, data); reverted {
		t.Fatalf("the exported verifier rejected the ICICLE proof: %x", rd)
	}
	r := chain.Send(&verifier, data)
	t.Logf("ICICLE (%s backend) batch proof verified on the EVM: %d gas", be, r.GasUsed)
	bad := &prover.SolidityArgs{Proof: args.Proof, Input: []*big.Int{new(big.Int).Add(args.Input[0], big.NewInt(1))}}
	if data, err = bad.Pack(); err != nil {
		t.Fatal(err)
	}
	if reverted, rd := chain.Call(verifier, data); !reverted || !bytes.HasPrefix(rd, evmtest.Selector("ProofInvalid()")) {
		t.Fatalf("a changed input was accepted: %v %x", reverted, rd)
	}
}
