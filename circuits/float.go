package circuits

import (
	"math/big"

	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/std/selector"

	"github.com/modex/modex/types"
)

// DecodeFloat is the circuit twin of types.FloatFormat.Decode: raw must fit
// the format's width and be canonical (exponent 0, or 10·mantissa past the
// mantissa's width), and the result is mantissa·10^exponent.
func DecodeFloat(api frontend.API, raw frontend.Variable, f types.FloatFormat) frontend.Variable {
	v, _ := DecodeFloatBits(api, raw, f)
	return v
}

// DecodeFloatBits is DecodeFloat that also returns raw's bits (least
// significant first), so pubdata can reuse the decomposition.
func DecodeFloatBits(api frontend.API, raw frontend.Variable, f types.FloatFormat) (frontend.Variable, []frontend.Variable) {
	m := int(f.MantissaBits)
	bits := Bits(api, raw, int(f.Bits()))
	mant := api.FromBinary(bits[:m]...)
	expBits := bits[m:]
	table := make([]frontend.Variable, 1<<len(expBits))
	p := big.NewInt(1)
	for i := range table {
		table[i] = new(big.Int).Set(p)
		p.Mul(p, big.NewInt(10))
	}
	pow := selector.BinaryMux(api, expBits, table)
	// canonical: e == 0 or 10·m >= 2^m (10·m < 2^(m+4) always)
	tb := Bits(api, api.Mul(mant, 10), m+4)
	hiZero := api.IsZero(api.FromBinary(tb[m:]...))
	eZero := api.IsZero(api.FromBinary(expBits...))
	api.AssertIsEqual(api.Mul(api.Sub(1, eZero), hiZero), 0)
	return api.Mul(mant, pow), bits
}
