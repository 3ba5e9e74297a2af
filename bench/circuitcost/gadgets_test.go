package circuitcost

import (
	"testing"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/frontend/cs/r1cs"
	"github.com/consensys/gnark/std/permutation/poseidon2"

	"github.com/modex/modex/circuits"
	"github.com/modex/modex/types"
)

type gadgetCircuit struct {
	build func(api frontend.API, h *circuits.Hasher, in []frontend.Variable)
	In    [64]frontend.Variable
}

func (c *gadgetCircuit) Define(api frontend.API) error {
	h, err := circuits.NewHasher(api)
	if err != nil {
		return err
	}
	c.build(api, h, c.In[:])
	return nil
}

// binaryUpdate is the prototype of the binary path update the 4-ary trees
// replaced (width-2 Compress per level, one selector constraint per level),
// kept to measure the choice of docs/circuit.md "Lean circuit".
func binaryUpdate(api frontend.API, h *circuits.Hasher, index frontend.Variable, sib []frontend.Variable, o, n frontend.Variable) (frontend.Variable, frontend.Variable) {
	bits := api.ToBinary(index, len(sib))
	for i, s := range sib {
		lo := api.Add(o, api.Mul(bits[i], api.Sub(s, o)))
		o = h.Compress(lo, api.Sub(api.Add(o, s), lo))
		ln := api.Add(n, api.Mul(bits[i], api.Sub(s, n)))
		n = h.Compress(ln, api.Sub(api.Add(n, s), ln))
	}
	return o, n
}

// octUpdate is the prototype of an 8-ary path update over the width-8
// Poseidon2 (gnark's permutation, 8 full and 57 partial rounds; output word 7
// plus input word 7): one-hot position selectors from three index bits,
// shared between the old and the new path.
func octUpdate(api frontend.API, index frontend.Variable, depth int, sib []frontend.Variable, o, n frontend.Variable) (frontend.Variable, frontend.Variable) {
	perm, err := poseidon2.NewPoseidon2FromParameters(api, 8, 8, 57)
	if err != nil {
		panic(err)
	}
	bits := api.ToBinary(index, depth)
	for l := 0; 3*l < depth; l++ {
		b := []frontend.Variable{0, 0, 0}
		for k := 0; k < 3 && 3*l+k < depth; k++ {
			b[k] = bits[3*l+k]
		}
		// e[j] = [position == j]
		var e [8]frontend.Variable
		b01 := api.Mul(b[0], b[1])
		p00 := api.Sub(api.Add(1, b01), api.Add(b[0], b[1])) // (1-b0)(1-b1)
		p10 := api.Sub(b[0], b01)                            // b0(1-b1)
		p01 := api.Sub(b[1], b01)                            // (1-b0)b1
		low := []frontend.Variable{p00, p10, p01, b01}
		for j := 0; j < 4; j++ {
			hi := api.Mul(low[j], b[2])
			e[j] = api.Sub(low[j], hi)
			e[j+4] = hi
		}
		s := sib[7*l : 7*l+7]
		place := func(cur frontend.Variable) frontend.Variable {
			x := make([]frontend.Variable, 8)
			// x_k = s_{k-1}·[pos<k] + cur·[pos=k] + s_k·[pos>k]
			var below frontend.Variable = 0 // [pos < k]
			for k := 0; k < 8; k++ {
				var v frontend.Variable = api.Mul(e[k], cur)
				if k > 0 {
					v = api.Add(v, api.Mul(below, s[k-1]))
				}
				if k < 7 {
					above := api.Sub(1, api.Add(below, e[k]))
					v = api.Add(v, api.Mul(above, s[k]))
				}
				x[k] = v
				below = api.Add(below, e[k])
			}
			last := x[7]
			if err := perm.Permutation(x); err != nil {
				panic(err)
			}
			return api.Add(x[7], last)
		}
		o, n = place(o), place(n)
	}
	return o, n
}

