package seqbench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/holiman/uint256"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/modex/modex/bench/workload"
	"github.com/modex/modex/rpc"
	"github.com/modex/modex/sequencer"
	"github.com/modex/modex/sequencer/mempool"
	"github.com/modex/modex/state"
	"github.com/modex/modex/state/store"
	"github.com/modex/modex/types"
)

// Fixed accounts of the benchmark world: account 0 is the operator's fee
// account, account 1 the DAO of model 1; traders are accounts 2..Users-1.
const (
	feeAccount = 0
	daoAccount = 1
	firstUser  = 2
	model      = uint16(1)
	shares     = 1_000_000_000 // each trader's (packable as a transfer amount)
)

// Target is the sequencer's goal (docs/benchmarks.md): sustained soft-confirmed tps at least 75% of
// the verification bound, with p99 acceptance latency under 10 ms.
var Target = struct {
	Ratio float64 `json:"ratio"`
	P99Ms float64 `json:"p99_ms"`
}{0.75, 10}

// DefaultModelDepth is the benchmark's model tree depth: production's.
var DefaultModelDepth = types.DefaultParams().ModelDepth

// DefaultParams are the production parameters (types.DefaultParams: accounts
// 2^24, balances 2^16, models 2^16, 64 transactions a batch).
func DefaultParams() types.Params {
	p := types.DefaultParams()
	p.ModelDepth = DefaultModelDepth
	return p
}

// Config configures a run.
type Config struct {
	Duration  time.Duration // the timed window (default 10 s)
	Users     int           // accounts, including the fee account and the DAO (default 256)
	Clients   int           // concurrent client goroutines (default 16)
	Transfers int           // mix weight of ETH transfers (default 70)
	Orders    int           // mix weight of order placements (default 30)
	// NoSync turns off the fsync of the journal and the state store
	// (default: synced, as in production).
	NoSync bool
	// Params: the tree depths and batch capacity (default DefaultParams).
	Params types.Params
	// BatchTimeout of the sequencer (default 1 s).
	BatchTimeout time.Duration
	// VerifyFor is how long the verification bound is measured (default 2 s).
	VerifyFor time.Duration
	// MaxOps caps the pre-signed operations (default 400,000).
	MaxOps int
	// Dir is where the temporary data directory goes (default os.TempDir()).
	Dir string
	// PauseTree pauses the sequencer's tree stage (the Merkle hashing of
	// sealed batches, docs/node.md §2) during the window: the sequencer is
	// measured alone, as with the tree stage on other cores; the stage's
	// own rate is then measured catching up after the window.
	PauseTree bool
	// CPUProfile, if set, receives a CPU profile of the timed window.
	CPUProfile io.Writer
	// Progress, if set, receives one line per setup phase.
	Progress func(format string, args ...any)
}

func (c *Config) defaults() error {
	if c.Duration <= 0 {
		c.Duration = 10 * time.Second
	}
	if c.Users == 0 {
		c.Users = 256
	}
	if c.Clients <= 0 {
		c.Clients = 16
	}
	if c.Transfers == 0 && c.Orders == 0 {
		c.Transfers, c.Orders = 70, 30
	}
	if c.Params == (types.Params{}) {
		c.Params = DefaultParams()
	}
	if c.BatchTimeout <= 0 {
		c.BatchTimeout = time.Second
	}
	if c.VerifyFor <= 0 {
		c.VerifyFor = 2 * time.Second
	}
	if c.MaxOps <= 0 {
		c.MaxOps = 400_000
	}
	if c.Progress == nil {
		c.Progress = func(string, ...any) {}
	}
	switch {
	case c.Transfers < 0 || c.Orders < 0:
		return fmt.Errorf("seqbench: negative mix weight")
	case c.Users-firstUser < c.Clients:
		return fmt.Errorf("seqbench: %d users leave %d traders for %d clients (each client needs one)", c.Users, c.Users-firstUser, c.Clients)
	case c.Users > 1<<16:
		return fmt.Errorf("seqbench: at most %d users", 1<<16)
	}
	return c.Params.Check()
}

