package rpc

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	gethrpc "github.com/ethereum/go-ethereum/rpc"
	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Defaults of Config (a zero field takes its default).
const (
	DefaultBatchItemLimit     = 100
	DefaultBatchResponseLimit = 5 << 20
	DefaultHTTPBodyLimit      = 1 << 20
	DefaultWSReadLimit        = 1 << 20
	DefaultReadTimeout        = 30 * time.Second
	DefaultReadHeaderTimeout  = 10 * time.Second
	DefaultWriteTimeout       = 30 * time.Second
	DefaultIdleTimeout        = 120 * time.Second
	DefaultWSPingInterval     = 30 * time.Second
	DefaultWSMaxConnections   = 1000
	DefaultWSMaxSubscriptions = 100
)

// Parameter bounds.
const (
	MaxRawBytes      = 4096 // an encoded transaction or order
	DefaultPageLimit = 50
	MaxPageLimit     = 500
	DefaultBookDepth = 50
	MaxBookDepth     = 200
	MaxCursorLen     = 256
)

// Config is the API server's configuration. A zero field takes its default.
type Config struct {
	Addr  string // host:port; "127.0.0.1:0" picks a free port (see Server.Addr)
	Admin bool   // serve the admin namespace

	BatchItemLimit     int   // JSON-RPC batch items (default 100); also tx_submitBatch's items
	BatchResponseLimit int   // bytes of a batch's responses (default 5 MiB)
	HTTPBodyLimit      int   // bytes of an HTTP request body (default 1 MiB)
	WSReadLimit        int64 // bytes of a websocket message (default 1 MiB)

	ReadTimeout       time.Duration // default 30 s
	ReadHeaderTimeout time.Duration // slow-header clients (default 10 s, at most ReadTimeout)
	WriteTimeout      time.Duration // default 30 s
	IdleTimeout       time.Duration // keep-alive idle (default 120 s)
	// WSPingInterval: the server pings each websocket this often (default
	// 30 s, 10 ms..10 min); a peer that answers no ping for two intervals
	// (dead, or not reading) is closed.
	WSPingInterval time.Duration
	// WSMaxConnections bounds the open websocket connections (default
	// 1000); one more is answered HTTP 503.
	WSMaxConnections int
	// WSMaxSubscriptions bounds the subscriptions of one websocket
	// connection (default 100); one more is refused with
	// ErrTooManySubscriptions.
	WSMaxSubscriptions int
	// WSOrigins are the browser origins allowed to open a websocket ("*":
	// any). Empty: go-ethereum's default (localhost and the host name; clients
	// that send no Origin header, i.e. non-browsers, are always allowed).
	WSOrigins []string

	Version  string
	Logger   *slog.Logger         // default slog.Default()
	Registry *prometheus.Registry // served on /metrics (default: a new registry)
	// Metrics, when set, are used as they are (they must be registered on
	// Registry); else NewServer creates them on Registry.
	Metrics *Metrics
}

// ErrInvalidConfig is wrapped by every ConfigError.
var ErrInvalidConfig = errors.New("rpc: invalid config")

// ConfigError names the invalid field.
type ConfigError struct {
	Field  string
	Reason string
}

func (e *ConfigError) Error() string {
	return fmt.Sprintf("rpc: invalid config: %s: %s", e.Field, e.Reason)
}

func (e *ConfigError) Unwrap() error { return ErrInvalidConfig }

