package rpc

import (
	"context"
	"errors"
	"fmt"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/event"
	gethrpc "github.com/ethereum/go-ethereum/rpc"
)

// SubscriptionBuffer is how many notifications a subscription may have
// waiting to be written to its connection. A subscriber that falls further
// behind is dropped (ErrSubscriberTooSlow) rather than ever blocking the
// Backend's feed.
const SubscriptionBuffer = 256

// ErrSubscriberTooSlow ends a subscription whose queue overflowed.
var ErrSubscriberTooSlow = errors.New("rpc: subscriber too slow, notifications dropped")

// ModexAPI is the modex namespace: the subscription channels, over
// websocket, as modex_subscribe with the channel name first.
//
// When a subscription's queue overflows, go-ethereum's server offers no way
// to end one subscription with an error, so the server closes the
// subscriber's connection: its client sees every subscription of that
// connection end with a connection error (and reconnects).
type ModexAPI struct{ c *core }

// Batches (["batches"]) is every new or changed batch (sealed, proven,
// submitted, verified).
func (a *ModexAPI) Batches(ctx context.Context) (*gethrpc.Subscription, error) {
	return subscribe(ctx, a.c, "batches",
		func(ch chan<- *BatchInfo) ([]any, event.Subscription, error) {
			return nil, a.c.s.b.SubscribeBatches(ch), nil
		},
		func(v *BatchInfo) (any, bool) { return v, v != nil })
}

// Tx (["tx", hash]) is a transaction's status changes, starting with its
// current status when it is known.
func (a *ModexAPI) Tx(ctx context.Context, hash common.Hash) (*gethrpc.Subscription, error) {
	return subscribe(ctx, a.c, "tx",
		func(ch chan<- *TxInfo) ([]any, event.Subscription, error) {
			sub := a.c.s.b.SubscribeTxs(ch)
			cur, err := a.c.s.b.Tx(ctx, hash)
			switch {
			case errors.Is(err, ErrTxNotFound):
				return nil, sub, nil
			case err != nil:
				sub.Unsubscribe()
				return nil, nil, err
			case cur == nil:
				return nil, sub, nil
			}
			return []any{cur}, sub, nil
		},
		func(v *TxInfo) (any, bool) { return v, v != nil && v.Hash == hash })
}

// Account (["account", id]) is an account's updates, starting with its
// current state (Batch 0) when it exists.
func (a *ModexAPI) Account(ctx context.Context, id uint32) (*gethrpc.Subscription, error) {
	return subscribe(ctx, a.c, "account",
		func(ch chan<- *AccountUpdate) ([]any, event.Subscription, error) {
			sub := a.c.s.b.SubscribeAccounts(ch)
			cur, err := a.c.s.b.Account(ctx, id)
			switch {
			case errors.Is(err, ErrAccountNotFound):
				return nil, sub, nil
			case err != nil:
				sub.Unsubscribe()
				return nil, nil, err
			case cur == nil:
				return nil, sub, nil
			}
			return []any{&AccountUpdate{Account: id, Info: *cur}}, sub, nil
		},
		func(v *AccountUpdate) (any, bool) { return v, v != nil && v.Account == id })
}

// Orderbook (["orderbook", model]) is a market's book: one BookEvent with
// the snapshot, then BookEvents with the deltas after it (Seq > the
// snapshot's), in order.
func (a *ModexAPI) Orderbook(ctx context.Context, model uint16) (*gethrpc.Subscription, error) {
	var snapSeq uint64
	return subscribe(ctx, a.c, "orderbook",
		func(ch chan<- *BookDelta) ([]any, event.Subscription, error) {
			snap, sub, err := a.c.s.b.SubscribeBook(model, ch)
			if err != nil {
				return nil, nil, err
			}
			if snap == nil {
				snap = &BookSnapshot{Model: model}
			}
			if snap.Bids == nil {
				snap.Bids = []Level{}
			}
			if snap.Asks == nil {
				snap.Asks = []Level{}
			}
			snapSeq = snap.Seq
			return []any{&BookEvent{Snapshot: snap}}, sub, nil
		},
		func(d *BookDelta) (any, bool) {
			if d == nil || d.Model != model || d.Seq <= snapSeq {
				return nil, false
			}
			return &BookEvent{Delta: d}, true
		})
}

// Trades (["trades", model]) is a market's trades. A market that does not
// exist is refused (ErrMarketNotFound), as ["orderbook", model] refuses it.
func (a *ModexAPI) Trades(ctx context.Context, model uint16) (*gethrpc.Subscription, error) {
	return subscribe(ctx, a.c, "trades",
		func(ch chan<- *TradeInfo) ([]any, event.Subscription, error) {
			if err := a.marketExists(ctx, model); err != nil {
				return nil, nil, err
			}
			return nil, a.c.s.b.SubscribeTrades(ch), nil
		},
		func(v *TradeInfo) (any, bool) { return v, v != nil && v.Model == model })
}

