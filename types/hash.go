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

// Compress is the 2-to-1 Poseidon2 compression used for every Merkle level and
// every leaf hash: Compress(l, r) = P(l, r)[1] + r. It equals gnark-crypto's
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
