package state

import (
	"fmt"
	"math"

	"github.com/holiman/uint256"

	"github.com/modex/modex/types"
)

// Trade (docs/protocol.md §5.9): two signed orders matched by the sequencer.
// Gadget: circuits/kind_trade.go.
var tradeRule = kindOf[*types.Trade]{
	precheck: func(_ types.Params, t *types.Trade) error {
		if t.Fill == 0 || t.Price.IsZero() {
			return types.ErrZeroAmount
		}
		if !types.Amount38.Packable(uint256.NewInt(t.Fill)) || !types.Amount38.Packable(&t.Price) {
			return fmt.Errorf("%w: fill %d or price %s", types.ErrNotPackable, t.Fill, t.Price.Dec())
		}
		return nil // the orders' widths: CheckWidths
	},
	apply: (*State).trade,
	shape: func(p types.Params, t *types.Trade) []shapeStep {
		m, b, s := t.Buy.Model, t.Buy.Account, t.Sell.Account
		return []shapeStep{modelRead(m),
			quoteStep(b), slotStep(p, b, m, t.Buy.OrderID), posStep(b, m), acctStep(b),
			quoteStep(s), slotStep(p, s, m, t.Sell.OrderID), posStep(s, m), acctStep(s)}
	},
	fill: func(_ *State, t *types.Trade, _ uint64) {
		// Only the order ids reach the state (the order slots): any orders
		// within whose limits the published fill, price and bips fall
		// leave the same state as the signed ones.
		for _, o := range []*types.Order{&t.Buy, &t.Sell} {
			o.Price.Set(&t.Price)
			o.ValidUntil = math.MaxUint32
			o.Amount = SlotClosed - 1 // no fill reaches it, and a filled slot never reads as cancelled
		}
		t.Buy.MaxFeeBips, t.Sell.MaxFeeBips = t.BuyFeeBips, t.SellFeeBips
	},
}

// nextSlot returns the order slot after filling `fill` more of o.
func nextSlot(cur OrderSlot, o *types.Order, fill uint64) (OrderSlot, error) {
	if cur.OrderID > o.OrderID {
		return cur, fmt.Errorf("%w: slot holds order %d, got %d", types.ErrOrderSlotTaken, cur.OrderID, o.OrderID)
	}
	var filled uint64
	if cur.OrderID == o.OrderID {
		if cur.Filled == SlotClosed {
			return cur, fmt.Errorf("%w: order %d", types.ErrOrderClosed, o.OrderID)
		}
		filled = cur.Filled
	}
	if filled > o.Amount || fill > o.Amount-filled {
		return cur, fmt.Errorf("%w: filled %d + %d > %d", types.ErrOrderOverfill, filled, fill, o.Amount)
	}
	return OrderSlot{OrderID: o.OrderID, Filled: filled + fill}, nil
}

func (s *State) slotIndex(orderID uint32) uint64 { return slotOf(s.p, orderID) }

// checkOrder verifies an order's signature, expiry and fee cap.
func (s *State) checkOrder(o *types.Order, feeBips uint8) (*Account, error) {
	a, err := s.Account(o.Account)
	if err != nil {
		return nil, err
	}
	if !s.replay { // replay: no signature in pubdata (state/replay.go)
		if err := types.VerifyOrder(a.PubKey, s.domain, o); err != nil {
			return nil, fmt.Errorf("order %d of account %d: %w", o.OrderID, o.Account, err)
		}
	}
	if s.timestamp > uint64(o.ValidUntil) {
		return nil, fmt.Errorf("%w: order %d valid until %s, batch at %s", types.ErrOrderExpired, o.OrderID,
			types.FormatTime(uint64(o.ValidUntil)), types.FormatTime(s.timestamp))
	}
	if feeBips > o.MaxFeeBips {
		return nil, fmt.Errorf("%w: %d > %d bips", types.ErrOrderFee, feeBips, o.MaxFeeBips)
	}
	return a, nil
}

