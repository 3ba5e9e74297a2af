package state

import (
	"fmt"

	"github.com/modex/modex/types"
)

// Transfer (docs/protocol.md §5.2). A base-token transfer is this file's
// rule (gadget: circuits/kind_transfer.go); a transfer of shares or credits
// continues in state/kind_transferpos.go (gadget: circuits/kind_transferpos.go).
var transferRule = kindOf[*types.Transfer]{
	precheck: func(p types.Params, t *types.Transfer) error {
		if t.From == t.To {
			return types.ErrSelfTransfer
		}
		if err := t.Asset.Check(p); err != nil {
			return err
		}
		if err := checkAmount(&t.Amount, types.AmountBits, "amount"); err != nil {
			return err
		}
		if t.Asset.Kind() != types.AssetBase && !t.Amount.IsUint64() {
			return fmt.Errorf("%w: share or credit amount", types.ErrAmountTooLarge)
		}
		if !types.Amount38.Packable(&t.Amount) {
			return fmt.Errorf("%w: amount %s", types.ErrNotPackable, t.Amount.Dec())
		}
		return checkFee(&t.Fee)
	},
	apply: (*State).transfer,
	shape: func(_ types.Params, t *types.Transfer) []shapeStep {
		if t.Asset.Kind() != types.AssetBase {
			return transferPositionShape(t)
		}
		tok := t.Asset.Index()
		return []shapeStep{balStep(t.From, tok), acctStep(t.From), balStep(t.To, tok), acctStep(t.To)}
	},
}

func (s *State) transfer(t *types.Transfer, rcpt *Receipt) (commitFn, error) {
	from, err := s.signer(t)
	if err != nil {
		return nil, err
	}
	to, err := s.Account(t.To)
	if err != nil {
		return nil, err
	}
	if t.Asset.Kind() != types.AssetBase {
		return s.transferPosition(t, from, to, rcpt) // state/kind_transferpos.go
	}
	token := t.Asset.Index()
	fromBal, err := s.feeFrom(t.From, token, &t.Fee, rcpt)
	if err != nil {
		return nil, err
	}
	if fromBal, err = debit(fromBal, &t.Amount); err != nil {
		return nil, err
	}
	toBal, err := s.Balance(t.To, token)
	if err != nil {
		return nil, err
	}
	if toBal, err = s.credit(t.To, token, toBal, &t.Amount, &t.Fee); err != nil {
		return nil, err
	}
	return func() error {
		return s.writes(
			func() error { return s.setBalance(t.From, token, fromBal) },
			func() error { return s.setAccount(t.From, from) },
			func() error { return s.setBalance(t.To, token, toBal) },
			func() error { return s.setAccount(t.To, to) })
	}, nil
}
