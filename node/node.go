package node

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/modex/modex/bridge"
	"github.com/modex/modex/internal/datadir"
	"github.com/modex/modex/pipeline"
	"github.com/modex/modex/prover"
	"github.com/modex/modex/rpc"
	"github.com/modex/modex/sequencer"
	"github.com/modex/modex/sequencer/journal"
	"github.com/modex/modex/state"
	"github.com/modex/modex/state/store"
	"github.com/modex/modex/types"
)

// Version is the node's version string (the health endpoint and metrics).
var Version = "0.5.0-dev"

// ErrConfig: the configuration is invalid (the message names the field).
var ErrConfig = errors.New("node: invalid config")

// Config configures a node.
type Config struct {
	// DataDir holds the state store (state/) and the journal (journal/).
	// Empty: everything in memory (tests). One process at a time: New locks
	// it first (datadir.Acquire, <DataDir>/LOCK) and refuses a directory in
	// use with a *datadir.InUseError (datadir.ErrInUse); Stop releases it.
	DataDir string
	// DataDirLock is a lock on DataDir its caller already holds, for a
	// caller that locks the directory before it builds the node (the devnet
	// wipes it first; `modex node` locks before it loads keys): New uses it
	// instead of locking DataDir again, and neither the node nor Stop
	// releases it. Nil: New takes the lock itself.
	DataDirLock *datadir.Lock

	Params types.Params

	L1            bridge.L1
	Bridge        common.Address
	OperatorKey   *ecdsa.PrivateKey // the operator's L1 key (commits batches)
	Confirmations uint64            // L1 blocks before a request is taken
	FromBlock     uint64            // the bridge's deployment block
	MaxFeeCap     *big.Int          // the most the submitter pays per gas (default 1,000 gwei)
	L1Poll        time.Duration     // how often L1 is polled (default 1 s)

	// Provers proves each family (prover.NewCPU(keys), NewGPU, or remote).
	Provers map[types.Family]prover.Prover
	// AwaitProvers are families whose provers come after the start
	// (Node.AddProver; the devnet's first start, while their keys are
	// made): the node accepts their transactions at once and their
	// batches wait for the prover (pipeline.Config.Awaited).
	AwaitProvers []types.Family
	// InsecureDevKeys: the provers' keys (some of them) come from the
	// INSECURE development setup (prover.Keys.Insecure), accepted by
	// --insecure-dev-keys or by a devnet. The node warns at start and
	// reports it in node_contracts.
	InsecureDevKeys bool
	ProverWorkers   int
	// ProveAttempts: how many times a batch is proven before the pipeline
	// halts on it (pipeline.Config.MaxAttempts; default 8).
	ProveAttempts int

	BatchTimeout time.Duration
	// FamilyWait: how long a transaction of another family waits behind an
	// open batch before it is sealed (sequencer.Config; default 10 ms).
	FamilyWait   time.Duration
	MakerFeeBips uint8
	TakerFeeBips uint8

	RPC    rpc.Config
	Logger *slog.Logger
}

// Check validates the configuration before anything starts.
func (c *Config) Check() error {
	switch {
	case c.L1 == nil:
		return fmt.Errorf("%w: no L1 client", ErrConfig)
	case c.Bridge == (common.Address{}):
		return fmt.Errorf("%w: no bridge address", ErrConfig)
	case c.OperatorKey == nil:
		return fmt.Errorf("%w: no operator key", ErrConfig)
	case len(c.Provers) == 0 && len(c.AwaitProvers) == 0:
		return fmt.Errorf("%w: no provers", ErrConfig)
	case c.ProverWorkers < 0:
		return fmt.Errorf("%w: prover workers %d", ErrConfig, c.ProverWorkers)
	case c.ProveAttempts < 0:
		return fmt.Errorf("%w: prove attempts %d", ErrConfig, c.ProveAttempts)
	case c.BatchTimeout < 0:
		return fmt.Errorf("%w: batch timeout %s", ErrConfig, c.BatchTimeout)
	case c.FamilyWait < 0:
		return fmt.Errorf("%w: family wait %s", ErrConfig, c.FamilyWait)
	case c.DataDirLock != nil && !c.DataDirLock.Covers(c.DataDir):
		return fmt.Errorf("%w: the data directory lock (%s) is released or not on the data directory %q", ErrConfig, c.DataDirLock.Dir(), c.DataDir)
	}
	if err := c.Params.Check(); err != nil {
		return fmt.Errorf("%w: %w", ErrConfig, err)
	}
	return nil
}

