package circuits

import (
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/std/permutation/poseidon2"
)

// Hasher is the circuit twin of types.Compress, types.Compress4 and types.HashChain.
type Hasher struct {
	api   frontend.API
	perm  *poseidon2.Permutation // width 2
	perm4 *poseidon2.Permutation // width 4
}

// NewHasher builds the width-2 Poseidon2 permutation with gnark's default
// BN254 parameters (the ones types.Compress uses natively) and the width-4 one.
func NewHasher(api frontend.API) (*Hasher, error) {
	p, err := poseidon2.NewPoseidon2(api)
	if err != nil {
		return nil, err
	}
	p4, err := poseidon2.NewPoseidon2FromParameters(api, 4, 8, 56)
	if err != nil {
		return nil, err
	}
	return &Hasher{api: api, perm: p, perm4: p4}, nil
}

// Compress is C(l, r) = P(l, r)[1] + r (docs/protocol.md §1).
func (h *Hasher) Compress(l, r frontend.Variable) frontend.Variable { return h.perm.Compress(l, r) }

// Chain is the Merkle–Damgård chain with zero IV over xs.
func (h *Hasher) Chain(xs ...frontend.Variable) frontend.Variable {
	var acc frontend.Variable = 0
	for _, x := range xs {
		acc = h.perm.Compress(acc, x)
	}
	return acc
}

// Compress4 is C4(a, b, c, d) = P4(a, b, c, d)[3] + d (docs/protocol.md §1),
// the twin of types.Compress4: gnark's width-4 Poseidon2 (8 full, 56 partial
// rounds) with gnark-crypto's constants.
func (h *Hasher) Compress4(a, b, c, d frontend.Variable) frontend.Variable {
	x := []frontend.Variable{a, b, c, d}
	if err := h.perm4.Permutation(x); err != nil {
		panic(err) // width is fixed at 4
	}
	return h.api.Add(x[3], d)
}
