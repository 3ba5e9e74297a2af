package rpc_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/gorilla/websocket"
	"github.com/holiman/uint256"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/modex/modex/rpc"
)

func recv[T any](t *testing.T, ch <-chan T, errc <-chan error) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case err := <-errc:
		t.Fatalf("subscription ended: %v", err)
	case <-time.After(5 * time.Second):
		t.Fatalf("no notification")
	}
	panic("unreachable")
}

func none[T any](t *testing.T, ch <-chan T) {
	t.Helper()
	select {
	case v := <-ch:
		t.Fatalf("unexpected notification %+v", v)
	case <-time.After(50 * time.Millisecond):
	}
}

// waitSubscribers waits until the feed has n subscribers, probing with a
// send of probe (which subscribers with a filter ignore).
func waitFeed(t *testing.T, send func() int, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for send() != n {
		if time.Now().After(deadline) {
			t.Fatalf("feed never reached %d subscribers", n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestSubscriptions(t *testing.T) {
	f := newFakeBackend()
	f.bookSnap = rpc.BookSnapshot{Model: 1, Seq: 5, Bids: []rpc.Level{{Price: *uint256.NewInt(10), Amount: *uint256.NewInt(3), Orders: 1}}}
	s := testServer(t, f, nil)
	c := dial(t, "ws://"+s.Addr())
	ctx := context.Background()

	// batches
	batches := make(chan *rpc.BatchInfo, 8)
	bs, err := c.SubscribeBatches(ctx, batches)
	if err != nil {
		t.Fatal(err)
	}
	f.batches.Send(&rpc.BatchInfo{Number: 4, Status: rpc.BatchSealed})
	if b := recv(t, batches, bs.Err()); b.Number != 4 || b.Status != rpc.BatchSealed {
		t.Errorf("batch %+v", b)
	}

	// tx: current status first, then only this hash's changes
	h := common.Hash{0xaa}
	f.setTx(&rpc.TxInfo{Hash: h, Status: rpc.TxPending})
	txs := make(chan *rpc.TxInfo, 8)
	ts, err := c.SubscribeTx(ctx, h, txs)
	if err != nil {
		t.Fatal(err)
	}
	if v := recv(t, txs, ts.Err()); v.Hash != h || v.Status != rpc.TxPending {
		t.Errorf("tx first %+v", v)
	}
	f.txFeed.Send(&rpc.TxInfo{Hash: common.Hash{0xbb}, Status: rpc.TxIncluded})
	f.txFeed.Send(&rpc.TxInfo{Hash: h, Status: rpc.TxIncluded, Batch: 4})
	if v := recv(t, txs, ts.Err()); v.Hash != h || v.Status != rpc.TxIncluded || v.Batch != 4 {
		t.Errorf("tx update %+v", v)
	}
	none(t, txs)

	// account: current state first, then this account's updates
	accs := make(chan *rpc.AccountUpdate, 8)
	as, err := c.SubscribeAccount(ctx, 7, accs)
	if err != nil {
		t.Fatal(err)
	}
	if v := recv(t, accs, as.Err()); v.Account != 7 || v.Info.Nonce != 2 {
		t.Errorf("account first %+v", v)
	}
	f.accounts.Send(&rpc.AccountUpdate{Account: 8, Batch: 5})
	f.accounts.Send(&rpc.AccountUpdate{Account: 7, Batch: 5, Info: rpc.AccountInfo{ID: 7, Nonce: 3}})
	if v := recv(t, accs, as.Err()); v.Batch != 5 || v.Info.Nonce != 3 {
		t.Errorf("account update %+v", v)
	}

	// orderbook: snapshot, then deltas after it, of this market only
	book := make(chan *rpc.BookEvent, 8)
	obs, err := c.SubscribeBook(ctx, 1, book)
	if err != nil {
		t.Fatal(err)
	}
	ev := recv(t, book, obs.Err())
	if ev.Snapshot == nil || ev.Delta != nil || ev.Snapshot.Seq != 5 || len(ev.Snapshot.Bids) != 1 || ev.Snapshot.Asks == nil {
		t.Fatalf("first book event %+v", ev)
	}
	for _, d := range []*rpc.BookDelta{
		{Model: 1, Seq: 4}, {Model: 1, Seq: 5}, // at or before the snapshot: skipped
		{Model: 2, Seq: 6}, // another market
		{Model: 1, Seq: 6, Side: "buy", Price: *uint256.NewInt(10)},
		{Model: 1, Seq: 7, Side: "sell", Price: *uint256.NewInt(12)},
	} {
		f.book.Send(d)
	}
	for _, want := range []uint64{6, 7} {
		ev := recv(t, book, obs.Err())
		if ev.Snapshot != nil || ev.Delta == nil || ev.Delta.Seq != want {
			t.Fatalf("book event %+v, want delta %d", ev, want)
		}
	}
	none(t, book)

	// trades and redemptions: this model only
	trades := make(chan *rpc.TradeInfo, 8)
	trs, err := c.SubscribeTrades(ctx, 3, trades)
	if err != nil {
		t.Fatal(err)
	}
	f.trades.Send(&rpc.TradeInfo{Model: 2, Seq: 1})
	f.trades.Send(&rpc.TradeInfo{Model: 3, Seq: 9})
	if v := recv(t, trades, trs.Err()); v.Model != 3 || v.Seq != 9 {
		t.Errorf("trade %+v", v)
	}
	reds := make(chan *rpc.Redemption, 8)
	rs, err := c.SubscribeRedemptions(ctx, 3, reds)
	if err != nil {
		t.Fatal(err)
	}
	f.redemptions.Send(&rpc.Redemption{Model: 4, Credits: 1})
	f.redemptions.Send(&rpc.Redemption{Model: 3, Credits: 2})
	if v := recv(t, reds, rs.Err()); v.Model != 3 || v.Credits != 2 {
		t.Errorf("redemption %+v", v)
	}

	// open subscriptions are counted; Unsubscribe ends the feed's
	if got := testutil.ToFloat64(s.Metrics().Subscriptions.WithLabelValues("batches")); got != 1 {
		t.Errorf("open batch subscriptions: %v", got)
	}
	bs.Unsubscribe()
	waitFeed(t, func() int { return f.batches.Send(&rpc.BatchInfo{}) }, 0)

	// errors: unknown market (domain code), unknown channel (-32601)
	_, err = c.SubscribeBook(ctx, 2, make(chan *rpc.BookEvent))
	var ae *rpc.APIError
	if !errors.As(err, &ae) || ae.Code != 4050 || !errors.Is(err, rpc.ErrMarketNotFound) {
		t.Errorf("book of an unknown market: %v", err)
	}
	// trades and redemptions of a market that does not exist: refused with
	// the same error as its book (they used to subscribe to nothing)
	for _, channel := range []string{"orderbook", "trades", "redemptions"} {
		for _, model := range []uint16{2, 999, 65535} {
			_, err = c.RPC().Subscribe(ctx, "modex", make(chan any), channel, model)
			err = rpc.DecodeError(err)
			if !errors.As(err, &ae) || ae.Code != 4050 || ae.Reason != "market_not_found" || !errors.Is(err, rpc.ErrMarketNotFound) {
				t.Errorf("[%q, %d]: %v, want market_not_found", channel, model, err)
			}
		}
	}
	// nothing was left subscribed by the refusals
	if n := f.trades.Send(&rpc.TradeInfo{Model: 999}); n != 1 {
		t.Errorf("trade feed has %d subscribers, want 1 (the model 3 one)", n)
	}
	_, err = c.RPC().Subscribe(ctx, "modex", make(chan any), "nope")
	if err == nil || rpc.DecodeError(err).(*rpc.APIError).Code != -32601 {
		t.Errorf("unknown channel: %v", err)
	}
}

// TestSlowSubscriber: a subscriber that stops reading never blocks the
// Backend's feed; when its queue overflows the server drops it (its
// connection is closed) and the feed loses that subscriber.
func TestSlowSubscriber(t *testing.T) {
	f := newFakeBackend()
	s := testServer(t, f, nil)
	conn, _, err := websocket.DefaultDialer.Dial("ws://"+s.Addr()+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.WriteMessage(websocket.TextMessage, []byte(`{"jsonrpc":"2.0","id":1,"method":"modex_subscribe","params":["batches"]}`)); err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, msg, err := conn.ReadMessage(); err != nil || !strings.Contains(string(msg), `"result":"0x`) {
		t.Fatalf("subscribe: %s %v", msg, err)
	}
	// The client now stops reading. Big notifications, sent slower than the
	// server writes them, fill the socket buffers, then the queue.
	big := &rpc.BatchInfo{Number: 1, Commitment: strings.Repeat("c", 128<<10)}
	dropped := s.Metrics().SubscriptionsDropped.WithLabelValues("batches")
	sent := 0
	for testutil.ToFloat64(dropped) == 0 {
		if sent > 5000 {
			t.Fatalf("no overflow after %d notifications", sent)
		}
		start := time.Now()
		f.batches.Send(big)
		if d := time.Since(start); d > time.Second {
			t.Fatalf("feed blocked %v on a slow subscriber", d)
		}
		sent++
		time.Sleep(500 * time.Microsecond)
	}
	t.Logf("overflow after %d notifications", sent)
	waitFeed(t, func() int { return f.batches.Send(big) }, 0)

	// Reading again: the buffered notifications, then the connection ends.
	conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	n := 0
	for {
		_, msg, err := conn.ReadMessage()
		if err != nil {
			var ne interface{ Timeout() bool }
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatalf("connection not closed after overflow (%d notifications read)", n)
			}
			t.Logf("closed after %d notifications: %v", n, err)
			break
		}
		var m struct{ Method string }
		if json.Unmarshal(msg, &m) == nil && m.Method == "modex_subscription" {
			n++
		}
	}
	if n == 0 || n > sent-rpc.SubscriptionBuffer {
		t.Errorf("read %d notifications of %d sent: want the ones written before the queue filled", n, sent)
	}
}
