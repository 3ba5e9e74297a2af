package devnet

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

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
type Devnet struct {
	Chain  *devchain.Chain
	Rollup *devchain.Rollup
	Node   *node.Node

	nodeCfg node.Config // what Node was made from, for RestartNode
}

// Start starts the L1, deploys the rollup (dev account 0 operates it
// and holds L2 account 0, the fee account) and starts a node.
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
	chain, err := devchain.StartChain(devchain.ChainConfig{HTTPAddr: cfg.L1Addr, BlockTime: cfg.BlockTime, Accounts: cfg.Accounts})
	if err != nil {
		return nil, err
	}
	keys := chain.Keys()
	op := keys[0]
	ru, err := devchain.DeployRollup(ctx, chain.Client(), devchain.DeployConfig{
		Params: cfg.Params, Families: cfg.Families, KeyDir: cfg.KeyDir, Operator: op,
		OperatorL2: types.PublicKeyOf(devchain.DevL2Key(0)), Progress: cfg.Progress,
	})
	if err != nil {
		chain.Close()
		return nil, err
	}
	// A devnet always allows the INSECURE dev keys it makes (the implicit
	// --insecure-dev-keys); the node says so in its log and node_contracts.
	provers := map[types.Family]prover.Prover{}
	insecure := false
	for f, k := range ru.Keys {
		provers[f] = prover.NewCPU(k)
		insecure = insecure || k.Insecure
	}
	ncfg := node.Config{
		DataDir: cfg.DataDir, DataDirLock: cfg.DataDirLock, Params: cfg.Params, L1: chain.Client(), Bridge: ru.Contract.Address,
		OperatorKey: op, FromBlock: ru.DeployBlock, L1Poll: 200 * time.Millisecond,
		Provers: provers, InsecureDevKeys: insecure, ProverWorkers: cfg.ProverWorkers, ProveAttempts: cfg.ProveAttempts, BatchTimeout: cfg.BatchTimeout,
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
	return &Devnet{Chain: chain, Rollup: ru, Node: n, nodeCfg: ncfg}, nil
}

// Stop stops the node and the L1.
func (d *Devnet) Stop(ctx context.Context) error {
	err := d.Node.Stop(ctx)
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
// directory and L1 (the restart the end-to-end test makes mid-flow).
func (d *Devnet) RestartNode(ctx context.Context) error {
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
