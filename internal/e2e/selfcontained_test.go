package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/ethclient"

	"github.com/modex/modex/bridge"
	"github.com/modex/modex/internal/testutil/modexbin"
	"github.com/modex/modex/rpc/client"
)

// bareEnv is the environment of a binary run as on a machine with nothing
// but the binary: PATH is an empty directory (no node, npm, solc or go),
// HOME and the temporary directory are the test's.
func bareEnv(t *testing.T, home string) []string {
	t.Helper()
	empty := t.TempDir()
	env := []string{"PATH=" + empty, "HOME=" + home, "TMPDIR=" + t.TempDir()}
	for _, tool := range []string{"node", "npm", "go", "solc"} {
		if p, err := lookPathIn(tool, empty); err == nil {
			t.Fatalf("%s found on the bare PATH: %s", tool, p)
		}
	}
	return env
}

func lookPathIn(file, path string) (string, error) {
	old := os.Getenv("PATH")
	defer os.Setenv("PATH", old)
	os.Setenv("PATH", path)
	return exec.LookPath(file)
}

var (
	reL1URL   = regexp.MustCompile(`L1 RPC\s+(http://\S+)`)
	reAPI     = regexp.MustCompile(`rollup API\s+http://(\S+)`)
	reBridge  = regexp.MustCompile(`bridge\s+(0x[0-9a-fA-F]{40})`)
	reApplied = regexp.MustCompile(`deposit applied: account (\d+) credited .* in batch (\d+)`)
	reBatches = regexp.MustCompile(`batches\s+sealed (\d+), committed \d+, proven (\d+), submitted \d+, verified (\d+)`)
)

// Point 1 of issue 14: the binary alone, copied into an empty directory and
// run there with no Node and no Go toolchain on PATH (so no source tree,
// no solc and no go.mod to find), brings a devnet up that proves a batch
// with Groth16 and verifies it on its L1.
func TestSelfContainedDevnet(t *testing.T) {
	if testing.Short() {
		t.Skip("a devnet from the binary alone: sets up and proves a circuit")
	}
	t0 := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	bin := modexbin.Build(t)
	t.Logf("built modex in %v", modexbin.BuildTime().Round(time.Millisecond))
	dir := t.TempDir()
	copyFile(t, bin, filepath.Join(dir, "modex"), 0o755)
	c := modexbin.Cmd{Bin: filepath.Join(dir, "modex"), Dir: dir, Env: bareEnv(t, dir)}

	dn := c.Start(t, "modex devnet", "devnet", "--datadir", "data", "--keys", testKeys,
		"--l1.addr", "127.0.0.1:0", "--rpc.addr", "127.0.0.1:0", "--params", "test", "--batch.capacity", strconv.Itoa(capacity),
		"--families", "Priority", "--accounts", "2", "--batch.timeout", "200ms", "--l1.blocktime", "500ms", "--log.level", "warn")
	l1URL := dn.WaitFor(ctx, reL1URL)[1]
	api := "http://" + dn.WaitFor(ctx, reAPI)[1]
	bridgeAddr := common.HexToAddress(dn.WaitFor(ctx, reBridge)[1])
	t.Logf("devnet up in %s: L1 %s, API %s, bridge %s", since(t0), l1URL, api, bridgeAddr)

	c.MustRun(t, ctx, "wallet", "import", "--dev", "1", "--out", "alice.json")
	out := c.MustRun(t, ctx, "deposit", "--key", "alice.json", "--amount", "1eth", "--rpc", api, "--l1-rpc", l1URL, "--wait=finalized")
	m := reApplied.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no \"deposit applied\" in:\n%s", out)
	}
	batch, _ := strconv.ParseUint(m[2], 10, 64)

	// the node says the batch is verified, and so does the bridge on L1
	out = c.MustRun(t, ctx, "status", "--rpc", api)
	st := reBatches.FindStringSubmatch(out)
	if st == nil {
		t.Fatalf("no batch heads in:\n%s", out)
	}
	if v, _ := strconv.ParseUint(st[3], 10, 64); v < batch {
		t.Fatalf("status says verified %d, want the deposit's batch %d:\n%s", v, batch, out)
	}
	l1, err := ethclient.DialContext(ctx, l1URL)
	if err != nil {
		t.Fatal(err)
	}
	defer l1.Close()
	last, err := bridge.NewContract(l1, bridgeAddr).LastBatch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if last < batch {
		t.Fatalf("the bridge's last verified batch is %d, want >= %d", last, batch)
	}
	cl, err := client.Dial(ctx, api)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	id, _ := strconv.ParseUint(m[1], 10, 32)
	acct, err := cl.Account(ctx, uint32(id))
	if err != nil {
		t.Fatal(err)
	}
	if got := ethProven(acct.Balances); got != "1000000000000000000" {
		t.Fatalf("account %d: proven ETH %s, want 1 ETH", id, got)
	}

	if err := dn.Stop(time.Minute); err != nil {
		t.Fatalf("devnet stop: %v", err)
	}
	t.Logf("total %s", since(t0))
}