// Check validates the config (zero fields are valid: they take defaults).
func (c *Config) Check() error {
	bad := func(field, format string, args ...any) error {
		return &ConfigError{Field: field, Reason: fmt.Sprintf(format, args...)}
	}
	if c.Addr == "" {
		return bad("Addr", "empty")
	}
	if _, port, err := net.SplitHostPort(c.Addr); err != nil {
		return bad("Addr", "%v", err)
	} else if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return bad("Addr", "port %q: not a number in 0..65535", port)
	}
	switch {
	case c.BatchItemLimit < 0 || c.BatchItemLimit > 10_000:
		return bad("BatchItemLimit", "%d not in 1..10000 (0: default %d)", c.BatchItemLimit, DefaultBatchItemLimit)
	case c.BatchResponseLimit < 0 || (c.BatchResponseLimit > 0 && c.BatchResponseLimit < 1024) || c.BatchResponseLimit > 256<<20:
		return bad("BatchResponseLimit", "%d not in 1 KiB..256 MiB (0: default)", c.BatchResponseLimit)
	case c.HTTPBodyLimit < 0 || (c.HTTPBodyLimit > 0 && c.HTTPBodyLimit < 1024) || c.HTTPBodyLimit > 64<<20:
		return bad("HTTPBodyLimit", "%d not in 1 KiB..64 MiB (0: default)", c.HTTPBodyLimit)
	case c.WSReadLimit < 0 || (c.WSReadLimit > 0 && c.WSReadLimit < 1024) || c.WSReadLimit > 64<<20:
		return bad("WSReadLimit", "%d not in 1 KiB..64 MiB (0: default)", c.WSReadLimit)
	case c.ReadTimeout < 0:
		return bad("ReadTimeout", "negative")
	case c.ReadHeaderTimeout < 0:
		return bad("ReadHeaderTimeout", "negative")
	case c.WriteTimeout < 0:
		return bad("WriteTimeout", "negative")
	case c.IdleTimeout < 0:
		return bad("IdleTimeout", "negative")
	case c.WSPingInterval != 0 && (c.WSPingInterval < 10*time.Millisecond || c.WSPingInterval > 10*time.Minute):
		return bad("WSPingInterval", "%v not in 10ms..10m (0: default %v)", c.WSPingInterval, DefaultWSPingInterval)
	case c.WSMaxConnections < 0 || c.WSMaxConnections > 1_000_000:
		return bad("WSMaxConnections", "%d not in 1..1000000 (0: default %d)", c.WSMaxConnections, DefaultWSMaxConnections)
	case c.WSMaxSubscriptions < 0 || c.WSMaxSubscriptions > 10_000:
		return bad("WSMaxSubscriptions", "%d not in 1..10000 (0: default %d)", c.WSMaxSubscriptions, DefaultWSMaxSubscriptions)
	}
	if c.Metrics != nil && c.Registry == nil {
		return bad("Registry", "Metrics given without the Registry they are registered on")
	}
	return nil
}

