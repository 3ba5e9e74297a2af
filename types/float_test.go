package types

import (
	"errors"
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/holiman/uint256"
)

var floatFormats = []struct {
	name string
	f    FloatFormat
}{{"Amount38", Amount38}, {"Fee16", Fee16}}

// refCanonical reports whether raw is the canonical encoding of its value.
func refCanonical(f FloatFormat, raw uint64) bool {
	v := refFloatDecode(raw, f.MantissaBits)
	c, ok := refFloatEncode(v, f.MantissaBits, f.ExponentBits)
	return ok && c == raw
}

func TestFloatWidths(t *testing.T) {
	if Amount38.Bits() != 38 || Fee16.Bits() != 16 {
		t.Fatalf("widths %d %d", Amount38.Bits(), Fee16.Bits())
	}
	if Amount38.MantissaBits != 33 || Amount38.ExponentBits != 5 || Fee16.MantissaBits != 11 || Fee16.ExponentBits != 5 {
		t.Fatal("formats differ from §2")
	}
}

// TestFloatRoundTrip: every canonical mantissa·10^exponent (the smallest
// exponent whose mantissa fits) decodes and re-encodes to itself; every other
// raw value is refused by Decode.
func TestFloatRoundTrip(t *testing.T) {
	for _, ff := range floatFormats {
		f := ff.f
		rng := rand.New(rand.NewPCG(uint64(f.Bits()), 1))
		maxMant := uint64(1)<<f.MantissaBits - 1
		for i := 0; i < 20000; i++ {
			m := rng.Uint64() & maxMant
			switch rng.IntN(5) {
			case 0:
				m = uint64(rng.IntN(100))
			case 1:
				m = maxMant - uint64(rng.IntN(3))
			case 2:
				m = uint64(rng.IntN(20)) * 1000
			}
			e := uint64(rng.IntN(1 << f.ExponentBits))
			raw := e<<f.MantissaBits | m
			v, err := f.Decode(raw)
			if !refCanonical(f, raw) {
				// §2: one value, one encoding; the decoder refuses the others
				if !errors.Is(err, ErrMalformed) {
					t.Fatalf("%s: non-canonical %#x decoded: %v", ff.name, raw, err)
				}
				canon, _ := refFloatEncode(refFloatDecode(raw, f.MantissaBits), f.MantissaBits, f.ExponentBits)
				if v, err = f.Decode(canon); err != nil {
					t.Fatalf("%s: canonical %#x: %v", ff.name, canon, err)
				}
				raw = canon
			} else if err != nil {
				t.Fatalf("%s: decode %#x: %v", ff.name, raw, err)
			}
			want := refFloatDecode(raw, f.MantissaBits)
			if v.ToBig().Cmp(want) != 0 {
				t.Fatalf("%s: decode %#x = %s, want %s", ff.name, raw, v.Dec(), want)
			}
			enc, err := f.Encode(v)
			if err != nil {
				t.Fatalf("%s: encode %s: %v", ff.name, v.Dec(), err)
			}
			canon, _ := refFloatEncode(want, f.MantissaBits, f.ExponentBits)
			if enc != canon {
				t.Fatalf("%s: encode %s = %#x, canonical is %#x", ff.name, v.Dec(), enc, canon)
			}
			if enc != raw {
				t.Fatalf("%s: canonical %#x re-encodes as %#x", ff.name, raw, enc)
			}
			// canonical: no smaller exponent carries the value
			if ce := enc >> f.MantissaBits; ce > 0 {
				p := new(uint256.Int).Exp(uint256.NewInt(10), uint256.NewInt(ce-1))
				var q, r uint256.Int
				q.DivMod(v, p, &r)
				if r.IsZero() && q.IsUint64() && q.Uint64() <= maxMant {
					t.Fatalf("%s: %s encoded with exponent %d, %d fits", ff.name, v.Dec(), ce, ce-1)
				}
			}
			back, _ := f.Decode(enc)
			if !back.Eq(v) {
				t.Fatalf("%s: %s → %#x → %s", ff.name, v.Dec(), enc, back.Dec())
			}
			if !f.Packable(v) {
				t.Fatalf("%s: %s not packable", ff.name, v.Dec())
			}
		}
	}
}

