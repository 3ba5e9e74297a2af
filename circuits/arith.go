package circuits

import (
	"fmt"
	"math/big"

	"github.com/consensys/gnark/constraint/solver"
	"github.com/consensys/gnark/frontend"

	"github.com/modex/modex/types"
)

func init() { solver.RegisterHint(DivModHint) }

// DivModHint computes q = ⌊x/d⌋ and r = x mod d (d = 0 gives q = 0, r = x).
// Its outputs are never trusted: DivMod constrains them completely.
func DivModHint(_ *big.Int, in, out []*big.Int) error {
	if len(in) != 2 || len(out) != 2 {
		return fmt.Errorf("divmod hint: want 2 inputs and 2 outputs")
	}
	if in[1].Sign() == 0 {
		out[0].SetUint64(0)
		out[1].Set(in[0])
		return nil
	}
	out[0].DivMod(in[0], in[1], out[1])
	return nil
}

// DivMod returns q = ⌊x/d⌋ and r = x mod d, for a quotient below 2^qBits and
// 0 < d < 2^dBits. It constrains x = q·d + r, q < 2^qBits and r < d, which
// fixes (q, r) uniquely as long as q·d + r cannot wrap the field
// (qBits + dBits ≤ 252, checked at build time). A malicious hint cannot move
// either output.
func DivMod(api frontend.API, x, d frontend.Variable, qBits, dBits int) (q, r frontend.Variable) {
	if qBits+dBits > 252 {
		panic(fmt.Sprintf("circuits: DivMod with %d+%d bits could wrap the field", qBits, dBits))
	}
	res, err := api.Compiler().NewHint(DivModHint, 2, x, d)
	if err != nil {
		panic(err)
	}
	q, r = res[0], res[1]
	RangeCheck(api, q, qBits)
	RangeCheck(api, r, dBits) // r >= 0: without it, (q+1, r-d) satisfies the rest (a test caught it)
	AssertLess(api, r, d, dBits)
	api.AssertIsEqual(api.Add(api.Mul(q, d), r), x)
	return q, r
}

// AssertLess asserts a < b. Precondition: the caller has range-checked both
// a and b below 2^bits (bits < 253); then b − a − 1 fits bits exactly when
// a < b. Without that precondition it proves nothing (a "negative" a passes).
func AssertLess(api frontend.API, a, b frontend.Variable, bits int) {
	RangeCheck(api, api.Sub(b, a, 1), bits)
}

// AssertLessOrEqual asserts a <= b, with bits+1 constraints (never
// api.AssertIsLessOrEqual, which decomposes 254 bits). Same precondition as
// AssertLess: both already range-checked below 2^bits.
func AssertLessOrEqual(api frontend.API, a, b frontend.Variable, bits int) {
	RangeCheck(api, api.Sub(b, a), bits)
}

// IsLess returns 1 if a < b else 0. Precondition: a, b range-checked below
// 2^bits; then the top bit of a − b + 2^bits is set exactly when a >= b.
func IsLess(api frontend.API, a, b frontend.Variable, bits int) frontend.Variable {
	t := Bits(api, api.Add(api.Sub(a, b), new(big.Int).Lsh(big.NewInt(1), uint(bits))), bits+1)
	return api.Sub(1, t[bits])
}

var revenueScale = new(big.Int).SetUint64(types.RevenueScale)

// Settle is the twin of state.Settle: it returns shares·(acc − lastAcc) +
// pending, which must stay below 2^224; acc never falls below lastAcc. The
// inputs come from position and model leaves, whose gadgets range-check them.
func Settle(api frontend.API, shares, lastAcc, pending, acc frontend.Variable) frontend.Variable {
	AssertLessOrEqual(api, lastAcc, acc, types.AccBits)
	owed := api.Add(api.Mul(shares, api.Sub(acc, lastAcc)), pending)
	RangeCheck(api, owed, types.PendingBits) // ErrRevenueOverflow
	return owed
}

// Distribute is the twin of state.Distribute: holders' revenue R (< 2^96)
// enters the accumulator of a model with supply > 0. It returns the new acc
// (< 2^160) and carry.
func Distribute(api frontend.API, acc, carry, supply, revenue frontend.Variable) (newAcc, newCarry frontend.Variable) {
	total := api.Add(api.Mul(revenue, revenueScale), carry) // < 2^96·10^18 + 2^64 < 2^157
	q, rem := DivMod(api, total, supply, 157, types.ShareBits)
	newAcc = api.Add(acc, q)
	RangeCheck(api, newAcc, types.AccBits) // ErrRevenueOverflow
	return newAcc, rem
}

// Payout is ⌊pending / 10^18⌋ and the kept remainder (the claim rule).
func Payout(api frontend.API, pending frontend.Variable) (payout, rest frontend.Variable) {
	return DivMod(api, pending, revenueScale, types.PendingBits-59, 60) // 10^18 < 2^60; quotient < 2^165
}

// BipsOf is ⌊amount·bips/10,000⌋ for amount < 2^96 and bips < 2^14 (the twin
// of state.BipsFee and of SplitRevenue's holders' part).
func BipsOf(api frontend.API, amount, bips frontend.Variable) frontend.Variable {
	q, _ := DivMod(api, api.Mul(amount, bips), types.BpsDenominator, types.AmountBits, 14)
	return q
}
