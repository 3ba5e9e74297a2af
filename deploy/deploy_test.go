package deploy_test

import (
	"bytes"
	"context"
	"errors"
	"math/big"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/consensys/gnark/frontend"
	"github.com/ethereum/go-ethereum/common"
	ethtypes "github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/modex/modex/bridge"
	"github.com/modex/modex/circuits"
	"github.com/modex/modex/deploy"
	"github.com/modex/modex/node/devchain"
	"github.com/modex/modex/prover"
	"github.com/modex/modex/types"
)

// cube has one public input, like every batch circuit: its keys stand in
// for a family's (the deploy needs only a verifying key with one input),
// so these tests run no family's setup.
type cube struct {
	X frontend.Variable
	Y frontend.Variable `gnark:",public"`
}

func (c *cube) Define(api frontend.API) error {
	api.AssertIsEqual(c.Y, api.Add(api.Mul(c.X, c.X, c.X), c.X, 5))
	return nil
}

var (
	keysOnce sync.Once
	keysA    map[types.Family]*prover.Keys
	keysB    map[types.Family]*prover.Keys
)

// testKeys returns two different sets of (insecure) keys for Priority and
// Transfer.
func testKeys(t *testing.T) (a, b map[types.Family]*prover.Keys) {
	keysOnce.Do(func() {
		ccs, err := prover.Compile(&cube{}, "test/deploy/cube", "")
		if err != nil {
			panic(err)
		}
		set := func() map[types.Family]*prover.Keys {
			m := map[types.Family]*prover.Keys{}
			for _, f := range []types.Family{types.FamilyPriority, types.FamilyTransfer} {
				k, err := prover.DevSetup(ccs)
				if err != nil {
					panic(err)
				}
				m[f] = k
			}
			return m
		}
		keysA, keysB = set(), set()
	})
	return keysA, keysB
}