// TestGadgetCosts compiles each gadget alone and pins its constraint count
// (R1CS, BN254), so a regression in a gadget shows up here. The figures feed
// the per-kind circuit cost estimates in docs/benchmarks.md and the
// measured options of docs/circuit.md "Lean circuit" (the binary and 8-ary
// updates are prototypes kept for that comparison).
func TestGadgetCosts(t *testing.T) {
	cases := []struct {
		name  string
		max   int
		build func(api frontend.API, h *circuits.Hasher, in []frontend.Variable)
	}{
		{"Poseidon2 width-2 compression", 187, func(api frontend.API, h *circuits.Hasher, in []frontend.Variable) {
			api.AssertIsEqual(h.Compress(in[0], in[1]), in[2])
		}},
		{"Poseidon2 width-4 compression", 265, func(api frontend.API, h *circuits.Hasher, in []frontend.Variable) {
			api.AssertIsEqual(h.Compress4(in[0], in[1], in[2], in[3]), in[4])
		}},
		{"prototype: binary update, depth 24", 24*2*188 + 30, func(api frontend.API, h *circuits.Hasher, in []frontend.Variable) {
			o, n := binaryUpdate(api, h, in[0], in[1:25], in[25], in[26])
			api.AssertIsEqual(o, n)
		}},
		{"prototype: 8-ary update (width 8), depth 24", 8*(2*364+60) + 30, func(api frontend.API, h *circuits.Hasher, in []frontend.Variable) {
			o, n := octUpdate(api, in[0], 24, in[1:57], in[57], in[58])
			api.AssertIsEqual(o, n)
		}},
		{"4-ary update, depth 24 (old and new root)", 12*(2*265+12) + 30, func(api frontend.API, h *circuits.Hasher, in []frontend.Variable) {
			o, n := circuits.PathUpdate(api, h, in[0], 24, in[1:37], in[37], in[38])
			api.AssertIsEqual(o, n)
		}},
		{"4-ary read, depth 16", 8*(265+6) + 20, func(api frontend.API, h *circuits.Hasher, in []frontend.Variable) {
			api.AssertIsEqual(circuits.PathRoot(api, h, in[0], 16, in[1:25], in[25]), in[26])
		}},
		{"account leaf, read", 2*265 + 5, func(api frontend.API, h *circuits.Hasher, in []frontend.Variable) {
			api.AssertIsEqual(circuits.AccountLeaf(api, h, circuits.Read, circuits.AccountVars{PkX: in[0], PkY: in[1], Nonce: in[2], L1Address: in[3]}, in[4], in[5]), in[6])
		}},
		{"account leaf, write", 2*265 + 200, func(api frontend.API, h *circuits.Hasher, in []frontend.Variable) {
			api.AssertIsEqual(circuits.AccountLeaf(api, h, circuits.Write, circuits.AccountVars{PkX: in[0], PkY: in[1], Nonce: in[2], L1Address: in[3]}, in[4], in[5]), in[6])
		}},
		{"position leaf, read", 265 + 135, func(api frontend.API, h *circuits.Hasher, in []frontend.Variable) {
			api.AssertIsEqual(circuits.PositionLeaf(api, h, circuits.Read, circuits.PositionVars{Shares: in[0], Credits: in[1], LastAcc: in[2], Pending: in[3]}, in[4]), in[5])
		}},
		{"position leaf, write", 265 + 520, func(api frontend.API, h *circuits.Hasher, in []frontend.Variable) {
			api.AssertIsEqual(circuits.PositionLeaf(api, h, circuits.Write, circuits.PositionVars{Shares: in[0], Credits: in[1], LastAcc: in[2], Pending: in[3]}, in[4]), in[5])
		}},
		{"model leaf, read", 2*265 + 190, func(api frontend.API, h *circuits.Hasher, in []frontend.Variable) {
			api.AssertIsEqual(circuits.ModelLeaf(api, h, circuits.Read, circuits.ModelVars{DAO: in[0], QuoteToken: in[1], HolderBps: in[2], Supply: in[3], MaxSupply: in[4], Acc: in[5], Carry: in[6], CreditPrice: in[7], Treasury: in[8], Weights: in[9], Metadata: in[10]}), in[11])
		}},
		{"model leaf, write", 2*265 + 620, func(api frontend.API, h *circuits.Hasher, in []frontend.Variable) {
			api.AssertIsEqual(circuits.ModelLeaf(api, h, circuits.Write, circuits.ModelVars{DAO: in[0], QuoteToken: in[1], HolderBps: in[2], Supply: in[3], MaxSupply: in[4], Acc: in[5], Carry: in[6], CreditPrice: in[7], Treasury: in[8], Weights: in[9], Metadata: in[10]}), in[11])
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
