package circuitcost

import (
	"testing"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/frontend/cs/r1cs"

	"github.com/modex/modex/circuits"
	"github.com/modex/modex/types"
)

type gadgetCircuit struct {
	build func(api frontend.API, h *circuits.Hasher, in []frontend.Variable)
	In    [40]frontend.Variable
}

func (c *gadgetCircuit) Define(api frontend.API) error {
	h, err := circuits.NewHasher(api)
	if err != nil {
		return err
	}
	c.build(api, h, c.In[:])
	return nil
}

// TestGadgetCosts compiles each gadget alone and pins its constraint count
// (R1CS, BN254), so a regression in a gadget shows up here. The figures feed
// the per-kind circuit cost estimates in docs/benchmarks.md.
func TestGadgetCosts(t *testing.T) {
	cases := []struct {
		name  string
		max   int
		build func(api frontend.API, h *circuits.Hasher, in []frontend.Variable)
	}{
		{"Merkle update, depth 24 (old and new root)", 24*2*188 + 30, func(api frontend.API, h *circuits.Hasher, in []frontend.Variable) {
			o, n := circuits.PathUpdate(api, h, in[0], in[1:25], in[25], in[26])
			api.AssertIsEqual(o, n)
		}},
		{"Merkle read, depth 16", 16*188 + 20, func(api frontend.API, h *circuits.Hasher, in []frontend.Variable) {
			api.AssertIsEqual(circuits.PathRoot(api, h, in[0], in[1:17], in[17]), in[18])
		}},
		{"account leaf", 4*188 + 200, func(api frontend.API, h *circuits.Hasher, in []frontend.Variable) {
			api.AssertIsEqual(circuits.AccountLeaf(api, h, circuits.AccountVars{PkX: in[0], PkY: in[1], Nonce: in[2], L1Address: in[3]}, in[4], in[5]), in[6])
		}},
		{"position leaf", 3*188 + 520, func(api frontend.API, h *circuits.Hasher, in []frontend.Variable) {
			api.AssertIsEqual(circuits.PositionLeaf(api, h, circuits.PositionVars{Shares: in[0], Credits: in[1], LastAcc: in[2], Pending: in[3]}, in[4]), in[5])
		}},
		{"model leaf", 4*188 + 620, func(api frontend.API, h *circuits.Hasher, in []frontend.Variable) {
			api.AssertIsEqual(circuits.ModelLeaf(api, h, circuits.ModelVars{DAO: in[0], QuoteToken: in[1], HolderBps: in[2], Supply: in[3], MaxSupply: in[4], Acc: in[5], Carry: in[6], CreditPrice: in[7], Treasury: in[8], Weights: in[9], Metadata: in[10]}), in[11])
		}},
		{"Amount38 decode", 120, func(api frontend.API, h *circuits.Hasher, in []frontend.Variable) {
			api.AssertIsEqual(circuits.DecodeFloat(api, in[0], types.Amount38), in[1])
		}},
		{"EdDSA verify + transfer message", 8000, func(api frontend.API, h *circuits.Hasher, in []frontend.Variable) {
			words := circuits.MessageWords(api, circuits.Field{V: in[0], Bits: 8}, circuits.Field{V: in[1], Bits: 24}, circuits.Field{V: in[2], Bits: 24}, circuits.Field{V: in[3], Bits: 18}, circuits.Field{V: in[4], Bits: 32},
				circuits.Field{V: in[5], Bits: 96}, circuits.Field{V: in[6], Bits: 96})
			if err := circuits.VerifySignature(api, circuits.PubKeyVars{X: in[7], Y: in[8]}, circuits.SigVars{RX: in[9], RY: in[10], S: in[11]}, circuits.MessageHash(h, in[12], words)); err != nil {
				panic(err)
			}
		}},
	}
	for _, c := range cases {
		cs, err := frontend.Compile(ecc.BN254.ScalarField(), r1cs.NewBuilder, &gadgetCircuit{build: c.build})
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		n := cs.GetNbConstraints()
		t.Logf("%-45s %6d constraints", c.name, n)
		if n > c.max {
			t.Errorf("%s: %d constraints, more than the %d budgeted", c.name, n, c.max)
		}
	}
}
