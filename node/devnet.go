package node

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/modex/modex/node/devchain"
	"github.com/modex/modex/prover"
	"github.com/modex/modex/rpc"
	"github.com/modex/modex/types"
)

// DevnetConfig configures a one-process development network.
type DevnetConfig struct {
	DataDir  string // the node's data ("" in memory)
	KeyDir   string // cache of circuits, dev keys and verifiers ("" none)
	L1Addr   string // the embedded L1's JSON-RPC ("127.0.0.1:8545"; "" none)
	RPCAddr  string // the rollup API ("127.0.0.1:8645")
	Admin    bool   // serve the admin namespace
	Params   types.Params
	Families []types.Family // verifiers to deploy (nil: all)
	Accounts int            // funded dev accounts (default 10)
	// BlockTime: the L1 mines pending transactions at once and an empty
	// block at least this often (default 1 s).
	BlockTime     time.Duration
	BatchTimeout  time.Duration
	FamilyWait    time.Duration
	ProverWorkers int
	Logger        *slog.Logger
	Progress      func(msg string)
}

// Devnet is an embedded L1 with the rollup deployed and a node running.
type Devnet struct {
	Chain  *devchain.Chain
	Rollup *devchain.Rollup
	Node   *Node
}

// DevL2Key is dev account i's L2 (EdDSA) key, derived from a fixed seed:
// the devnet prints it, the wallet can import it.
func DevL2Key(i int) *types.PrivateKey {
	seed := sha256.Sum256([]byte("modex devnet l2 key " + strconv.Itoa(i)))
	k, err := types.GenerateKey(chachaReader{rand.NewChaCha8(seed)})
	if err != nil {
		panic(fmt.Sprintf("devnet: l2 key %d: %v", i, err))
	}
	return k
}

type chachaReader struct{ r *rand.ChaCha8 }

func (c chachaReader) Read(p []byte) (int, error) { return c.r.Read(p) }

var _ io.Reader = chachaReader{}

// StartDevnet starts the L1, deploys the rollup (dev account 0 operates it
// and holds L2 account 0, the fee account) and starts a node.
func StartDevnet(ctx context.Context, cfg DevnetConfig) (*Devnet, error) {
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
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	chain, err := devchain.StartChain(devchain.ChainConfig{HTTPAddr: cfg.L1Addr, BlockTime: cfg.BlockTime, Accounts: cfg.Accounts})
	if err != nil {
		return nil, err
	}
	keys := chain.Keys()
	op := keys[0]
	ru, err := devchain.DeployRollup(ctx, chain.Client(), devchain.DeployConfig{
		Params: cfg.Params, Families: cfg.Families, KeyDir: cfg.KeyDir, Operator: op,
		OperatorL2: types.PublicKeyOf(DevL2Key(0)), Progress: cfg.Progress,
	})
	if err != nil {
		chain.Close()
		return nil, err
	}
	provers := map[types.Family]prover.Prover{}
	for f, k := range ru.Keys {
		provers[f] = prover.NewCPU(k)
	}
	n, err := New(ctx, Config{
		DataDir: cfg.DataDir, Params: cfg.Params, L1: chain.Client(), Bridge: ru.Contract.Address,
		OperatorKey: op, FromBlock: ru.DeployBlock, L1Poll: 200 * time.Millisecond,
		Provers: provers, ProverWorkers: cfg.ProverWorkers, BatchTimeout: cfg.BatchTimeout,
		FamilyWait: cfg.FamilyWait, MakerFeeBips: 2, TakerFeeBips: 5,
		RPC:    rpc.Config{Addr: cfg.RPCAddr, Admin: cfg.Admin},
		Logger: cfg.Logger,
	})
	if err != nil {
		chain.Close()
		return nil, err
	}
	if err := n.Start(ctx); err != nil {
		_ = n.Stop(ctx)
		chain.Close()
		return nil, err
	}
	return &Devnet{Chain: chain, Rollup: ru, Node: n}, nil
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
			L1Key: fmt.Sprintf("%x", crypto.FromECDSA(k)), L2Key: fmt.Sprintf("%x", DevL2Key(i).Bytes())})
	}
	return out
}

// RestartNode stops the node and starts a new one over the same data
// directory and L1 (the restart the end-to-end test makes mid-flow).
func (d *Devnet) RestartNode(ctx context.Context) error {
	cfg := d.Node.cfg
	if err := d.Node.Stop(ctx); err != nil {
		return err
	}
	n, err := New(ctx, cfg)
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
