package rpc

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the node's Prometheus metrics. The server counts its requests;
// the node sets the rest (pool, books, pipeline). Every field is registered
// on the registry given to NewMetrics.
type Metrics struct {
	Up   prometheus.Gauge     // modex_up: 1 while the process runs
	Info *prometheus.GaugeVec // modex_info{version}: 1

	// API.
	RPCRequests          *prometheus.CounterVec   // modex_rpc_requests_total{method,code}; code 0 is success
	RPCSeconds           *prometheus.HistogramVec // modex_rpc_request_seconds{method}
	HTTPRequests         *prometheus.CounterVec   // modex_http_requests_total{handler,status}
	Subscriptions        *prometheus.GaugeVec     // modex_subscriptions{channel}: open subscriptions
	SubscriptionsDropped *prometheus.CounterVec   // modex_subscriptions_dropped_total{channel}: ended for overflowing
	WSConnections        prometheus.Gauge         // modex_ws_connections: open websocket connections
	WSRefused            *prometheus.CounterVec   // modex_ws_refused_total{limit}: connection_limit, subscription_limit
	WSDropped            prometheus.Counter       // modex_ws_dropped_total: closed for answering no ping

	// Sequencer.
	PoolTxs     prometheus.Gauge       // modex_pool_txs
	OpenOrders  prometheus.Gauge       // modex_open_orders
	TxsAccepted prometheus.Counter     // modex_txs_accepted_total
	TxsRejected *prometheus.CounterVec // modex_txs_rejected_total{reason} (reason: Reason(err))
	Trades      prometheus.Counter     // modex_trades_total

	// Pipeline: the last batch number at each stage.
	BatchSealed    prometheus.Gauge   // modex_batch_sealed
	BatchCommitted prometheus.Gauge   // modex_batch_committed: the tree stage's head
	BatchProven    prometheus.Gauge   // modex_batch_proven
	BatchVerified  prometheus.Gauge   // modex_batch_verified
	PipelineHalted prometheus.Gauge   // modex_pipeline_halted: 1 when halted
	L1SubmitErrors prometheus.Counter // modex_l1_submit_errors_total: failed L1 steps (retried)

	BatchSealSeconds   prometheus.Histogram // modex_batch_seal_seconds
	BatchCommitSeconds prometheus.Histogram // modex_batch_commit_seconds: the tree stage, per batch
	ProofSeconds       prometheus.Histogram // modex_proof_seconds
	L1SubmitSeconds    prometheus.Histogram // modex_l1_submit_seconds
}

