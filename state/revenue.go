package state

import (
	"fmt"

	"github.com/holiman/uint256"

	"github.com/modex/modex/types"
)

// Revenue accounting (docs/protocol.md §4). A model keeps Acc, the revenue per
// share magnified by 10^18 (types.RevenueScale), and Carry, the remainder of the last division, so
// that for every distribution R: R·10^18 + carry_old = ΔAcc·supply + carry_new.
// A position settles before its share count changes: Pending += shares·(Acc −
// LastAcc); LastAcc = Acc. Claims pay ⌊Pending / 10^18⌋ and keep the remainder.
// Nothing is rounded away: Σ Pending + Σ shares·(Acc − LastAcc) + Carry +
// 10^18·claimed = 10^18·distributed, exactly, at every step.

var (
	scale       = uint256.NewInt(types.RevenueScale)
	bpsDenom    = uint256.NewInt(types.BpsDenominator)
	accBound    = types.Bound(types.AccBits)
	pendBound   = types.Bound(types.PendingBits)
	amountBound = types.Bound(types.AmountBits)
)

// Settle brings p up to the model's accumulator, in place.
func Settle(p *Position, m *Model) error {
	var delta, owed uint256.Int
	delta.Sub(&m.Acc, &p.LastAcc) // Acc never decreases
	owed.Mul(uint256.NewInt(p.Shares), &delta)
	owed.Add(&owed, &p.Pending)
	if owed.Cmp(pendBound) >= 0 {
		return fmt.Errorf("%w: pending revenue reaches 2^%d", types.ErrRevenueOverflow, types.PendingBits)
	}
	p.Pending.Set(&owed)
	p.LastAcc.Set(&m.Acc)
	return nil
}

// Distribute adds holders' revenue r to the model's accumulator, in place.
func Distribute(m *Model, r *uint256.Int) error {
	if r.IsZero() {
		return nil
	}
	var total, q, rem uint256.Int
	total.Mul(r, scale)
	total.Add(&total, &m.Carry)
	q.DivMod(&total, uint256.NewInt(m.Supply), &rem)
	q.Add(&q, &m.Acc)
	if q.Cmp(accBound) >= 0 {
		return fmt.Errorf("%w: accumulator reaches 2^%d", types.ErrRevenueOverflow, types.AccBits)
	}
	m.Acc.Set(&q)
	m.Carry.Set(&rem)
	return nil
}

// SplitRevenue returns the holders' part ⌊cost·bps/10,000⌋ and the DAO's rest.
func SplitRevenue(cost *uint256.Int, bps uint16) (holders, dao *uint256.Int) {
	holders = new(uint256.Int).Mul(cost, uint256.NewInt(uint64(bps)))
	holders.Div(holders, bpsDenom)
	dao = new(uint256.Int).Sub(cost, holders)
	return holders, dao
}

// BipsFee is ⌊amount·bips/10,000⌋.
func BipsFee(amount *uint256.Int, bips uint8) *uint256.Int {
	f := new(uint256.Int).Mul(amount, uint256.NewInt(uint64(bips)))
	return f.Div(f, bpsDenom)
}
