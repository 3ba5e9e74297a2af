package state

import (
	"fmt"
	"math"

	"github.com/modex/modex/types"
)

// Transfer of shares or credits (docs/protocol.md §5.2): positions move, the
// fee is paid in the model's quote token. Gadget: circuits/kind_transferpos.go.

// transferPositionShape is its witness order.
func transferPositionShape(t *types.Transfer) []shapeStep {
	m := t.Asset.Index()
	return []shapeStep{modelRead(m), posStep(t.From, m), quoteStep(t.From), acctStep(t.From), posStep(t.To, m), acctStep(t.To)}
}

// transferPosition continues transfer once the signer and the receiver are loaded.
func (s *State) transferPosition(t *types.Transfer, from, to *Account, rcpt *Receipt) (commitFn, error) {
	// shares or credits: positions move, the fee is paid in the model's quote token
	model := t.Asset.Index()
	m, err := s.Model(model)
	if err != nil {
		return nil, err
	}
	amt := t.Amount.Uint64()
	fromQuote, err := s.feeFrom(t.From, m.QuoteToken, &t.Fee, rcpt)
	if err != nil {
		return nil, err
	}
	fp, err := s.Position(t.From, model)
	if err != nil {
		return nil, err
	}
	tp, err := s.Position(t.To, model)
	if err != nil {
		return nil, err
	}
	if t.Asset.Kind() == types.AssetShare {
		if err := Settle(fp, m); err != nil {
			return nil, err
		}
		if err := Settle(tp, m); err != nil {
			return nil, err
		}
		if fp.Shares < amt {
			return nil, fmt.Errorf("%w: have %d, need %d", types.ErrInsufficientShares, fp.Shares, amt)
		}
		fp.Shares -= amt
		tp.Shares += amt // Σ shares = supply < 2^64
	} else {
		if fp.Credits < amt {
			return nil, fmt.Errorf("%w: have %d, need %d", types.ErrInsufficientCredits, fp.Credits, amt)
		}
		if tp.Credits > math.MaxUint64-amt {
			return nil, fmt.Errorf("%w: credits", types.ErrBalanceOverflow)
		}
		fp.Credits -= amt
		tp.Credits += amt
	}
	return func() error {
		return s.writes(
			func() error { return s.readModel(model, m) },
			func() error { return s.setPosition(t.From, model, fp) },
			func() error { return s.setBalance(t.From, m.QuoteToken, fromQuote) },
			func() error { return s.setAccount(t.From, from) },
			func() error { return s.setPosition(t.To, model, tp) },
			func() error { return s.setAccount(t.To, to) })
	}, nil
}