// ParseMix parses "transfers=70,orders=30".
func ParseMix(s string) (transfers, orders int, err error) {
	for _, f := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(f), "=")
		n, perr := strconv.Atoi(strings.TrimSpace(v))
		if !ok || perr != nil || n < 0 {
			return 0, 0, fmt.Errorf("mix %q: want transfers=N,orders=M", s)
		}
		switch strings.TrimSpace(k) {
		case "transfers":
			transfers = n
		case "orders":
			orders = n
		default:
			return 0, 0, fmt.Errorf("mix %q: unknown kind %q (transfers, orders)", s, k)
		}
	}
	if transfers+orders == 0 {
		return 0, 0, fmt.Errorf("mix %q: empty", s)
	}
	return transfers, orders, nil
}

// Result is what a run measured. The first fields are the JSON docs/benchmarks.md records.
type Result struct {
	Command          string         `json:"command"`
	Params           types.Params   `json:"params"`
	DurationS        float64        `json:"duration_s"`
	Accepted         int64          `json:"accepted"`
	Rejected         map[string]int `json:"rejected"` // by reason (rpc/errors.go); each retry counts
	TPS              float64        `json:"tps"`
	P50Ms            float64        `json:"p50_ms"`
	P99Ms            float64        `json:"p99_ms"`
	Transfers        int64          `json:"transfers"` // accepted (soft-confirmed)
	Orders           int64          `json:"orders"`    // accepted (matched and/or rested)
	Trades           int64          `json:"trades"`
	BatchesSealed    int            `json:"batches_sealed"`     // during the window
	EdDSAVerifyPerS  float64        `json:"eddsa_verify_per_s"` // the mean of the two measurements below
	EdDSABeforeAfter [2]float64     `json:"eddsa_verify_per_s_before_after"`
	EdDSAVerifyCores int            `json:"eddsa_verify_cores"`
	RatioOfBound     float64        `json:"ratio_of_bound"`
	Target           any            `json:"target"`
	Met              bool           `json:"met"`
	Go               string         `json:"go"`
	CPUs             int            `json:"cpus"`

	// More detail.
	Path            string             `json:"path"`
	Sync            bool               `json:"sync"`
	Users           int                `json:"users"`
	Clients         int                `json:"clients"`
	Mix             string             `json:"mix"`
	BatchTimeoutS   float64            `json:"batch_timeout_s"`
	Latency         map[string]Latency `json:"latency_ms"`       // per kind, accepted calls only
	SealedTxs       map[string]int     `json:"sealed_txs"`       // by family, batches sealed during the window
	IncludedTPS     float64            `json:"included_tps"`     // transactions in batches sealed during the window, per second
	TransferBacklog int64              `json:"transfer_backlog"` // accepted transfers not in a batch sealed during the window
	TreeStage       string             `json:"tree_stage"`       // "running" or "paused" during the window
	CommittedTPS    float64            `json:"committed_tps"`    // transactions the tree stage committed during the window, per second
	TreeBacklog     int                `json:"tree_backlog"`     // sealed batches not committed at the window's end
	TreeCatchupS    float64            `json:"tree_catchup_s"`   // time after the window until the tree stage committed them
	TreeTPS         float64            `json:"tree_tps"`         // the tree stage alone: transactions committed per second while catching up`
	Presigned       int                `json:"presigned"`
	Exhausted       bool               `json:"exhausted"` // a client ran out of pre-signed operations: tps is a lower bound
	SetupS          float64            `json:"setup_s"`
	PresignS        float64            `json:"presign_s"`
	Load            [2]float64         `json:"loadavg_1m"` // before and after the window (/proc/loadavg)
}

// Latency is a latency distribution in milliseconds.
type Latency struct {
	N    int     `json:"n"`
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	Max  float64 `json:"max"`
	Mean float64 `json:"mean"`
}

