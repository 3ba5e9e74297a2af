package types

import (
	"sync"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr/poseidon2"
)

// The permutation is gnark-crypto's default BN254 Poseidon2 (width 2, 6 full
// rounds, 50 partial rounds), the same instance gnark's std/permutation/poseidon2
// uses in circuits, so every hash here is recomputed bit for bit by the circuit.
var perm = sync.OnceValue(poseidon2.NewDefaultPermutation)

// Compress is the 2-to-1 Poseidon2 compression of signed messages, the
// domain, the state root over the two top trees, the pubdata commitment and
// the public input: Compress(l, r) = P(l, r)[1] + r. It equals gnark-crypto's
// Permutation.Compress and gnark's circuit Permutation.Compress.
func Compress(l, r fr.Element) fr.Element {
	x := [2]fr.Element{l, r}
	if err := perm().Permutation(x[:]); err != nil {
		panic(err) // width is fixed at 2; cannot happen
	}
	var out fr.Element
	out.Add(&x[1], &r)
	return out
}

// HashChain is the Merkle–Damgård chain with a zero IV used for fixed-length
// messages (signed messages): h = 0; h = Compress(h, x_i) for each element. It
// equals gnark-crypto's poseidon2.NewMerkleDamgardHasher over the elements'
// canonical 32-byte encodings. Every message it hashes starts with a distinct
// tag and has a fixed length per tag, so length extension does not apply.
func HashChain(xs ...fr.Element) fr.Element {
	var h fr.Element
	for _, x := range xs {
		h = Compress(h, x)
	}
	return h
}

// FromUint64 returns x as a field element.
func FromUint64(x uint64) fr.Element {
	var e fr.Element
	e.SetUint64(x)
	return e
}

// perm4 is gnark-crypto's BN254 Poseidon2 of width 4 (8 full rounds, 56
// partial rounds, the HorizenLabs constants gnark-crypto ships), the instance
// gnark's std/permutation/poseidon2 builds for width 4 in circuits.
var perm4 = sync.OnceValue(func() *poseidon2.Permutation { return poseidon2.NewPermutation(4, 8, 56) })

// Compress4 is the 4-to-1 Poseidon2 compression of docs/protocol.md §1, which
// hashes every level of the 4-ary trees and the wide leaves:
// Compress4(a, b, c, d) = P4(a, b, c, d)[3] + d, the width-4 analogue of
// Compress (last output word plus last input word, a feed-forward that makes
// the permutation one-way).
func Compress4(a, b, c, d fr.Element) fr.Element {
	x := [4]fr.Element{a, b, c, d}
	if err := perm4().Permutation(x[:]); err != nil {
		panic(err) // width is fixed at 4; cannot happen
	}
	var out fr.Element
	out.Add(&x[3], &d)
	return out
}
