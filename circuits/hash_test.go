package circuits

import (
	"testing"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/frontend/cs/r1cs"
	"github.com/consensys/gnark/test"

	"github.com/modex/modex/types"
)

type compressCircuit struct {
	L, R  frontend.Variable
	Out   frontend.Variable `gnark:",public"`
	Chain frontend.Variable `gnark:",public"`
}

func (c *compressCircuit) Define(api frontend.API) error {
	h, err := NewHasher(api)
	if err != nil {
		return err
	}
	api.AssertIsEqual(h.Compress(c.L, c.R), c.Out)
	api.AssertIsEqual(h.Chain(c.L, c.R, c.Out), c.Chain)
	return nil
}

// TestHashMatchesNative runs the circuit gadgets against the native hashes the
// state tree uses, on random inputs, and checks a wrong output is refused.
func TestHashMatchesNative(t *testing.T) {
	for i := 0; i < 8; i++ {
		var l, r fr.Element
		l.SetRandom()
		r.SetRandom()
		out := types.Compress(l, r)
		chain := types.HashChain(l, r, out)
		ok := &compressCircuit{L: l, R: r, Out: out, Chain: chain}
		if err := test.IsSolved(&compressCircuit{}, ok, ecc.BN254.ScalarField()); err != nil {
			t.Fatalf("native and circuit Compress disagree: %v", err)
		}
		var wrong fr.Element
		wrong.Add(&out, &l)
		bad := &compressCircuit{L: l, R: r, Out: wrong, Chain: chain}
		if err := test.IsSolved(&compressCircuit{}, bad, ecc.BN254.ScalarField()); err == nil {
			t.Fatal("circuit accepted a wrong compression")
		}
	}
}

// TestCompressConstraints pins the gadget's cost (docs/circuit.md: 186 per compression).
func TestCompressConstraints(t *testing.T) {
	cs, err := frontend.Compile(ecc.BN254.ScalarField(), r1cs.NewBuilder, &compressCircuit{})
	if err != nil {
		t.Fatal(err)
	}
	if n := cs.GetNbConstraints(); n > 4*190 {
		t.Fatalf("4 compressions cost %d constraints", n)
	}
	t.Logf("4 compressions: %d constraints", cs.GetNbConstraints())
}
