package circuits

import (
	"math/big"

	"github.com/consensys/gnark/frontend"
)

// Bits decomposes v into n boolean-constrained bits, least significant first.
// It doubles as the range check v < 2^n (n < 254, so no wrap-around): the
// plain decomposition costs n+1 constraints and adds no commitment to the
// proof, unlike std/rangecheck (docs/circuit.md: the measured trade-off).
func Bits(api frontend.API, v frontend.Variable, n int) []frontend.Variable {
	return api.ToBinary(v, n)
}

// RangeCheck asserts v < 2^n.
func RangeCheck(api frontend.API, v frontend.Variable, n int) { _ = api.ToBinary(v, n) }

// Field is a value of a declared bit width, for packing.
type Field struct {
	V    frontend.Variable
	Bits int
}

// Pack returns Σ field_i · 2^(offset_i), fields laid from bit 0 upward in
// order, after range-checking each field to its width: the circuit twin of
// the native leaf packings (state/leaves.go) and of one message word.
func Pack(api frontend.API, fields ...Field) frontend.Variable {
	var acc frontend.Variable = 0
	shift := 0
	for _, f := range fields {
		RangeCheck(api, f.V, f.Bits)
		acc = api.Add(acc, api.Mul(f.V, new(big.Int).Lsh(big.NewInt(1), uint(shift))))
		shift += f.Bits
	}
	if shift > 253 {
		panic("circuits: packed fields exceed 253 bits")
	}
	return acc
}