// withDefaults returns the config with zero fields set.
func (c Config) withDefaults() Config {
	if c.BatchItemLimit == 0 {
		c.BatchItemLimit = DefaultBatchItemLimit
	}
	if c.BatchResponseLimit == 0 {
		c.BatchResponseLimit = DefaultBatchResponseLimit
	}
	if c.HTTPBodyLimit == 0 {
		c.HTTPBodyLimit = DefaultHTTPBodyLimit
	}
	if c.WSReadLimit == 0 {
		c.WSReadLimit = DefaultWSReadLimit
	}
	if c.ReadTimeout == 0 {
		c.ReadTimeout = DefaultReadTimeout
	}
	if c.ReadHeaderTimeout == 0 {
		c.ReadHeaderTimeout = min(DefaultReadHeaderTimeout, c.ReadTimeout)
	}
	if c.WriteTimeout == 0 {
		c.WriteTimeout = DefaultWriteTimeout
	}
	if c.IdleTimeout == 0 {
		c.IdleTimeout = DefaultIdleTimeout
	}
	if c.WSPingInterval == 0 {
		c.WSPingInterval = DefaultWSPingInterval
	}
	if c.WSMaxConnections == 0 {
		c.WSMaxConnections = DefaultWSMaxConnections
	}
	if c.WSMaxSubscriptions == 0 {
		c.WSMaxSubscriptions = DefaultWSMaxSubscriptions
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Registry == nil {
		c.Registry = prometheus.NewRegistry()
	}
	return c
}

// Server serves the API (docs/node.md §4) over HTTP and websocket on "/",
// with /healthz and /metrics beside it.
type Server struct {
	b        Backend
	cfg      Config
	log      *slog.Logger
	metrics  *Metrics
	rpc      *gethrpc.Server
	ws       http.Handler
	upgrader websocket.Upgrader
	handler  http.Handler

	wsMu    sync.Mutex
	wsConns int         // open websocket connections
	subsPer map[any]int // open subscriptions per connection (its *gethrpc.Client)

	quit     chan struct{} // closed by Stop: ends the subscription goroutines
	subs     sync.WaitGroup
	mu       sync.Mutex
	srv      *http.Server
	ln       net.Listener
	served   chan struct{}
	started  bool
	stopped  bool
	stopOnce sync.Once
}

// NewServer validates cfg and registers the API's namespaces on a new
// go-ethereum rpc server with cfg's limits. Nothing listens until Start.
func NewServer(b Backend, cfg Config) (*Server, error) {
	if b == nil {
		return nil, &ConfigError{Field: "Backend", Reason: "nil"}
	}
	if err := cfg.Check(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	s := &Server{b: b, cfg: cfg, log: cfg.Logger, quit: make(chan struct{}), subsPer: map[any]int{}}
	s.metrics = cfg.Metrics
	if s.metrics == nil {
		s.metrics = NewMetrics(cfg.Registry, cfg.Version)
	}

	s.rpc = gethrpc.NewServer()
	s.rpc.SetBatchLimits(cfg.BatchItemLimit, cfg.BatchResponseLimit)
	s.rpc.SetHTTPBodyLimit(cfg.HTTPBodyLimit)
	c := &core{s: s}
	apis := []struct {
		name string
		svc  any
	}{
		{"tx", &TxAPI{c}},
		{"account", &AccountAPI{c}},
		{"market", &MarketAPI{c}},
		{"model", &ModelAPI{c}},
		{"asset", &AssetAPI{c}},
		{"fee", &FeeAPI{c}},
		{"batch", &BatchAPI{c}},
		{"node", &NodeAPI{c}},
		{"bridge", &BridgeAPI{c}},
		{"modex", &ModexAPI{c}},
	}
	if cfg.Admin {
		apis = append(apis, struct {
			name string
			svc  any
		}{"admin", &AdminAPI{c}})
	}
	for _, a := range apis {
		if err := s.rpc.RegisterName(a.name, a.svc); err != nil {
			return nil, fmt.Errorf("rpc: register %s: %w", a.name, err)
		}
	}
	s.upgrader = websocket.Upgrader{ReadBufferSize: 1024, WriteBufferSize: 1024,
		WriteBufferPool: &sync.Pool{}, CheckOrigin: checkOrigin(cfg.WSOrigins)}
	s.ws = http.HandlerFunc(s.serveWS)

	mux := http.NewServeMux()
	mux.Handle("/healthz", s.count("healthz", http.HandlerFunc(s.serveHealth)))
	mux.Handle("/metrics", s.count("metrics", promhttp.HandlerFor(cfg.Registry, promhttp.HandlerOpts{})))
	mux.HandleFunc("/", s.serveRoot)
	s.handler = mux
	return s, nil
}

// Handler is the server's HTTP handler ("/", "/healthz", "/metrics"), for
// embedding it in another server (Start is then not needed).
func (s *Server) Handler() http.Handler { return s.handler }

// Metrics are the server's metrics (the node sets the sequencer and
// pipeline ones).
func (s *Server) Metrics() *Metrics { return s.metrics }

// Config is the server's config with the defaults applied.
func (s *Server) Config() Config { return s.cfg }

// Start listens on cfg.Addr and serves in the background.
func (s *Server) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started || s.stopped {
		return errors.New("rpc: server already started or stopped")
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("rpc: listen %s: %w", s.cfg.Addr, err)
	}
	s.ln = ln
	s.srv = &http.Server{
		Handler:           s.handler,
		ReadTimeout:       s.cfg.ReadTimeout,
		ReadHeaderTimeout: s.cfg.ReadHeaderTimeout,
		WriteTimeout:      s.cfg.WriteTimeout,
		IdleTimeout:       s.cfg.IdleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	s.started = true
	s.served = make(chan struct{})
	go func() {
		defer close(s.served)
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("rpc: server stopped", "err", err)
		}
	}()
	s.log.Info("rpc: serving", "addr", ln.Addr().String(), "admin", s.cfg.Admin)
	return nil
}

// Addr is the address the server listens on (cfg.Addr before Start).
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln != nil {
		return s.ln.Addr().String()
	}
	return s.cfg.Addr
}

