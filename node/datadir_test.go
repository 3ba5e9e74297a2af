package node

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/accounts/abi/bind/v2"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"

	"github.com/modex/modex/bridge"
	"github.com/modex/modex/internal/datadir"
	"github.com/modex/modex/node/devchain"
	"github.com/modex/modex/prover"
	"github.com/modex/modex/rpc"
	"github.com/modex/modex/state"
	"github.com/modex/modex/types"

	"github.com/modex/modex/internal/testutil/child"
)

// One process per data directory: a node over a directory another node
// holds is refused before it reads or writes anything there, and the lock
// is free once the holder stops or is SIGKILLed. The first node is a real
// second process (this test binary re-executed) against an embedded L1
// served over HTTP by the parent, with the bridge deployed and no
// verifiers: nothing is proven here (the one priority request never
// reaches its confirmations), so the provers are never called.

const lockChildEnv = "MODEX_NODE_LOCK_CHILD" // datadir|l1 url|bridge|from block

// lockL1 is the parent's embedded L1 with a bridge deployed on it.
type lockL1 struct {
	chain  *devchain.Chain
	bridge common.Address
	from   uint64
}

func startLockL1(t *testing.T) *lockL1 {
	t.Helper()
	chain, err := devchain.StartChain(devchain.ChainConfig{HTTPAddr: "127.0.0.1:0", Accounts: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = chain.Close() })
	ctx := context.Background()
	op := devchain.DevKey(0)
	o := bind.NewKeyedTransactor(op, chain.ChainID())
	o.Context = ctx
	p := types.TestParams()
	addr, tx, err := bridge.DeployTx(o, chain.Client(), bridge.DeployConfig{
		Params: p, Operator: crypto.PubkeyToAddress(op.PublicKey), Governor: crypto.PubkeyToAddress(op.PublicKey),
		OperatorKey: types.PublicKeyOf(devchain.DevL2Key(0)), PriorityDeadline: 100, GenesisRoot: state.EmptyRoot(p),
	})
	if err != nil {
		t.Fatal(err)
	}
	r, err := bridge.WaitSuccess(ctx, chain.Client(), tx)
	if err != nil {
		t.Fatal(err)
	}
	return &lockL1{chain: chain, bridge: addr, from: r.BlockNumber.Uint64()}
}

// lockNodeConfig is a node over dir against l1 (nothing proven: see above).
func lockNodeConfig(dir string, l1 bridge.L1, addr common.Address, from uint64) Config {
	return Config{
		DataDir: dir, Params: types.TestParams(), L1: l1, Bridge: addr, OperatorKey: devchain.DevKey(0),
		Confirmations: 1 << 40, FromBlock: from, L1Poll: 50 * time.Millisecond,
		Provers:      map[types.Family]prover.Prover{types.FamilyTransfer: &downProver{}},
		BatchTimeout: time.Hour,
		RPC:          rpc.Config{Addr: "127.0.0.1:0"},
		Logger:       slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
}

// TestLockChild is the child process of TestDataDirOneProcess: a node over
// the directory MODEX_NODE_LOCK_CHILD names. It prints "ready <API
// address>", runs until its stdin closes, then stops and exits 0.
func TestLockChild(t *testing.T) {
	env := os.Getenv(lockChildEnv)
	if env == "" {
		t.Skip("child process of TestDataDirOneProcess")
	}
	fail := func(err error) {
		fmt.Println("error:", err)
		os.Exit(3)
	}
	parts := strings.Split(env, "|")
	from, _ := strconv.ParseUint(parts[3], 10, 64)
	ctx := context.Background()
	l1, err := ethclient.Dial(parts[1])
	if err != nil {
		fail(err)
	}
	n, err := New(ctx, lockNodeConfig(parts[0], l1, common.HexToAddress(parts[2]), from))
	if err != nil {
		fail(err)
	}
	if err := n.Start(ctx); err != nil {
		fail(err)
	}
	fmt.Println("ready", n.Addr())
	_, _ = io.Copy(io.Discard, os.Stdin)
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := n.Stop(sctx); err != nil {
		fail(err)
	}
	os.Exit(0)
}

// lockChild is a node in a child process.
type lockChild struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	addr  string
}

func startLockChild(t *testing.T, dir string, l1 *lockL1) *lockChild {
	t.Helper()
	c := child.Start(t, "TestLockChild", lockChildEnv, fmt.Sprintf("%s|%s|%s|%d", dir, l1.chain.URL(), l1.bridge.Hex(), l1.from), "-test.timeout=5m")
	addr, ok := strings.CutPrefix(c.Line, "ready ")
	if !ok {
		t.Fatalf("child node: %q", c.Line)
	}
	return &lockChild{cmd: c.Cmd, stdin: c.Stdin, addr: addr}
}

