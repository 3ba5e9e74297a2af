// Package gethtest runs a real L1 for tests: geth's --dev chain, built from
// the go-ethereum module this module requires (`make geth`, or built on
// first use into the same cache under build/), started as its own process
// on loopback with a temporary data directory, and killed with its process
// group when the test ends. The dev chain's prefunded account (geth's
// published developer key, DevKey) funds the addresses a test names.
//
// Package modexbin (beside it) builds the modex binary for tests that run
// it as a process.
package gethtest

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"io"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"
)

// DevKeyHex is the key of geth's --dev account (go-ethereum's
// cmd/utils.DeveloperKey): a fresh dev chain's genesis funds it and its
// blocks pay their fees to it.
const DevKeyHex = "b71c71a67e1177ad4e901695e1b4b9ee17ae16c6668d313eac2f96dbcda3f291"

// DevKey is geth's --dev account key; DevAddress its address.
var (
	DevKey, _  = crypto.HexToECDSA(DevKeyHex)
	DevAddress = crypto.PubkeyToAddress(DevKey.PublicKey)
)

// ChainID is the chain id of geth --dev.
const ChainID = 1337

// Options are geth's settings a test may change.
type Options struct {
	// Period is the dev chain's block period in whole seconds (geth mines
	// an empty block at least this often, and a block at once when a
	// transaction arrives with period 0). Default 1.
	Period int
	// GasLimit is the blocks' gas limit (default geth's 11,500,000, which
	// verifier deployments can exceed: default here 60,000,000).
	GasLimit uint64
	// Args are appended to geth's command line.
	Args []string
}

// Geth is a running geth --dev.
type Geth struct {
	URL     string // http://127.0.0.1:PORT, JSON-RPC over HTTP
	Client  *ethclient.Client
	DataDir string
	LogPath string // geth's stdout and stderr

	t       testing.TB
	cmd     *exec.Cmd
	exited  chan struct{}
	killMu  sync.Mutex
	killed  bool
	fundMu  sync.Mutex
	waitErr error
}

var httpStarted = regexp.MustCompile(`HTTP server started\s+endpoint=(\S+)\s+auth=false`)

// Start starts geth --dev on loopback (HTTP JSON-RPC on a free port chosen
// by the kernel, no IPC, no p2p), waits until it answers and stops it with
// the test. geth's log is kept in LogPath and its tail shown when the test
// fails.
func Start(t testing.TB, o Options) *Geth {
	t.Helper()
	bin := Binary(t)
	if o.Period == 0 {
		o.Period = 1
	}
	if o.GasLimit == 0 {
		o.GasLimit = 60_000_000
	}
	dir := t.TempDir()
	g := &Geth{t: t, DataDir: filepath.Join(dir, "data"), LogPath: filepath.Join(dir, "geth.log"), exited: make(chan struct{})}
	args := []string{
		"--dev", "--dev.period", fmt.Sprint(o.Period), "--dev.gaslimit", fmt.Sprint(o.GasLimit),
		"--datadir", g.DataDir, "--ipcdisable", "--nodiscover", "--maxpeers", "0",
		"--http", "--http.addr", "127.0.0.1", "--http.port", "0", "--http.api", "eth,net,web3,txpool",
		"--authrpc.addr", "127.0.0.1", "--authrpc.port", "0",
		"--verbosity", "3", "--rpc.txfeecap", "0", "--rpc.gascap", "0",
	}
	args = append(args, o.Args...)
	logf, err := os.Create(g.LogPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Stdout = logf
	pr, pw := io.Pipe()
	cmd.Stderr = pw
	cmd.SysProcAttr = procAttr()
	if err := cmd.Start(); err != nil {
		logf.Close()
		t.Fatalf("gethtest: start %s: %v", bin, err)
	}
	g.cmd = cmd
	endpoint := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		sent := false
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(logf, line)
			if m := httpStarted.FindStringSubmatch(line); m != nil && !sent {
				endpoint <- m[1]
				sent = true
			}
		}
		_, _ = io.Copy(logf, pr)
	}()
	go func() {
		g.waitErr = cmd.Wait()
		pw.Close()
		close(g.exited)
	}()
	t.Cleanup(func() {
		g.Kill()
		if t.Failed() {
			t.Logf("geth's log (%s), last lines:\n%s", g.LogPath, tail(g.LogPath, 40))
		}
		logf.Close()
	})

	var ep string
	select {
	case ep = <-endpoint:
	case <-g.exited:
		t.Fatalf("gethtest: geth exited during startup (%v); its log:\n%s", g.waitErr, tail(g.LogPath, 40))
	case <-time.After(time.Minute):
		t.Fatalf("gethtest: geth started no HTTP server in a minute; its log:\n%s", tail(g.LogPath, 40))
	}
	g.URL = "http://" + ep
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := ethclient.DialContext(ctx, g.URL)
	if err != nil {
		t.Fatalf("gethtest: dial %s: %v", g.URL, err)
	}
	g.Client = c
	t.Cleanup(c.Close)
	for {
		id, err := c.ChainID(ctx)
		if err == nil {
			if id.Cmp(big.NewInt(ChainID)) != 0 {
				t.Fatalf("gethtest: chain id %v, want %d", id, ChainID)
			}
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("gethtest: geth at %s does not answer: %v", g.URL, err)
		case <-g.exited:
			t.Fatalf("gethtest: geth exited (%v); its log:\n%s", g.waitErr, tail(g.LogPath, 40))
		case <-time.After(50 * time.Millisecond):
		}
	}
	return g
}