func (s *State) trade(t *types.Trade, rcpt *Receipt) (commitFn, error) {
	b, sl := &t.Buy, &t.Sell
	if b.Side != types.Buy || sl.Side != types.Sell || b.Model != sl.Model {
		return nil, types.ErrOrderSide
	}
	if b.Account == sl.Account {
		return nil, types.ErrSelfTrade
	}
	model := b.Model
	m, err := s.Model(model)
	if err != nil {
		return nil, err
	}
	buyer, err := s.checkOrder(b, t.BuyFeeBips)
	if err != nil {
		return nil, err
	}
	seller, err := s.checkOrder(sl, t.SellFeeBips)
	if err != nil {
		return nil, err
	}
	if t.Price.Gt(&b.Price) || t.Price.Lt(&sl.Price) {
		return nil, fmt.Errorf("%w: %s not in [%s, %s]", types.ErrOrderPrice, t.Price.Dec(), sl.Price.Dec(), b.Price.Dec())
	}
	bSlotIdx, sSlotIdx := s.slotIndex(b.OrderID), s.slotIndex(sl.OrderID)
	bCur, err := s.Slot(b.Account, model, bSlotIdx)
	if err != nil {
		return nil, err
	}
	sCur, err := s.Slot(sl.Account, model, sSlotIdx)
	if err != nil {
		return nil, err
	}
	bSlot, err := nextSlot(bCur, b, t.Fill)
	if err != nil {
		return nil, fmt.Errorf("buy order: %w", err)
	}
	sSlot, err := nextSlot(sCur, sl, t.Fill)
	if err != nil {
		return nil, fmt.Errorf("sell order: %w", err)
	}
	quote := new(uint256.Int).Mul(uint256.NewInt(t.Fill), &t.Price)
	if !types.Fits(quote, types.AmountBits) {
		return nil, fmt.Errorf("%w: fill × price", types.ErrAmountTooLarge)
	}
	bFee, sFee := BipsFee(quote, t.BuyFeeBips), BipsFee(quote, t.SellFeeBips)
	totalFee := new(uint256.Int).Add(bFee, sFee)
	if err := s.fees.check(m.QuoteToken, totalFee); err != nil {
		return nil, err
	}
	if err := s.checkFeeRoom(m.QuoteToken, totalFee); err != nil {
		return nil, err
	}
	rcpt.FeeToken = m.QuoteToken
	rcpt.Fee.Set(totalFee)

	bBal, err := s.Balance(b.Account, m.QuoteToken)
	if err != nil {
		return nil, err
	}
	if bBal, err = debit(bBal, new(uint256.Int).Add(quote, bFee)); err != nil {
		return nil, fmt.Errorf("buyer: %w", err)
	}
	sBal, err := s.Balance(sl.Account, m.QuoteToken)
	if err != nil {
		return nil, err
	}
	if sBal, err = s.credit(sl.Account, m.QuoteToken, sBal, new(uint256.Int).Sub(quote, sFee), totalFee); err != nil {
		return nil, fmt.Errorf("seller: %w", err)
	}
	bPos, err := s.Position(b.Account, model)
	if err != nil {
		return nil, err
	}
	sPos, err := s.Position(sl.Account, model)
	if err != nil {
		return nil, err
	}
	if err := Settle(bPos, m); err != nil {
		return nil, err
	}
	if err := Settle(sPos, m); err != nil {
		return nil, err
	}
	if sPos.Shares < t.Fill {
		return nil, fmt.Errorf("seller: %w: have %d, need %d", types.ErrInsufficientShares, sPos.Shares, t.Fill)
	}
	sPos.Shares -= t.Fill
	bPos.Shares += t.Fill
	return func() error {
		return s.writes(
			func() error { return s.readModel(model, m) },
			func() error { return s.setBalance(b.Account, m.QuoteToken, bBal) },
			func() error { return s.setSlot(b.Account, model, bSlotIdx, bSlot) },
			func() error { return s.setPosition(b.Account, model, bPos) },
			func() error { return s.setAccount(b.Account, buyer) },
			func() error { return s.setBalance(sl.Account, m.QuoteToken, sBal) },
			func() error { return s.setSlot(sl.Account, model, sSlotIdx, sSlot) },
			func() error { return s.setPosition(sl.Account, model, sPos) },
			func() error { return s.setAccount(sl.Account, seller) })
	}, nil
}
