package sequencer

import (
	"errors"
	"fmt"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/ethereum/go-ethereum/common"
	"github.com/holiman/uint256"

	"github.com/modex/modex/rpc"
	"github.com/modex/modex/sequencer/book"
	"github.com/modex/modex/sequencer/journal"
	"github.com/modex/modex/state"
	"github.com/modex/modex/types"
)

// book returns a model's book, creating it.
func (s *Sequencer) book(model uint16) *book.Book {
	b := s.books[model]
	if b == nil {
		b = book.New(model, book.Options{
			MakerFeeBips: s.cfg.MakerFeeBips, TakerFeeBips: s.cfg.TakerFeeBips, MaxOrders: s.cfg.MaxOrders,
			OnDelta: func(d book.Delta) { s.feeds.bookDelta(model, d) },
			Check:   s.checkMatch,
		})
		s.books[model] = b
	}
	return b
}

// soft runs f over the soft state: the open batch's, else that of the
// batches sealed so far (loop only).
func (s *Sequencer) soft(f func(st *state.State) error) error {
	if s.open != nil {
		return f(s.open.State())
	}
	st, err := state.New(s.cfg.Params, s.cfg.Domain, s.kv)
	if err != nil {
		return err
	}
	return f(st)
}

// remaining is what an order has left according to its slot (soft state).
func (s *Sequencer) remaining(st *state.State, o *types.Order) (uint64, error) {
	slot, err := st.Slot(o.Account, o.Model, uint64(o.OrderID)%(1<<uint(s.cfg.Params.OrderDepth)))
	if err != nil {
		return 0, err
	}
	switch {
	case slot.OrderID > o.OrderID:
		return 0, fmt.Errorf("%w: slot holds order %d", types.ErrOrderSlotTaken, slot.OrderID)
	case slot.OrderID < o.OrderID:
		return o.Amount, nil
	case slot.Filled == state.SlotClosed:
		return 0, types.ErrOrderClosed
	case slot.Filled >= o.Amount:
		return 0, fmt.Errorf("%w: filled", types.ErrOrderClosed)
	}
	return o.Amount - slot.Filled, nil
}

// afford checks that account can pay for (buy) or deliver (sell) fill shares
// at price with feeBips.
func afford(st *state.State, side types.Side, account uint32, model uint16, fill uint64, price *uint256.Int, feeBips uint8) error {
	if side == types.Sell {
		p, err := st.Position(account, model)
		if err != nil {
			return err
		}
		if p.Shares < fill {
			return fmt.Errorf("%w: %d shares, sells %d", types.ErrInsufficientShares, p.Shares, fill)
		}
		return nil
	}
	m, err := st.Model(model)
	if err != nil {
		return err
	}
	quote := new(uint256.Int).Mul(uint256.NewInt(fill), price)
	cost := new(uint256.Int).Add(quote, state.BipsFee(quote, feeBips))
	bal, err := st.Balance(account, m.QuoteToken)
	if err != nil {
		return err
	}
	if bal.Lt(cost) {
		return fmt.Errorf("%w: balance %s, order needs %s", types.ErrInsufficientFunds, bal.Dec(), cost.Dec())
	}
	return nil
}

// placement collects what one order placement does, for one journal write.
type placement struct {
	trades []*rpc.TradeInfo
	drop   []uint64 // journal seqs of orders that left the book unfilled
}

