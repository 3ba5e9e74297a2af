package devchain

import (
	"context"
	"crypto/ecdsa"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/big"
	"math/rand/v2"
	"net"
	"reflect"
	"strconv"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	ethtypes "github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/eth/ethconfig"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/ethclient/simulated"
	"github.com/ethereum/go-ethereum/node"
	"github.com/ethereum/go-ethereum/rpc"

	"github.com/modex/modex/bridge"
	"github.com/modex/modex/types"
)

// ChainConfig configures the embedded L1.
type ChainConfig struct {
	// HTTPAddr is the host:port of the HTTP and websocket JSON-RPC endpoint
	// (namespaces eth, net, web3), e.g. "127.0.0.1:8545"; port 0 picks a free
	// port (Chain.URL reports it); "" serves no endpoint.
	HTTPAddr string
	// BlockTime: 0 mines a block as soon as a transaction is pending (checked
	// every PollInterval); > 0 also mines an empty block when BlockTime has
	// passed since the last block, so L1 time advances.
	BlockTime time.Duration
	// Accounts is the number of funded dev accounts (0: DefaultAccounts).
	// Key i is keccak256("modex devnet key " + decimal i) (DevKey).
	Accounts int
	// Balance of each dev account in wei (nil: DefaultBalance, 10,000 ETH).
	Balance *big.Int
}

// DefaultAccounts is the number of dev accounts when ChainConfig.Accounts is 0.
const DefaultAccounts = 10

// PollInterval is how often the miner looks for pending transactions.
const PollInterval = 50 * time.Millisecond

// DefaultBalance is each dev account's balance when ChainConfig.Balance is nil.
var DefaultBalance = new(big.Int).Mul(big.NewInt(10_000), big.NewInt(1_000_000_000_000_000_000))

// DevKey is the i-th deterministic dev key: keccak256("modex devnet key " + i)
// as a secp256k1 private key. Public knowledge: devnets only.
func DevKey(i int) *ecdsa.PrivateKey {
	seed := crypto.Keccak256([]byte("modex devnet key " + strconv.Itoa(i)))
	k, err := crypto.ToECDSA(seed)
	if err != nil {
		// A keccak output is a valid scalar except with negligible probability;
		// the keys for small i are fixed and known to be valid.
		panic(fmt.Sprintf("devchain: dev key %d: %v", i, err))
	}
	return k
}

// DevDeployerKey is the devnet's deployer: keccak256("modex devnet
// deployer") as a secp256k1 private key, funded with DefaultBalance in every
// chain's genesis but not one of the dev accounts (Keys). The devnet deploys
// its contracts from it, so verifiers deployed while the node runs never race
// the operator's (dev account 0's) batch commits for a nonce. Public
// knowledge: devnets only.
func DevDeployerKey() *ecdsa.PrivateKey {
	k, err := crypto.ToECDSA(crypto.Keccak256([]byte("modex devnet deployer")))
	if err != nil {
		panic(fmt.Sprintf("devchain: deployer key: %v", err))
	}
	return k
}

// DevL2Key is dev account i's L2 (EdDSA) key, derived from a fixed seed
// (sha256("modex devnet l2 key " + i) seeds ChaCha8): the devnet prints it,
// the wallet can import it. Public knowledge: devnets only.
func DevL2Key(i int) *types.PrivateKey {
	seed := sha256.Sum256([]byte("modex devnet l2 key " + strconv.Itoa(i)))
	k, err := types.GenerateKey(chachaReader{rand.NewChaCha8(seed)})
	if err != nil {
		panic(fmt.Sprintf("devchain: l2 key %d: %v", i, err))
	}
	return k
}

type chachaReader struct{ r *rand.ChaCha8 }

func (c chachaReader) Read(p []byte) (int, error) { return c.r.Read(p) }

// Chain is a running embedded L1 with its miner.
type Chain struct {
	backend *simulated.Backend
	client  simulated.Client
	rpc     *rpc.Client // in-process, every namespace (txpool included); may be nil
	url     string
	chainID *big.Int
	keys    []*ecdsa.PrivateKey
	addrs   []common.Address

	blockTime time.Duration

	mu        sync.Mutex // serializes Commit, AdjustTime and Close
	closed    bool
	lastBlock time.Time // when the last block was mined (guarded by mu)

	stop chan struct{}
	done chan struct{}
}

