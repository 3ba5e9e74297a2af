package rpc_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/modex/modex/rpc"
	"github.com/modex/modex/types"
)

type rpcResp struct {
	ID     json.RawMessage `json:"id"`
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
		Data    struct {
			Reason string `json:"reason"`
			Detail string `json:"detail"`
		} `json:"data"`
	} `json:"error"`
}

func post(t *testing.T, url string, body io.Reader) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func call(t *testing.T, url, body string) rpcResp {
	t.Helper()
	status, b := post(t, url, strings.NewReader(body))
	if status != http.StatusOK {
		t.Fatalf("%s: HTTP %d %s", body, status, b)
	}
	var r rpcResp
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("%s: response %s: %v", body, b, err)
	}
	return r
}

func req(method string, params ...any) string {
	p, _ := json.Marshal(params)
	return fmt.Sprintf(`{"jsonrpc":"2.0","id":1,"method":%q,"params":%s}`, method, p)
}

func batchOf(n int) string {
	items := make([]string, n)
	for i := range items {
		items[i] = fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"asset_list","params":[]}`, i)
	}
	return "[" + strings.Join(items, ",") + "]"
}

// TestMalformedRequests: every kind of malformed request gets its JSON-RPC
// or domain code, never a panic or a transport error.
func TestMalformedRequests(t *testing.T) {
	s := testServer(t, newFakeBackend(), nil)
	url := "http://" + s.Addr() + "/"
	hexN := func(n int) string { return "0x" + strings.Repeat("ab", n) }
	cases := []struct {
		name, body string
		code       int
		reason     string // data.reason, when the server sets one
		msg        string // a substring of the message
	}{
		{"truncated JSON", `{"jsonrpc":"2.0","id":1,"method":`, -32700, "", ""},
		{"not JSON", `hello`, -32700, "", ""},
		{"empty batch", `[]`, -32600, "", "empty batch"},
		{"batch too large", batchOf(11), -32600, "", "batch too large"},
		{"no method", `{"jsonrpc":"2.0","id":1}`, -32600, "", ""},
		{"unknown method", req("nope_nope"), -32601, "", "does not exist"},
		{"unknown namespace method", req("tx_nope"), -32601, "", "does not exist"},
		{"admin without --admin", req("admin_stopSequencing"), -32601, "", "does not exist"},
		{"subscribe over HTTP", req("modex_subscribe", "batches"), -32601, "", "notifications not supported"},
		{"params not an array", `{"jsonrpc":"2.0","id":1,"method":"tx_info","params":{"a":1}}`, -32602, "", ""},
		{"missing param", req("tx_info"), -32602, "", "missing value"},
		{"too many params", req("tx_info", "0x"+strings.Repeat("00", 32), 1), -32602, "", "too many arguments"},
		{"short hash", req("tx_info", "0x12"), -32602, "", ""},
		{"hash not a string", req("tx_info", 12), -32602, "", ""},
		{"raw not a string", req("tx_submit", 12), -32602, "", ""},
		{"raw without 0x", req("tx_submit", "abcd"), -32602, "bad_hex", "invalid hex: missing 0x prefix"},
		{"raw odd length", req("tx_submit", "0xabc"), -32602, "bad_hex", "invalid hex: odd number of hex digits"},
		// "0x0" has its prefix: the message must say odd length, not "not 0x-prefixed"
		{"raw 0x0", req("tx_submit", "0x0"), -32602, "bad_hex", "odd number of hex digits: raw: 1 hex digit"},
		{"raw bad digit", req("tx_submit", "0xzz"), -32602, "bad_hex", "invalid hex: invalid hex digit"},
		{"raw empty", req("tx_submit", "0x"), -32602, "empty_raw", "empty transaction or order"},
		{"order raw empty", req("market_placeOrder", "0x"), -32602, "empty_raw", "empty"},
		{"raw too large", req("tx_submit", hexN(rpc.MaxRawBytes+1)), -32602, "raw_too_large", ""},
		{"raw unknown kind", req("tx_submit", "0xff"), 1001, "unknown_kind", ""},
		{"order raw without 0x", req("market_placeOrder", "00"), -32602, "bad_hex", ""},
		{"submitBatch empty", req("tx_submitBatch", []string{}), -32602, "invalid_params", "empty"},
		{"submitBatch too many", req("tx_submitBatch", make([]string, 11)), -32602, "too_many_items", ""},
		{"negative account", req("account_info", -1), -32602, "", ""},
		{"account over uint32", req("account_info", uint64(1)<<32), -32602, "", ""},
		{"model over uint16", req("model_info", 70000), -32602, "", ""},
		{"limit 0", req("tx_history", 1, nil, 0), -32602, "bad_limit", ""},
		{"limit 501", req("tx_history", 1, nil, 501), -32602, "bad_limit", ""},
		{"cursor not printable", req("tx_history", 1, "a b"), -32602, "bad_cursor", ""},
		{"cursor too long", req("tx_history", 1, strings.Repeat("a", rpc.MaxCursorLen+1)), -32602, "bad_cursor", ""},
		{"cursor refused by the backend", req("tx_history", 1, "bogus"), -32602, "bad_cursor", ""},
		{"depth 0", req("market_book", 1, 0), -32602, "bad_depth", ""},
		{"depth 201", req("market_book", 1, 201), -32602, "bad_depth", ""},
		{"unknown fee kind", req("fee_quote", "Bogus"), -32602, "bad_kind_name", "not a transaction kind name"},
		{"fee kind not a string", req("fee_quote", 7), -32602, "", ""},
		{"unknown account", req("account_info", 99), 2000, "account_not_found", "account 99"},
		{"unknown batch", req("batch_info", 5), 7003, "batch_not_found", ""},
		{"unknown model (nil result)", req("model_info", 1), 5002, "model_not_found", ""},
		{"unknown market", req("market_book", 2), 4050, "market_not_found", ""},
		{"unknown priority", req("bridge_priority", 1), 6001, "priority_not_found", ""},
		{"unknown tx", req("tx_info", "0x"+strings.Repeat("11", 32)), 1040, "tx_not_found", ""},
		{"internal error", req("node_syncStatus"), -32603, "internal", "internal error"},
		{"backend panic", req("market_trades", 13), -32603, "", ""},
		{"still serving after the panic", req("market_book", 1, "x"), -32602, "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, b := post(t, url, strings.NewReader(c.body))
			if status != http.StatusOK {
				t.Fatalf("HTTP %d: %s", status, b)
			}
			var r rpcResp
			if bytes.HasPrefix(bytes.TrimSpace(b), []byte("[")) {
				var rs []rpcResp
				if err := json.Unmarshal(b, &rs); err != nil || len(rs) != 1 {
					t.Fatalf("batch response %s", b)
				}
				r = rs[0]
			} else if err := json.Unmarshal(b, &r); err != nil {
				t.Fatalf("response %s: %v", b, err)
			}
			if r.Error == nil {
				t.Fatalf("no error: %s", b)
			}
			if r.Error.Code != c.code {
				t.Errorf("code %d (%s), want %d", r.Error.Code, r.Error.Message, c.code)
			}
			if c.reason != "" && r.Error.Data.Reason != c.reason {
				t.Errorf("reason %q, want %q (%s)", r.Error.Data.Reason, c.reason, b)
			}
			if !strings.Contains(r.Error.Message, c.msg) {
				t.Errorf("message %q lacks %q", r.Error.Message, c.msg)
			}
			if strings.Contains(string(b), "/secret/") {
				t.Errorf("internal detail leaked: %s", b)
			}
		})
	}
}

func TestHTTPBodyLimit(t *testing.T) {
	s := testServer(t, newFakeBackend(), nil)
	url := "http://" + s.Addr() + "/"
	limit := s.Config().HTTPBodyLimit
	big := req("tx_submit", "0x"+strings.Repeat("00", limit))

	// With Content-Length: refused before it is read (go-ethereum's check).
	status, b := post(t, url, strings.NewReader(big))
	if status != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized body: HTTP %d %s, want 413", status, b)
	}
	// Chunked (no Content-Length): refused too, not truncated.
	status, b = post(t, url, io.MultiReader(strings.NewReader(big)))
	if status != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized chunked body: HTTP %d %s, want 413", status, b)
	}
	// A chunked body within the limit is served.
	status, b = post(t, url, io.MultiReader(strings.NewReader(req("asset_list"))))
	if status != http.StatusOK || !strings.Contains(string(b), "ETH") {
		t.Errorf("chunked small body: HTTP %d %s", status, b)
	}
}

func TestBatchLimits(t *testing.T) {
	s := testServer(t, newFakeBackend(), func(c *rpc.Config) { c.BatchResponseLimit = 1024 })
	url := "http://" + s.Addr() + "/"

	// At the item limit: served.
	status, b := post(t, url, strings.NewReader(batchOf(10)))
	var rs []rpcResp
	if status != http.StatusOK || json.Unmarshal(b, &rs) != nil {
		t.Fatalf("batch of 10: HTTP %d %s", status, b)
	}
	// Over it: one error, go-ethereum's "batch too large" (-32600).
	_, b = post(t, url, strings.NewReader(batchOf(11)))
	rs = nil
	if err := json.Unmarshal(b, &rs); err != nil || len(rs) != 1 || rs[0].Error == nil ||
		rs[0].Error.Code != -32600 || rs[0].Error.Message != "batch too large" {
		t.Fatalf("batch of 11: %s", b)
	}
	// Responses over BatchResponseLimit: -32003 "response too large".
	items := make([]string, 10)
	for i := range items {
		items[i] = fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"tx_history","params":[1]}`, i)
	}
	_, b = post(t, url, strings.NewReader("["+strings.Join(items, ",")+"]"))
	if !strings.Contains(string(b), "response too large") || !strings.Contains(string(b), "-32003") {
		t.Fatalf("batch response limit not applied: %s", b)
	}
}

