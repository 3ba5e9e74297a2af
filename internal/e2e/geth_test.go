package e2e

import (
	"context"
	"crypto/ecdsa"
	"encoding/hex"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	ethtypes "github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/modex/modex/bridge"
	"github.com/modex/modex/internal/testutil/gethtest"
	"github.com/modex/modex/internal/testutil/modexbin"
	"github.com/modex/modex/rpc"
	"github.com/modex/modex/rpc/client"
	"github.com/modex/modex/types"
	"github.com/modex/modex/wallet"
)

// gethFamilies are the families the flow needs: deposits, the model, the
// transfer, the trade and the withdrawal.
var gethFamilies = []types.Family{types.FamilyPriority, types.FamilyModelAdmin, types.FamilyTransfer, types.FamilyTrade, types.FamilyWithdraw}

var (
	reNodeAPI   = regexp.MustCompile(`modex node: API http://(\S+) and ws://`)
	reSubmitted = regexp.MustCompile(`submitted: (0x[0-9a-f]{64})`)
	reTrade     = regexp.MustCompile(`trade #\d+: .* tx (0x[0-9a-f]{64})`)
	reL1Deposit = regexp.MustCompile(`L1 tx (0x[0-9a-f]{64}) sent`)
	reL1Sent    = regexp.MustCompile(`sent (0x[0-9a-f]{64}), waiting`)
)

// party is a wallet key file and what the test knows of it.
type party struct {
	name    string
	file    string
	addr    common.Address
	account uint32
}

// gethFlow is the point-3 test's world: geth, the binary, the deployment
// and a running node.
type gethFlow struct {
	t        *testing.T
	ctx      context.Context
	geth     *gethtest.Geth
	c        modexbin.Cmd
	dir      string
	nodeArgs []string
	node     *modexbin.Proc
	api      string
	cl       *client.Client
	bridge   *bridge.Contract
}

