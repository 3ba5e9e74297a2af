package types

import (
	"fmt"

	"github.com/holiman/uint256"
)

// Packed decimal floats keep pubdata small: value = mantissa · 10^exponent, the
// exponent in the high 5 bits. Amount38 carries transfer amounts, fills and
// prices (33-bit mantissa, ~9.9 significant digits); Fee16 carries fees
// (11-bit mantissa, ~3.3 digits). Signed amounts must be exactly representable:
// wallets round before signing. The canonical encoding, used by native code and
// expected from the prover, has the smallest exponent that fits the mantissa.
type FloatFormat struct {
	MantissaBits uint
	ExponentBits uint
}

var (
	Amount38 = FloatFormat{MantissaBits: 33, ExponentBits: 5}
	Fee16    = FloatFormat{MantissaBits: 11, ExponentBits: 5}
)

// Bits is the encoded width.
func (f FloatFormat) Bits() uint { return f.MantissaBits + f.ExponentBits }

var pow10 = func() [32]uint256.Int {
	var t [32]uint256.Int
	t[0].SetUint64(1)
	ten := uint256.NewInt(10)
	for i := 1; i < 32; i++ {
		t[i].Mul(&t[i-1], ten)
	}
	return t
}()

// Encode packs v canonically, or fails with ErrNotPackable.
func (f FloatFormat) Encode(v *uint256.Int) (uint64, error) {
	maxMant := uint64(1)<<f.MantissaBits - 1
	var q, r uint256.Int
	for e := 0; e < 1<<f.ExponentBits; e++ {
		q.DivMod(v, &pow10[e], &r)
		if !r.IsZero() {
			break
		}
		if q.IsUint64() && q.Uint64() <= maxMant {
			return uint64(e)<<f.MantissaBits | q.Uint64(), nil
		}
	}
	return 0, fmt.Errorf("%w: %s in %d+%d bits", ErrNotPackable, v.Dec(), f.MantissaBits, f.ExponentBits)
}

// Decode unpacks a raw value; the result may be wider than any amount bound, so
// callers check bounds. Only the canonical encoding is accepted: exponent 0,
// or a mantissa that would not fit if multiplied by 10 (otherwise a smaller
// exponent represents the same value). One value, one pubdata encoding.
func (f FloatFormat) Decode(raw uint64) (*uint256.Int, error) {
	if raw>>f.Bits() != 0 {
		return nil, fmt.Errorf("%w: packed float %#x wider than %d bits", ErrMalformed, raw, f.Bits())
	}
	maxMant := uint64(1)<<f.MantissaBits - 1
	m := raw & maxMant
	e := raw >> f.MantissaBits
	if e > 0 && m*10 <= maxMant {
		return nil, fmt.Errorf("%w: non-canonical packed float %d·10^%d", ErrMalformed, m, e)
	}
	return new(uint256.Int).Mul(uint256.NewInt(m), &pow10[e]), nil
}

// Packable reports whether v is exactly representable.
func (f FloatFormat) Packable(v *uint256.Int) bool {
	_, err := f.Encode(v)
	return err == nil
}

// RoundDown returns the largest packable value <= v (what a wallet signs):
// the best over every exponent of min(⌊v/10^e⌋, maxMantissa)·10^e.
func (f FloatFormat) RoundDown(v *uint256.Int) *uint256.Int {
	maxMant := uint256.NewInt(uint64(1)<<f.MantissaBits - 1)
	best := new(uint256.Int)
	for e := 0; e < 1<<f.ExponentBits; e++ {
		q := new(uint256.Int).Div(v, &pow10[e])
		if q.Gt(maxMant) {
			q.Set(maxMant)
		}
		if q.Mul(q, &pow10[e]); q.Gt(best) {
			best = q
		}
	}
	return best
}
