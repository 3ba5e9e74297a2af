package rpc

import (
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	gethrpc "github.com/ethereum/go-ethereum/rpc"
	"github.com/gorilla/websocket"
)

// The websocket transport is ours, not go-ethereum's WebsocketHandler:
// go-ethereum v1.17.10 pings every 30 s (fixed) and, on each ping, moves the
// read deadline 30 s ahead, so the next ping pushes back the deadline of the
// one before it at the moment it would expire: a peer that never answers is
// never dropped. Here the server upgrades the connection itself (gorilla),
// pings every WSPingInterval whatever else it writes, and the read deadline
// moves only when a pong (or the first read) arrives: a peer that answers no
// ping for two intervals, dead or just not reading, is closed. The JSON-RPC
// side is go-ethereum's (ServeCodec over NewCodec), so batching, limits and
// subscriptions behave as before.

// wsWriteWait bounds a control frame's write (pings, the close frame).
const wsWriteWait = 5 * time.Second

// wsConn adapts a websocket connection to the byte stream go-ethereum's
// NewCodec reads and writes: each Write is one text message, reads run
// through the messages in order.
type wsConn struct {
	c       *websocket.Conn
	r       io.Reader // the message being read
	pongAt  time.Duration
	dropped func() // counts a connection closed for a missed pong
	done    chan struct{}
	once    sync.Once
}

func newWSConn(c *websocket.Conn, ping time.Duration, readLimit int64, dropped func()) *wsConn {
	w := &wsConn{c: c, pongAt: 2 * ping, dropped: dropped, done: make(chan struct{})}
	c.SetReadLimit(readLimit)
	_ = c.SetReadDeadline(time.Now().Add(w.pongAt))
	// The pong handler runs on the reading goroutine (inside Read), where
	// gorilla allows SetReadDeadline.
	c.SetPongHandler(func(string) error {
		return c.SetReadDeadline(time.Now().Add(w.pongAt))
	})
	go w.pingLoop(ping)
	return w
}

// pingLoop pings every interval until the connection closes. WriteControl
// may run beside the codec's writes (gorilla allows it).
func (w *wsConn) pingLoop(every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-w.done:
			return
		case <-t.C:
			if err := w.c.WriteControl(websocket.PingMessage, nil, time.Now().Add(wsWriteWait)); err != nil {
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() {
					// cannot even write a ping: the peer's window is full
					w.dropped()
					_ = w.Close()
				}
				return
			}
		}
	}
}

func (w *wsConn) Read(p []byte) (int, error) {
	for {
		if w.r == nil {
			_, r, err := w.c.NextReader()
			if err != nil {
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() {
					w.dropped() // no pong within two ping intervals
				}
				return 0, err
			}
			w.r = r
		}
		n, err := w.r.Read(p)
		if err == io.EOF {
			w.r = nil
			if n > 0 {
				return n, nil
			}
			continue
		}
		return n, err
	}
}

func (w *wsConn) Write(p []byte) (int, error) {
	if err := w.c.WriteMessage(websocket.TextMessage, p); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (w *wsConn) SetWriteDeadline(t time.Time) error { return w.c.SetWriteDeadline(t) }

// RemoteAddr is go-ethereum's ConnRemoteAddr (its logs name the peer).
func (w *wsConn) RemoteAddr() string { return w.c.RemoteAddr().String() }

func (w *wsConn) Close() error {
	var err error
	w.once.Do(func() {
		close(w.done)
		_ = w.c.WriteControl(websocket.CloseMessage,
			websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
		err = w.c.Close()
	})
	return err
}

// serveWS upgrades a websocket request and serves JSON-RPC on it until it
// closes. Past WSMaxConnections open connections it answers 503.
func (s *Server) serveWS(w http.ResponseWriter, r *http.Request) {
	s.wsMu.Lock()
	if s.wsConns >= s.cfg.WSMaxConnections {
		s.wsMu.Unlock()
		s.metrics.WSRefused.WithLabelValues("connection_limit").Inc()
		http.Error(w, "too many websocket connections", http.StatusServiceUnavailable)
		return
	}
	s.wsConns++
	s.wsMu.Unlock()
	s.metrics.WSConnections.Inc()
	defer func() {
		s.wsMu.Lock()
		s.wsConns--
		s.wsMu.Unlock()
		s.metrics.WSConnections.Dec()
	}()
	conn, err := s.upgrader.Upgrade(w, r, nil)
	if err != nil {
		// the upgrader answered (400, 403 for a refused origin)
		s.log.Debug("rpc: websocket upgrade failed", "err", err)
		return
	}
	wc := newWSConn(conn, s.cfg.WSPingInterval, s.cfg.WSReadLimit, func() {
		s.metrics.WSDropped.Inc()
		s.log.Debug("rpc: websocket peer answered no ping, closed", "remote", conn.RemoteAddr().String())
	})
	s.rpc.ServeCodec(gethrpc.NewCodec(wc), 0)
}

// acquireSub counts one more subscription on the connection conn;
// past WSMaxSubscriptions it refuses (ErrTooManySubscriptions). release
// gives it back.
func (s *Server) acquireSub(conn any) error {
	s.wsMu.Lock()
	defer s.wsMu.Unlock()
	if s.subsPer[conn] >= s.cfg.WSMaxSubscriptions {
		s.metrics.WSRefused.WithLabelValues("subscription_limit").Inc()
		return ErrTooManySubscriptions
	}
	s.subsPer[conn]++
	return nil
}

func (s *Server) releaseSub(conn any) {
	s.wsMu.Lock()
	defer s.wsMu.Unlock()
	if s.subsPer[conn]--; s.subsPer[conn] <= 0 {
		delete(s.subsPer, conn)
	}
}

// checkOrigin is go-ethereum's origin rule (rpc/websocket.go
// wsHandshakeValidator): requests without an Origin header (non-browsers)
// pass; "*" allows any origin; an empty list allows http://localhost and
// http://<hostname>; a rule matches on the parts it names (scheme, host,
// port).
func checkOrigin(allowed []string) func(*http.Request) bool {
	var rules []string
	anyOrigin := false
	for _, o := range allowed {
		if o == "*" {
			anyOrigin = true
		}
		if o != "" {
			rules = append(rules, o)
		}
	}
	if len(rules) == 0 {
		rules = append(rules, "http://localhost")
		if h, err := os.Hostname(); err == nil {
			rules = append(rules, "http://"+h)
		}
	}
	return func(r *http.Request) bool {
		if _, ok := r.Header["Origin"]; !ok || anyOrigin {
			return true
		}
		origin := strings.ToLower(r.Header.Get("Origin"))
		for _, rule := range rules {
			if originAllowed(rule, origin) {
				return true
			}
		}
		return false
	}
}

func originAllowed(rule, origin string) bool {
	rs, rh, rp, err := parseOrigin(rule)
	if err != nil {
		return false
	}
	bs, bh, bp, err := parseOrigin(origin)
	if err != nil {
		return false
	}
	return (rs == "" || rs == bs) && (rh == "" || rh == bh) && (rp == "" || rp == bp)
}

func parseOrigin(origin string) (scheme, host, port string, err error) {
	u, err := url.Parse(strings.ToLower(origin))
	if err != nil {
		return "", "", "", err
	}
	if strings.Contains(origin, "://") {
		return u.Scheme, u.Hostname(), u.Port(), nil
	}
	host, port = u.Scheme, u.Opaque
	if host == "" {
		host = origin
	}
	return "", host, port, nil
}