func TestWebsocketFrameLimit(t *testing.T) {
	s := testServer(t, newFakeBackend(), nil)
	conn, _, err := websocket.DefaultDialer.Dial("ws://"+s.Addr()+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// A frame within the limit is served.
	if err := conn.WriteMessage(websocket.TextMessage, []byte(req("asset_list"))); err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, msg, err := conn.ReadMessage(); err != nil || !strings.Contains(string(msg), "ETH") {
		t.Fatalf("small frame: %s %v", msg, err)
	}
	// A frame over WSReadLimit closes the connection.
	big := req("tx_submit", "0x"+strings.Repeat("00", int(s.Config().WSReadLimit)))
	if err := conn.WriteMessage(websocket.TextMessage, []byte(big)); err != nil {
		// The server may close (reset) the connection while the frame is
		// still being written: that is the refusal.
		if !strings.Contains(err.Error(), "reset") && !strings.Contains(err.Error(), "broken pipe") {
			t.Fatal(err)
		}
		t.Logf("closed during the write: %v", err)
	}
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		_, msg, err := conn.ReadMessage()
		if err != nil {
			var ce *websocket.CloseError
			if errors.As(err, &ce) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || strings.Contains(err.Error(), "reset") {
				t.Logf("closed: %v", err)
				return
			}
			t.Fatalf("want the connection closed, got %v", err)
		}
		t.Logf("message before close: %.200s", msg)
	}
}

