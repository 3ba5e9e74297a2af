package devchain

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"math/big"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	ethtypes "github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/rpc"

	"github.com/modex/modex/bench/workload"
	"github.com/modex/modex/bridge"
	"github.com/modex/modex/types"
)

func startChain(t *testing.T, cfg ChainConfig) *Chain {
	t.Helper()
	c, err := StartChain(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Error(err)
		}
	})
	return c
}

// sendTx signs and sends a dynamic-fee transaction through l1 and returns it
// (not waiting for it).
func sendTx(t *testing.T, l1 bridge.L1, chainID *big.Int, key *ecdsa.PrivateKey, to common.Address, value *big.Int, data []byte) *ethtypes.Transaction {
	t.Helper()
	ctx := context.Background()
	from := crypto.PubkeyToAddress(key.PublicKey)
	nonce, err := l1.PendingNonceAt(ctx, from)
	if err != nil {
		t.Fatal(err)
	}
	gas, err := l1.EstimateGas(ctx, ethereum.CallMsg{From: from, To: &to, Value: value, Data: data})
	if err != nil {
		t.Fatal(bridge.Revert(err))
	}
	head, err := l1.HeaderByNumber(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	tip := big.NewInt(1_000_000_000)
	feeCap := new(big.Int).Add(new(big.Int).Mul(head.BaseFee, big.NewInt(2)), tip)
	tx, err := ethtypes.SignNewTx(key, ethtypes.LatestSignerForChainID(chainID), &ethtypes.DynamicFeeTx{
		ChainID: chainID, Nonce: nonce, GasTipCap: tip, GasFeeCap: feeCap, Gas: gas + gas/4, To: &to, Value: value, Data: data,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := l1.SendTransaction(ctx, tx); err != nil {
		t.Fatal(err)
	}
	return tx
}

func waitReceipt(t *testing.T, l1 bridge.L1, tx *ethtypes.Transaction) *ethtypes.Receipt {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r, err := waitSuccess(ctx, l1, tx)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestDevKeys(t *testing.T) {
	c := startChain(t, ChainConfig{Accounts: 3})
	if len(c.Keys()) != 3 || len(c.Addresses()) != 3 {
		t.Fatalf("%d keys, %d addresses", len(c.Keys()), len(c.Addresses()))
	}
	want := crypto.Keccak256([]byte("modex devnet key 1"))
	if got := crypto.FromECDSA(c.Keys()[1]); !strings.EqualFold(common.Bytes2Hex(got), common.Bytes2Hex(want)) {
		t.Fatalf("key 1 = %x, want %x", got, want)
	}
	for i, a := range c.Addresses() {
		b, err := c.Client().BalanceAt(context.Background(), a, nil)
		if err != nil {
			t.Fatal(err)
		}
		if b.Cmp(DefaultBalance) != 0 {
			t.Fatalf("account %d balance %v", i, b)
		}
	}
	// The deployer is funded and is none of the dev accounts.
	dep := crypto.PubkeyToAddress(DevDeployerKey().PublicKey)
	if b, err := c.Client().BalanceAt(context.Background(), dep, nil); err != nil || b.Cmp(DefaultBalance) != 0 {
		t.Fatalf("deployer balance %v (%v)", b, err)
	}
	if slices.Contains(c.Addresses(), dep) || slices.Contains(startChain(t, ChainConfig{}).Addresses(), dep) {
		t.Fatalf("the deployer %s is listed among the dev accounts", dep)
	}
	if c.URL() != "" {
		t.Fatalf("URL %q without HTTPAddr", c.URL())
	}
	if c.ChainID().Cmp(big.NewInt(1337)) != 0 {
		t.Fatalf("chain ID %v", c.ChainID())
	}
}

// TestHTTP: a real HTTP JSON-RPC round trip (and websocket on the same port),
// and a transfer sent over HTTP is mined by the miner goroutine.
func TestHTTP(t *testing.T) {
	c := startChain(t, ChainConfig{HTTPAddr: "127.0.0.1:0", Accounts: 2})
	if !strings.HasPrefix(c.URL(), "http://127.0.0.1:") || strings.HasSuffix(c.URL(), ":0") {
		t.Fatalf("URL %q", c.URL())
	}
	ctx := context.Background()
	cl, err := ethclient.Dial(c.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	id, err := cl.ChainID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if id.Cmp(c.ChainID()) != 0 {
		t.Fatalf("eth_chainId %v, want %v", id, c.ChainID())
	}
	ws, err := rpc.Dial("ws" + strings.TrimPrefix(c.URL(), "http"))
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	var netVersion string
	if err := ws.CallContext(ctx, &netVersion, "net_version"); err != nil {
		t.Fatal(err)
	}
	if netVersion != "1337" {
		t.Fatalf("net_version %q", netVersion)
	}

	// A port in use is an error, not a panic.
	if c2, err := StartChain(ChainConfig{HTTPAddr: strings.TrimPrefix(c.URL(), "http://")}); err == nil {
		c2.Close()
		t.Fatal("second chain on the same port started")
	} else {
		t.Logf("port in use: %v", err)
	}

	to := common.HexToAddress("0x00000000000000000000000000000000000d0e0d")
	value := big.NewInt(123_456_789)
	start := time.Now()
	tx := sendTx(t, cl, id, c.Keys()[0], to, value, nil)
	r := waitReceipt(t, cl, tx) // no Mine: the miner goroutine mines it
	t.Logf("transfer mined in block %d after %v", r.BlockNumber, time.Since(start).Round(time.Millisecond))
	b, err := cl.BalanceAt(ctx, to, nil)
	if err != nil {
		t.Fatal(err)
	}
	if b.Cmp(value) != 0 {
		t.Fatalf("balance %v, want %v", b, value)
	}
}

func TestBlockTime(t *testing.T) {
	c := startChain(t, ChainConfig{BlockTime: 100 * time.Millisecond, Accounts: 1})
	ctx := context.Background()
	n0, err := c.Client().BlockNumber(ctx)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		n, err := c.Client().BlockNumber(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if n >= n0+3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("block %d after 5 s (from %d) with a 100 ms block time", n, n0)
		}
		time.Sleep(50 * time.Millisecond)
	}

	// Without BlockTime no empty blocks; Mine and AdjustTime still work.
	c2 := startChain(t, ChainConfig{Accounts: 1})
	h0, err := c2.Client().HeaderByNumber(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	if n, _ := c2.Client().BlockNumber(ctx); n != h0.Number.Uint64() {
		t.Fatalf("empty block mined without BlockTime: %d → %d", h0.Number, n)
	}
	if _, err := c2.Mine(); err != nil {
		t.Fatal(err)
	}
	if err := c2.AdjustTime(time.Hour); err != nil {
		t.Fatal(err)
	}
	h, err := c2.Client().HeaderByNumber(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if h.Number.Uint64() != h0.Number.Uint64()+2 || h.Time < h0.Time+3600 {
		t.Fatalf("after Mine + AdjustTime(1h): block %d time %d; before %d time %d", h.Number, h.Time, h0.Number, h0.Time)
	}
	if err := c2.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := c2.Mine(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Mine after Close: %v", err)
	}
}

func testParams() types.Params {
	p := types.TestParams()
	p.BatchCapacity = 2
	return p
}

// TestDeployRollup deploys the Priority verifier and the bridge with a fresh
// key cache, deposits ETH, then deploys again from the cache.
func TestDeployRollup(t *testing.T) {
	c := startChain(t, ChainConfig{Accounts: 3})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	opL2, err := workload.Key(0)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var lines []string
	cfg := DeployConfig{
		Params:     testParams(),
		Families:   []types.Family{types.FamilyPriority},
		KeyDir:     t.TempDir(),
		Operator:   c.Keys()[0],
		Governor:   c.Keys()[1],
		OperatorL2: types.PublicKeyOf(opL2),
		Progress: func(msg string) {
			mu.Lock()
			defer mu.Unlock()
			lines = append(lines, msg)
			t.Log(msg)
		},
	}
	start := time.Now()
	r, err := DeployRollup(ctx, c.Client(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	cold := time.Since(start)
	if r.Domain.ChainID != 1337 || r.Domain.Bridge != r.Contract.Address {
		t.Fatalf("domain %+v, bridge %s", r.Domain, r.Contract.Address)
	}
	if r.Keys[types.FamilyPriority] == nil || r.Verifiers[types.FamilyPriority] == (common.Address{}) || len(r.Verifiers) != 1 {
		t.Fatalf("keys %v verifiers %v", r.Keys, r.Verifiers)
	}
	code, err := c.Client().CodeAt(ctx, r.Contract.Address, nil)
	if err != nil || len(code) == 0 {
		t.Fatalf("no bridge code (%v)", err)
	}
	if r.DeployBlock == 0 {
		t.Fatal("deploy block 0")
	}

	// A deposit from a user emits a PriorityRequest.
	user := c.Keys()[2]
	l2, err := workload.Key(1)
	if err != nil {
		t.Fatal(err)
	}
	pk := types.PublicKeyOf(l2)
	data := bridge.ABI.PackDepositETH(pk.X.BigInt(new(big.Int)), pk.Y.BigInt(new(big.Int)))
	wei := new(big.Int).Mul(big.NewInt(3), big.NewInt(1_000_000_000_000_000_000))
	rc := waitReceipt(t, c.Client(), sendTx(t, c.Client(), c.ChainID(), user, r.Contract.Address, wei, data))
	var reqs []types.Tx
	for _, lg := range rc.Logs {
		if len(lg.Topics) == 0 || lg.Topics[0] != bridge.EventID("PriorityRequest") {
			continue
		}
		ev, err := bridge.ABI.UnpackPriorityRequestEvent(lg)
		if err != nil {
			t.Fatal(err)
		}
		tx, err := bridge.DecodeRequest(ev.Id, ev.Request)
		if err != nil {
			t.Fatal(err)
		}
		reqs = append(reqs, tx)
	}
	if len(reqs) != 1 {
		t.Fatalf("%d PriorityRequest events", len(reqs))
	}
	d, ok := reqs[0].(*types.Deposit)
	if !ok || d.L1Address != crypto.PubkeyToAddress(user.PublicKey) || !d.PubKey.Equal(pk) || d.Amount.IsZero() || d.Token != 0 {
		t.Fatalf("request %+v", reqs[0])
	}

	// Again from the cache.
	mu.Lock()
	lines = nil
	mu.Unlock()
	start = time.Now()
	r2, err := DeployRollup(ctx, c.Client(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	warm := time.Since(start)
	t.Logf("cold deploy %v, cached deploy %v", cold.Round(time.Millisecond), warm.Round(time.Millisecond))
	if r2.Contract.Address == r.Contract.Address {
		t.Fatal("second deployment at the same address")
	}
	mu.Lock()
	all := strings.Join(lines, "\n")
	mu.Unlock()
	if !strings.Contains(all, "keys cached") || strings.Contains(all, "compiling") || strings.Contains(all, "dev setup") {
		t.Fatalf("second deploy did not use the cache:\n%s", all)
	}
}

// TestDeployAllFamilies times a cold and a cached deployment of every family
// (or of MODEX_DEVCHAIN_FAMILIES) at test parameters (capacity 2). Opt-in
// (minutes): MODEX_DEVCHAIN_ALL=1 [MODEX_DEVCHAIN_PARALLEL=n]
// go test -run AllFamilies -v ./node/devchain/
func TestDeployAllFamilies(t *testing.T) {
	if os.Getenv("MODEX_DEVCHAIN_ALL") == "" {
		t.Skip("set MODEX_DEVCHAIN_ALL=1 to time a deployment of every family")
	}
	par, _ := strconv.Atoi(os.Getenv("MODEX_DEVCHAIN_PARALLEL"))
	var fams []types.Family // MODEX_DEVCHAIN_FAMILIES=Priority,Transfer (default all)
	if s := os.Getenv("MODEX_DEVCHAIN_FAMILIES"); s != "" {
		for _, name := range strings.Split(s, ",") {
			f, err := types.ParseFamily(name)
			if err != nil {
				t.Fatal(err)
			}
			fams = append(fams, f)
		}
	}
	c := startChain(t, ChainConfig{Accounts: 1})
	ctx := context.Background()
	cfg := DeployConfig{
		Params:   testParams(),
		KeyDir:   t.TempDir(),
		Operator: c.Keys()[0],
		Families: fams,
		Parallel: par,
		Progress: func(msg string) { t.Log(msg) },
	}
	for _, run := range []string{"cold", "cached"} {
		start := time.Now()
		r, err := DeployRollup(ctx, c.Client(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		if want := len(types.AllFamilies()); fams == nil && len(r.Verifiers) != want {
			t.Fatalf("%d verifiers", len(r.Verifiers))
		}
		t.Logf("%s deploy of %d families (parallel %d): %v", run, len(r.Verifiers), par, time.Since(start).Round(time.Millisecond))
	}
}