// Fields is every JSON field name of Result that docs/benchmarks.md records.
var Fields = []string{"command", "params", "duration_s", "accepted", "rejected", "tps", "p50_ms", "p99_ms", "transfers",
	"orders", "trades", "batches_sealed", "eddsa_verify_per_s", "eddsa_verify_cores", "ratio_of_bound", "target", "met",
	"go", "cpus"}

// Harness is a running sequencer over a fresh benchmark world on disk.
type Harness struct {
	Cfg   Config
	Seq   *sequencer.Sequencer
	DB    *state.DB
	J     *store.Plain
	Keys  []*types.PrivateKey
	dir   string
	nonce []uint32 // next nonce per account (setup and pre-signing)
	oid   []uint32 // next order id per account
}

// Open builds the world: deposits for every account (AddPriority), model 1
// created by the DAO, and shares transferred to every trader; all sealed.
func Open(cfg Config) (*Harness, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(cfg.Dir, "modex-seqbench-")
	if err != nil {
		return nil, err
	}
	h := &Harness{Cfg: cfg, dir: dir, nonce: make([]uint32, cfg.Users), oid: make([]uint32, cfg.Users)}
	if err := h.open(); err != nil {
		h.Close()
		return nil, err
	}
	return h, nil
}

func (h *Harness) open() error {
	cfg := h.Cfg
	sopts := store.DefaultOptions(filepath.Join(h.dir, "state"))
	sopts.NoSync = cfg.NoSync
	var err error
	if h.DB, err = state.Open(cfg.Params, workload.DevDomain, sopts); err != nil {
		return err
	}
	if h.J, err = store.OpenPlain(filepath.Join(h.dir, "journal"), false, cfg.NoSync); err != nil {
		return err
	}
	// The node's defaults: fees 2/5 bips, Info logging (formatted, discarded), metrics on.
	logger := slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo}))
	h.Seq, err = sequencer.New(sequencer.Config{
		Params: cfg.Params, Domain: workload.DevDomain, BatchTimeout: cfg.BatchTimeout,
		MakerFeeBips: 2, TakerFeeBips: 5, Logger: logger,
		Pool:    mempool.Options{NoSync: cfg.NoSync},
		Metrics: rpc.NewMetrics(prometheus.NewRegistry(), "seqbench"),
	}, h.DB, h.J)
	if err != nil {
		return err
	}
	if err := h.Seq.Start(context.Background()); err != nil {
		return err
	}
	for i := 0; i < cfg.Users; i++ {
		k, err := workload.Key(i)
		if err != nil {
			return err
		}
		h.Keys = append(h.Keys, k)
	}
	ctx := context.Background()
	// deposits: account i for user i, ETH (the fee account gets none)
	reqs := make([]sequencer.PriorityRequest, cfg.Users)
	for i := range reqs {
		d := &types.Deposit{PriorityID: uint64(i), Account: uint32(i), L1Address: workload.Addr(i), PubKey: types.PublicKeyOf(h.Keys[i])}
		if i != feeAccount {
			d.Amount.SetUint64(1e18)
		}
		raw, err := types.EncodeTx(d)
		if err != nil {
			return err
		}
		reqs[i] = sequencer.PriorityRequest{ID: uint64(i), Raw: raw}
	}
	if err := h.Seq.AddPriority(ctx, reqs); err != nil {
		return fmt.Errorf("seqbench: deposits: %w", err)
	}
	if err := h.Seq.Flush(ctx); err != nil {
		return err
	}
	// the model, then its shares to every trader (the pool takes 64
	// pending transactions per account: flush between chunks)
	cm := &types.CreateModel{Account: daoAccount, Model: model, QuoteToken: 0, Supply: 1 << 50, MaxSupply: 1 << 50,
		CreditPrice: *uint256.NewInt(1000), HolderBps: 5000, Weights: types.FromUint64(1)}
	if err := h.setupTx(ctx, daoAccount, cm); err != nil {
		return err
	}
	if err := h.Seq.Flush(ctx); err != nil {
		return err
	}
	for u := firstUser; u < cfg.Users; u++ {
		t := &types.Transfer{From: daoAccount, To: uint32(u), Asset: types.ShareAsset(model), Amount: *uint256.NewInt(shares)}
		if err := h.setupTx(ctx, daoAccount, t); err != nil {
			return err
		}
		if (u-firstUser)%48 == 47 {
			if err := h.Seq.Flush(ctx); err != nil {
				return err
			}
		}
	}
	if err := h.Seq.Flush(ctx); err != nil {
		return err
	}
	// check: the last trader holds its shares
	info, err := h.Seq.Queries().Account(ctx, uint32(cfg.Users-1))
	if err != nil {
		return err
	}
	for _, b := range info.Balances {
		if b.Asset == uint32(types.ShareAsset(model)) && b.Soft.Uint64() == shares {
			return nil
		}
	}
	return fmt.Errorf("seqbench: setup: trader %d has no shares: %+v", cfg.Users-1, info.Balances)
}

