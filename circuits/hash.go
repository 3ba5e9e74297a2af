package circuits

import (
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/std/permutation/poseidon2"
)

// Hasher is the circuit twin of types.Compress and types.HashChain.
type Hasher struct{ perm *poseidon2.Permutation }

// NewHasher builds the width-2 Poseidon2 permutation with gnark's default
// BN254 parameters (the ones types.Compress uses natively).
func NewHasher(api frontend.API) (*Hasher, error) {
	p, err := poseidon2.NewPoseidon2(api)
	if err != nil {
		return nil, err
	}
	return &Hasher{perm: p}, nil
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
