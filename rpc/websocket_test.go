package rpc_test

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/modex/modex/rpc"
)

func wsDial(t *testing.T, s *rpc.Server) *websocket.Conn {
	t.Helper()
	conn, _, err := websocket.DefaultDialer.Dial("ws://"+s.Addr()+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// wsCall sends one request and reads its answer (no pings are answered
// outside the read).
func wsCall(t *testing.T, conn *websocket.Conn, body string) rpcResp {
	t.Helper()
	if err := conn.WriteMessage(websocket.TextMessage, []byte(body)); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		_, msg, err := conn.ReadMessage()
		if err != nil {
			t.Fatalf("%s: %v", body, err)
		}
		var r rpcResp
		if err := json.Unmarshal(msg, &r); err != nil {
			t.Fatalf("%s: %s: %v", body, msg, err)
		}
		if len(r.ID) > 0 { // not a notification
			return r
		}
	}
}

// waitClosed reads raw TCP until the server closes the connection and
// returns how long that took; it fails after limit.
func waitClosed(t *testing.T, c net.Conn, limit time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	_ = c.SetReadDeadline(start.Add(limit))
	buf := make([]byte, 4096)
	for {
		if _, err := c.Read(buf); err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatalf("connection still open after %v", limit)
			}
			return time.Since(start)
		}
	}
}