// place matches an order in the loop. The journal write (the order, its
// trades, the orders it removed) is queued on the group-committing writer;
// durable reports when it is synced, and only then is the order
// acknowledged and its trades announced.
func (s *Sequencer) place(o types.Order) (*rpc.OrderResult, chan error, error) {
	if !s.models[o.Model] {
		return nil, nil, fmt.Errorf("%w: %d", types.ErrModelNotFound, o.Model)
	}
	b := s.book(o.Model)
	// the book's stateless checks first (a malformed order is reported as
	// such, not as unaffordable)
	if err := b.Check(&o, uint32(s.Now())); err != nil {
		return nil, nil, err
	}
	var rem uint64
	err := s.soft(func(st *state.State) error {
		m, err := st.Model(o.Model)
		if err != nil {
			return err
		}
		if o.Amount > m.MaxSupply {
			return fmt.Errorf("%w: %d shares of model %d, maximum supply %d", ErrOrderAboveSupply, o.Amount, o.Model, m.MaxSupply)
		}
		if rem, err = s.remaining(st, &o); err != nil {
			return err
		}
		return afford(st, o.Side, o.Account, o.Model, rem, &o.Price, o.MaxFeeBips)
	})
	if err != nil {
		return nil, nil, err
	}
	// An older resting order of the account on the same slot is superseded.
	slots := uint32(1) << uint(s.cfg.Params.OrderDepth)
	for _, r := range b.Orders(o.Account) {
		if r.Order.OrderID%slots == o.OrderID%slots && r.Order.OrderID < o.OrderID {
			if _, err := b.Remove(o.Account, r.Order.OrderID); err == nil {
				s.pl.drop = append(s.pl.drop, s.forget(r.Order))
			}
		}
	}
	s.orderSeq++
	seq := s.orderSeq
	res, err := b.SubmitRemaining(o, rem, seq, uint32(s.Now()))
	if err != nil {
		s.orderSeq--
		s.pl = placement{}
		return nil, nil, err
	}
	out := &rpc.OrderResult{Model: o.Model, OrderID: o.OrderID, Rested: res.Rested}
	for _, r := range res.Removed {
		if r.Order.Account == o.Account && r.Order.OrderID == o.OrderID {
			out.Dropped = append(out.Dropped, fmt.Sprintf("this order: %s", r.Reason))
			continue
		}
		s.pl.drop = append(s.pl.drop, s.forget(r.Order))
		out.Dropped = append(out.Dropped, fmt.Sprintf("account %d order %d: %s", r.Order.Account, r.Order.OrderID, r.Reason))
	}
	if res.Rested > 0 {
		s.orderKeys[orderKey{o.Account, o.Model, o.OrderID}] = seq
	}
	enc, err := types.EncodeOrder(&o)
	if err != nil {
		return nil, nil, err
	}
	pl := s.pl
	s.pl = placement{}
	durable := make(chan error, 1)
	s.jw.Write(func(txn *badger.Txn) error {
		if err := journal.WriteOrder(txn, seq, &journal.Order{Raw: enc}); err != nil {
			return err
		}
		for _, t := range pl.trades {
			if err := journal.WriteTrade(txn, t); err != nil {
				return err
			}
		}
		for _, d := range pl.drop {
			if d != 0 {
				if err := journal.DeleteOrder(txn, d); err != nil {
					return err
				}
			}
		}
		return nil
	}, func(err error) {
		if err != nil {
			// The matches are in the soft state but the order is not
			// durable: nothing more may be sealed (a restart matches the
			// journaled orders again).
			s.halt(fmt.Errorf("journal of an order: %w", err))
			durable <- err
			return
		}
		for _, t := range pl.trades {
			s.feeds.trade(t)
		}
		if m := s.cfg.Metrics; m != nil {
			m.Trades.Add(float64(len(pl.trades)))
		}
		durable <- nil
	})
	for _, t := range pl.trades {
		out.Trades = append(out.Trades, *t)
	}
	if m := s.cfg.Metrics; m != nil {
		m.OpenOrders.Set(float64(len(s.orderKeys)))
	}
	return out, durable, nil
}

// forget drops a resting order's journal key mapping and returns its seq.
func (s *Sequencer) forget(o types.Order) uint64 {
	k := orderKey{o.Account, o.Model, o.OrderID}
	seq := s.orderKeys[k]
	delete(s.orderKeys, k)
	return seq
}