// healthy says the child's API answers /healthz with 200.
func (c *lockChild) healthy(t *testing.T) {
	t.Helper()
	resp, err := http.Get("http://" + c.addr + "/healthz")
	if err != nil {
		t.Fatalf("the first node's API: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("the first node's /healthz: %d", resp.StatusCode)
	}
}

// listDir lists the paths under dir.
func listDir(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, _ os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		out = append(out, p)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

// wantNodeInUse checks that err is the data directory's *InUseError naming pid.
func wantNodeInUse(t *testing.T, err error, dir string, pid int) {
	t.Helper()
	var ie *datadir.InUseError
	if !errors.As(err, &ie) || !errors.Is(err, datadir.ErrInUse) || ie.Dir != dir || ie.PID != pid {
		t.Fatalf("got %T %v, want a *datadir.InUseError for %s held by pid %d", err, err, dir, pid)
	}
}

func TestDataDirOneProcess(t *testing.T) {
	if os.Getenv(lockChildEnv) != "" {
		t.Skip("in child")
	}
	ctx := context.Background()
	l1 := startLockL1(t)
	dir := t.TempDir()
	cfg := lockNodeConfig(dir, l1.chain.Client(), l1.bridge, l1.from)

	first := startLockChild(t, dir, l1)
	before := listDir(t, dir)
	for _, want := range []string{"LOCK", "state", "journal"} {
		if _, err := os.Stat(filepath.Join(dir, want)); err != nil {
			t.Fatalf("the first node's data directory: %v", err)
		}
	}
	_, err := New(ctx, cfg)
	wantNodeInUse(t, err, dir, first.cmd.Process.Pid)
	after := listDir(t, dir)
	for _, p := range before {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("the refused node removed %s: %v (before %v, after %v)", p, err, before, after)
		}
	}
	first.healthy(t)

	// stop: the first node releases the directory; a node takes it over
	// and continues its data
	first.stdin.Close()
	if err := first.cmd.Wait(); err != nil {
		t.Fatalf("the first node did not stop cleanly: %v", err)
	}
	n, err := New(ctx, cfg)
	if err != nil {
		t.Fatalf("after the first node stopped: %v", err)
	}
	if err := n.Start(ctx); err != nil {
		t.Fatal(err)
	}
	// while it runs, its directory is refused to a child too
	if _, err := datadir.Acquire(dir); !errors.Is(err, datadir.ErrInUse) {
		t.Fatalf("Acquire under a running node: %v, want ErrInUse", err)
	}
	if err := n.Stop(ctx); err != nil {
		t.Fatal(err)
	}

	// SIGKILL: the kernel releases the lock
	third := startLockChild(t, dir, l1)
	_, err = New(ctx, cfg)
	wantNodeInUse(t, err, dir, third.cmd.Process.Pid)
	if err := third.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = third.cmd.Wait()
	n, err = New(ctx, cfg)
	if err != nil {
		t.Fatalf("after the first node was SIGKILLed: %v", err)
	}
	if err := n.Stop(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestDataDirLockRefusedTouchesNothing: a node refused a directory in use
// creates nothing in it (no state/, no journal/), and refuses it before it
// talks to L1 (here there is none to talk to: the L1 is closed).
func TestDataDirLockRefusedTouchesNothing(t *testing.T) {
	if os.Getenv(lockChildEnv) != "" {
		t.Skip("in child")
	}
	l1 := startLockL1(t)
	dir := t.TempDir()
	held, err := datadir.Acquire(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Release()
	before := listDir(t, dir)
	_ = l1.chain.Close()
	_, err = New(context.Background(), lockNodeConfig(dir, l1.chain.Client(), l1.bridge, l1.from))
	wantNodeInUse(t, err, dir, os.Getpid())
	if after := listDir(t, dir); strings.Join(after, ",") != strings.Join(before, ",") {
		t.Fatalf("the refused node changed the directory: %v → %v", before, after)
	}
}

// TestDataDirLockPassed: a lock the caller holds (the devnet's) is used,
// not taken again, and stays the caller's after Stop; a released lock, or
// one on another directory, is a config error.
func TestDataDirLockPassed(t *testing.T) {
	if os.Getenv(lockChildEnv) != "" {
		t.Skip("in child")
	}
	ctx := context.Background()
	l1 := startLockL1(t)
	dir := t.TempDir()
	held, err := datadir.Acquire(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Release()
	other, err := datadir.Acquire(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer other.Release()

	cfg := lockNodeConfig(dir, l1.chain.Client(), l1.bridge, l1.from)
	cfg.DataDirLock = other
	if _, err := New(ctx, cfg); !errors.Is(err, ErrConfig) {
		t.Fatalf("a lock on another directory: %v, want ErrConfig", err)
	}
	cfg.DataDirLock = held
	n, err := New(ctx, cfg)
	if err != nil {
		t.Fatalf("with the caller's lock: %v", err)
	}
	if err := n.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if !held.Held() {
		t.Fatal("Stop released the caller's lock")
	}
	if _, err := datadir.Acquire(dir); !errors.Is(err, datadir.ErrInUse) {
		t.Fatalf("after Stop, the caller's lock still guards the directory: %v, want ErrInUse", err)
	}
	// the caller's lock again: a restart over the same lock (the devnet's RestartNode)
	if n, err = New(ctx, cfg); err != nil {
		t.Fatalf("restart with the caller's lock: %v", err)
	}
	if err := n.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	held.Release()
	if _, err := New(ctx, cfg); !errors.Is(err, ErrConfig) {
		t.Fatalf("a released lock: %v, want ErrConfig", err)
	}
}