func startChain(t *testing.T) *devchain.Chain {
	t.Helper()
	c, err := devchain.StartChain(devchain.ChainConfig{BlockTime: 200 * time.Millisecond, Accounts: 3})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func config(c *devchain.Chain, keys map[types.Family]*prover.Keys) deploy.Config {
	return deploy.Config{
		Params: types.TestParams(), ParamsName: "test", Keys: keys, Deployer: c.Keys()[1],
		Operator: crypto.PubkeyToAddress(c.Keys()[0].PublicKey), FeeAccount: types.PublicKeyOf(devchain.DevL2Key(0)),
		AllowInsecureKeys: true, Poll: 50 * time.Millisecond, Confirmations: 2,
	}
}

func nonce(t *testing.T, c *devchain.Chain, k common.Address) uint64 {
	t.Helper()
	n, err := c.Client().NonceAt(context.Background(), k, nil)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestDeployAndRerun: a deploy writes a complete record that Check accepts,
// with every address the plan predicted; running it again changes nothing
// on chain (idempotent).
func TestDeployAndRerun(t *testing.T) {
	ctx := context.Background()
	c := startChain(t)
	a, _ := testKeys(t)
	cfg := config(c, a)
	out := filepath.Join(t.TempDir(), "deployment.json")
	from := crypto.PubkeyToAddress(cfg.Deployer.PublicKey)
	start := nonce(t, c, from)

	d, err := deploy.Run(ctx, c.Client(), cfg, out)
	if err != nil {
		t.Fatal(err)
	}
	rec := d.Record
	if d.Resumed || !rec.Complete || rec.ChainID != c.ChainID().Uint64() || rec.StartNonce != start || len(rec.Families) != 2 {
		t.Fatalf("record %+v", rec)
	}
	if rec.Families[0].Family != "Priority" || rec.Families[1].Family != "Transfer" || !rec.Insecure || !rec.Families[0].Insecure {
		t.Fatalf("families %+v", rec.Families)
	}
	for i, f := range rec.Families {
		if f.Verifier.Address != crypto.CreateAddress(from, start+uint64(i)) || f.Verifier.CodeHash == (common.Hash{}) {
			t.Fatalf("verifier %d: %+v", i, f)
		}
	}
	if rec.Bridge.Address != crypto.CreateAddress(from, start+2) || rec.DeployBlock == 0 {
		t.Fatalf("bridge %+v block %d", rec.Bridge, rec.DeployBlock)
	}
	if got := nonce(t, c, from); got != start+3 {
		t.Fatalf("deployer nonce %d, want %d", got, start+3)
	}
	loaded, err := deploy.Load(out)
	if err != nil {
		t.Fatal(err)
	}
	if err := deploy.Check(ctx, c.Client(), loaded, a); err != nil {
		t.Fatal(err)
	}
	// The bridge is the rollup of these parameters, operator and fee key.
	br := bridge.NewContract(c.Client(), rec.Bridge.Address)
	if v, err := br.Verifier(ctx, types.FamilyTransfer); err != nil || v != rec.Families[1].Verifier.Address {
		t.Fatalf("bridge's Transfer verifier %s (%v)", v, err)
	}

	again, err := deploy.Run(ctx, c.Client(), cfg, out)
	if err != nil {
		t.Fatal(err)
	}
	if !again.Resumed || again.Record.Bridge != rec.Bridge {
		t.Fatalf("rerun: %+v", again)
	}
	if got := nonce(t, c, from); got != start+3 {
		t.Fatalf("rerun sent transactions: deployer nonce %d, want %d", got, start+3)
	}
}

// TestDeployResumes: a deploy interrupted after its first transaction
// resumes from the record: what is on chain is kept, the rest is sent at
// the planned nonces, and nothing is deployed twice.
func TestDeployResumes(t *testing.T) {
	c := startChain(t)
	a, _ := testKeys(t)
	cfg := config(c, a)
	out := filepath.Join(t.TempDir(), "deployment.json")
	from := crypto.PubkeyToAddress(cfg.Deployer.PublicKey)
	start := nonce(t, c, from)

	ctx, cancel := context.WithCancel(context.Background())
	sent := 0
	cfg.Progress = func(msg string) {
		if strings.HasPrefix(msg, "sent ") {
			sent++
			cancel() // interrupted right after the first send
		}
	}
	if _, err := deploy.Run(ctx, c.Client(), cfg, out); !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted deploy: %v", err)
	}
	if sent != 1 {
		t.Fatalf("%d transactions sent before the interruption", sent)
	}
	plan, err := deploy.Load(out)
	if err != nil {
		t.Fatal(err)
	}
	if plan.Complete || plan.StartNonce != start || plan.Txs[0].Hash == (common.Hash{}) {
		t.Fatalf("plan after the interruption: %+v", plan)
	}
	if err := deploy.Check(context.Background(), c.Client(), plan, a); !errors.Is(err, deploy.ErrRecord) {
		t.Fatalf("Check of an incomplete record: %v, want ErrRecord", err)
	}
	// Let the first deployment be mined, as it would be while the operator
	// restarts the command.
	waitNonce(t, c, from, start+1)

	var lines []string
	cfg.Progress = func(msg string) { lines = append(lines, msg) }
	d, err := deploy.Run(context.Background(), c.Client(), cfg, out)
	if err != nil {
		t.Fatal(err)
	}
	if !d.Resumed || !d.Record.Complete {
		t.Fatalf("resumed deploy %+v", d)
	}
	all := strings.Join(lines, "\n")
	if !strings.Contains(all, "verifier Priority already deployed") || strings.Contains(all, "sent verifier Priority") {
		t.Fatalf("the resumed deploy did not keep the first verifier:\n%s", all)
	}
	if got := nonce(t, c, from); got != start+3 {
		t.Fatalf("deployer nonce %d, want %d (a contract deployed twice?)", got, start+3)
	}
	if err := deploy.Check(context.Background(), c.Client(), d.Record, a); err != nil {
		t.Fatal(err)
	}
}

func waitNonce(t *testing.T, c *devchain.Chain, a common.Address, want uint64) {
	t.Helper()
	for i := 0; i < 200; i++ {
		if nonce(t, c, a) >= want {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("nonce of %s never reached %d", a, want)
}

// TestDeployRefuses: other keys or parameters over an existing record, a
// planned nonce taken by another transaction, a base fee above the cap and
// insecure keys without the flag are refused with their errors, and the
// chain's code or the local keys differing from a record fail Check.
func TestDeployRefuses(t *testing.T) {
	ctx := context.Background()
	c := startChain(t)
	a, b := testKeys(t)
	out := filepath.Join(t.TempDir(), "deployment.json")
	cfg := config(c, a)
	d, err := deploy.Run(ctx, c.Client(), cfg, out)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("other keys over the record", func(t *testing.T) {
		if _, err := deploy.Run(ctx, c.Client(), config(c, b), out); !errors.Is(err, deploy.ErrMismatch) || !strings.Contains(err.Error(), "verifying key hash") {
			t.Fatalf("err %v, want ErrMismatch naming the key", err)
		}
	})
	t.Run("other parameters over the record", func(t *testing.T) {
		o := config(c, a)
		o.Params.BatchCapacity++
		if _, err := deploy.Run(ctx, c.Client(), o, out); !errors.Is(err, deploy.ErrMismatch) || !strings.Contains(err.Error(), "params") {
			t.Fatalf("err %v, want ErrMismatch naming the params", err)
		}
	})
	t.Run("Check with other local keys", func(t *testing.T) {
		if err := deploy.Check(ctx, c.Client(), d.Record, b); !errors.Is(err, deploy.ErrMismatch) {
			t.Fatalf("err %v, want ErrMismatch", err)
		}
	})
	t.Run("Check of a record whose verifier is elsewhere", func(t *testing.T) {
		r := *d.Record
		r.Families = append([]deploy.FamilyRecord(nil), r.Families...)
		r.Families[0].Verifier.Address = r.Bridge.Address
		if err := deploy.Check(ctx, c.Client(), &r, a); !errors.Is(err, deploy.ErrMismatch) || !strings.Contains(err.Error(), "not the Priority verifier") {
			t.Fatalf("err %v, want ErrMismatch on the code", err)
		}
	})
	t.Run("insecure keys without the flag", func(t *testing.T) {
		o := config(c, a)
		o.AllowInsecureKeys = false
		if _, err := deploy.Run(ctx, c.Client(), o, filepath.Join(t.TempDir(), "d.json")); !errors.Is(err, prover.ErrInsecureKeys) {
			t.Fatalf("err %v, want prover.ErrInsecureKeys", err)
		}
	})
	t.Run("base fee above the cap", func(t *testing.T) {
		o := config(c, a)
		o.MaxFeePerGas = big.NewInt(1)
		path := filepath.Join(t.TempDir(), "d.json")
		if _, err := deploy.Run(ctx, c.Client(), o, path); !errors.Is(err, deploy.ErrFeeCap) {
			t.Fatalf("err %v, want ErrFeeCap", err)
		}
	})
	t.Run("planned nonce used by another transaction", func(t *testing.T) {
		o := config(c, a)
		o.Deployer = c.Keys()[2]
		from := crypto.PubkeyToAddress(o.Deployer.PublicKey)
		path := filepath.Join(t.TempDir(), "d.json")
		plan, err := deploy.Plan(ctx, c.Client(), o, path)
		if err != nil {
			t.Fatal(err)
		}
		// Another transaction takes the first planned nonce.
		tx, err := ethtypes.SignTx(ethtypes.NewTx(&ethtypes.DynamicFeeTx{ChainID: c.ChainID(), Nonce: plan.StartNonce,
			GasTipCap: big.NewInt(1e9), GasFeeCap: big.NewInt(1e11), Gas: 21000, To: &from, Value: big.NewInt(1)}),
			ethtypes.LatestSignerForChainID(c.ChainID()), o.Deployer)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Client().SendTransaction(ctx, tx); err != nil {
			t.Fatal(err)
		}
		waitNonce(t, c, from, plan.StartNonce+1)
		if _, err := deploy.Run(ctx, c.Client(), o, path); !errors.Is(err, deploy.ErrNonceUsed) {
			t.Fatalf("err %v, want ErrNonceUsed (plan from nonce %d)", err, plan.StartNonce)
		}
	})
}

// TestLoadKeysRefusesOtherParams: keys in a family's directory that are
// not that family's circuit at these parameters are refused.
func TestLoadKeysRefusesOtherParams(t *testing.T) {
	a, _ := testKeys(t)
	dir := t.TempDir()
	p := types.TestParams()
	kd := filepath.Join(dir, filepath.FromSlash(circuits.BatchKey(types.FamilyPriority, p)))
	if err := a[types.FamilyPriority].Save(kd); err != nil {
		t.Fatal(err)
	}
	if _, err := deploy.LoadKeys(dir, p, []types.Family{types.FamilyPriority}, nil); !errors.Is(err, deploy.ErrKeys) || !strings.Contains(err.Error(), "not for these parameters") {
		t.Fatalf("err %v, want ErrKeys (not for these parameters)", err)
	}
	if _, err := deploy.LoadKeys(dir, p, []types.Family{types.FamilyTransfer}, nil); !errors.Is(err, deploy.ErrKeys) || !strings.Contains(err.Error(), "no Transfer keys") {
		t.Fatalf("err %v, want ErrKeys (missing)", err)
	}
}

// TestStaged: a staged deploy puts the bridge on chain first with every
// planned verifier's address (CREATE of the deployer's later nonces, no
// code yet), then each verifier at exactly that address when its keys
// come, in plan order; a verifier out of order is refused without sending
// anything, and the finished record passes Check like Run's.
func TestStaged(t *testing.T) {
	ctx := context.Background()
	c := startChain(t)
	a, _ := testKeys(t)
	cfg := config(c, nil)
	from := crypto.PubkeyToAddress(cfg.Deployer.PublicKey)
	start := nonce(t, c, from)
	plan := []types.Family{types.FamilyTransfer, types.FamilyPriority} // not family order

	if _, err := deploy.StartStaged(ctx, c.Client(), deploy.StagedConfig{Config: config(c, a), Families: plan}); !errors.Is(err, deploy.ErrKeys) {
		t.Fatalf("keys in the staged config: %v, want ErrKeys", err)
	}
	if _, err := deploy.StartStaged(ctx, c.Client(), deploy.StagedConfig{Config: cfg, Families: []types.Family{types.FamilyTransfer, types.FamilyTransfer}}); !errors.Is(err, deploy.ErrKeys) {
		t.Fatalf("a family planned twice: %v, want ErrKeys", err)
	}
	s, err := deploy.StartStaged(ctx, c.Client(), deploy.StagedConfig{Config: cfg, Families: plan})
	if err != nil {
		t.Fatal(err)
	}
	rec := s.Record()
	if rec.Complete || rec.StartNonce != start || rec.Bridge.Address != crypto.CreateAddress(from, start) || rec.DeployBlock == 0 || rec.Bridge.CodeHash == (common.Hash{}) {
		t.Fatalf("record after the bridge: %+v", rec)
	}
	br := bridge.NewContract(c.Client(), rec.Bridge.Address)
	for i, f := range plan {
		want := crypto.CreateAddress(from, start+1+uint64(i))
		if v, err := br.Verifier(ctx, f); err != nil || v != want || rec.Families[i].Verifier.Address != want {
			t.Fatalf("the bridge's %v verifier %s (%v), record %s, want %s", f, v, err, rec.Families[i].Verifier.Address, want)
		}
		if code, err := c.Client().CodeAt(ctx, want, nil); err != nil || len(code) != 0 {
			t.Fatalf("%v verifier has %d bytes of code before its keys (%v)", f, len(code), err)
		}
	}
	if s.Next() != types.FamilyTransfer {
		t.Fatalf("next %v", s.Next())
	}

	if _, err := s.DeployVerifier(ctx, types.FamilyPriority, a[types.FamilyPriority]); !errors.Is(err, deploy.ErrOutOfOrder) {
		t.Fatalf("Priority before Transfer: %v, want ErrOutOfOrder", err)
	}
	if got := nonce(t, c, from); got != start+1 {
		t.Fatalf("a refused verifier sent a transaction: nonce %d, want %d", got, start+1)
	}
	for i, f := range plan {
		addr, err := s.DeployVerifier(ctx, f, a[f])
		if err != nil {
			t.Fatal(err)
		}
		if want := crypto.CreateAddress(from, start+1+uint64(i)); addr != want {
			t.Fatalf("%v verifier at %s, planned %s", f, addr, want)
		}
		code, err := c.Client().CodeAt(ctx, addr, nil)
		if err != nil {
			t.Fatal(err)
		}
		if want, _ := bridge.VerifierRuntimeCode(a[f].VK); !bytes.Equal(code, want) {
			t.Fatalf("%v: the code at %s is not its keyed verifier", f, addr)
		}
	}
	if _, err := s.DeployVerifier(ctx, types.FamilyTransfer, a[types.FamilyTransfer]); !errors.Is(err, deploy.ErrOutOfOrder) {
		t.Fatalf("a verifier twice: %v, want ErrOutOfOrder", err)
	}
	if got := nonce(t, c, from); got != start+3 {
		t.Fatalf("deployer nonce %d, want %d", got, start+3)
	}
	rec = s.Record()
	if !rec.Complete || s.Next() != 0 || !rec.Insecure {
		t.Fatalf("record after every verifier: %+v", rec)
	}
	if err := deploy.Check(ctx, c.Client(), rec, a); err != nil {
		t.Fatal(err)
	}
}