func (h *Harness) setupTx(ctx context.Context, acct uint32, tx types.SignedTx) error {
	tx.SetNonce(h.nonce[acct])
	h.nonce[acct]++
	if err := types.SignTx(h.Keys[acct], workload.DevDomain, tx); err != nil {
		return err
	}
	if _, err := h.Seq.Submit(ctx, tx); err != nil {
		return fmt.Errorf("seqbench: setup %s: %w", tx.Kind(), err)
	}
	return nil
}

// Close stops the sequencer and removes the data directory.
func (h *Harness) Close() error {
	var errs []error
	if h.Seq != nil {
		errs = append(errs, h.Seq.Stop(context.Background()))
	}
	if h.J != nil {
		errs = append(errs, h.J.Close())
	}
	if h.DB != nil {
		errs = append(errs, h.DB.Close())
	}
	errs = append(errs, os.RemoveAll(h.dir))
	return errors.Join(errs...)
}

// Op is one pre-signed client call: a transfer (Submit) or an order (Place).
type Op struct {
	Tx    *types.Transfer
	Order *types.Order
}

// Plan pre-signs n operations for each of clients clients: client c owns
// the traders u with (u-2) mod clients = c and takes them in turn; each
// operation is a transfer of 1000 wei (fee 1) to a random other account or
// an order for 10 shares at 100 on a random side, by the mix. Signing runs
// on all cores and is the clients' cost, outside any timing.
func (h *Harness) Plan(clients, n int, transfers, orders int) ([][]Op, error) {
	users := h.Cfg.Users
	validUntil := uint32(time.Now().Add(time.Hour).Unix())
	plans := make([][]Op, clients)
	for c := range plans {
		var own []int
		for u := firstUser + c; u < users; u += clients {
			own = append(own, u)
		}
		r := rand.New(rand.NewPCG(uint64(c), 7))
		ops := make([]Op, n)
		for k := range ops {
			u := own[k%len(own)]
			if r.IntN(transfers+orders) < transfers {
				to := 1 + r.IntN(users-1)
				if to == u {
					to = 1 + (to % (users - 1))
				}
				t := &types.Transfer{From: uint32(u), To: uint32(to), Asset: types.ETH, Amount: *uint256.NewInt(1000),
					Fee: *uint256.NewInt(1), Nonce: h.nonce[u]}
				h.nonce[u]++
				ops[k].Tx = t
			} else {
				h.oid[u]++
				side := types.Buy
				if r.IntN(2) == 0 {
					side = types.Sell
				}
				o := &types.Order{Account: uint32(u), Model: model, Side: side, OrderID: h.oid[u], Amount: 10,
					MaxFeeBips: 10, ValidUntil: validUntil}
				o.Price.SetUint64(100)
				ops[k].Order = o
			}
		}
		plans[c] = ops
	}
	// sign on all cores
	type job struct{ c, from, to int }
	jobs := make(chan job)
	var wg sync.WaitGroup
	var firstErr atomic.Value
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				for _, op := range plans[j.c][j.from:j.to] {
					var err error
					if op.Tx != nil {
						err = types.SignTx(h.Keys[op.Tx.From], workload.DevDomain, op.Tx)
					} else {
						err = types.SignOrder(h.Keys[op.Order.Account], workload.DevDomain, op.Order)
					}
					if err != nil {
						firstErr.CompareAndSwap(nil, err)
					}
				}
			}
		}()
	}
	for c := range plans {
		for from := 0; from < n; from += 512 {
			jobs <- job{c, from, min(from+512, n)}
		}
	}
	close(jobs)
	wg.Wait()
	if err, _ := firstErr.Load().(error); err != nil {
		return nil, err
	}
	return plans, nil
}