func TestSlowHeaders(t *testing.T) {
	s := testServer(t, newFakeBackend(), func(c *rpc.Config) { c.ReadHeaderTimeout = 200 * time.Millisecond })
	conn, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprint(conn, "POST / HTTP/1.1\r\nHost: x\r\n") // and never the end of the headers
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	start := time.Now()
	_, err = bufio.NewReader(conn).ReadString('\n')
	if err == nil {
		// a 408 line is fine too; the connection must then be closed
		_, err = io.ReadAll(conn)
	}
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatalf("slow-header connection still open after %v", time.Since(start))
	}
}

func TestHealthAndMetrics(t *testing.T) {
	f := newFakeBackend()
	reg := prometheus.NewRegistry()
	s := testServer(t, f, func(c *rpc.Config) { c.Registry = reg })
	base := "http://" + s.Addr()

	get := func(path string) (int, string) {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	status, body := get("/healthz")
	var h rpc.Health
	if status != 200 || json.Unmarshal([]byte(body), &h) != nil || !h.OK || h.Version != "test" || h.Sealed != 3 {
		t.Fatalf("healthz: %d %s", status, body)
	}
	f.mu.Lock()
	f.health = rpc.Health{OK: false, Halted: "root mismatch at batch 4"}
	f.mu.Unlock()
	status, body = get("/healthz")
	if status != http.StatusServiceUnavailable || !strings.Contains(body, "root mismatch") || !strings.Contains(body, "v-test") {
		t.Fatalf("halted healthz: %d %s", status, body)
	}
	if status, _ := get("/nope"); status != http.StatusNotFound {
		t.Errorf("/nope: %d", status)
	}

	// A typed error and a success, counted by method and code.
	f.submitErr = fmt.Errorf("tx: %w", types.ErrBadSignature)
	call(t, base+"/", req("tx_submit", "0x0200"))
	call(t, base+"/", req("asset_list"))
	s.Metrics().PoolTxs.Set(12)
	s.Metrics().Rejected(f.submitErr)

	status, body = get("/metrics")
	if status != 200 {
		t.Fatalf("metrics: %d", status)
	}
	for _, want := range []string{
		"modex_up 1",
		`modex_info{version="v-test"} 1`,
		`modex_rpc_requests_total{code="1010",method="tx_submit"} 1`,
		`modex_rpc_requests_total{code="0",method="asset_list"} 1`,
		`modex_http_requests_total{handler="healthz",status="503"} 1`,
		"modex_pool_txs 12",
		`modex_txs_rejected_total{reason="bad_signature"} 1`,
		"modex_batch_seal_seconds_bucket",
		"modex_pipeline_halted 0",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

func TestConfigCheck(t *testing.T) {
	ok := rpc.Config{Addr: "127.0.0.1:0"}
	if err := ok.Check(); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		field string
		mod   func(*rpc.Config)
	}{
		{"Addr", func(c *rpc.Config) { c.Addr = "" }},
		{"Addr", func(c *rpc.Config) { c.Addr = "localhost" }},
		{"Addr", func(c *rpc.Config) { c.Addr = "localhost:99999" }},
		{"BatchItemLimit", func(c *rpc.Config) { c.BatchItemLimit = -1 }},
		{"BatchResponseLimit", func(c *rpc.Config) { c.BatchResponseLimit = 10 }},
		{"HTTPBodyLimit", func(c *rpc.Config) { c.HTTPBodyLimit = 1 << 30 }},
		{"WSReadLimit", func(c *rpc.Config) { c.WSReadLimit = -5 }},
		{"ReadTimeout", func(c *rpc.Config) { c.ReadTimeout = -time.Second }},
		{"WriteTimeout", func(c *rpc.Config) { c.WriteTimeout = -time.Second }},
		{"IdleTimeout", func(c *rpc.Config) { c.IdleTimeout = -time.Second }},
		{"WSPingInterval", func(c *rpc.Config) { c.WSPingInterval = 5 * time.Millisecond }},
		{"WSPingInterval", func(c *rpc.Config) { c.WSPingInterval = time.Hour }},
		{"WSMaxConnections", func(c *rpc.Config) { c.WSMaxConnections = -1 }},
		{"WSMaxSubscriptions", func(c *rpc.Config) { c.WSMaxSubscriptions = -1 }},
		{"Registry", func(c *rpc.Config) { c.Metrics = rpc.NewMetrics(nil, "x") }},
	}
	for _, c := range cases {
		cfg := ok
		c.mod(&cfg)
		err := cfg.Check()
		var ce *rpc.ConfigError
		if !errors.As(err, &ce) || ce.Field != c.field || !errors.Is(err, rpc.ErrInvalidConfig) {
			t.Errorf("%s: Check = %v", c.field, err)
		}
		if _, err := rpc.NewServer(newFakeBackend(), cfg); err == nil {
			t.Errorf("%s: NewServer accepted an invalid config", c.field)
		}
	}
	s, err := rpc.NewServer(newFakeBackend(), ok)
	if err != nil {
		t.Fatal(err)
	}
	d := s.Config()
	if d.BatchItemLimit != 100 || d.BatchResponseLimit != 5<<20 || d.HTTPBodyLimit != 1<<20 || d.WSReadLimit != 1<<20 ||
		d.ReadTimeout != 30*time.Second || d.WriteTimeout != 30*time.Second || d.IdleTimeout != 120*time.Second ||
		d.WSPingInterval != 30*time.Second || d.WSMaxConnections != 1000 || d.WSMaxSubscriptions != 100 {
		t.Errorf("defaults: %+v", d)
	}
}

func TestStartStop(t *testing.T) {
	s, err := rpc.NewServer(newFakeBackend(), rpc.Config{Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if strings.HasSuffix(s.Addr(), ":0") {
		t.Fatalf("Addr %s is not the bound address", s.Addr())
	}
	if err := s.Start(context.Background()); err == nil {
		t.Errorf("second Start succeeded")
	}
	conn, _, err := websocket.DefaultDialer.Dial("ws://"+s.Addr()+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Stop(ctx); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, _, err := conn.ReadMessage(); err == nil {
		t.Errorf("websocket still open after Stop")
	} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Errorf("websocket not closed by Stop")
	}
	if _, err := http.Get("http://" + s.Addr() + "/healthz"); err == nil {
		t.Errorf("still listening after Stop")
	}
}

// TestMetricsShared: the node creates its Metrics on its registry and gives
// the server the same registry; both see the same series.
func TestMetricsShared(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := rpc.NewMetrics(reg, "v1")
	s, err := rpc.NewServer(newFakeBackend(), rpc.Config{Addr: "127.0.0.1:0", Registry: reg, Version: "v1"})
	if err != nil {
		t.Fatal(err)
	}
	m.PoolTxs.Set(5)
	if got := testutil.ToFloat64(s.Metrics().PoolTxs); got != 5 {
		t.Errorf("server's PoolTxs = %v, want the node's 5", got)
	}
	s2, err := rpc.NewServer(newFakeBackend(), rpc.Config{Addr: "127.0.0.1:0", Registry: reg, Metrics: m})
	if err != nil || s2.Metrics() != m {
		t.Errorf("Config.Metrics not used: %v", err)
	}
}

// TestKindNameCutOnRune: a long kind name is quoted cut to 32 bytes, on a
// rune boundary: a cut inside a UTF-8 sequence would send a broken
// character ("\xc3" in the quote).
func TestKindNameCutOnRune(t *testing.T) {
	s := testServer(t, newFakeBackend(), nil)
	url := "http://" + s.Addr() + "/"
	for _, name := range []string{
		"a" + strings.Repeat("é", 20), // 2-byte runes, the 32nd byte mid-rune
		strings.Repeat("€", 12),       // 3-byte runes
		"ab" + strings.Repeat("😀", 9), // 4-byte runes
	} {
		r := call(t, url, req("fee_quote", name))
		if r.Error == nil || r.Error.Code != -32602 || r.Error.Data.Reason != "bad_kind_name" {
			t.Fatalf("%q: %+v", name, r.Error)
		}
		msg := r.Error.Message
		if !utf8.ValidString(msg) || strings.Contains(msg, `\x`) || strings.ContainsRune(msg, utf8.RuneError) {
			t.Errorf("%q: message splits a character: %q", name, msg)
		}
		q := msg[strings.Index(msg, `"`)+1:]
		q = q[:strings.Index(q, `"`)]
		if !strings.HasSuffix(q, "…") || len(q)-len("…") > 32 || !strings.HasPrefix(name, strings.TrimSuffix(q, "…")) {
			t.Errorf("%q: quoted %q, want a prefix of at most 32 bytes and …", name, q)
		}
	}
}