// Stop closes the websocket connections (ending their subscriptions), stops
// accepting connections and waits, until ctx ends, for the calls in flight.
func (s *Server) Stop(ctx context.Context) error {
	var err error
	s.stopOnce.Do(func() {
		s.mu.Lock()
		s.stopped = true
		srv, served := s.srv, s.served
		s.mu.Unlock()
		close(s.quit)
		s.rpc.Stop()
		if srv != nil {
			err = srv.Shutdown(ctx)
			if err != nil {
				srv.Close()
			}
			select {
			case <-served:
			case <-ctx.Done():
			}
		}
		done := make(chan struct{})
		go func() { s.subs.Wait(); close(done) }()
		select {
		case <-done:
		case <-ctx.Done():
			if err == nil {
				err = ctx.Err()
			}
		}
	})
	return err
}

// serveRoot serves JSON-RPC on "/": websocket upgrades to the websocket
// handler, anything else to the HTTP handler, with the body limit enforced
// whether or not the client sent a Content-Length.
func (s *Server) serveRoot(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/" {
		s.count("other", http.NotFoundHandler()).ServeHTTP(w, r)
		return
	}
	if websocket.IsWebSocketUpgrade(r) {
		// http.Server's read and write deadlines would stay on the hijacked
		// connection: clear them; the websocket's ping/pong (websocket.go)
		// bounds reads, go-ethereum's codec each write.
		rc := http.NewResponseController(w)
		_ = rc.SetReadDeadline(time.Time{})
		_ = rc.SetWriteDeadline(time.Time{})
		s.count("ws", s.ws).ServeHTTP(w, r)
		return
	}
	s.count("rpc", http.HandlerFunc(s.serveHTTP)).ServeHTTP(w, r)
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	limit := int64(s.cfg.HTTPBodyLimit)
	if r.ContentLength > limit {
		http.Error(w, fmt.Sprintf("content length too large (%d>%d)", r.ContentLength, limit), http.StatusRequestEntityTooLarge)
		return
	}
	if r.ContentLength < 0 {
		// Chunked: read at most limit+1 bytes so an oversized body is refused
		// (go-ethereum would silently truncate it).
		body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
		if err != nil {
			http.Error(w, "read body: "+err.Error(), http.StatusBadRequest)
			return
		}
		if int64(len(body)) > limit {
			http.Error(w, fmt.Sprintf("body too large (>%d)", limit), http.StatusRequestEntityTooLarge)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
	}
	s.rpc.ServeHTTP(w, r)
}

func (s *Server) serveHealth(w http.ResponseWriter, r *http.Request) {
	h := s.b.Health()
	if h.Version == "" {
		h.Version = s.cfg.Version
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	if h.OK {
		w.WriteHeader(http.StatusOK)
	} else {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	_ = json.NewEncoder(w).Encode(h)
}

// count wraps a handler to count its responses by status.
func (s *Server) count(handler string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w}
		h.ServeHTTP(sw, r)
		status := sw.status
		switch {
		case sw.hijacked:
			status = http.StatusSwitchingProtocols
		case status == 0:
			status = http.StatusOK
		}
		s.metrics.HTTPRequests.WithLabelValues(handler, strconv.Itoa(status)).Inc()
	})
}

// statusWriter records the status; it passes Flush, Hijack and Unwrap
// through (go-ethereum flushes error responses; the websocket upgrade
// hijacks the connection).
type statusWriter struct {
	http.ResponseWriter
	status   int
	hijacked bool
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *statusWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	h, ok := w.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("rpc: response writer cannot hijack")
	}
	c, rw, err := h.Hijack()
	if err == nil {
		w.hijacked = true
	}
	return c, rw, err
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
