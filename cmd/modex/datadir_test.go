package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/modex/modex/internal/datadir"
	"github.com/modex/modex/node"

	"github.com/modex/modex/internal/testutil/child"
)

// One process per data directory, at the commands: `modex devnet` and
// `modex node` over a directory in use are refused with
// *datadir.InUseError before anything in it changes, a port in use is
// refused before the devnet wipes anything, and the lock is free once its
// holder stops or is SIGKILLed. Every refusal here comes before key setup,
// so no devnet starts: each full command line also names a busy --l1.addr
// (or, for the node, an empty --keys), which fails fast should a check
// ever go missing, instead of setting up keys.

// devnetDir makes a previous devnet's data directory: the marker and data.
func devnetDir(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "devnet")
	for name, body := range map[string]string{devnetMarker: "marker", "state/000001.vlog": "old state", "journal/MANIFEST": "old journal"} {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// wantDataIntact checks that devnetDir's files are all still there.
func wantDataIntact(t *testing.T, dir string) {
	t.Helper()
	for name, body := range map[string]string{devnetMarker: "marker", "state/000001.vlog": "old state", "journal/MANIFEST": "old journal"} {
		b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(name)))
		if err != nil || string(b) != body {
			t.Fatalf("%s: %q %v: the data of the directory in use was touched", name, b, err)
		}
	}
}

// busyAddr is an address a listener of this test holds.
func busyAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l.Addr().String()
}

func wantInUse(t *testing.T, err error, dir string, pid int) {
	t.Helper()
	var ie *datadir.InUseError
	if !errors.As(err, &ie) || !errors.Is(err, datadir.ErrInUse) || ie.Dir != dir || ie.PID != pid {
		t.Fatalf("got %T %v, want a *datadir.InUseError for %s held by pid %d", err, err, dir, pid)
	}
	if !strings.Contains(err.Error(), fmt.Sprintf("pid %d", pid)) {
		t.Fatalf("%q does not name pid %d", err, pid)
	}
}

// devnetArgs is a devnet command line over dir whose --l1.addr is busy.
func devnetArgs(t *testing.T, dir string) []string {
	return []string{"devnet", "--datadir", dir, "--keys", t.TempDir(), "--families", "Transfer",
		"--l1.addr", busyAddr(t), "--rpc.addr", "127.0.0.1:0"}
}

// nodeArgs is a node command line over dir with an empty --keys directory.
func nodeArgs(t *testing.T, dir, rpcAddr string) []string {
	return []string{"node", "--datadir", dir, "--keys", t.TempDir(), "--families", "Transfer",
		"--l1-rpc", "http://127.0.0.1:1", "--bridge", "0x00000000000000000000000000000000000000b1",
		"--operator-key", strings.Repeat("33", 32), "--rpc.addr", rpcAddr}
}

const lockChildEnv = "MODEX_CMD_LOCK_CHILD"

// TestLockHolderChild is the child process of TestDataDirInUse: it holds
// the lock of the directory MODEX_CMD_LOCK_CHILD names (as a running devnet
// does), says "locked", and releases it when its stdin closes.
func TestLockHolderChild(t *testing.T) {
	dir := os.Getenv(lockChildEnv)
	if dir == "" {
		t.Skip("child process of TestDataDirInUse")
	}
	l, err := datadir.Acquire(dir)
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(3)
	}
	fmt.Println("locked")
	_, _ = io.Copy(io.Discard, os.Stdin)
	if err := l.Release(); err != nil {
		os.Exit(3)
	}
	os.Exit(0)
}

func startHolder(t *testing.T, dir string) (*exec.Cmd, io.WriteCloser) {
	t.Helper()
	c := child.Start(t, "TestLockHolderChild", lockChildEnv, dir)
	if c.Line != "locked" {
		t.Fatalf("lock holder: %q", c.Line)
	}
	return c.Cmd, c.Stdin
}

