package devnet

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/modex/modex/bridge"
	"github.com/modex/modex/deploy"
	"github.com/modex/modex/internal/datadir"
	"github.com/modex/modex/node"
	"github.com/modex/modex/node/devchain"
	"github.com/modex/modex/prover"
	"github.com/modex/modex/rpc"
	"github.com/modex/modex/types"
)

// Config configures a one-process development network.
type Config struct {
	DataDir string // the node's data ("" in memory)
	KeyDir  string // cache of circuits, dev keys and verifiers ("" none)
	L1Addr  string // the embedded L1's JSON-RPC ("127.0.0.1:8545"; "" none)
	RPCAddr string // the rollup API ("127.0.0.1:8645")
	Admin   bool   // serve the admin namespace
	// RPC holds the API's other settings (websocket ping interval and
	// limits); its Addr and Admin are RPCAddr and Admin.
	RPC      rpc.Config
	Params   types.Params
	Families []types.Family // verifiers to deploy (nil: all)
	Accounts int            // funded dev accounts (default 10)
	// BlockTime: the L1 mines pending transactions at once and an empty
	// block at least this often (default 1 s).
	BlockTime     time.Duration
	BatchTimeout  time.Duration
	FamilyWait    time.Duration
	ProverWorkers int
	ProveAttempts int // 0: the pipeline's default
	Logger        *slog.Logger
	Progress      func(msg string)

	// DataDirLock is DataDir's lock when the caller holds it (`modex devnet`
	// locks the directory before it wipes it); the node uses it and it stays
	// the caller's. Nil: the node locks DataDir itself.
	DataDirLock *datadir.Lock
}

// Devnet is an embedded L1 with the rollup deployed and a node running.
//
// Start deploys the bridge and starts the node at once; each family's keys
// (the key cache, else compile + INSECURE dev setup) and verifier follow in
// the background, one family at a time in SetupOrder, and the node proves a
// family's batches once its verifier is on L1 (its batches wait until then).
// Ready is closed when every family is.
type Devnet struct {
	Chain *devchain.Chain
	// Rollup is the deployment: the bridge and every family's verifier
	// address are set at Start; its Keys stay nil (Keys: each family's keys
	// as they arrive).
	Rollup *devchain.Rollup
	Node   *node.Node

	staged *deploy.Staged
	cancel context.CancelFunc // stops the background setup
	ready  chan struct{}      // closed when every family is proven-ready
	done   chan struct{}      // closed when the background setup returns

	mu       sync.Mutex // guards what follows; held while the setup deploys or adds a prover
	stopped  bool       // Stop was called: the setup touches nothing more
	keys     map[types.Family]*prover.Keys
	setupErr error
	nodeCfg  node.Config // what Node was made from (provers added so far), for RestartNode
}

// SetupOrder is the order in which a devnet makes its families' keys and
// verifiers: the README walkthrough's (deposits, model, trades, credits,
// revenue, share transfers, cancels, withdrawals), then Transfer, which the
// walkthrough does not use. A batch is verified on L1 only after every
// batch before it, so the families the walkthrough uses first come first.
var SetupOrder = []types.Family{types.FamilyPriority, types.FamilyModelAdmin, types.FamilyTrade, types.FamilyBuyCredits,
	types.FamilyRedeemCredits, types.FamilyClaimRevenue, types.FamilyAssetTransfer, types.FamilyCancel, types.FamilyWithdraw,
	types.FamilyTransfer}