// Node is a running rollup node.
type Node struct {
	cfg     Config
	log     *slog.Logger
	db      *state.DB
	j       *store.Plain
	seq     *sequencer.Sequencer
	q       *sequencer.Queries
	pipe    *pipeline.Pipeline
	watcher *bridge.Watcher
	sub     *bridge.Submitter
	c       *bridge.Contract
	d       types.Domain
	api     *rpc.Server
	metrics *rpc.Metrics
	reg     *prometheus.Registry
	lock    *datadir.Lock // the data directory's lock New took (nil: none, or the caller's)

	l1Time   atomic.Uint64 // the last L1 head's timestamp
	l1Head   atomic.Uint64
	tokens   atomic.Int64
	assetsMu sync.Mutex
	assets   []rpc.Asset
	// verifiers are the bridge's verifier per family name, read once
	// (fixed when the bridge was deployed); nil until then
	verifiersMu sync.Mutex
	verifiers   map[string]common.Address

	quit chan struct{}
	wg   sync.WaitGroup
	once sync.Once
}

// New opens the stores and builds the services; nothing runs until Start.
func New(ctx context.Context, cfg Config) (*Node, error) {
	if err := cfg.Check(); err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.MaxFeeCap == nil {
		cfg.MaxFeeCap = big.NewInt(1_000_000_000_000)
	}
	if cfg.L1Poll <= 0 {
		cfg.L1Poll = time.Second
	}
	n := &Node{cfg: cfg, log: cfg.Logger, quit: make(chan struct{})}
	// the data directory is locked before anything reads or writes it
	if cfg.DataDir != "" && cfg.DataDirLock == nil {
		lock, err := datadir.Acquire(cfg.DataDir)
		if err != nil {
			return nil, fmt.Errorf("node: %w", err)
		}
		n.lock = lock
	}
	built := false
	defer func() {
		if !built {
			n.releaseLock()
		}
	}()
	n.c = bridge.NewContract(cfg.L1, cfg.Bridge)
	d, err := n.c.Domain(ctx)
	if err != nil {
		return nil, fmt.Errorf("node: bridge at %s: %w", cfg.Bridge, err)
	}
	n.d = d
	if _, err := n.c.Params(ctx, cfg.Params); err != nil {
		return nil, fmt.Errorf("node: bridge parameters: %w", err)
	}
	if err := n.refreshL1(ctx); err != nil {
		return nil, err
	}

	sopts := store.Options{InMemory: cfg.DataDir == "", KeepBatches: 1024}
	var jdir string
	if cfg.DataDir != "" {
		sopts = store.DefaultOptions(filepath.Join(cfg.DataDir, "state"))
		sopts.KeepBatches = 1024
		jdir = filepath.Join(cfg.DataDir, "journal")
	}
	if n.db, err = state.Open(cfg.Params, d, sopts); err != nil {
		return nil, fmt.Errorf("node: state: %w", err)
	}
	if n.j, err = store.OpenPlain(jdir, jdir == "", false); err != nil {
		n.db.Close()
		return nil, fmt.Errorf("node: journal: %w", err)
	}
	if err := n.checkL1State(ctx); err != nil {
		n.close()
		return nil, err
	}
	n.reg = prometheus.NewRegistry()
	n.metrics = rpc.NewMetrics(n.reg, Version)
	bstore := bridge.NewBadgerStore(n.j.DB, string(journal.BridgePrefix))
	if n.watcher, err = bridge.NewWatcher(cfg.L1, bridge.WatcherConfig{Contract: cfg.Bridge, Confirmations: cfg.Confirmations, FromBlock: cfg.FromBlock}, bstore); err != nil {
		n.close()
		return nil, err
	}
	chainID, err := cfg.L1.ChainID(ctx)
	if err != nil {
		n.close()
		return nil, err
	}
	if n.sub, err = bridge.NewSubmitter(cfg.L1, n.c, bridge.SubmitterConfig{Key: cfg.OperatorKey, ChainID: chainID, MaxFeeCap: cfg.MaxFeeCap}, bstore); err != nil {
		n.close()
		return nil, err
	}
	// The sequencer hands each batch its tree stage committed to the
	// pipeline, which reports the stages back to it (pipeline.Listener);
	// neither runs before Start.
	if n.seq, err = sequencer.New(sequencer.Config{
		Params: cfg.Params, Domain: d, BatchTimeout: cfg.BatchTimeout, FamilyWait: cfg.FamilyWait,
		MakerFeeBips: cfg.MakerFeeBips, TakerFeeBips: cfg.TakerFeeBips,
		Clock:    n.clock,
		OnSeal:   func(sb *state.SealedBatch) { n.pipe.Sealed(sb) },
		Tokens:   func() int { return int(n.tokens.Load()) },
		Families: families(cfg.Provers, cfg.AwaitProvers),
		Logger:   cfg.Logger, Metrics: n.metrics,
	}, n.db, n.j); err != nil {
		n.close()
		return nil, err
	}
	n.q = n.seq.Queries()
	if n.pipe, err = pipeline.New(pipeline.Config{
		Params: cfg.Params, Domain: d, Provers: cfg.Provers, Awaited: cfg.AwaitProvers, Workers: cfg.ProverWorkers,
		MaxAttempts: cfg.ProveAttempts, Submitter: l1Submitter{n.sub}, Logger: cfg.Logger, Metrics: n.metrics,
	}, n.db, n.j, n.seq); err != nil {
		n.close()
		return nil, err
	}
	rcfg := cfg.RPC
	rcfg.Version = Version
	rcfg.Registry = n.reg
	rcfg.Metrics = n.metrics
	if rcfg.Logger == nil {
		rcfg.Logger = cfg.Logger
	}
	if n.api, err = rpc.NewServer(n, rcfg); err != nil {
		n.close()
		return nil, err
	}
	built = true
	return n, nil
}

