package state

import (
	"fmt"

	"github.com/modex/modex/types"
)

// CancelOrder (docs/protocol.md §5.10). Gadget: circuits/kind_cancel.go.
var cancelOrderRule = kindOf[*types.CancelOrder]{
	precheck: func(_ types.Params, t *types.CancelOrder) error { return checkFee(&t.Fee) },
	apply:    (*State).cancelOrder,
	shape: func(p types.Params, t *types.CancelOrder) []shapeStep {
		return []shapeStep{modelRead(t.Model), slotStep(p, t.Account, t.Model, t.OrderID), posStep(t.Account, t.Model),
			quoteStep(t.Account), acctStep(t.Account)}
	},
}

func (s *State) cancelOrder(t *types.CancelOrder, rcpt *Receipt) (commitFn, error) {
	a, m, err := s.signerAndModel(t, t.Model)
	if err != nil {
		return nil, err
	}
	idx := s.slotIndex(t.OrderID)
	cur, err := s.Slot(t.Account, t.Model, idx)
	if err != nil {
		return nil, err
	}
	if cur.OrderID > t.OrderID {
		return nil, fmt.Errorf("%w: slot holds order %d", types.ErrOrderSlotTaken, cur.OrderID)
	}
	if cur.OrderID == t.OrderID && cur.Filled == SlotClosed {
		return nil, fmt.Errorf("%w: order %d", types.ErrOrderClosed, t.OrderID)
	}
	bal, err := s.feeFrom(t.Account, m.QuoteToken, &t.Fee, rcpt)
	if err != nil {
		return nil, err
	}
	pos, err := s.Position(t.Account, t.Model)
	if err != nil {
		return nil, err
	}
	return func() error {
		return s.writes(
			func() error { return s.readModel(t.Model, m) },
			func() error {
				return s.setSlot(t.Account, t.Model, idx, OrderSlot{OrderID: t.OrderID, Filled: SlotClosed})
			},
			func() error { return s.setPosition(t.Account, t.Model, pos) },
			func() error { return s.setBalance(t.Account, m.QuoteToken, bal) },
			func() error { return s.setAccount(t.Account, a) })
	}, nil
}