func TestDataDirInUse(t *testing.T) {
	if os.Getenv(lockChildEnv) != "" {
		t.Skip("in child")
	}
	dir := devnetDir(t)
	holder, stdin := startHolder(t, dir)
	pid := holder.Process.Pid

	_, err := runApp(t, devnetArgs(t, dir)...)
	wantInUse(t, err, dir, pid)
	wantDataIntact(t, dir)
	_, err = runApp(t, nodeArgs(t, dir, "127.0.0.1:0")...)
	wantInUse(t, err, dir, pid)
	wantDataIntact(t, dir)

	// the holder stops: the directory is free, and the devnet's wipe keeps
	// the lock file, so the lock it holds goes on guarding the directory
	stdin.Close()
	if err := holder.Wait(); err != nil {
		t.Fatalf("holder: %v", err)
	}
	c, err := parseDevnet(t, "--datadir", dir, "--l1.addr", "127.0.0.1:0", "--rpc.addr", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	lock, wiped, err := openDevnetDir(c)
	if err != nil || !wiped {
		t.Fatalf("after the holder stopped: wiped %v, %v", wiped, err)
	}
	for _, gone := range []string{"state", "journal"} {
		if _, err := os.Stat(filepath.Join(dir, gone)); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("%s survived the wipe: %v", gone, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, devnetMarker)); err != nil {
		t.Fatal(err)
	}
	_, err = datadir.Acquire(dir)
	wantInUse(t, err, dir, os.Getpid())
	lock.Release()

	// SIGKILLed holder: the kernel frees the lock
	holder, _ = startHolder(t, dir)
	_, err = runApp(t, devnetArgs(t, dir)...)
	wantInUse(t, err, dir, holder.Process.Pid)
	if err := holder.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = holder.Wait()
	if lock, _, err = openDevnetDir(c); err != nil {
		t.Fatalf("after the holder was SIGKILLed: %v", err)
	}
	lock.Release()
}

// TestDevnetPortInUse: a port in use makes the devnet refuse before it
// wipes anything, and leaves the directory unlocked.
func TestDevnetPortInUse(t *testing.T) {
	dir := devnetDir(t)
	_, err := runApp(t, devnetArgs(t, dir)...)
	wantField(t, err, "l1.addr")
	wantDataIntact(t, dir)

	c, err := parseDevnet(t, "--datadir", dir, "--l1.addr", "127.0.0.1:0", "--rpc.addr", busyAddr(t))
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = openDevnetDir(c)
	wantField(t, err, "rpc.addr")
	wantDataIntact(t, dir)
	// one free port named twice: the second flag is refused
	free, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c.L1Addr = free.Addr().String()
	c.RPCAddr = c.L1Addr
	free.Close()
	_, _, err = openDevnetDir(c)
	wantField(t, err, "rpc.addr")
	wantDataIntact(t, dir)
	l, err := datadir.Acquire(dir)
	if err != nil {
		t.Fatalf("a refused devnet left the directory locked: %v", err)
	}
	l.Release()

	// the node: refused before its keys load
	nd := t.TempDir()
	_, err = runApp(t, nodeArgs(t, nd, busyAddr(t))...)
	wantField(t, err, "rpc.addr")
	_, err = runApp(t, nodeArgs(t, nd, "127.0.0.1:0")...)
	wantField(t, err, "keys") // past the lock and the port: the tripwire
	if l, err = datadir.Acquire(nd); err != nil {
		t.Fatalf("a refused node left the directory locked: %v", err)
	}
	l.Release()
}

// TestPrepareDataDir: the devnet wipes only a devnet's directory, only with
// --fresh, and keeps the lock file; a foreign directory is refused before it
// is locked, so nothing, not even a lock file, is left in it.
func TestPrepareDataDir(t *testing.T) {
	cfg := func(dir string, fresh bool) *devnetConfig {
		return &devnetConfig{DataDir: dir, Fresh: fresh, ServiceConfig: node.ServiceConfig{RPCAddr: "127.0.0.1:0"}}
	}
	dir := filepath.Join(t.TempDir(), "dn")
	lock, wiped, err := openDevnetDir(cfg(dir, true))
	if err != nil || wiped {
		t.Fatalf("new dir: wiped %v err %v", wiped, err)
	}
	if err := os.WriteFile(filepath.Join(dir, "state"), []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	lock.Release()
	_, _, err = openDevnetDir(cfg(dir, false))
	wantField(t, err, "fresh")
	if _, err := os.Stat(filepath.Join(dir, "state")); err != nil {
		t.Fatal("--fresh=false wiped the data")
	}
	lock, wiped, err = openDevnetDir(cfg(dir, true))
	if err != nil || !wiped {
		t.Fatalf("devnet dir: wiped %v err %v", wiped, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "state")); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("old data survived")
	}
	if _, err := os.Stat(filepath.Join(dir, datadir.LockFile)); err != nil {
		t.Fatalf("the wipe removed the lock file: %v", err)
	}
	lock.Release()
	if _, err := prepareDataDir(lock, true); err == nil {
		t.Fatal("prepareDataDir wiped without the lock")
	}

	other := t.TempDir()
	if err := os.WriteFile(filepath.Join(other, "precious"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, _, err = openDevnetDir(cfg(other, true))
	wantField(t, err, "datadir")
	if _, err := os.Stat(filepath.Join(other, "precious")); err != nil {
		t.Fatal("wiped a foreign directory")
	}
	if _, err := os.Stat(filepath.Join(other, datadir.LockFile)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("left a lock file in a foreign directory: %v", err)
	}
}