func TestFloatCanonicalExamples(t *testing.T) {
	cases := []struct {
		f   FloatFormat
		v   uint64
		raw uint64
	}{
		{Fee16, 0, 0},
		{Fee16, 10, 10},               // exponent 0 fits: 10·10^0, not 1·10^1
		{Fee16, 2047, 2047},           // largest mantissa
		{Fee16, 2050, 1<<11 | 205},    // 2050 > 2047: 205·10^1
		{Fee16, 20470, 1<<11 | 2047},  // 2047·10
		{Fee16, 100000, 2<<11 | 1000}, // 1000·10^2 (10000·10 does not fit)
		{Amount38, 1<<33 - 1, 1<<33 - 1},
		{Amount38, 85899345910, 1<<33 | (1<<33 - 1)}, // (2^33−1)·10
		{Amount38, 1_000_000_000_000, 1_000_000_000_000/1000 | 3<<33},
	}
	for _, c := range cases {
		raw, err := c.f.Encode(uint256.NewInt(c.v))
		if err != nil || raw != c.raw {
			t.Errorf("Encode(%d) = %#x, %v; want %#x", c.v, raw, err, c.raw)
		}
	}
}

// TestFloatNotPackable: values needing more mantissa digits than the format
// has, or past the largest exponent, are ErrNotPackable.
func TestFloatNotPackable(t *testing.T) {
	big96 := new(uint256.Int).Sub(Bound(96), uint256.NewInt(1))
	maxA := new(uint256.Int).Mul(uint256.NewInt(1<<33-1), new(uint256.Int).Exp(uint256.NewInt(10), uint256.NewInt(31)))
	cases := []struct {
		f FloatFormat
		v *uint256.Int
	}{
		{Fee16, uint256.NewInt(2048)},
		{Fee16, uint256.NewInt(2049)},
		{Fee16, uint256.NewInt(123457)},
		{Fee16, uint256.NewInt(20471)},
		{Amount38, uint256.NewInt(1 << 33)},
		{Amount38, uint256.NewInt(1<<33 + 1)},
		{Amount38, big96},
		{Amount38, new(uint256.Int).Add(maxA, uint256.NewInt(1))},
		{Amount38, new(uint256.Int).Mul(maxA, uint256.NewInt(10))}, // exponent 32 would be needed
		{Fee16, new(uint256.Int).Lsh(uint256.NewInt(1), 255)},
	}
	for _, c := range cases {
		if _, err := c.f.Encode(c.v); !errors.Is(err, ErrNotPackable) {
			t.Errorf("Encode(%s): %v, want ErrNotPackable", c.v.Dec(), err)
		}
		if c.f.Packable(c.v) {
			t.Errorf("Packable(%s)", c.v.Dec())
		}
	}
	if raw, err := Amount38.Encode(maxA); err != nil || raw != 1<<38-1 {
		t.Fatalf("largest Amount38: %#x %v", raw, err)
	}
	// random values with many significant digits
	rng := rand.New(rand.NewPCG(9, 9))
	for i := 0; i < 5000; i++ {
		v := uint256.NewInt(rng.Uint64())
		_, ok := refFloatEncode(v.ToBig(), 11, 5)
		if _, err := Fee16.Encode(v); (err == nil) != ok || (err != nil && !errors.Is(err, ErrNotPackable)) {
			t.Fatalf("Fee16.Encode(%s): %v, reference packable=%v", v.Dec(), err, ok)
		}
	}
}

// TestFloatDecodeTooWide: a raw value wider than the format is malformed.
func TestFloatDecodeTooWide(t *testing.T) {
	for _, ff := range floatFormats {
		f := ff.f
		for _, raw := range []uint64{1 << f.Bits(), 1<<f.Bits() | 1, 1 << 63, ^uint64(0)} {
			if _, err := f.Decode(raw); !errors.Is(err, ErrMalformed) {
				t.Errorf("%s: Decode(%#x): %v", ff.name, raw, err)
			}
		}
		if _, err := f.Decode(1<<f.Bits() - 1); err != nil {
			t.Errorf("%s: largest raw: %v", ff.name, err)
		}
	}
}

func refMaxFloat(f FloatFormat) *uint256.Int {
	return new(uint256.Int).Mul(uint256.NewInt(1<<f.MantissaBits-1),
		new(uint256.Int).Exp(uint256.NewInt(10), uint256.NewInt(1<<f.ExponentBits-1)))
}