// Redemptions (["redemptions", model]) is a model's credit redemptions (for
// its inference operators). A model has its market from its creation, so a
// model that does not exist is refused like ["orderbook", model]
// (ErrMarketNotFound).
func (a *ModexAPI) Redemptions(ctx context.Context, model uint16) (*gethrpc.Subscription, error) {
	return subscribe(ctx, a.c, "redemptions",
		func(ch chan<- *Redemption) ([]any, event.Subscription, error) {
			if err := a.marketExists(ctx, model); err != nil {
				return nil, nil, err
			}
			return nil, a.c.s.b.SubscribeRedemptions(ch), nil
		},
		func(v *Redemption) (any, bool) { return v, v != nil && v.Model == model })
}

// marketExists is nil when model's market exists, else the Backend's error
// for it (ErrMarketNotFound), the one SubscribeBook returns.
func (a *ModexAPI) marketExists(ctx context.Context, model uint16) error {
	v, err := a.c.s.b.Book(ctx, model, 1)
	_, err = found(v, err, fmt.Errorf("%w: %d", ErrMarketNotFound, model))
	return err
}

// subscribe follows go-ethereum's eth/filters pattern with a bounded queue:
// the feed's channel is drained by a goroutine that filters and queues
// without ever blocking (so the Backend's feed never waits on a
// subscriber), and a second goroutine writes the queue to the connection.
// start subscribes to the feed and returns what to send first.
func subscribe[T any](ctx context.Context, c *core, channel string,
	start func(ch chan<- T) ([]any, event.Subscription, error),
	filter func(T) (any, bool),
) (*gethrpc.Subscription, error) {
	s := c.s
	notifier, ok := gethrpc.NotifierFromContext(ctx)
	if !ok {
		return nil, gethrpc.ErrNotificationsUnsupported
	}
	select {
	case <-s.quit:
		return nil, wrap(ErrShuttingDown, s.log)
	default:
	}
	// one connection holds at most WSMaxSubscriptions subscriptions
	var conn any = notifier
	if cl, ok := gethrpc.ClientFromContext(ctx); ok {
		conn = cl
	}
	if err := s.acquireSub(conn); err != nil {
		err = fmt.Errorf("%w: at most %d", err, s.cfg.WSMaxSubscriptions)
		return nil, wrap(err, s.log)
	}
	in := make(chan T, SubscriptionBuffer)
	first, sub, err := start(in)
	if err == nil && sub == nil {
		err = ErrShuttingDown
	}
	if err != nil {
		s.releaseSub(conn)
		return nil, wrap(err, s.log)
	}
	if len(first) > SubscriptionBuffer {
		first = first[:SubscriptionBuffer]
	}
	rpcSub := notifier.CreateSubscription()
	queue := make(chan any, SubscriptionBuffer)
	for _, v := range first {
		queue <- v
	}
	done := make(chan struct{}) // closed when the pump ends
	gauge := s.metrics.Subscriptions.WithLabelValues(channel)
	gauge.Inc()

	s.subs.Add(2)
	// Pump: feed → filter → queue, never blocking on the queue.
	go func() {
		defer s.subs.Done()
		defer close(done)
		defer s.releaseSub(conn)
		defer sub.Unsubscribe()
		defer gauge.Dec()
		for {
			select {
			case v := <-in:
				out, ok := filter(v)
				if !ok {
					continue
				}
				select {
				case queue <- out:
				default:
					s.metrics.SubscriptionsDropped.WithLabelValues(channel).Inc()
					s.log.Warn("rpc: subscriber too slow, closing its connection",
						"channel", channel, "id", rpcSub.ID, "queued", SubscriptionBuffer)
					if cl, ok := gethrpc.ClientFromContext(ctx); ok {
						go cl.Close()
					}
					return
				}
			case err := <-sub.Err():
				if err != nil {
					s.log.Debug("rpc: feed ended", "channel", channel, "err", err)
				}
				return
			case <-rpcSub.Err():
				return
			case <-s.quit:
				return
			}
		}
	}()
	// Writer: queue → connection. Once the pump ended (a dropped
	// subscriber, an unsubscribe) nothing more is written.
	go func() {
		defer s.subs.Done()
		for {
			select {
			case <-done:
				return
			default:
			}
			select {
			case v := <-queue:
				if err := notifier.Notify(rpcSub.ID, v); err != nil {
					return // the connection is closing
				}
			case <-done:
				return
			}
		}
	}()
	return rpcSub, nil
}