// Kill ends geth and everything in its process group with SIGKILL and
// waits for it to exit (Start's cleanup calls it; calling it again does
// nothing).
func (g *Geth) Kill() {
	g.killMu.Lock()
	defer g.killMu.Unlock()
	if g.killed {
		return
	}
	g.killed = true
	_ = syscall.Kill(-g.cmd.Process.Pid, syscall.SIGKILL)
	select {
	case <-g.exited:
	case <-time.After(30 * time.Second):
		g.t.Errorf("gethtest: geth (pid %d) did not exit after SIGKILL", g.cmd.Process.Pid)
	}
}

// Exited is closed when the geth process has exited.
func (g *Geth) Exited() <-chan struct{} { return g.exited }

// Fund sends each address amount wei from the dev account and waits until
// every transfer is mined and succeeded.
func (g *Geth) Fund(ctx context.Context, amount *big.Int, to ...common.Address) error {
	g.fundMu.Lock()
	defer g.fundMu.Unlock()
	nonce, err := g.Client.PendingNonceAt(ctx, DevAddress)
	if err != nil {
		return fmt.Errorf("fund: nonce: %w", err)
	}
	var sent []*types.Transaction
	for _, a := range to {
		tx, err := g.Send(ctx, DevKey, nonce, &a, amount, nil, 21_000)
		if err != nil {
			return fmt.Errorf("fund %s: %w", a, err)
		}
		sent = append(sent, tx)
		nonce++
	}
	for _, tx := range sent {
		if _, err := g.WaitMined(ctx, tx.Hash()); err != nil {
			return fmt.Errorf("fund: %w", err)
		}
	}
	return nil
}

// Send signs and sends an EIP-1559 transaction from key (fee cap twice the
// head's base fee plus the suggested tip).
func (g *Geth) Send(ctx context.Context, key *ecdsa.PrivateKey, nonce uint64, to *common.Address, value *big.Int, data []byte, gas uint64) (*types.Transaction, error) {
	head, err := g.Client.HeaderByNumber(ctx, nil)
	if err != nil {
		return nil, err
	}
	tip, err := g.Client.SuggestGasTipCap(ctx)
	if err != nil {
		return nil, err
	}
	feeCap := new(big.Int).Add(new(big.Int).Mul(head.BaseFee, big.NewInt(2)), tip)
	tx, err := types.SignNewTx(key, types.LatestSignerForChainID(big.NewInt(ChainID)), &types.DynamicFeeTx{
		ChainID: big.NewInt(ChainID), Nonce: nonce, GasTipCap: tip, GasFeeCap: feeCap, Gas: gas, To: to, Value: value, Data: data,
	})
	if err != nil {
		return nil, err
	}
	return tx, g.Client.SendTransaction(ctx, tx)
}

// ErrReverted is a mined transaction that failed.
var ErrReverted = errors.New("gethtest: transaction reverted")

// WaitMined waits for a transaction's receipt; a failed one is ErrReverted.
func (g *Geth) WaitMined(ctx context.Context, h common.Hash) (*types.Receipt, error) {
	for {
		r, err := g.Client.TransactionReceipt(ctx, h)
		if err == nil {
			if r.Status != types.ReceiptStatusSuccessful {
				return r, fmt.Errorf("%w: %s in block %v", ErrReverted, h, r.BlockNumber)
			}
			return r, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for %s: %w (last: %v)", h, ctx.Err(), err)
		case <-g.exited:
			return nil, fmt.Errorf("waiting for %s: geth exited", h)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// tail is the last n lines of a file.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
