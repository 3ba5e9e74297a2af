package circuits

import (
	"bytes"
	"context"
	"math/big"
	"testing"

	"github.com/holiman/uint256"

	"github.com/modex/modex/internal/testutil/evmtest"
	"github.com/modex/modex/prover"
	"github.com/modex/modex/types"
)

// TestBatchProofOnEVM takes a real batch through the whole pipeline: native
// apply of two trades into a Trade batch, the batch circuit (test depths,
// capacity 2), the dev setup, the CPU prover (which verifies natively), the
// exported Solidity verifier on go-ethereum's in-process chain, with the
// public input the native header defines. A changed public input is refused.
func TestBatchProofOnEVM(t *testing.T) {
	if testing.Short() {
		t.Skip("proving and a Groth16 setup: skipped under -short")
	}
	p := batchParams()
	w := newBWorld(t, p, 4)
	for u := 0; u < 3; u++ {
		w.deposit(u, 0, 1_000_000)
	}
	if _, err := w.signed(1, &types.CreateModel{Account: 1, Model: 1, QuoteToken: 0, Supply: 1000, MaxSupply: 1000,
		CreditPrice: *uint256.NewInt(5), HolderBps: 5000}); err != nil {
		t.Fatal(err)
	}
	for i, fill := range []uint64{3, 4} {
		buy := w.order(2, 1, types.Buy, uint32(1+i), 10, 30)
		sell := w.order(1, 1, types.Sell, uint32(1+i), 10, 20)
		if _, err := w.add(&types.Trade{Buy: buy, Sell: sell, Fill: fill, Price: *uint256.NewInt(25), BuyFeeBips: 10, SellFeeBips: 20}); err != nil {
			t.Fatal(err)
		}
	}
	w.seal()
	sb := w.sealed[len(w.sealed)-1]
	if sb.Header.Family != types.FamilyTrade || len(sb.Txs) != 2 {
		t.Fatalf("fixture: %v batch of %d", sb.Header.Family, len(sb.Txs))
	}
	shape, err := NewBatch(types.FamilyTrade, p)
	if err != nil {
		t.Fatal(err)
	}
	ccs, err := prover.Compile(shape, BatchKey(types.FamilyTrade, p), "")
	if err != nil {
		t.Fatal(err)
	}
	keys, err := prover.DevSetup(ccs)
	if err != nil {
		t.Fatal(err)
	}
	c, err := AssignBatch(p, w.d, sb)
	if err != nil {
		t.Fatal(err)
	}
	proof, err := prover.NewCPU(keys).Prove(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	chain := evmtest.New(t)
	verifier, _ := chain.DeployVerifier(keys.VK)
	args, err := prover.SolidityCalldata(proof)
	if err != nil {
		t.Fatal(err)
	}
	pi := sb.Header.PublicInput(w.d)
	if len(args.Input) != 1 || args.Input[0].Cmp(pi.BigInt(new(big.Int))) != 0 {
		t.Fatalf("the proof's public input %v is not the header's %s", args.Input, pi.String())
	}
	data, err := args.Pack()
	if err != nil {
		t.Fatal(err)
	}
	if reverted, rd := chain.Call(verifier, data); reverted {
		t.Fatalf("the batch proof was rejected on the EVM: %x", rd)
	}
	rcpt := chain.Send(&verifier, data)
	t.Logf("Trade batch proof (capacity %d, %d constraints) verified on the EVM: %d gas", p.BatchCapacity, ccs.GetNbConstraints(), rcpt.GasUsed)
	bad := &prover.SolidityArgs{Proof: args.Proof, Input: []*big.Int{new(big.Int).Add(args.Input[0], big.NewInt(1))}}
	data, err = bad.Pack()
	if err != nil {
		t.Fatal(err)
	}
	reverted, rd := chain.Call(verifier, data)
	if !reverted || !bytes.HasPrefix(rd, evmtest.Selector("ProofInvalid()")) {
		t.Fatalf("a changed public input was not refused: reverted %v, %x", reverted, rd)
	}
	// the same residue, plus the field modulus
	bad = &prover.SolidityArgs{Proof: args.Proof, Input: []*big.Int{new(big.Int).Add(args.Input[0], field)}}
	if data, err = bad.Pack(); err != nil {
		t.Fatal(err)
	}
	reverted, rd = chain.Call(verifier, data)
	if !reverted || !bytes.HasPrefix(rd, evmtest.Selector("PublicInputNotInField()")) {
		t.Fatalf("the public input + r was not refused: reverted %v, %x", reverted, rd)
	}
}
