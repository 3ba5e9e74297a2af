package state

import (
	"errors"
	"fmt"

	"github.com/holiman/uint256"

	"github.com/modex/modex/types"
)

// The model-admin kinds (docs/protocol.md §5.5–§5.7), one family; their
// gadgets are in circuits/kind_model.go.
var createModelRule = kindOf[*types.CreateModel]{
	precheck: func(p types.Params, t *types.CreateModel) error {
		if uint64(t.Model) >= 1<<uint64(p.ModelDepth) {
			return fmt.Errorf("%w: %d >= 2^%d", types.ErrModelRange, t.Model, p.ModelDepth)
		}
		if err := types.BaseAsset(t.QuoteToken).Check(p); err != nil {
			return err
		}
		if t.Supply == 0 {
			return types.ErrZeroSupply
		}
		if t.MaxSupply < t.Supply {
			return fmt.Errorf("%w: max supply %d below initial %d", types.ErrSupplyCap, t.MaxSupply, t.Supply)
		}
		if err := checkModelParams(&t.CreditPrice, t.HolderBps); err != nil {
			return err
		}
		return checkFee(&t.Fee)
	},
	apply: (*State).createModel,
	shape: func(_ types.Params, t *types.CreateModel) []shapeStep {
		return []shapeStep{modelStep(t.Model), posStep(t.Account, t.Model), balStep(t.Account, t.QuoteToken), acctStep(t.Account)}
	},
}

var mintSharesRule = kindOf[*types.MintShares]{
	precheck: func(_ types.Params, t *types.MintShares) error {
		if t.Amount == 0 {
			return types.ErrZeroAmount
		}
		return checkFee(&t.Fee)
	},
	apply: (*State).mintShares,
	shape: func(_ types.Params, t *types.MintShares) []shapeStep {
		return []shapeStep{modelStep(t.Model), posStep(t.Account, t.Model), quoteStep(t.Account), acctStep(t.Account)}
	},
	fill: func(s *State, t *types.MintShares, _ uint64) { // the DAO signs; pubdata leaves it out
		if m, err := s.Model(t.Model); err == nil {
			t.Account = m.DAO
		}
	},
}

var setModelParamsRule = kindOf[*types.SetModelParams]{
	precheck: func(_ types.Params, t *types.SetModelParams) error {
		if err := checkModelParams(&t.CreditPrice, t.HolderBps); err != nil {
			return err
		}
		return checkFee(&t.Fee)
	},
	apply: (*State).setModelParams,
	shape: func(_ types.Params, t *types.SetModelParams) []shapeStep {
		return []shapeStep{modelStep(t.Model), quoteStep(t.Account), acctStep(t.Account)}
	},
	fill: func(s *State, t *types.SetModelParams, _ uint64) {
		if m, err := s.Model(t.Model); err == nil {
			t.Account = m.DAO
		}
	},
}

func checkModelParams(price *uint256.Int, bps uint16) error {
	if bps > types.BpsDenominator {
		return fmt.Errorf("%w: %d", types.ErrBadBps, bps)
	}
	if !types.Fits(price, types.AmountBits) {
		return fmt.Errorf("%w: credit price", types.ErrAmountTooLarge)
	}
	return nil
}

func (s *State) createModel(t *types.CreateModel, rcpt *Receipt) (commitFn, error) {
	a, err := s.signer(t)
	if err != nil {
		return nil, err
	}
	if _, err := s.Model(t.Model); err == nil {
		return nil, fmt.Errorf("%w: %d", types.ErrModelExists, t.Model)
	} else if !errors.Is(err, types.ErrModelNotFound) {
		return nil, err
	}
	bal, err := s.feeFrom(t.Account, t.QuoteToken, &t.Fee, rcpt)
	if err != nil {
		return nil, err
	}
	m := &Model{DAO: t.Account, QuoteToken: t.QuoteToken, HolderBps: t.HolderBps, Supply: t.Supply,
		MaxSupply: t.MaxSupply, CreditPrice: t.CreditPrice, Weights: t.Weights, Metadata: t.Metadata}
	pos := &Position{Shares: t.Supply}
	return s.modelAccountWrites(t.Account, t.Model, m, writesModel, pos, bal, a), nil
}

// daoModel loads a model and checks the signer is its DAO.
func (s *State) daoModel(signer uint32, model uint16) (*Model, error) {
	m, err := s.Model(model)
	if err != nil {
		return nil, err
	}
	if m.DAO != signer {
		return nil, fmt.Errorf("%w: model %d belongs to account %d", types.ErrNotModelDAO, model, m.DAO)
	}
	return m, nil
}

func (s *State) mintShares(t *types.MintShares, rcpt *Receipt) (commitFn, error) {
	a, err := s.signer(t)
	if err != nil {
		return nil, err
	}
	m, err := s.daoModel(t.Account, t.Model)
	if err != nil {
		return nil, err
	}
	if t.Amount > m.MaxSupply-m.Supply {
		return nil, fmt.Errorf("%w: supply %d + %d > cap %d", types.ErrSupplyCap, m.Supply, t.Amount, m.MaxSupply)
	}
	bal, err := s.feeFrom(t.Account, m.QuoteToken, &t.Fee, rcpt)
	if err != nil {
		return nil, err
	}
	pos, err := s.Position(t.Account, t.Model)
	if err != nil {
		return nil, err
	}
	if err := Settle(pos, m); err != nil { // before the share count changes
		return nil, err
	}
	pos.Shares += t.Amount
	m.Supply += t.Amount
	return s.modelAccountWrites(t.Account, t.Model, m, writesModel, pos, bal, a), nil
}

func (s *State) setModelParams(t *types.SetModelParams, rcpt *Receipt) (commitFn, error) {
	a, err := s.signer(t)
	if err != nil {
		return nil, err
	}
	m, err := s.daoModel(t.Account, t.Model)
	if err != nil {
		return nil, err
	}
	bal, err := s.feeFrom(t.Account, m.QuoteToken, &t.Fee, rcpt)
	if err != nil {
		return nil, err
	}
	m.CreditPrice.Set(&t.CreditPrice)
	m.HolderBps = t.HolderBps
	return func() error {
		return s.writes(
			func() error { return s.setModel(t.Model, m) },
			func() error { return s.setBalance(t.Account, m.QuoteToken, bal) },
			func() error { return s.setAccount(t.Account, a) })
	}, nil
}