// checkMatch is the books' Check hook: it applies the match as a Trade in an
// open Trade batch, or says which order to drop.
func (s *Sequencer) checkMatch(m book.Match) book.Verdict {
	taker := types.Buy
	if m.Maker == types.Buy {
		taker = types.Sell
	}
	if !s.ensure(types.FamilyTrade) {
		return book.RejectTaker
	}
	if s.open.Len() >= s.cfg.Params.BatchCapacity {
		s.seal()
		if !s.ensure(types.FamilyTrade) {
			return book.RejectTaker
		}
	}
	t := m.Trade
	takerOrder, takerFee := t.Buy, t.BuyFeeBips
	if taker == types.Sell {
		takerOrder, takerFee = t.Sell, t.SellFeeBips
	}
	if err := afford(s.open.State(), taker, takerOrder.Account, takerOrder.Model, t.Fill, &t.Price, takerFee); err != nil {
		s.log.Info("order dropped: taker cannot pay", "account", takerOrder.Account, "order", takerOrder.OrderID, "err", err)
		return book.RejectTaker
	}
	r, err := s.open.AddVerified(&t) // both orders were verified when placed
	if errors.Is(err, types.ErrFeeAssetsFull) && s.open.Len() > 0 {
		s.seal()
		if !s.ensure(types.FamilyTrade) {
			return book.RejectTaker
		}
		r, err = s.open.AddVerified(&t)
	}
	if err != nil {
		if errors.Is(err, state.ErrWriteFailed) {
			s.reset()
			return book.RejectTaker
		}
		makerOrder := t.Sell
		if m.Maker == types.Buy {
			makerOrder = t.Buy
		}
		s.log.Info("order dropped: the state refuses its trade", "account", makerOrder.Account, "order", makerOrder.OrderID, "err", err)
		return book.RejectMaker
	}
	hash, err := types.TxHash(&t)
	if err != nil {
		s.log.Error("sequencer: hash trade", "err", err)
	}
	if len(s.openList) == 0 {
		s.openSince = time.Now()
	}
	s.tradeSeq[t.Buy.Model]++
	maker := "sell"
	if m.Maker == types.Buy {
		maker = "buy"
	}
	info := &rpc.TradeInfo{Seq: s.tradeSeq[t.Buy.Model], Model: t.Buy.Model, Price: t.Price, Fill: t.Fill,
		Buyer: t.Buy.Account, Seller: t.Sell.Account, BuyOrder: t.Buy.OrderID, SellOrder: t.Sell.OrderID,
		Maker: maker, BuyFeeBps: t.BuyFeeBips, SellFeeBps: t.SellFeeBips, Hash: hash, Batch: s.open.Number(), Time: s.Now()}
	s.openTxs[hash] = len(s.openList)
	s.openList = append(s.openList, openTx{hash: hash, tx: &t, rcpt: r, trade: info})
	s.pl.trades = append(s.pl.trades, info)
	s.feeds.tx(&rpc.TxInfo{Hash: hash, Kind: t.Kind().String(), Account: t.Buy.Account, Status: rpc.TxIncluded, Batch: s.open.Number()})
	s.afterApplyAccounts(hash, t.Buy.Account, t.Sell.Account)
	return book.Accept
}

// afterApply updates the books, models and subscribers after a pool
// transaction applied.
func (s *Sequencer) afterApply(hash common.Hash, tx types.SignedTx) {
	switch t := tx.(type) {
	case *types.CancelOrder:
		if b := s.books[t.Model]; b != nil {
			if r, err := b.Remove(t.Account, t.OrderID); err == nil {
				s.forget(r.Order) // the journal entry goes at restart: its slot is closed
			}
		}
	case *types.CreateModel:
		s.models[t.Model] = true
	}
	s.feeds.tx(&rpc.TxInfo{Hash: hash, Kind: tx.Kind().String(), Account: tx.Signer(), Nonce: tx.GetNonce(), Status: rpc.TxIncluded, Batch: s.open.Number()})
	s.afterApplyAccounts(hash, touched(tx)...)
}

// expire removes expired orders from every book.
func (s *Sequencer) expire() {
	now := uint32(s.Now())
	var seqs []uint64
	for _, b := range s.books {
		for _, r := range b.Expire(now) {
			if seq := s.forget(r.Order); seq != 0 {
				seqs = append(seqs, seq)
			}
		}
	}
	if len(seqs) == 0 {
		return
	}
	s.jw.Write(func(txn *badger.Txn) error {
		for _, q := range seqs {
			if err := journal.DeleteOrder(txn, q); err != nil {
				return err
			}
		}
		return nil
	}, func(err error) {
		if err != nil { // at worst the restart drops them as expired
			s.log.Error("sequencer: journal expired orders", "err", err)
		}
	})
}