// TestWSDeadPeerDropped: a peer that never answers pings (a gorilla client
// that stops reading, so its pong handler never runs) is closed within
// two ping intervals, idle or while it keeps sending requests; a peer that
// reads (and so answers pings) stays.
func TestWSDeadPeerDropped(t *testing.T) {
	const ping = 200 * time.Millisecond
	s := testServer(t, newFakeBackend(), func(c *rpc.Config) { c.WSPingInterval = ping })
	dropped := s.Metrics().WSDropped

	// a reader: alive after many intervals
	alive := wsDial(t, s)
	go func() {
		for {
			if _, _, err := alive.ReadMessage(); err != nil {
				return
			}
		}
	}()

	// an idle peer that never reads
	// The bound is 2 intervals; the check allows 10 for a loaded machine's
	// scheduling and still fails a server that lets a dead peer linger
	// (go-ethereum's handler never closes it: each ping moves the deadline on).
	const bound = 10 * ping
	idle := wsDial(t, s)
	if d := waitClosed(t, idle.UnderlyingConn(), 50*ping); d > bound {
		t.Errorf("idle peer closed after %v, want within %v", d, bound)
	}

	// a peer that keeps sending requests but never reads
	busy := wsDial(t, s)
	stop := make(chan struct{})
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(ping / 4):
				if busy.WriteMessage(websocket.TextMessage, []byte(req("node_health"))) != nil {
					return
				}
			}
		}
	}()
	if d := waitClosed(t, busy.UnderlyingConn(), 50*ping); d > bound {
		t.Errorf("a peer sending but not reading closed after %v, want within %v", d, bound)
	}
	close(stop)

	if got := testutil.ToFloat64(dropped); got < 2 {
		t.Errorf("modex_ws_dropped_total = %v, want 2", got)
	}
	// the reading peer was pinged all along and is still served
	if err := alive.WriteMessage(websocket.TextMessage, []byte(req("node_health"))); err != nil {
		t.Fatalf("reader dropped: %v", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for testutil.ToFloat64(s.Metrics().WSConnections) != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("modex_ws_connections = %v, want 1 (the reader)", testutil.ToFloat64(s.Metrics().WSConnections))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestWSConnectionLimit: past WSMaxConnections an upgrade is answered 503
// and counted; a closed connection frees its slot.
func TestWSConnectionLimit(t *testing.T) {
	s := testServer(t, newFakeBackend(), func(c *rpc.Config) { c.WSMaxConnections = 2 })
	a, b := wsDial(t, s), wsDial(t, s)
	wsCall(t, a, req("node_health"))
	wsCall(t, b, req("node_health"))
	_, resp, err := websocket.DefaultDialer.Dial("ws://"+s.Addr()+"/", nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("third connection: %v %+v, want HTTP 503", err, resp)
	}
	if got := testutil.ToFloat64(s.Metrics().WSRefused.WithLabelValues("connection_limit")); got != 1 {
		t.Errorf("refused connections = %v", got)
	}
	if got := testutil.ToFloat64(s.Metrics().WSConnections); got != 2 {
		t.Errorf("modex_ws_connections = %v", got)
	}
	// HTTP is not limited by it
	if r := call(t, "http://"+s.Addr()+"/", req("node_health")); r.Error != nil {
		t.Errorf("HTTP at the websocket limit: %+v", r.Error)
	}
	a.Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, _, err := websocket.DefaultDialer.Dial("ws://"+s.Addr()+"/", nil)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("slot not freed: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestWSSubscriptionLimit: one connection holds at most WSMaxSubscriptions;
// the next is refused with its code; unsubscribing frees a slot; another
// connection has its own.
func TestWSSubscriptionLimit(t *testing.T) {
	f := newFakeBackend()
	s := testServer(t, f, func(c *rpc.Config) { c.WSMaxSubscriptions = 3 })
	conn := wsDial(t, s)
	var ids []string
	for i := 0; i < 3; i++ {
		r := wsCall(t, conn, req("modex_subscribe", "batches"))
		if r.Error != nil {
			t.Fatalf("subscription %d: %+v", i, r.Error)
		}
		var id string
		_ = json.Unmarshal(r.Result, &id)
		ids = append(ids, id)
	}
	r := wsCall(t, conn, req("modex_subscribe", "trades", 1))
	if r.Error == nil || r.Error.Code != 7008 || r.Error.Data.Reason != "too_many_subscriptions" {
		t.Fatalf("4th subscription: %+v", r.Error)
	}
	if got := testutil.ToFloat64(s.Metrics().WSRefused.WithLabelValues("subscription_limit")); got != 1 {
		t.Errorf("refused subscriptions = %v", got)
	}
	if n := f.trades.Send(&rpc.TradeInfo{Model: 2}); n != 0 {
		t.Errorf("the refused subscription reached the feed (%d subscribers)", n)
	}
	// unsubscribing frees a slot
	if r := wsCall(t, conn, req("modex_unsubscribe", ids[0])); r.Error != nil {
		t.Fatalf("unsubscribe: %+v", r.Error)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		r := wsCall(t, conn, req("modex_subscribe", "trades", 1))
		if r.Error == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("slot not freed by unsubscribe: %+v", r.Error)
		}
		time.Sleep(10 * time.Millisecond)
	}
	// another connection: its own budget
	other := wsDial(t, s)
	for i := 0; i < 3; i++ {
		if r := wsCall(t, other, req("modex_subscribe", "batches")); r.Error != nil {
			t.Fatalf("other connection, subscription %d: %+v", i, r.Error)
		}
	}
	if got := testutil.ToFloat64(s.Metrics().Subscriptions.WithLabelValues("batches")); got != 5 {
		t.Errorf("open batch subscriptions %v, want 5", got)
	}
}

// TestWSOrigins: browser origins follow go-ethereum's rule.
func TestWSOrigins(t *testing.T) {
	s := testServer(t, newFakeBackend(), func(c *rpc.Config) { c.WSOrigins = []string{"https://app.example"} })
	for _, c := range []struct {
		origin string
		ok     bool
	}{{"", true}, {"https://app.example", true}, {"https://evil.example", false}, {"http://app.example", false}} {
		h := http.Header{}
		if c.origin != "" {
			h.Set("Origin", c.origin)
		}
		conn, resp, err := websocket.DefaultDialer.DialContext(context.Background(), "ws://"+s.Addr()+"/", h)
		if conn != nil {
			conn.Close()
		}
		if (err == nil) != c.ok {
			status := 0
			if resp != nil {
				status = resp.StatusCode
			}
			t.Errorf("origin %q: err %v (HTTP %d), want ok=%v", c.origin, err, status, c.ok)
		}
	}
}