// NewMetrics creates the metrics and registers them on reg (a nil reg: a
// new registry of their own). modex_up is 1 and modex_info{version} is 1.
// A second NewMetrics on the same registry returns the collectors already
// registered (so the node's Metrics and the server's are the same series).
func NewMetrics(reg *prometheus.Registry, version string) *Metrics {
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	if version == "" {
		version = "unknown"
	}
	m := &Metrics{
		Up: prometheus.NewGauge(prometheus.GaugeOpts{Name: "modex_up", Help: "1 while the node runs."}),
		Info: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "modex_info",
			Help: "Build information (always 1)."}, []string{"version"}),

		RPCRequests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "modex_rpc_requests_total",
			Help: "JSON-RPC calls served, by method and error code (0: success)."}, []string{"method", "code"}),
		RPCSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "modex_rpc_request_seconds",
			Help:    "JSON-RPC call latency by method.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 10}}, []string{"method"}),
		HTTPRequests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "modex_http_requests_total",
			Help: "HTTP requests by handler (rpc, ws, healthz, metrics, other) and status."}, []string{"handler", "status"}),
		Subscriptions: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "modex_subscriptions",
			Help: "Open subscriptions by channel."}, []string{"channel"}),
		SubscriptionsDropped: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "modex_subscriptions_dropped_total",
			Help: "Subscriptions ended because the subscriber fell behind."}, []string{"channel"}),
		WSConnections: prometheus.NewGauge(prometheus.GaugeOpts{Name: "modex_ws_connections",
			Help: "Open websocket connections."}),
		WSRefused: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "modex_ws_refused_total",
			Help: "Websocket connections (connection_limit) and subscriptions (subscription_limit) refused at their limit."}, []string{"limit"}),
		WSDropped: prometheus.NewCounter(prometheus.CounterOpts{Name: "modex_ws_dropped_total",
			Help: "Websocket connections closed because the peer answered no ping for two ping intervals."}),

		PoolTxs:     prometheus.NewGauge(prometheus.GaugeOpts{Name: "modex_pool_txs", Help: "Transactions waiting in the pool."}),
		OpenOrders:  prometheus.NewGauge(prometheus.GaugeOpts{Name: "modex_open_orders", Help: "Orders resting in the books."}),
		TxsAccepted: prometheus.NewCounter(prometheus.CounterOpts{Name: "modex_txs_accepted_total", Help: "Transactions accepted by the pool."}),
		TxsRejected: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "modex_txs_rejected_total",
			Help: "Transactions rejected, by reason."}, []string{"reason"}),
		Trades: prometheus.NewCounter(prometheus.CounterOpts{Name: "modex_trades_total", Help: "Trades executed."}),

		BatchSealed:    prometheus.NewGauge(prometheus.GaugeOpts{Name: "modex_batch_sealed", Help: "Last sealed batch."}),
		BatchCommitted: prometheus.NewGauge(prometheus.GaugeOpts{Name: "modex_batch_committed", Help: "Last batch the tree stage committed (state root known)."}),
		BatchProven:    prometheus.NewGauge(prometheus.GaugeOpts{Name: "modex_batch_proven", Help: "Last proven batch."}),
		BatchVerified:  prometheus.NewGauge(prometheus.GaugeOpts{Name: "modex_batch_verified", Help: "Last batch verified on L1."}),
		PipelineHalted: prometheus.NewGauge(prometheus.GaugeOpts{Name: "modex_pipeline_halted", Help: "1 when sequencing or proving halted: a disagreement between stages or with L1, a batch that cannot be proven, a store failure (the reason is on /healthz)."}),

		BatchSealSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "modex_batch_seal_seconds",
			Help: "Time to seal a batch.", Buckets: prometheus.ExponentialBuckets(0.001, 2, 16)}),
		BatchCommitSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "modex_batch_commit_seconds",
			Help: "Time for the tree stage to hash and commit a sealed batch.", Buckets: prometheus.ExponentialBuckets(0.001, 2, 16)}),
		ProofSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "modex_proof_seconds",
			Help: "Time to prove a batch.", Buckets: prometheus.ExponentialBuckets(0.5, 2, 14)}),
		L1SubmitErrors: prometheus.NewCounter(prometheus.CounterOpts{Name: "modex_l1_submit_errors_total",
			Help: "L1 steps of the batch submitter that failed (an unreachable or failing L1; retried with backoff)."}),
		L1SubmitSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "modex_l1_submit_seconds",
			Help: "Time from a batch's proof to its commit mined on L1.", Buckets: prometheus.ExponentialBuckets(0.5, 2, 14)}),
	}
	register(reg, &m.Up)
	register(reg, &m.Info)
	register(reg, &m.RPCRequests)
	register(reg, &m.RPCSeconds)
	register(reg, &m.HTTPRequests)
	register(reg, &m.Subscriptions)
	register(reg, &m.SubscriptionsDropped)
	register(reg, &m.WSConnections)
	register(reg, &m.WSRefused)
	register(reg, &m.WSDropped)
	register(reg, &m.PoolTxs)
	register(reg, &m.OpenOrders)
	register(reg, &m.TxsAccepted)
	register(reg, &m.TxsRejected)
	register(reg, &m.Trades)
	register(reg, &m.BatchSealed)
	register(reg, &m.BatchCommitted)
	register(reg, &m.BatchProven)
	register(reg, &m.BatchVerified)
	register(reg, &m.PipelineHalted)
	register(reg, &m.L1SubmitErrors)
	register(reg, &m.BatchSealSeconds)
	register(reg, &m.BatchCommitSeconds)
	register(reg, &m.ProofSeconds)
	register(reg, &m.L1SubmitSeconds)
	m.Up.Set(1)
	m.Info.WithLabelValues(version).Set(1)
	return m
}

// register registers *c on reg, or, when an equal collector is already
// registered, makes *c that one. A conflicting registration panics (a bug).
func register[C prometheus.Collector](reg *prometheus.Registry, c *C) {
	err := reg.Register(*c)
	if err == nil {
		return
	}
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if existing, ok := are.ExistingCollector.(C); ok {
			*c = existing
			return
		}
	}
	panic(fmt.Sprintf("rpc: metrics: %v", err))
}

// Rejected counts a rejected transaction under its error's reason.
func (m *Metrics) Rejected(err error) {
	if m == nil || err == nil {
		return
	}
	m.TxsRejected.WithLabelValues(Reason(err)).Inc()
}

// observeCall counts one JSON-RPC call.
func (m *Metrics) observeCall(method string, err error, seconds float64) {
	if m == nil {
		return
	}
	code := 0
	if err != nil {
		code = toAPIError(err).Code
	}
	m.RPCRequests.WithLabelValues(method, strconv.Itoa(code)).Inc()
	m.RPCSeconds.WithLabelValues(method).Observe(seconds)
}
