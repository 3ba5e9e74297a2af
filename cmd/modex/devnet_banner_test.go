package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/modex/modex/node/devchain"
	"github.com/modex/modex/node/devnet"
	"github.com/modex/modex/rpc"
	"github.com/modex/modex/types"
)

// The devnet's banner (endpoints and dev keys) is printed and written to
// the data directory (mode 0600, even over an older file), and names that
// file: the node's per-batch log lines scroll the printed one away.
func TestDevnetBannerAndAccountsFile(t *testing.T) {
	dir := t.TempDir()
	c := &devnetConfig{DataDir: dir, Keys: "build/devnet-keys"}
	c.Params, c.ParamsName, c.Families = types.TestParams(), "test", []types.Family{types.FamilyPriority, types.FamilyTrade}
	info := devnetInfo{L1URL: "http://127.0.0.1:8545", ChainID: "1337", Bridge: common.Address{0xb1}, DeployBlock: 3, API: "127.0.0.1:8645"}
	for i := range 3 {
		k := devchain.DevKey(i)
		info.Accounts = append(info.Accounts, devnet.DevAccount{Index: i, Address: crypto.PubkeyToAddress(k.PublicKey),
			L1Key: fmt.Sprintf("%x", crypto.FromECDSA(k)), L2Key: fmt.Sprintf("%x", devchain.DevL2Key(i).Bytes())})
	}
	path := filepath.Join(dir, devnetAccountsFile)
	if err := os.WriteFile(path, []byte("an older devnet's"), 0o644); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := printDevnet(&out, info, c); err != nil {
		t.Fatal(err)
	}
	file, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("%s: %v %v, want mode 0600", path, st.Mode(), err)
	}
	printed := out.String()
	if !strings.HasPrefix(printed, string(file)) {
		t.Errorf("the file is not the printed banner:\n%s\n---\n%s", file, printed)
	}
	for _, a := range info.Accounts {
		for _, want := range []string{a.Address.Hex(), "l1Key 0x" + a.L1Key, "l2Key 0x" + a.L2Key} {
			if !strings.Contains(string(file), want) {
				t.Errorf("no %q in the file", want)
			}
		}
	}
	for _, want := range []string{"http://127.0.0.1:8545", "chain id 1337", "http://127.0.0.1:8645", "ws://127.0.0.1:8645"} {
		if !strings.Contains(string(file), want) {
			t.Errorf("no %q in the file", want)
		}
	}
	if tail := strings.TrimSpace(printed[len(file):]); !strings.Contains(tail, path) || !strings.Contains(tail, "0600") {
		t.Errorf("the banner does not end naming %s:\n%s", path, tail)
	}

	// a data directory that cannot take the file: the banner is printed
	// anyway, without claiming a file
	c.DataDir = filepath.Join(dir, "missing")
	out.Reset()
	if err := printDevnet(&out, info, c); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("err %v, want not exist", err)
	}
	if !strings.Contains(out.String(), "l2Key 0x"+info.Accounts[2].L2Key) || strings.Contains(out.String(), devnetAccountsFile) {
		t.Errorf("without the file:\n%s", out.String())
	}
}

// The banner waits for the startup's own batch to be verified (its log
// lines come before the banner, not after it), or for a halt, or for the
// interrupt.
func TestAwaitStartupBatch(t *testing.T) {
	for _, tc := range []struct {
		name string
		last rpc.SyncStatus // what the third call answers
	}{
		{"verified", rpc.SyncStatus{Sealed: 1, Proven: 1, Verified: 1}},
		{"halted", rpc.SyncStatus{Sealed: 1, Halted: "prover down"}},
	} {
		calls := 0
		status := func(context.Context) (*rpc.SyncStatus, error) {
			calls++
			switch calls {
			case 1:
				return nil, errors.New("not yet")
			case 2:
				return &rpc.SyncStatus{Sealed: 1, Proven: 1}, nil
			}
			st := tc.last
			return &st, nil
		}
		awaitStartupBatch(context.Background(), status, time.Hour)
		if calls != 3 {
			t.Errorf("%s: returned after %d status calls, want 3", tc.name, calls)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	calls := 0
	awaitStartupBatch(ctx, func(context.Context) (*rpc.SyncStatus, error) {
		calls++
		if calls == 2 {
			cancel() // Ctrl-C
		}
		return &rpc.SyncStatus{}, nil
	}, time.Hour)
	if calls != 2 {
		t.Errorf("interrupted: %d status calls, want 2", calls)
	}
}
