package sequencer

import (
	"sync"
	"sync/atomic"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/event"

	"github.com/modex/modex/rpc"
	"github.com/modex/modex/sequencer/book"
	"github.com/modex/modex/state"
	"github.com/modex/modex/types"
)

// feeds fan the sequencer's events out to subscribers (go-ethereum's
// event.Feed). The loop never blocks on a subscriber: events go through a
// bounded queue to a dispatcher goroutine; when the queue is full the event
// is dropped and counted (Dropped), and subscribers see a gap in the book's
// sequence numbers and resubscribe.
type feeds struct {
	batches, txs, accounts, books, trades, redemptions event.Feed
	nAccounts                                          atomic.Int64

	once    sync.Once
	queue   chan func()
	Dropped atomic.Uint64
}

const feedQueue = 1 << 16

func (f *feeds) send(fn func()) {
	f.once.Do(func() {
		f.queue = make(chan func(), feedQueue)
		go func() {
			for fn := range f.queue {
				fn()
			}
		}()
	})
	select {
	case f.queue <- fn:
	default:
		f.Dropped.Add(1)
	}
}

func (f *feeds) tx(t *rpc.TxInfo)             { f.send(func() { f.txs.Send(t) }) }
func (f *feeds) trade(t *rpc.TradeInfo)       { f.send(func() { f.trades.Send(t) }) }
func (f *feeds) batch(b *rpc.BatchInfo)       { f.send(func() { f.batches.Send(b) }) }
func (f *feeds) redeem(r *rpc.Redemption)     { f.send(func() { f.redemptions.Send(r) }) }
func (f *feeds) account(u *rpc.AccountUpdate) { f.send(func() { f.accounts.Send(u) }) }

func (f *feeds) bookDelta(model uint16, d book.Delta) {
	side := "buy"
	if d.Side == types.Sell {
		side = "sell"
	}
	bd := &rpc.BookDelta{Model: model, Seq: d.Seq, Side: side, Price: d.Price, Amount: d.Total, Orders: d.Count}
	f.send(func() { f.books.Send(bd) })
}

// SubscribeBatches delivers each batch as it is sealed and as its pipeline
// status changes.
func (q *Queries) SubscribeBatches(ch chan<- *rpc.BatchInfo) event.Subscription {
	return q.s.feeds.batches.Subscribe(ch)
}

// SubscribeTxs delivers every transaction status change.
func (q *Queries) SubscribeTxs(ch chan<- *rpc.TxInfo) event.Subscription {
	return q.s.feeds.txs.Subscribe(ch)
}

// SubscribeAccounts delivers account updates (soft state) after each
// transaction that changes an account.
func (q *Queries) SubscribeAccounts(ch chan<- *rpc.AccountUpdate) event.Subscription {
	q.s.feeds.nAccounts.Add(1)
	return &countedSub{Subscription: q.s.feeds.accounts.Subscribe(ch), n: &q.s.feeds.nAccounts}
}

type countedSub struct {
	event.Subscription
	n    *atomic.Int64
	once sync.Once
}

func (c *countedSub) Unsubscribe() {
	c.once.Do(func() { c.n.Add(-1) })
	c.Subscription.Unsubscribe()
}

// SubscribeTrades delivers every trade as it is matched.
func (q *Queries) SubscribeTrades(ch chan<- *rpc.TradeInfo) event.Subscription {
	return q.s.feeds.trades.Subscribe(ch)
}

// SubscribeRedemptions delivers every sealed RedeemCredits.
func (q *Queries) SubscribeRedemptions(ch chan<- *rpc.Redemption) event.Subscription {
	return q.s.feeds.redemptions.Subscribe(ch)
}

// SubscribeBook returns a market's snapshot and subscribes ch to the deltas
// of every market, atomically: the deltas after the snapshot's Seq follow
// it (the caller filters by model).
func (q *Queries) SubscribeBook(model uint16, ch chan<- *rpc.BookDelta) (*rpc.BookSnapshot, event.Subscription, error) {
	var snap *rpc.BookSnapshot
	var sub event.Subscription
	var err error
	derr := q.s.do(bg, func() {
		if !q.s.models[model] {
			err = errNoMarket(model)
			return
		}
		snap = toSnapshot(model, q.s.book(model).Depth(MaxDepth))
		// Everything the loop emitted before this point is queued ahead of
		// the subscription in the dispatcher; subscribe from inside it, in
		// order, so no delta is lost or duplicated.
		done := make(chan struct{})
		q.s.feeds.send(func() { sub = q.s.feeds.books.Subscribe(ch); close(done) })
		<-done
	})
	if derr != nil {
		return nil, nil, derr
	}
	return snap, sub, err
}

// MaxDepth is the most price levels a book query or snapshot returns.
const MaxDepth = 200

func toSnapshot(model uint16, d book.Snapshot) *rpc.BookSnapshot {
	out := &rpc.BookSnapshot{Model: model, Seq: d.Seq, Bids: []rpc.Level{}, Asks: []rpc.Level{}}
	for _, l := range d.Bids {
		out.Bids = append(out.Bids, rpc.Level{Price: l.Price, Amount: l.Total, Orders: l.Count})
	}
	for _, l := range d.Asks {
		out.Asks = append(out.Asks, rpc.Level{Price: l.Price, Amount: l.Total, Orders: l.Count})
	}
	return out
}

// afterApplyAccounts pushes account updates when anyone listens.
func (s *Sequencer) afterApplyAccounts(cause common.Hash, accounts ...uint32) {
	if s.feeds.nAccounts.Load() <= 0 || s.open == nil {
		return
	}
	for _, a := range accounts {
		info, err := s.accountInfo(s.open.State(), a, false)
		if err != nil {
			continue
		}
		s.feeds.account(&rpc.AccountUpdate{Account: a, Batch: s.open.Number(), Cause: cause, Info: *info})
	}
}

// publishSealed announces a sealed batch and its redemptions.
func (s *Sequencer) publishSealed(sb *state.SealedBatch, list []openTx) {
	info := batchInfo(&sb.Header, rpc.BatchSealed)
	info.PrevRoot, info.NewRoot, info.Commitment = "", "", "" // the tree stage computes them (status witness)
	info.Txs = len(list)
	for i, o := range list {
		info.Hashes = append(info.Hashes, o.hash)
		if r, ok := o.tx.(*types.RedeemCredits); ok {
			s.feeds.redeem(redemption(r, list[i].hash, sb.Header.Number))
		}
	}
	s.feeds.batch(info)
}

// PublishBatch announces a batch's new pipeline status.
func (s *Sequencer) PublishBatch(h *state.Header, st rpc.BatchStatus, l1Tx common.Hash, proveMillis int64) {
	info := batchInfo(h, st)
	info.L1Tx, info.ProveMillis = l1Tx, proveMillis
	s.feeds.batch(info)
}

func batchInfo(h *state.Header, st rpc.BatchStatus) *rpc.BatchInfo {
	return &rpc.BatchInfo{Number: h.Number, Family: h.Family.String(), Status: st, Timestamp: h.Timestamp,
		PrevRoot: "0x" + h.PrevRoot.Text(16), NewRoot: "0x" + h.NewRoot.Text(16), FirstPriority: h.FirstPriority,
		PriorityCount: h.PriorityCount, Commitment: "0x" + h.PubdataCommitment.Text(16)}
}

func redemption(r *types.RedeemCredits, hash common.Hash, batch uint64) *rpc.Redemption {
	return &rpc.Redemption{Model: r.Model, Account: r.Account, Credits: r.Credits, Request: "0x" + r.Request.Text(16), Hash: hash, Batch: batch}
}