// setupOrder is fams in SetupOrder (deduplicated; a family SetupOrder
// does not name goes last, in fams' order).
func setupOrder(fams []types.Family) []types.Family {
	var out []types.Family
	for _, f := range SetupOrder {
		if slices.Contains(fams, f) {
			out = append(out, f)
		}
	}
	for _, f := range fams {
		if !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out
}

// Start starts the L1, deploys the bridge (from the devnet's deployer,
// devchain.DevDeployerKey; dev account 0 operates the rollup and holds L2
// account 0, the fee account) and starts the node, which answers at once;
// every family's keys and verifier follow in the background (Ready).
func Start(ctx context.Context, cfg Config) (*Devnet, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Progress == nil {
		cfg.Progress = func(msg string) { cfg.Logger.Info(msg) }
	}
	if cfg.BlockTime == 0 {
		cfg.BlockTime = time.Second
	}
	if cfg.Accounts == 0 {
		cfg.Accounts = devchain.DefaultAccounts
	}
	if err := cfg.Params.Check(); err != nil {
		return nil, fmt.Errorf("%w: %w", node.ErrConfig, err)
	}
	fams := cfg.Families
	if fams == nil {
		fams = types.AllFamilies()
	}
	fams = setupOrder(fams)
	if len(fams) == 0 {
		return nil, fmt.Errorf("%w: no families", node.ErrConfig)
	}
	chain, err := devchain.StartChain(devchain.ChainConfig{HTTPAddr: cfg.L1Addr, BlockTime: cfg.BlockTime, Accounts: cfg.Accounts})
	if err != nil {
		return nil, err
	}
	op := chain.Keys()[0]
	opAddr := crypto.PubkeyToAddress(op.PublicKey)
	staged, err := deploy.StartStaged(ctx, chain.Client(), deploy.StagedConfig{
		Config: deploy.Config{
			Params: cfg.Params, ParamsName: "devnet", Deployer: devchain.DevDeployerKey(),
			Operator: opAddr, Governor: opAddr, FeeAccount: types.PublicKeyOf(devchain.DevL2Key(0)),
			AllowInsecureKeys: true, Poll: 100 * time.Millisecond, Progress: cfg.Progress,
		},
		Families: fams,
	})
	if err != nil {
		chain.Close()
		return nil, fmt.Errorf("devnet: %w", err)
	}
	rec := staged.Record()
	verifiers := map[types.Family]common.Address{}
	for i, f := range fams {
		verifiers[f] = rec.Families[i].Verifier.Address
	}
	ru := &devchain.Rollup{
		Contract:    bridge.NewContract(chain.Client(), rec.Bridge.Address),
		Domain:      types.Domain{ChainID: rec.ChainID, Bridge: rec.Bridge.Address},
		Verifiers:   verifiers,
		Params:      cfg.Params,
		DeployBlock: rec.DeployBlock,
		Record:      rec,
	}
	// A devnet always allows the INSECURE dev keys it makes (the implicit
	// --insecure-dev-keys); the node says so in its log and node_contracts.
	ncfg := node.Config{
		DataDir: cfg.DataDir, DataDirLock: cfg.DataDirLock, Params: cfg.Params, L1: chain.Client(), Bridge: ru.Contract.Address,
		OperatorKey: op, FromBlock: ru.DeployBlock, L1Poll: 200 * time.Millisecond,
		Provers: map[types.Family]prover.Prover{}, AwaitProvers: fams, InsecureDevKeys: true,
		ProverWorkers: cfg.ProverWorkers, ProveAttempts: cfg.ProveAttempts, BatchTimeout: cfg.BatchTimeout,
		FamilyWait: cfg.FamilyWait, MakerFeeBips: 2, TakerFeeBips: 5,
		RPC:    cfg.rpcConfig(),
		Logger: cfg.Logger,
	}
	n, err := node.New(ctx, ncfg)
	if err != nil {
		chain.Close()
		return nil, err
	}
	if err := n.Start(ctx); err != nil {
		_ = n.Stop(ctx)
		chain.Close()
		return nil, err
	}
	sctx, cancel := context.WithCancel(context.Background())
	d := &Devnet{Chain: chain, Rollup: ru, Node: n, staged: staged, cancel: cancel,
		ready: make(chan struct{}), done: make(chan struct{}), keys: map[types.Family]*prover.Keys{}, nodeCfg: ncfg}
	go d.setup(sctx, cfg, fams)
	return d, nil
}

// setup makes or loads each family's keys in turn, deploys its verifier
// and gives the node its prover.
func (d *Devnet) setup(ctx context.Context, cfg Config, fams []types.Family) {
	defer close(d.done)
	start := time.Now()
	var cached []bool
	for _, f := range fams {
		cached = append(cached, devchain.KeysCached(cfg.KeyDir, cfg.Params, f))
	}
	var made, loaded []time.Duration // per family, by kind
	for i, f := range fams {
		t0 := time.Now()
		nth := fmt.Sprintf("%d of %d", i+1, len(fams))
		keys, err := devchain.PrepareKeys(ctx, cfg.Params, cfg.KeyDir, f, nth, cfg.Progress)
		if err == nil {
			err = d.addFamily(ctx, f, keys)
		}
		if err != nil {
			if ctx.Err() == nil {
				d.mu.Lock()
				d.setupErr = fmt.Errorf("devnet: %v: %w", f, err)
				d.mu.Unlock()
				cfg.Logger.Error("devnet: family setup failed; its batches cannot be proven", "family", f, "err", err)
			}
			return
		}
		took := time.Since(t0)
		if cached[i] {
			loaded = append(loaded, took)
		} else {
			made = append(made, took)
		}
		left := estimateLeft(cached[i+1:], made, loaded)
		cfg.Progress(fmt.Sprintf("%v proven-ready (%s): keys and verifier in %s; elapsed %s, %s", f, nth,
			round(took), round(time.Since(start)), left))
	}
	cfg.Progress(fmt.Sprintf("every family proven-ready (%d): the devnet proves and verifies every batch; setup took %s", len(fams), round(time.Since(start))))
	close(d.ready)
}

// addFamily deploys f's verifier and gives the node its prover, unless
// the devnet is stopping.
func (d *Devnet) addFamily(ctx context.Context, f types.Family, keys *prover.Keys) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.stopped {
		return context.Canceled
	}
	if _, err := d.staged.DeployVerifier(ctx, f, keys); err != nil {
		return err
	}
	pv := prover.NewCPU(keys)
	if err := d.Node.AddProver(f, pv); err != nil {
		return err
	}
	d.keys[f] = keys
	d.nodeCfg.Provers = maps.Clone(d.nodeCfg.Provers)
	d.nodeCfg.Provers[f] = pv
	d.nodeCfg.AwaitProvers = slices.DeleteFunc(slices.Clone(d.nodeCfg.AwaitProvers), func(g types.Family) bool { return g == f })
	return nil
}

