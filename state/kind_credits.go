package state

import (
	"fmt"
	"math"

	"github.com/holiman/uint256"

	"github.com/modex/modex/types"
)

// The credit and revenue kinds (docs/protocol.md §5.11–§5.13); their
// gadgets are in circuits/kind_credits.go.
var buyCreditsRule = kindOf[*types.BuyCredits]{
	precheck: func(_ types.Params, t *types.BuyCredits) error {
		if t.Credits == 0 {
			return types.ErrZeroAmount
		}
		return checkFee(&t.Fee)
	},
	apply: (*State).buyCredits,
	shape: func(_ types.Params, t *types.BuyCredits) []shapeStep {
		return []shapeStep{modelStep(t.Model), posStep(t.Account, t.Model), quoteStep(t.Account), acctStep(t.Account)}
	},
	fill: func(s *State, t *types.BuyCredits, _ uint64) { // the published cost is at the model's price
		if m, err := s.Model(t.Model); err == nil {
			t.MaxPrice.Set(&m.CreditPrice)
		}
	},
}

var redeemCreditsRule = kindOf[*types.RedeemCredits]{
	precheck: func(_ types.Params, t *types.RedeemCredits) error {
		if t.Credits == 0 {
			return types.ErrZeroAmount
		}
		return checkFee(&t.Fee)
	},
	apply: (*State).redeemCredits,
	shape: func(_ types.Params, t *types.RedeemCredits) []shapeStep {
		return []shapeStep{modelRead(t.Model), posStep(t.Account, t.Model), quoteStep(t.Account), acctStep(t.Account)}
	},
}

var claimRevenueRule = kindOf[*types.ClaimRevenue]{
	precheck: func(_ types.Params, t *types.ClaimRevenue) error { return checkFee(&t.Fee) },
	apply:    (*State).claimRevenue,
	shape: func(_ types.Params, t *types.ClaimRevenue) []shapeStep {
		return []shapeStep{modelStep(t.Model), posStep(t.Account, t.Model), quoteStep(t.Account), acctStep(t.Account)}
	},
}

func (s *State) buyCredits(t *types.BuyCredits, rcpt *Receipt) (commitFn, error) {
	a, m, err := s.signerAndModel(t, t.Model)
	if err != nil {
		return nil, err
	}
	if m.CreditPrice.Gt(&t.MaxPrice) {
		return nil, fmt.Errorf("%w: price %s > limit %s", types.ErrCreditPrice, m.CreditPrice.Dec(), t.MaxPrice.Dec())
	}
	cost := new(uint256.Int).Mul(uint256.NewInt(t.Credits), &m.CreditPrice)
	if !types.Fits(cost, types.AmountBits) {
		return nil, fmt.Errorf("%w: credits × price", types.ErrAmountTooLarge)
	}
	bal, err := s.feeFrom(t.Account, m.QuoteToken, &t.Fee, rcpt)
	if err != nil {
		return nil, err
	}
	if bal, err = debit(bal, cost); err != nil {
		return nil, err
	}
	pos, err := s.Position(t.Account, t.Model)
	if err != nil {
		return nil, err
	}
	if pos.Credits > math.MaxUint64-t.Credits {
		return nil, fmt.Errorf("%w: credits", types.ErrBalanceOverflow)
	}
	pos.Credits += t.Credits
	holders, dao := SplitRevenue(cost, m.HolderBps)
	if err := Distribute(m, holders); err != nil {
		return nil, err
	}
	treasury, err := credit(&m.Treasury, dao)
	if err != nil {
		return nil, fmt.Errorf("treasury: %w", err)
	}
	m.Treasury.Set(treasury)
	return s.modelAccountWrites(t.Account, t.Model, m, writesModel, pos, bal, a), nil
}

func (s *State) redeemCredits(t *types.RedeemCredits, rcpt *Receipt) (commitFn, error) {
	a, m, pos, err := s.signerModelPosition(t, t.Account, t.Model)
	if err != nil {
		return nil, err
	}
	if pos.Credits < t.Credits {
		return nil, fmt.Errorf("%w: have %d, need %d", types.ErrInsufficientCredits, pos.Credits, t.Credits)
	}
	pos.Credits -= t.Credits
	bal, err := s.feeFrom(t.Account, m.QuoteToken, &t.Fee, rcpt)
	if err != nil {
		return nil, err
	}
	return s.modelAccountWrites(t.Account, t.Model, m, readsModel, pos, bal, a), nil
}

func (s *State) claimRevenue(t *types.ClaimRevenue, rcpt *Receipt) (commitFn, error) {
	a, m, pos, err := s.signerModelPosition(t, t.Account, t.Model)
	if err != nil {
		return nil, err
	}
	if err := Settle(pos, m); err != nil {
		return nil, err
	}
	var payout, rest uint256.Int
	payout.DivMod(&pos.Pending, scale, &rest)
	pos.Pending.Set(&rest)
	if m.DAO == t.Account {
		payout.Add(&payout, &m.Treasury)
		m.Treasury.Clear()
	}
	if payout.IsZero() {
		return nil, types.ErrNothingToClaim
	}
	if err := s.fees.check(m.QuoteToken, &t.Fee); err != nil {
		return nil, err
	}
	if err := s.checkFeeRoom(m.QuoteToken, &t.Fee); err != nil {
		return nil, err
	}
	bal, err := s.Balance(t.Account, m.QuoteToken)
	if err != nil {
		return nil, err
	}
	// the fee is charged after the payout is credited
	if bal, err = s.credit(t.Account, m.QuoteToken, bal, &payout, nil); err != nil {
		return nil, err
	}
	if bal, err = debit(bal, &t.Fee); err != nil {
		return nil, err
	}
	rcpt.FeeToken = m.QuoteToken
	rcpt.Fee.Set(&t.Fee)
	return s.modelAccountWrites(t.Account, t.Model, m, writesModel, pos, bal, a), nil
}

// signerModelPosition loads what a kind acting on the signer's own position
// in one model needs (redemptions, revenue claims), in that order.
func (s *State) signerModelPosition(tx types.SignedTx, account uint32, model uint16) (*Account, *Model, *Position, error) {
	a, m, err := s.signerAndModel(tx, model)
	if err != nil {
		return nil, nil, nil, err
	}
	pos, err := s.Position(account, model)
	if err != nil {
		return nil, nil, nil, err
	}
	return a, m, pos, nil
}
