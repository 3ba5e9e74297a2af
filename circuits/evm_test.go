package circuits

import (
	"bytes"
	"context"
	"math/big"
	"testing"

	"github.com/modex/modex/prover"
	"github.com/modex/modex/prover/evmtest"
	"github.com/modex/modex/types"
)

// TestTradeProofOnEVM takes a real trade through the whole pipeline: native
// apply, the Trade gadget (standalone, test depths), the dev setup, the CPU
// prover (which verifies natively), the exported Solidity verifier on
// go-ethereum's in-process chain. A changed public input is refused there.
func TestTradeProofOnEVM(t *testing.T) {
	if testing.Short() {
		t.Skip("proving and a Groth16 setup: skipped under -short")
	}
	b := kindWorld(t)
	st, err := b.Next(types.KindTrade, 0)
	if err != nil {
		t.Fatal(err)
	}
	tx := st.Tx.(*types.Trade)
	r, err := b.Batch.Add(tx)
	if err != nil {
		t.Fatal(err)
	}
	g, err := AssignTrade(tx, r.Witness)
	if err != nil {
		t.Fatal(err)
	}
	ccs, err := prover.Compile(KindCircuits(b.P)["Trade"], "test/kind/Trade", "")
	if err != nil {
		t.Fatal(err)
	}
	keys, err := prover.DevSetup(ccs)
	if err != nil {
		t.Fatal(err)
	}
	proof, err := prover.NewCPU(keys).Prove(context.Background(), AssignStandalone[Trade](b.P, g, r.Witness, r, b.D, b.TS))
	if err != nil {
		t.Fatal(err)
	}
	chain := evmtest.New(t)
	verifier, _ := chain.DeployVerifier(keys.VK)
	args, err := prover.SolidityCalldata(proof)
	if err != nil {
		t.Fatal(err)
	}
	data, err := args.Pack()
	if err != nil {
		t.Fatal(err)
	}
	if reverted, rd := chain.Call(verifier, data); reverted {
		t.Fatalf("the trade's proof was rejected on the EVM: %x", rd)
	}
	rcpt := chain.Send(&verifier, data)
	t.Logf("trade proof (%d constraints) verified on the EVM: %d gas", ccs.GetNbConstraints(), rcpt.GasUsed)
	bad := &prover.SolidityArgs{Proof: args.Proof, Input: []*big.Int{new(big.Int).Add(args.Input[0], big.NewInt(1))}}
	data, err = bad.Pack()
	if err != nil {
		t.Fatal(err)
	}
	reverted, rd := chain.Call(verifier, data)
	if !reverted || !bytes.HasPrefix(rd, evmtest.Selector("ProofInvalid()")) {
		t.Fatalf("a changed public input was not refused: reverted %v, %x", reverted, rd)
	}
}