// VerifyRate measures types.VerifySignature on pre-signed messages, one
// goroutine per core, for d: verifications per second, and the cores.
func VerifyRate(d time.Duration) (float64, int, error) {
	type signed struct {
		pk  types.PubKey
		msg fr.Element
		sig types.Signature
	}
	var set []signed
	for i := 0; i < 64; i++ {
		k, err := workload.Key(i)
		if err != nil {
			return 0, 0, err
		}
		t := &types.Transfer{From: uint32(i), To: uint32(i + 1), Asset: types.ETH, Amount: *uint256.NewInt(1000), Nonce: uint32(i)}
		if err := types.SignTx(k, workload.DevDomain, t); err != nil {
			return 0, 0, err
		}
		msg, err := t.Message(workload.DevDomain)
		if err != nil {
			return 0, 0, err
		}
		set = append(set, signed{types.PublicKeyOf(k), msg, t.Signature})
	}
	cores := runtime.GOMAXPROCS(0)
	var total atomic.Int64
	var bad atomic.Int64
	var stop atomic.Bool
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < cores; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			n := int64(0)
			for i := w; !stop.Load(); i++ {
				s := &set[i%len(set)]
				if types.VerifySignature(s.pk, s.msg, s.sig) != nil {
					bad.Add(1)
				}
				n++
			}
			total.Add(n)
		}(w)
	}
	time.Sleep(d)
	stop.Store(true)
	wg.Wait()
	el := time.Since(start)
	if bad.Load() > 0 {
		return 0, 0, fmt.Errorf("seqbench: %d verifications failed", bad.Load())
	}
	return float64(total.Load()) / el.Seconds(), cores, nil
}

// retryable rejections: the pool is full (for the account or in all); the
// client waits and sends the same operation again, as a real client would.
func retryable(reason string) bool { return reason == "account_pool_full" || reason == "pool_full" }

type clientStats struct {
	transfers, orders, trades int64
	latT, latO                []time.Duration
	rejected                  map[string]int
	exhausted                 bool
	end                       time.Time
	err                       error
}