func writeHexKey(t *testing.T, path string, k *ecdsa.PrivateKey) {
	t.Helper()
	if err := os.WriteFile(path, []byte(hex.EncodeToString(crypto.FromECDSA(k))+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
}

func newKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := crypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// startNode starts `modex node` and waits until its API answers.
func (g *gethFlow) startNode() {
	g.t.Helper()
	t0 := time.Now()
	g.node = g.c.Start(g.t, "modex node", g.nodeArgs...)
	g.api = "http://" + g.node.WaitFor(g.ctx, reNodeAPI)[1]
	cl, err := client.Dial(g.ctx, g.api)
	if err != nil {
		g.t.Fatal(err)
	}
	if g.cl != nil {
		g.cl.Close()
	}
	g.cl = cl
	g.t.Logf("node up at %s in %s", g.api, since(t0))
}

// run runs a wallet command against the node and the L1.
func (g *gethFlow) run(args ...string) string {
	g.t.Helper()
	return g.c.MustRun(g.t, g.ctx, append(args, "--rpc", g.api)...)
}

// waitFinalized waits until the node says every transaction is verified on L1.
func (g *gethFlow) waitFinalized(hashes ...common.Hash) {
	g.t.Helper()
	for _, h := range hashes {
		info, err := g.cl.WaitTx(g.ctx, h, rpc.TxFinalized)
		if err != nil {
			g.t.Fatalf("tx %s: %v", h, err)
		}
		if info.Error != nil {
			g.t.Fatalf("tx %s failed: %+v", h, info.Error)
		}
	}
}

// settle waits until every sealed batch is verified, on the node's word and
// on the bridge's, and nothing is pending.
func (g *gethFlow) settle() *rpc.SyncStatus {
	g.t.Helper()
	for {
		st, err := g.cl.SyncStatus(g.ctx)
		if err != nil {
			g.t.Fatal(err)
		}
		if st.Halted != "" {
			g.t.Fatalf("pipeline halted: %s", st.Halted)
		}
		if st.Sealed > 0 && st.Verified == st.Sealed && st.PriorityDone == st.PriorityIn {
			last, err := g.bridge.LastBatch(g.ctx)
			if err != nil {
				g.t.Fatal(err)
			}
			if last != st.Sealed {
				g.t.Fatalf("node says %d batches verified, the bridge %d", st.Verified, last)
			}
			return st
		}
		select {
		case <-g.ctx.Done():
			g.t.Fatalf("batches not verified: %+v: %v", st, g.ctx.Err())
		case <-g.node.Exited():
			g.t.Fatalf("the node exited: %v", g.node.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// balances checks an account's soft and proven balances (asset → amount;
// assets not named must be zero).
func (g *gethFlow) balances(p *party, want map[types.AssetID]string) {
	g.t.Helper()
	info, err := g.cl.Account(g.ctx, p.account)
	if err != nil {
		g.t.Fatal(err)
	}
	got := map[types.AssetID]bool{}
	for _, b := range info.Balances {
		a := types.AssetID(b.Asset)
		w, ok := want[a]
		if !ok {
			w = "0"
		}
		got[a] = true
		if b.Soft.Dec() != w || b.Proven.Dec() != w {
			g.t.Errorf("%s (account %d) %s: soft %s, proven %s, want %s", p.name, p.account, b.Name, b.Soft.Dec(), b.Proven.Dec(), w)
		}
	}
	for a, w := range want {
		if !got[a] && w != "0" {
			g.t.Errorf("%s (account %d): no %v balance, want %s", p.name, p.account, a, w)
		}
	}
}

// l1Cost is what an L1 transaction cost its sender in fees, and the
// sender's balances before and after its block (it sent nothing else there).
func (g *gethFlow) l1Cost(h common.Hash, from common.Address) (fee, before, after *big.Int) {
	g.t.Helper()
	r, err := g.geth.WaitMined(g.ctx, h)
	if err != nil {
		g.t.Fatal(err)
	}
	fee = new(big.Int).Mul(new(big.Int).SetUint64(r.GasUsed), r.EffectiveGasPrice)
	if before, err = g.geth.Client.BalanceAt(g.ctx, from, new(big.Int).Sub(r.BlockNumber, big.NewInt(1))); err != nil {
		g.t.Fatal(err)
	}
	if after, err = g.geth.Client.BalanceAt(g.ctx, from, r.BlockNumber); err != nil {
		g.t.Fatal(err)
	}
	block, err := g.geth.Client.BlockByNumber(g.ctx, r.BlockNumber)
	if err != nil {
		g.t.Fatal(err)
	}
	signer := ethtypes.LatestSignerForChainID(big.NewInt(gethtest.ChainID))
	for _, tx := range block.Transactions() {
		if s, _ := ethtypes.Sender(signer, tx); s == from && tx.Hash() != h {
			g.t.Fatalf("%s sent another transaction in block %v: %s", from, r.BlockNumber, tx.Hash())
		}
	}
	return fee, before, after
}

func hashOf(t *testing.T, re *regexp.Regexp, out string) common.Hash {
	t.Helper()
	return common.HexToHash(match(t, out, re))
}

// Point 3 of issue 14: a real L1. geth --dev runs as its own process; the
// rollup is deployed on it by `modex deploy` and run by `modex node` (both
// processes), and the CLI wallet goes through deposit, model creation,
// transfer, order match, withdrawal and the withdrawal's claim on L1. Every
// batch is proven and verified on geth; L2 balances (soft and proven) and
// the withdrawer's L1 balance (gas accounted) are exact. The node is killed
// with SIGKILL while acknowledged transactions are not yet verified,
// restarted on its data directory, and loses none of them.
func TestGethDeployNode(t *testing.T) {
	if testing.Short() {
		t.Skip("against geth: sets up and proves 5 circuits")
	}
	t0 := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	bin := modexbin.Build(t)
	dir := t.TempDir()
	g := &gethFlow{t: t, ctx: ctx, dir: dir, c: modexbin.Cmd{Bin: bin, Dir: dir}}

	g.geth = gethtest.Start(t, gethtest.Options{})
	t.Logf("geth up at %s in %s", g.geth.URL, since(t0))

	t1 := time.Now()
	ensureKeys(t, ctx, g.c, gethFamilies...)
	t.Logf("keys ready in %s", since(t1))

	// the deployer, the operator and three users, funded from geth's dev account
	deployer, operator := newKey(t), newKey(t)
	writeHexKey(t, filepath.Join(dir, "deployer.key"), deployer)
	writeHexKey(t, filepath.Join(dir, "operator.key"), operator)
	var users []*party
	for _, name := range []string{"dao", "alice", "bob"} {
		p := &party{name: name, file: filepath.Join(dir, name+".json")}
		g.c.MustRun(t, ctx, "wallet", "new", "--out", p.file)
		k, err := wallet.LoadKey(p.file)
		if err != nil {
			t.Fatal(err)
		}
		p.addr, _ = k.Address()
		users = append(users, p)
	}
	dao, alice, bob := users[0], users[1], users[2]
	eth := func(n int64) *big.Int { return new(big.Int).Mul(big.NewInt(n), big.NewInt(1e18)) }
	if err := g.geth.Fund(ctx, eth(100), crypto.PubkeyToAddress(deployer.PublicKey), crypto.PubkeyToAddress(operator.PublicKey),
		dao.addr, alice.addr, bob.addr); err != nil {
		t.Fatal(err)
	}

	// modex deploy, then modex node from its record
	var fams []string
	for _, f := range gethFamilies {
		fams = append(fams, f.String())
	}
	t1 = time.Now()
	g.c.MustRun(t, ctx, "deploy", "--l1-rpc", g.geth.URL, "--deployer-key-file", "deployer.key", "--keys", testKeys,
		"--params", "test", "--batch.capacity", strconv.Itoa(capacity), "--families", strings.Join(fams, ","),
		"--operator", crypto.PubkeyToAddress(operator.PublicKey).Hex(), "--confirmations", "1",
		"--insecure-dev-keys", "--out", "deployment.json")
	t.Logf("deployed in %s", since(t1))
	g.nodeArgs = []string{"node", "--deployment", "deployment.json", "--l1-rpc", g.geth.URL, "--keys", testKeys,
		"--operator-key-file", "operator.key", "--datadir", "node", "--rpc.addr", "127.0.0.1:0", "--insecure-dev-keys",
		"--batch.timeout", "300ms", "--l1.poll", "250ms", "--log.level", "warn"}
	g.startNode()
	ct, err := g.cl.Contracts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	g.bridge = bridge.NewContract(g.geth.Client, ct.Bridge)

	// 1. deposits, at once (three L1 transactions, one or two batches);
	// each depositor's L1 balance falls by exactly the amount and the gas
	t1 = time.Now()
	deposit := eth(1)
	var wg sync.WaitGroup
	outs := make([]string, len(users))
	errs := make([]error, len(users))
	for i, p := range users {
		wg.Add(1)
		go func() {
			defer wg.Done()
			outs[i], errs[i] = g.c.Run(ctx, "deposit", "--key", p.file, "--amount", "1eth", "--rpc", g.api, "--l1-rpc", g.geth.URL)
		}()
	}
	wg.Wait()
	for i, p := range users {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		t.Logf("%s deposit:\n%s", p.name, outs[i])
		id, _ := strconv.ParseUint(match(t, outs[i], reApplied), 10, 32)
		p.account = uint32(id)
		fee, before, after := g.l1Cost(hashOf(t, reL1Deposit, outs[i]), p.addr)
		if d := new(big.Int).Sub(before, after); d.Cmp(new(big.Int).Add(deposit, fee)) != 0 {
			t.Errorf("%s's L1 balance fell by %s, want the deposit %s and the gas %s", p.name, d, deposit, fee)
		}
	}
	t.Logf("deposits applied in %s", since(t1))

	// 2. the DAO creates model 1 with 1,000 shares; 3. alice pays bob
	g.run("model", "create", "--key", dao.file, "--model", "1", "--supply", "1000", "--credit-price", "10", "--holder-bps", "5000")
	transfer1 := hashOf(t, reSubmitted, g.run("transfer", "--key", alice.file, "--to", strconv.Itoa(int(bob.account)), "--amount", "1000"))

	// 4. the DAO sells 400 at 100; alice buys 300 at 120: 300 trade at the
	// maker's 100 (quote 30,000 wei; alice, the taker, pays 5 bips = 15,
	// the DAO 2 bips = 6, both to fee account 0)
	g.run("order", "place", "--key", dao.file, "--model", "1", "--side", "sell", "--amount", "400", "--price", "100")
	trade := hashOf(t, reTrade, g.run("order", "place", "--key", alice.file, "--model", "1", "--side", "buy", "--amount", "300", "--price", "120"))

	// 5. acknowledged and not yet verified: bob's transfer back (included)
	// and a second one only submitted; then SIGKILL
	transfer2 := hashOf(t, reSubmitted, g.run("transfer", "--key", bob.file, "--to", strconv.Itoa(int(alice.account)), "--amount", "777"))
	transfer3 := hashOf(t, reSubmitted, g.run("transfer", "--key", bob.file, "--to", strconv.Itoa(int(alice.account)), "--amount", "111", "--wait", "none"))
	st, err := g.cl.SyncStatus(ctx)
	if err != nil {
		t.Fatal(err)
	}
	acked := []common.Hash{transfer1, trade, transfer2, transfer3}
	var seen []string
	for _, h := range acked {
		info, err := g.cl.Tx(ctx, h)
		if err != nil {
			t.Fatal(err)
		}
		if info.Status != rpc.TxFinalized {
			seen = append(seen, fmt.Sprintf("%s %s", info.Kind, info.Status))
		}
	}
	g.node.Kill()
	t.Logf("SIGKILLed the node at %+v; acknowledged and not yet verified: %s", *st, strings.Join(seen, ", "))
	if len(seen) == 0 {
		// the batches take seconds to prove: this would mean the kill tested nothing
		t.Fatal("every acknowledged transaction was verified before the kill")
	}

	// restart on the same data directory: everything acknowledged is
	// there and gets verified
	t1 = time.Now()
	g.startNode()
	g.waitFinalized(acked...)
	t.Logf("after the restart, every acknowledged transaction verified in %s", since(t1))

	// 6. alice withdraws 500,000 wei and waits until it is verified, then
	// claims it on L1: her L1 balance grows by exactly that less the gas
	const withdrawn = 500_000
	out := g.run("withdraw", "--key", alice.file, "--amount", strconv.Itoa(withdrawn), "--wait")
	if !strings.Contains(out, "finalized") {
		t.Fatalf("withdraw did not reach finalized:\n%s", out)
	}
	pending, err := g.bridge.Pending(ctx, alice.addr, 0)
	if err != nil || pending.Cmp(big.NewInt(withdrawn)) != 0 {
		t.Fatalf("alice's pending L1 balance %v (%v), want %d", pending, err, withdrawn)
	}
	out = g.run("claim", "--key", alice.file, "--l1-rpc", g.geth.URL)
	fee, before, after := g.l1Cost(hashOf(t, reL1Sent, out), alice.addr)
	if want := new(big.Int).Sub(new(big.Int).Add(before, big.NewInt(withdrawn)), fee); after.Cmp(want) != 0 {
		t.Errorf("alice's L1 balance after the claim %s, want %s + %d - gas %s = %s", after, before, withdrawn, fee, want)
	}
	if pending, err = g.bridge.Pending(ctx, alice.addr, 0); err != nil || pending.Sign() != 0 {
		t.Errorf("alice's pending L1 balance after the claim %v (%v), want 0", pending, err)
	}

	// every batch verified on geth; balances exact, soft and proven
	st = g.settle()
	t.Logf("settled: %+v", *st)
	one := "1000000000000000000"
	sub := func(a string, d ...int64) string {
		v, _ := new(big.Int).SetString(a, 10)
		for _, x := range d {
			v.Sub(v, big.NewInt(x))
		}
		return v.String()
	}
	share := types.ShareAsset(1)
	g.balances(dao, map[types.AssetID]string{types.ETH: sub(one, -30_000, 6), share: "700"})
	g.balances(alice, map[types.AssetID]string{types.ETH: sub(one, 1000, 30_000, 15, -777, -111, withdrawn), share: "300"})
	g.balances(bob, map[types.AssetID]string{types.ETH: sub(one, -1000, 777, 111)})
	g.balances(&party{name: "fee account", account: 0}, map[types.AssetID]string{types.ETH: "21"})
	t.Logf("total %s", since(t0))
}

// ethProven is the proven ETH balance in a balance list ("0" without one).
func ethProven(bs []rpc.Balance) string {
	for _, b := range bs {
		if types.AssetID(b.Asset) == types.ETH {
			return b.Proven.Dec()
		}
	}
	return "0"
}