// refRoundDown is the largest packable value <= v: the best candidate
// min(⌊v/10^e⌋, maxMant)·10^e over all exponents.
func refRoundDown(f FloatFormat, v *big.Int) *big.Int {
	best := new(big.Int)
	maxMant := bu(1<<f.MantissaBits - 1)
	p := big.NewInt(1)
	for e := 0; e < 1<<f.ExponentBits; e++ {
		q := new(big.Int).Quo(v, p)
		if q.Cmp(maxMant) > 0 {
			q.Set(maxMant)
		}
		q.Mul(q, p)
		if q.Cmp(best) > 0 {
			best = q
		}
		p.Mul(p, big.NewInt(10))
	}
	return best
}

func rndRoundInput(rng *rand.Rand) *uint256.Int {
	switch rng.IntN(4) {
	case 0:
		return uint256.NewInt(uint64(rng.IntN(100000)))
	case 1:
		return uint256.NewInt(rng.Uint64())
	case 2:
		v := rndU256(rng, 96)
		return &v
	}
	v := rndU256(rng, 256)
	return &v
}

// TestFloatRoundDown: RoundDown(v) is packable, at most v, and within one
// unit of its own exponent below v.
func TestFloatRoundDown(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 11))
	for _, ff := range floatFormats {
		f := ff.f
		for i := 0; i < 20000; i++ {
			v := rndRoundInput(rng)
			r := f.RoundDown(v)
			if r.Gt(v) {
				t.Fatalf("%s: RoundDown(%s) = %s > v", ff.name, v.Dec(), r.Dec())
			}
			raw, err := f.Encode(r)
			if err != nil {
				t.Fatalf("%s: RoundDown(%s) = %s not packable: %v", ff.name, v.Dec(), r.Dec(), err)
			}
			if f.Packable(v) && !r.Eq(v) {
				t.Fatalf("%s: packable %s rounded to %s", ff.name, v.Dec(), r.Dec())
			}
			// nothing packable at r's exponent lies in (r, v]: v − r < 10^e
			// unless r's mantissa is already the largest
			e := raw >> f.MantissaBits
			step := new(uint256.Int).Exp(uint256.NewInt(10), uint256.NewInt(e))
			if raw&(1<<f.MantissaBits-1) == 1<<f.MantissaBits-1 {
				step.Mul(step, uint256.NewInt(10))
			}
			if diff := new(uint256.Int).Sub(v, r); !diff.Lt(step) && !r.Eq(refMaxFloat(f)) {
				t.Fatalf("%s: RoundDown(%s) = %s drops %s at exponent %d", ff.name, v.Dec(), r.Dec(), diff.Dec(), e)
			}
		}
	}
	if got := Fee16.RoundDown(uint256.NewInt(123456)); got.Uint64() != 123400 {
		t.Fatalf("RoundDown(123456) = %s", got.Dec())
	}
	huge := new(uint256.Int).Lsh(uint256.NewInt(1), 255)
	want := new(uint256.Int).Mul(uint256.NewInt(1<<33-1), new(uint256.Int).Exp(uint256.NewInt(10), uint256.NewInt(31)))
	if got := Amount38.RoundDown(huge); !got.Eq(want) {
		t.Fatalf("RoundDown(2^255) = %s, want the largest value %s", got.Dec(), want.Dec())
	}
}

// TestFloatRoundDownLargest: RoundDown is the largest packable value <= v
// (at commit 3f190b7 it was not: Fee16.RoundDown(2049) was 2040, not 2047).
func TestFloatRoundDownLargest(t *testing.T) {
	if got := Fee16.RoundDown(uint256.NewInt(2049)); got.Uint64() != 2047 {
		t.Fatalf("Fee16.RoundDown(2049) = %s, want 2047", got.Dec())
	}
	rng := rand.New(rand.NewPCG(12, 12))
	for _, ff := range floatFormats {
		f := ff.f
		for i := 0; i < 20000; i++ {
			v := rndRoundInput(rng)
			if got, want := f.RoundDown(v), refRoundDown(f, v.ToBig()); got.ToBig().Cmp(want) != 0 {
				t.Fatalf("%s: RoundDown(%s) = %s, largest packable is %s", ff.name, v.Dec(), got.Dec(), want)
			}
		}
	}
}
