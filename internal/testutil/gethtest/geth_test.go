package gethtest

import (
	"context"
	"errors"
	"io/fs"
	"math/big"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
)

// geth --dev starts, answers on loopback, mines steadily, funds addresses
// from the dev account, and is gone with its process group after Kill.
func TestStartFundKill(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	g := Start(t, Options{})
	if !strings.HasPrefix(g.URL, "http://127.0.0.1:") {
		t.Fatalf("URL %s, want loopback", g.URL)
	}
	h0, err := g.Client.BlockNumber(ctx)
	if err != nil {
		t.Fatal(err)
	}
	k, _ := crypto.GenerateKey()
	a, b := crypto.PubkeyToAddress(k.PublicKey), common.Address{0xbb}
	amount := big.NewInt(1_234_567)
	if err := g.Fund(ctx, amount, a, b); err != nil {
		t.Fatal(err)
	}
	for _, x := range []common.Address{a, b} {
		bal, err := g.Client.BalanceAt(ctx, x, nil)
		if err != nil || bal.Cmp(amount) != 0 {
			t.Fatalf("%s: balance %v (%v), want %v", x, bal, err, amount)
		}
	}
	// blocks keep coming with no transactions (--dev.period)
	for {
		h, err := g.Client.BlockNumber(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if h >= h0+3 {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("no new blocks after %d", h)
		case <-time.After(200 * time.Millisecond):
		}
	}
	// a transaction that fails is ErrReverted (a transfer to a contract
	// that reverts: code 0xfe, INVALID, deployed by the funded key)
	if err := g.Fund(ctx, big.NewInt(1e18), a); err != nil {
		t.Fatal(err)
	}
	tx, err := g.Send(ctx, k, 0, nil, nil, []byte{0x60, 0xfe, 0x60, 0, 0x53, 0x60, 1, 0x60, 0, 0xf3}, 100_000)
	if err != nil {
		t.Fatal(err)
	}
	r, err := g.WaitMined(ctx, tx.Hash())
	if err != nil {
		t.Fatal(err)
	}
	tx, err = g.Send(ctx, k, 1, &r.ContractAddress, nil, nil, 100_000)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.WaitMined(ctx, tx.Hash()); !errors.Is(err, ErrReverted) {
		t.Fatalf("call to INVALID: %v, want ErrReverted", err)
	}

	pid := g.cmd.Process.Pid
	g.Kill()
	select {
	case <-g.Exited():
	default:
		t.Fatal("Kill returned before geth exited")
	}
	if err := syscall.Kill(-pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Fatalf("geth's process group %d after Kill: %v, want ESRCH", pid, err)
	}
	g.Kill() // again: nothing
}

// MODEX_GETH naming no file is an error that says what to do, never a skip.
func TestBinaryMissing(t *testing.T) {
	t.Setenv(EnvBinary, filepath.Join(t.TempDir(), "geth"))
	_, err := findBinary()
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "make geth") {
		t.Fatalf("err %v, want ErrNotExist saying make geth", err)
	}
	t.Setenv(EnvBinary, t.TempDir())
	if _, err := findBinary(); err == nil || !strings.Contains(err.Error(), "not an executable") {
		t.Fatalf("a directory: %v", err)
	}
}

func TestVersion(t *testing.T) {
	v, err := Version()
	if err != nil || !strings.HasPrefix(v, "v1.") {
		t.Fatalf("version %q, %v", v, err)
	}
}
