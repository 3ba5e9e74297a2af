package types

import (
	"crypto/rand"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr/poseidon2"
)

// BenchmarkCompress is one native Poseidon2 2-to-1 compression (a Merkle level).
func BenchmarkCompress(b *testing.B) {
	var l, r fr.Element
	l.SetRandom()
	r.SetRandom()
	for i := 0; i < b.N; i++ {
		l = Compress(l, r)
	}
}

// BenchmarkVerifySignature is one EdDSA verification of a transfer message,
// the bound on how fast the sequencer can admit signed transactions per core.
func BenchmarkVerifySignature(b *testing.B) {
	k, err := GenerateKey(rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	tx := &Transfer{From: 1, To: 2, Nonce: 3}
	tx.Amount.SetUint64(1000)
	d := Domain{ChainID: 1}
	if err := SignTx(k, d, tx); err != nil {
		b.Fatal(err)
	}
	msg, pk := msgOf(b, tx, d), PublicKeyOf(k)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := VerifySignature(pk, msg, tx.Signature); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSign is one EdDSA signature (wallet side).
func BenchmarkSign(b *testing.B) {
	k, err := GenerateKey(rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	msg := FromUint64(42)
	for i := 0; i < b.N; i++ {
		if _, err := Sign(k, msg); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMessageHash is the Poseidon2 hash of a transfer's signed message.
func BenchmarkMessageHash(b *testing.B) {
	tx := &Transfer{From: 1, To: 2, Nonce: 3}
	d := Domain{ChainID: 1}
	for i := 0; i < b.N; i++ {
		_, _ = tx.Message(d)
	}
}

// BenchmarkCompress4 is one native width-4 compression (a 4-ary Merkle level,
// which replaces two binary levels).
func BenchmarkCompress4(b *testing.B) {
	x := [4]fr.Element{FromUint64(1), FromUint64(2), FromUint64(3), FromUint64(4)}
	for b.Loop() {
		x[0] = Compress4(x[0], x[1], x[2], x[3])
	}
}

// BenchmarkPermutation8 is one width-8 permutation (the 8-ary prototype of
// docs/circuit.md "Lean circuit"; not used by the protocol).
func BenchmarkPermutation8(b *testing.B) {
	p := poseidon2.NewPermutation(8, 8, 57)
	x := make([]fr.Element, 8)
	for i := range x {
		x[i] = FromUint64(uint64(i + 1))
	}
	for b.Loop() {
		if err := p.Permutation(x); err != nil {
			b.Fatal(err)
		}
	}
}