// clock is the sequencer's clock (sequencer.Config.Clock): the wall clock,
// held back to the L1 head's timestamp when it is ahead of it. The bridge
// takes a batch only if its timestamp is at most the time of the block that
// commits it (protocol §11.3), a later block than the head, so a batch is
// never refused for being early; and where L1 time runs ahead of the wall
// clock (a dev chain stamps each block at least a second after its
// parent), batches and order expiry keep to the time people read.
// Wallets read it from node_syncStatus (clock) to set an order's validity.
func (n *Node) clock() uint64 {
	now := uint64(time.Now().Unix())
	if t := n.l1Time.Load(); t > 0 {
		return min(now, t)
	}
	return now
}

func (n *Node) refreshL1(ctx context.Context) error {
	h, err := n.cfg.L1.HeaderByNumber(ctx, nil)
	if err != nil {
		return fmt.Errorf("node: L1 head: %w", err)
	}
	n.l1Time.Store(h.Time)
	n.l1Head.Store(h.Number.Uint64())
	// registered tokens: ids are dense from 0 (ETH)
	k := int(n.tokens.Load())
	if k == 0 {
		k = 1
	}
	for ; k < 1<<n.cfg.Params.BalanceDepth; k++ {
		addr, err := n.c.TokenAddress(ctx, uint16(k))
		if err != nil || addr == (common.Address{}) {
			break
		}
	}
	n.tokens.Store(int64(k))
	return nil
}