// Client is the chain's in-process client; it satisfies bridge.L1.
var _ bridge.L1 = simulated.Client(nil)

// StartChain starts the embedded L1 and its miner.
func StartChain(cfg ChainConfig) (*Chain, error) {
	if cfg.Accounts < 0 {
		return nil, fmt.Errorf("devchain: %d accounts", cfg.Accounts)
	}
	if cfg.Accounts == 0 {
		cfg.Accounts = DefaultAccounts
	}
	if cfg.Balance == nil {
		cfg.Balance = DefaultBalance
	}
	if cfg.BlockTime < 0 {
		return nil, fmt.Errorf("devchain: negative block time %v", cfg.BlockTime)
	}
	c := &Chain{blockTime: cfg.BlockTime, stop: make(chan struct{}), done: make(chan struct{})}
	alloc := ethtypes.GenesisAlloc{}
	for i := 0; i < cfg.Accounts; i++ {
		k := DevKey(i)
		a := crypto.PubkeyToAddress(k.PublicKey)
		c.keys = append(c.keys, k)
		c.addrs = append(c.addrs, a)
		alloc[a] = ethtypes.Account{Balance: new(big.Int).Set(cfg.Balance)}
	}
	alloc[crypto.PubkeyToAddress(DevDeployerKey().PublicKey)] = ethtypes.Account{Balance: new(big.Int).Set(DefaultBalance)}

	var host string
	var port int
	if cfg.HTTPAddr != "" {
		h, p, err := net.SplitHostPort(cfg.HTTPAddr)
		if err != nil {
			return nil, fmt.Errorf("devchain: HTTP address %q: %w", cfg.HTTPAddr, err)
		}
		if port, err = strconv.Atoi(p); err != nil || port < 0 || port > 65535 {
			return nil, fmt.Errorf("devchain: HTTP address %q: bad port", cfg.HTTPAddr)
		}
		if h == "" {
			h = "127.0.0.1"
		}
		host = h
	}

	// The node cannot report the port it bound for port 0 (the backend keeps
	// its node private), so a free port is picked here first. Another process
	// may take it in between: retry a few times.
	var backend *simulated.Backend
	var err error
	for attempt := 0; ; attempt++ {
		p := port
		if host != "" && port == 0 {
			if p, err = freePort(host); err != nil {
				return nil, fmt.Errorf("devchain: pick a free port on %s: %w", host, err)
			}
		}
		backend, err = newBackend(alloc, host, p)
		if err == nil {
			if host != "" {
				c.url = "http://" + net.JoinHostPort(host, strconv.Itoa(p))
			}
			break
		}
		if host == "" || port != 0 || attempt == 4 {
			return nil, err
		}
	}
	c.backend = backend
	c.client = backend.Client()
	c.rpc = rpcClient(c.client)
	id, err := c.client.ChainID(context.Background())
	if err != nil {
		backend.Close()
		return nil, fmt.Errorf("devchain: chain ID: %w", err)
	}
	c.chainID = id
	c.lastBlock = time.Now()
	go c.mine()
	return c, nil
}

// newBackend starts the simulated backend, turning its panics (a port in use)
// into errors.
func newBackend(alloc ethtypes.GenesisAlloc, host string, port int) (b *simulated.Backend, err error) {
	defer func() {
		if r := recover(); r != nil {
			b, err = nil, fmt.Errorf("devchain: start L1: %v", r)
		}
	}()
	return simulated.NewBackend(alloc, func(nc *node.Config, ec *ethconfig.Config) {
		if host == "" {
			nc.HTTPHost, nc.WSHost = "", ""
			return
		}
		nc.HTTPHost, nc.HTTPPort = host, port
		nc.HTTPModules = []string{"eth", "net", "web3"}
		nc.HTTPVirtualHosts = []string{"*"}
		nc.HTTPCors = []string{"*"}
		// Same host and port: the node serves websocket on the HTTP server.
		nc.WSHost, nc.WSPort = host, port
		nc.WSModules = []string{"eth", "net", "web3"}
		nc.WSOrigins = []string{"*"}
	}), nil
}