// Window runs the clients' plans against the sequencer until d has passed
// (calls in flight finish) and fills in the throughput part of r.
func (h *Harness) Window(ctx context.Context, plans [][]Op, d time.Duration, r *Result) error {
	batches := make(chan *rpc.BatchInfo, 4096)
	sub := h.Seq.Queries().SubscribeBatches(batches)
	defer sub.Unsubscribe()
	sealed := map[string]int{}
	nBatches, committed := 0, 0
	txsOf := map[uint64]int{}
	var inWindow atomic.Bool
	collected := make(chan struct{})
	go func() {
		defer close(collected)
		for b := range batches {
			if b == nil {
				return
			}
			if b.Status == rpc.BatchSealed {
				txsOf[b.Number] = b.Txs
				if inWindow.Load() {
					sealed[b.Family] += b.Txs
					nBatches++
				}
			}
			if b.Status == rpc.BatchCommitted && inWindow.Load() {
				committed += txsOf[b.Number]
			}
		}
	}()

	stats := make([]clientStats, len(plans))
	var wg sync.WaitGroup
	startGate := make(chan struct{})
	var start time.Time
	deadline := time.Now().Add(time.Hour) // set when the gate opens
	for c := range plans {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			st := &stats[c]
			st.rejected = map[string]int{}
			st.latT = make([]time.Duration, 0, len(plans[c]))
			st.latO = make([]time.Duration, 0, len(plans[c])/2)
			<-startGate
			k := 0
			for k < len(plans[c]) && time.Now().Before(deadline) {
				op := plans[c][k]
				t0 := time.Now()
				var err error
				var res *rpc.OrderResult
				if op.Tx != nil {
					_, err = h.Seq.Submit(ctx, op.Tx)
				} else {
					res, err = h.Seq.Place(ctx, op.Order)
				}
				lat := time.Since(t0)
				if err != nil {
					reason := rpc.Reason(err)
					st.rejected[reason]++
					if retryable(reason) {
						time.Sleep(2 * time.Millisecond)
						continue
					}
					if ctx.Err() != nil {
						st.err = ctx.Err()
						break
					}
					k++
					continue
				}
				k++
				if op.Tx != nil {
					st.transfers++
					st.latT = append(st.latT, lat)
				} else {
					st.orders++
					st.trades += int64(len(res.Trades))
					st.latO = append(st.latO, lat)
				}
			}
			st.exhausted = k == len(plans[c])
			st.end = time.Now()
		}(c)
	}
	r.Load[0] = loadAvg()
	r.TreeStage = "running"
	if h.Cfg.PauseTree {
		r.TreeStage = "paused"
		h.Seq.PauseTree(true)
	}
	var prof bool
	if h.Cfg.CPUProfile != nil {
		if err := pprof.StartCPUProfile(h.Cfg.CPUProfile); err != nil {
			return err
		}
		prof = true
	}
	start = time.Now()
	deadline = start.Add(d)
	inWindow.Store(true)
	close(startGate)
	wg.Wait()
	inWindow.Store(false)
	end := start
	for _, st := range stats {
		if st.end.After(end) {
			end = st.end
		}
	}
	if prof {
		pprof.StopCPUProfile()
	}
	r.Load[1] = loadAvg()
	el := end.Sub(start)
	// the tree stage catches up (sealing what is still open first)
	backlogTxs := 0
	t0 := time.Now()
	if err := h.Seq.Synced(ctx); err != nil {
		return err
	}
	r.TreeBacklog = h.Seq.TreeBacklog()
	if h.Cfg.PauseTree {
		h.Seq.PauseTree(false)
	}
	if err := h.Seq.WaitCommitted(ctx, h.Seq.Sealed()); err != nil {
		return err
	}
	r.TreeCatchupS = time.Since(t0).Seconds()
	sub.Unsubscribe()
	close(batches)
	<-collected
	for n, k := range txsOf {
		if n > h.Seq.Sealed()-uint64(r.TreeBacklog) { // the backlog: the last batches sealed
			backlogTxs += k
		}
	}
	if r.TreeCatchupS > 0 {
		r.TreeTPS = float64(backlogTxs) / r.TreeCatchupS
	}
	r.CommittedTPS = float64(committed) / el.Seconds()

	r.DurationS = el.Seconds()
	r.Rejected = map[string]int{}
	var latT, latO []time.Duration
	for _, st := range stats {
		if st.err != nil {
			return st.err
		}
		r.Transfers += st.transfers
		r.Orders += st.orders
		r.Trades += st.trades
		latT = append(latT, st.latT...)
		latO = append(latO, st.latO...)
		for k, v := range st.rejected {
			r.Rejected[k] += v
		}
		r.Exhausted = r.Exhausted || st.exhausted
	}
	r.Accepted = r.Transfers + r.Orders
	r.TPS = float64(r.Accepted) / el.Seconds()
	all := append(slices.Clone(latT), latO...)
	r.Latency = map[string]Latency{"all": dist(all), "transfer": dist(latT), "order": dist(latO)}
	r.P50Ms, r.P99Ms = r.Latency["all"].P50, r.Latency["all"].P99
	r.SealedTxs = sealed
	r.BatchesSealed = nBatches
	inc := 0
	for _, n := range sealed {
		inc += n
	}
	r.IncludedTPS = float64(inc) / el.Seconds()
	r.TransferBacklog = r.Transfers - int64(sealed[types.FamilyTransfer.String()])
	return nil
}