// Start runs the services and the API.
func (n *Node) Start(ctx context.Context) error {
	if err := n.seq.Start(ctx); err != nil {
		return err
	}
	if err := n.pipe.Start(ctx); err != nil {
		return err
	}
	if err := n.api.Start(ctx); err != nil {
		return err
	}
	n.wg.Add(1)
	go n.l1Loop()
	n.log.Info("node started", "rpc", n.api.Addr(), "bridge", n.cfg.Bridge, "sealed", n.seq.Sealed(), "insecureDevKeys", n.cfg.InsecureDevKeys)
	if n.cfg.InsecureDevKeys {
		n.log.Warn(InsecureDevKeysWarning)
	}
	return nil
}

// Stop stops the API, the sequencer and the pipeline and closes the stores.
func (n *Node) Stop(ctx context.Context) error {
	var err error
	n.once.Do(func() {
		close(n.quit)
		if n.api != nil {
			err = n.api.Stop(ctx)
		}
		n.wg.Wait()
		if serr := n.stopServices(ctx); serr != nil {
			// a service still running may write to the stores: they stay
			// open (the process is going away; their crash safety covers it)
			n.log.Error("node: shutdown: services did not stop; stores left open", "err", serr)
			err = errors.Join(err, serr)
			return
		}
		err = errors.Join(err, n.closeStores())
		n.releaseLock()
	})
	return err
}

// releaseLock releases the data directory's lock if New took it (a lock
// the caller passed stays the caller's); the stores are closed by then.
func (n *Node) releaseLock() {
	if n.lock == nil {
		return
	}
	if err := n.lock.Release(); err != nil {
		n.log.Error("node: release the data directory", "err", err)
	}
}

// stopServices stops the sequencer, then the pipeline it feeds.
func (n *Node) stopServices(ctx context.Context) error {
	var errs []error
	if n.seq != nil {
		if err := n.seq.Stop(ctx); err != nil {
			errs = append(errs, fmt.Errorf("node: stop sequencer: %w", err))
		}
	}
	if n.pipe != nil {
		if err := n.pipe.Stop(ctx); err != nil {
			errs = append(errs, fmt.Errorf("node: stop pipeline: %w", err))
		}
	}
	return errors.Join(errs...)
}

// close undoes a failed New: the services built so far (never started,
// so they stop at once) and the stores; every error is returned and logged.
func (n *Node) close() error {
	return errors.Join(n.stopServices(context.Background()), n.closeStores())
}

// closeStores closes the journal and the state store; every Close error is
// returned and logged.
func (n *Node) closeStores() error {
	var errs []error
	if n.j != nil {
		if err := n.j.Close(); err != nil {
			errs = append(errs, fmt.Errorf("node: close journal: %w", err))
		}
	}
	if n.db != nil {
		if err := n.db.Close(); err != nil {
			errs = append(errs, fmt.Errorf("node: close state: %w", err))
		}
	}
	err := errors.Join(errs...)
	if err != nil {
		n.log.Error("node: shutdown", "err", err)
	}
	return err
}

// l1Loop polls L1: the head (the batch clock, tokens) and the watcher's
// confirmed priority requests, which go to the sequencer.
func (n *Node) l1Loop() {
	defer n.wg.Done()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-n.quit
		cancel()
	}()
	t := time.NewTicker(n.cfg.L1Poll)
	defer t.Stop()
	for {
		if err := n.refreshL1(ctx); err != nil && ctx.Err() == nil {
			n.log.Warn("L1 poll", "err", err)
		}
		reqs, err := n.watcher.Poll(ctx)
		if len(reqs) > 0 {
			pr := make([]sequencer.PriorityRequest, 0, len(reqs))
			for _, r := range reqs {
				raw, err := types.EncodeTx(r.Tx)
				if err != nil {
					n.log.Error("node: priority request", "id", r.ID, "err", err)
					continue
				}
				pr = append(pr, sequencer.PriorityRequest{ID: r.ID, Raw: raw, L1Tx: r.TxHash})
			}
			if err := n.seq.AddPriority(ctx, pr); err != nil && ctx.Err() == nil {
				n.log.Error("node: queue priority requests", "err", err)
			}
		}
		if err != nil && ctx.Err() == nil {
			n.log.Warn("L1 watcher", "err", err)
		}
		select {
		case <-n.quit:
			return
		case <-t.C:
		}
	}
}