// estimateLeft estimates the setup time left: each family still to make
// takes the mean of those made so far, each cached one the mean load.
func estimateLeft(rest []bool, made, loaded []time.Duration) string {
	if len(rest) == 0 {
		return "none left"
	}
	mean := func(ds []time.Duration) (time.Duration, bool) {
		if len(ds) == 0 {
			return 0, false
		}
		var t time.Duration
		for _, d := range ds {
			t += d
		}
		return t / time.Duration(len(ds)), true
	}
	mMade, okMade := mean(made)
	mLoad, okLoad := mean(loaded)
	var left time.Duration
	for _, c := range rest {
		switch {
		case c && okLoad:
			left += mLoad
		case c:
			left += time.Second
		case okMade:
			left += mMade
		default:
			return fmt.Sprintf("%d families left (an estimate follows the first one made)", len(rest))
		}
	}
	if len(rest) == 1 {
		return fmt.Sprintf("1 family left, about %s", round(left))
	}
	return fmt.Sprintf("%d families left, about %s", len(rest), round(left))
}

func round(d time.Duration) time.Duration {
	if d < 10*time.Second {
		return d.Round(100 * time.Millisecond)
	}
	return d.Round(time.Second)
}

// Ready is closed once every family's verifier is on L1 and the node has
// its prover (WaitReady reports a setup that failed).
func (d *Devnet) Ready() <-chan struct{} { return d.ready }

// WaitReady waits until every family is proven-ready, the setup failed
// (its error), or ctx ends.
func (d *Devnet) WaitReady(ctx context.Context) error {
	select {
	case <-d.ready:
		return nil
	case <-d.done:
		d.mu.Lock()
		defer d.mu.Unlock()
		if d.setupErr != nil {
			return d.setupErr
		}
		select {
		case <-d.ready:
			return nil
		default:
			return fmt.Errorf("devnet: setup stopped: %w", context.Canceled)
		}
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Record is the deployment's record so far: the bridge and every planned
// verifier address; each family's key and code hash once its verifier is
// deployed; Complete once every one is.
func (d *Devnet) Record() *deploy.Record { return d.staged.Record() }

// Keys are the families' keys made or loaded so far.
func (d *Devnet) Keys() map[types.Family]*prover.Keys {
	d.mu.Lock()
	defer d.mu.Unlock()
	return maps.Clone(d.keys)
}

// Stop stops the background setup (a compile or dev setup in progress runs
// to its end, unwaited; nothing after it touches the devnet), the node and
// the L1.
func (d *Devnet) Stop(ctx context.Context) error {
	d.cancel()
	d.mu.Lock() // waits for a verifier deployment in flight (it ends on the cancel)
	d.stopped = true
	n := d.Node
	d.mu.Unlock()
	err := n.Stop(ctx)
	if cerr := d.Chain.Close(); err == nil {
		err = cerr
	}
	return err
}

// DevAccount is a funded dev account as the devnet prints it.
type DevAccount struct {
	Index   int
	Address common.Address
	L1Key   string // hex, no 0x
	L2Key   string // hex of the EdDSA private key's bytes
}

// DevAccounts lists the funded dev accounts.
func (d *Devnet) DevAccounts() []DevAccount {
	out := []DevAccount{}
	for i, k := range d.Chain.Keys() {
		out = append(out, DevAccount{Index: i, Address: crypto.PubkeyToAddress(k.PublicKey),
			L1Key: fmt.Sprintf("%x", crypto.FromECDSA(k)), L2Key: fmt.Sprintf("%x", devchain.DevL2Key(i).Bytes())})
	}
	return out
}

// RestartNode stops the node and starts a new one over the same data
// directory and L1 (the restart the end-to-end test makes mid-flow), with
// the provers the setup has added so far (the rest are still awaited).
func (d *Devnet) RestartNode(ctx context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.Node.Stop(ctx); err != nil {
		return err
	}
	n, err := node.New(ctx, d.nodeCfg)
	if err != nil {
		return err
	}
	if err := n.Start(ctx); err != nil {
		_ = n.Stop(ctx)
		return err
	}
	d.Node = n
	return nil
}

func (cfg Config) rpcConfig() rpc.Config {
	r := cfg.RPC
	r.Addr, r.Admin = cfg.RPCAddr, cfg.Admin
	return r
}