func freePort(host string) (int, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// mine is the miner goroutine.
func (c *Chain) mine() {
	defer close(c.done)
	t := time.NewTicker(PollInterval)
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
		}
		n, err := c.pending()
		if err != nil {
			continue // closing, or a transient error: try again next tick
		}
		c.mu.Lock()
		due := c.blockTime > 0 && time.Since(c.lastBlock) >= c.blockTime
		if !c.closed && (n > 0 || due) {
			c.commitLocked()
		}
		c.mu.Unlock()
	}
}

// rpcClient digs the in-process *rpc.Client out of the simulated client.
// simulated.Client hides it on purpose (its wrapper's embedded field named
// Client shadows ethclient's Client method), but the miner needs txpool_status:
// the "pending" block that PendingTransactionCount reads is cached by geth's
// miner for up to 2 s, so new transactions would wait that long. nil when the
// wrapper changes shape (the miner then falls back to PendingTransactionCount).
func rpcClient(c simulated.Client) *rpc.Client {
	v := reflect.ValueOf(c)
	if v.Kind() != reflect.Struct {
		return nil
	}
	f := v.FieldByName("Client")
	if !f.IsValid() || !f.CanInterface() {
		return nil
	}
	ec, ok := f.Interface().(*ethclient.Client)
	if !ok || ec == nil {
		return nil
	}
	return ec.Client()
}

// pending is the number of executable transactions in the pool.
func (c *Chain) pending() (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if c.rpc == nil {
		n, err := c.client.PendingTransactionCount(ctx)
		return int(n), err
	}
	var st struct {
		Pending hexutil.Uint `json:"pending"`
	}
	if err := c.rpc.CallContext(ctx, &st, "txpool_status"); err != nil {
		return 0, err
	}
	return int(st.Pending), nil
}

func (c *Chain) commitLocked() common.Hash {
	h := c.backend.Commit()
	c.lastBlock = time.Now()
	return h
}

// ErrClosed is returned by Mine and AdjustTime after Close.
var ErrClosed = errors.New("devchain: chain closed")

// Mine mines a block now with the pending transactions and returns its hash.
func (c *Chain) Mine() (common.Hash, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return common.Hash{}, ErrClosed
	}
	return c.commitLocked(), nil
}

// AdjustTime mines pending transactions, if any, then mines an empty block
// whose timestamp is d (whole seconds) after its parent's.
func (c *Chain) AdjustTime(d time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return ErrClosed
	}
	if n, err := c.pending(); err != nil {
		return err
	} else if n > 0 {
		c.commitLocked()
	}
	if err := c.backend.AdjustTime(d); err != nil {
		return fmt.Errorf("devchain: adjust time: %w", err)
	}
	c.lastBlock = time.Now()
	return nil
}

// Client is the in-process client (it satisfies bridge.L1).
func (c *Chain) Client() simulated.Client { return c.client }

// Backend is the simulated backend (Commit, Fork, Rollback for tests; prefer
// Mine, which is serialized with the miner).
func (c *Chain) Backend() *simulated.Backend { return c.backend }

// URL is the HTTP JSON-RPC endpoint ("http://host:port"; the same port serves
// websocket at ws://host:port), or "" without one.
func (c *Chain) URL() string { return c.url }

// ChainID is the chain's ID (1337, the simulated backend's).
func (c *Chain) ChainID() *big.Int { return new(big.Int).Set(c.chainID) }

// Keys are the funded dev accounts' private keys (DevKey(0), DevKey(1), …).
func (c *Chain) Keys() []*ecdsa.PrivateKey { return append([]*ecdsa.PrivateKey(nil), c.keys...) }

// Addresses are the funded dev accounts' addresses, in Keys' order.
func (c *Chain) Addresses() []common.Address { return append([]common.Address(nil), c.addrs...) }

// Close stops the miner and the chain. It is safe to call more than once.
func (c *Chain) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	close(c.stop)
	c.mu.Unlock()
	<-c.done
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.backend.Close()
}