// l1Submitter adapts the bridge's submitter to the pipeline's Submitter:
// L1 holding another batch, or rejecting the commit, is the pipeline's
// ErrL1Disagrees (it halts on it).
type l1Submitter struct{ s *bridge.Submitter }

func (a l1Submitter) Step(ctx context.Context, h *state.Header, pubdata []byte, proof *prover.Proof) (pipeline.SubmitStatus, error) {
	st, err := a.s.Step(ctx, h, pubdata, proof)
	if errors.Is(err, bridge.ErrForeignBatch) || errors.Is(err, bridge.ErrRejected) {
		return pipeline.SubmitStatus{}, fmt.Errorf("%w: %w", pipeline.ErrL1Disagrees, err)
	}
	if err != nil {
		return pipeline.SubmitStatus{}, err
	}
	return pipeline.SubmitStatus{Landed: st.State == bridge.Landed, Tx: st.Tx}, nil
}

// Sequencer, Pipeline, Domain, DB and Addr give tests and the devnet access.
func (n *Node) Sequencer() *sequencer.Sequencer { return n.seq }
func (n *Node) Pipeline() *pipeline.Pipeline    { return n.pipe }
func (n *Node) Domain() types.Domain            { return n.d }
func (n *Node) DB() *state.DB                   { return n.db }
func (n *Node) Addr() string                    { return n.api.Addr() }
func (n *Node) Contract() *bridge.Contract      { return n.c }

// families are the batch families the node has or awaits provers for.
func families(p map[types.Family]prover.Prover, awaited []types.Family) map[types.Family]bool {
	out := map[types.Family]bool{}
	for f := range p {
		out[f] = true
	}
	for _, f := range awaited {
		out[f] = true
	}
	return out
}

// AddProver gives the prover of a family in Config.AwaitProvers: its
// batches that waited are proven now. A family not awaited, or one whose
// prover was already added, is refused with pipeline.ErrProverSet.
func (n *Node) AddProver(f types.Family, p prover.Prover) error {
	return n.pipe.AddProver(f, p)
}

// ErrStateMismatch: the local state does not continue the bridge's (another
// deployment, other parameters, or a data directory behind L1).
var ErrStateMismatch = errors.New("node: local state and the bridge disagree")

// checkL1State checks the local state against the bridge before anything
// starts: L1's last verified batch must be one the node holds, with the
// same root.
func (n *Node) checkL1State(ctx context.Context) error {
	last, err := n.c.LastBatch(ctx)
	if err != nil {
		return fmt.Errorf("node: bridge lastBatch: %w", err)
	}
	if head := n.db.Head(); last > head {
		return fmt.Errorf("%w: the bridge has verified batch %d, the data directory ends at %d (rebuild from L1 with modex exit's rebuild, or use the right --datadir)", ErrStateMismatch, last, head)
	}
	onL1, err := n.c.StateRoot(ctx)
	if err != nil {
		return err
	}
	local, err := n.db.Root(last)
	if err != nil {
		return fmt.Errorf("node: local root of batch %d: %w", last, err)
	}
	if local != onL1 {
		return fmt.Errorf("%w: batch %d root %s locally, %s on the bridge", ErrStateMismatch, last, local.Text(16), onL1.Text(16))
	}
	return nil
}
