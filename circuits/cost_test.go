package circuits

import (
	"testing"

	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/frontend/cs/r1cs"

	"github.com/modex/modex/types"
)

type gadgetCircuit struct {
	build func(api frontend.API, h *Hasher, in []frontend.Variable)
	In    [40]frontend.Variable
}

func (c *gadgetCircuit) Define(api frontend.API) error {
	h, err := NewHasher(api)
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
		build func(api frontend.API, h *Hasher, in []frontend.Variable)
	}{
		{"Merkle update, depth 24 (old and new root)", 24*2*188 + 30, func(api frontend.API, h *Hasher, in []frontend.Variable) {
			o, n := PathUpdate(api, h, in[0], in[1:25], in[25], in[26])
			api.AssertIsEqual(o, n)
		}},
		{"Merkle read, depth 16", 16*188 + 20, func(api frontend.API, h *Hasher, in []frontend.Variable) {
			api.AssertIsEqual(PathRoot(api, h, in[0], in[1:17], in[17]), in[18])
		}},
		{"account leaf", 4*188 + 200, func(api frontend.API, h *Hasher, in []frontend.Variable) {
			api.AssertIsEqual(AccountLeaf(api, h, AccountVars{in[0], in[1], in[2], in[3]}, in[4], in[5]), in[6])
		}},
		{"position leaf", 3*188 + 520, func(api frontend.API, h *Hasher, in []frontend.Variable) {
			api.AssertIsEqual(PositionLeaf(api, h, PositionVars{in[0], in[1], in[2], in[3]}, in[4]), in[5])
		}},
		{"model leaf", 4*188 + 620, func(api frontend.API, h *Hasher, in []frontend.Variable) {
			api.AssertIsEqual(ModelLeaf(api, h, ModelVars{in[0], in[1], in[2], in[3], in[4], in[5], in[6], in[7], in[8], in[9], in[10]}), in[11])
		}},
		{"Amount38 decode", 120, func(api frontend.API, h *Hasher, in []frontend.Variable) {
			api.AssertIsEqual(DecodeFloat(api, in[0], types.Amount38), in[1])
		}},
		{"EdDSA verify + transfer message", 8000, func(api frontend.API, h *Hasher, in []frontend.Variable) {
			words := MessageWords(api, Field{in[0], 8}, Field{in[1], 24}, Field{in[2], 24}, Field{in[3], 18}, Field{in[4], 32},
				Field{in[5], 96}, Field{in[6], 96})
			if err := VerifySignature(api, PubKeyVars{in[7], in[8]}, SigVars{in[9], in[10], in[11]}, MessageHash(h, in[12], words)); err != nil {
				panic(err)
			}
		}},
	}
	for _, c := range cases {
		cs, err := frontend.Compile(field, r1cs.NewBuilder, &gadgetCircuit{build: c.build})
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