func dist(ds []time.Duration) Latency {
	if len(ds) == 0 {
		return Latency{}
	}
	slices.Sort(ds)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	q := func(p float64) float64 { return ms(ds[min(len(ds)-1, int(p*float64(len(ds))))]) }
	var sum time.Duration
	for _, d := range ds {
		sum += d
	}
	return Latency{N: len(ds), P50: q(0.50), P90: q(0.90), P99: q(0.99), Max: ms(ds[len(ds)-1]), Mean: ms(sum / time.Duration(len(ds)))}
}

// loadAvg is the 1-minute load average (0 where /proc is missing).
func loadAvg() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}

// Run is the whole benchmark: the world, the verification bound, the
// pre-signed plans, the timed window.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	t0 := time.Now()
	cfg.Progress("setup: %d accounts, model %d with shares for %d traders, params %+v", cfg.Users, model, cfg.Users-firstUser, cfg.Params)
	h, err := Open(cfg)
	if err != nil {
		return nil, err
	}
	defer h.Close()
	r := &Result{
		Command: "bench sequencer", Params: cfg.Params, Target: Target, Go: runtime.Version(), CPUs: runtime.NumCPU(),
		Path: "in-process Sequencer.Submit / Sequencer.Place (the API's code path, not the HTTP layer); " +
			"state and journal on disk (Badger); no prover (OnSeal nil)",
		Sync: !cfg.NoSync, Users: cfg.Users, Clients: cfg.Clients, BatchTimeoutS: cfg.BatchTimeout.Seconds(),
		Mix: fmt.Sprintf("transfers=%d,orders=%d", cfg.Transfers, cfg.Orders),
	}
	r.SetupS = time.Since(t0).Seconds()
	cfg.Progress("verification bound: %s on %d cores", cfg.VerifyFor, runtime.GOMAXPROCS(0))
	if r.EdDSABeforeAfter[0], r.EdDSAVerifyCores, err = VerifyRate(cfg.VerifyFor); err != nil {
		return nil, err
	}
	r.EdDSAVerifyPerS = r.EdDSABeforeAfter[0]
	// every operation costs at least one verification on these cores, so
	// the bound times the window (and a margin) is enough
	n := int(r.EdDSAVerifyPerS*cfg.Duration.Seconds()*1.2)/cfg.Clients + 64
	n = min(n, cfg.MaxOps/cfg.Clients)
	t1 := time.Now()
	cfg.Progress("pre-signing %d operations", n*cfg.Clients)
	plans, err := h.Plan(cfg.Clients, n, cfg.Transfers, cfg.Orders)
	if err != nil {
		return nil, err
	}
	r.Presigned = n * cfg.Clients
	r.PresignS = time.Since(t1).Seconds()
	runtime.GC()
	cfg.Progress("window: %s, %d clients", cfg.Duration, cfg.Clients)
	if err := h.Window(ctx, plans, cfg.Duration, r); err != nil {
		return nil, err
	}
	// the bound again, after the window (this machine's rate drifts by
	// ±15% from run to run): the ratio is against the mean of the two
	cfg.Progress("verification bound again")
	if r.EdDSABeforeAfter[1], _, err = VerifyRate(cfg.VerifyFor); err != nil {
		return nil, err
	}
	r.EdDSAVerifyPerS = (r.EdDSABeforeAfter[0] + r.EdDSABeforeAfter[1]) / 2
	if r.EdDSAVerifyPerS > 0 {
		r.RatioOfBound = r.TPS / r.EdDSAVerifyPerS
	}
	r.Met = r.RatioOfBound >= Target.Ratio && r.P99Ms < Target.P99Ms && r.Accepted > 0
	return r, nil
}
