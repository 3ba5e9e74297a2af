package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/consensys/gnark/frontend"
	"github.com/ethereum/go-ethereum/accounts/abi/bind/v2"

	"github.com/modex/modex/circuits"
	"github.com/modex/modex/node"
	"github.com/modex/modex/node/devchain"
	"github.com/modex/modex/prover"
	"github.com/modex/modex/types"
)

// cube is a tiny one-public-input circuit: keys for it pass Keys.Check
// and load like a family's (loadProvers does not look at the circuit).
type cube struct {
	X frontend.Variable
	Y frontend.Variable `gnark:",public"`
}

func (c *cube) Define(api frontend.API) error {
	api.AssertIsEqual(api.Mul(c.X, c.X, c.X), c.Y)
	return nil
}

// ceremonyKeys runs a one-contributor-per-phase MPC ceremony for ccs
// through the file API (what modex ceremony runs).
func ceremonyKeys(t *testing.T, dir string) *prover.Keys {
	t.Helper()
	ccs, err := prover.Compile(&cube{}, "test/cmd-modex/cube", "")
	if err != nil {
		t.Fatal(err)
	}
	n := prover.CeremonyDomainSize(ccs)
	f := func(name string) string { return filepath.Join(dir, name) }
	steps := []func() error{
		func() error { return prover.InitPhase1File(n, f("p1.0")) },
		func() error { return prover.ContributePhase1File(f("p1.0"), f("p1.1")) },
		func() error { return prover.SealPhase1Files(n, []byte("beacon 1"), f("srs"), f("p1.1")) },
		func() error { return prover.InitPhase2File(ccs, f("srs"), f("p2.0")) },
		func() error { return prover.ContributePhase2File(f("p2.0"), f("p2.1")) },
	}
	for i, s := range steps {
		if err := s(); err != nil {
			t.Fatalf("ceremony step %d: %v", i, err)
		}
	}
	k, err := prover.SealCeremonyFiles(ccs, f("srs"), []byte("beacon 2"), f("p2.1"))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// modex node refuses keys from the INSECURE dev setup unless
// --insecure-dev-keys (or its env twin) is given, before it touches the
// data directory, and says so in its log; keys from a ceremony need no
// flag.
func TestNodeInsecureDevKeys(t *testing.T) {
	tmp := t.TempDir()
	p := types.TestParams()
	p.BatchCapacity = node.DefaultCapacity
	keys := filepath.Join(tmp, "keys")
	save := func(f types.Family, k *prover.Keys) {
		if err := k.Save(filepath.Join(keys, filepath.FromSlash(circuits.BatchKey(f, p)))); err != nil {
			t.Fatal(err)
		}
	}
	cer := ceremonyKeys(t, t.TempDir())
	if cer.Insecure {
		t.Fatal("ceremony keys marked Insecure")
	}
	dev, err := prover.DevSetup(cer.CCS)
	if err != nil {
		t.Fatal(err)
	}
	save(types.FamilyTransfer, cer) // a ceremony's
	save(types.FamilyWithdraw, dev) // the dev setup's

	// a real L1 without a bridge: a node that accepted its keys gets as
	// far as reading the bridge, and fails there
	chain, err := devchain.StartChain(devchain.ChainConfig{HTTPAddr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { chain.Close() })
	bridgeAddr := "0x" + strings.Repeat("ab", 20)
	opKey := writeFile(t, "op.key", fmt.Sprintf("%x\n", devchain.DevKey(0).D.Bytes()))

	run := func(t *testing.T, families string, extra ...string) (string, error, string) {
		t.Helper()
		datadir := filepath.Join(t.TempDir(), "data")
		args := append([]string{"node", "--l1-rpc", chain.URL(), "--bridge", bridgeAddr, "--operator-key-file", opKey,
			"--keys", keys, "--params", "test", "--families", families, "--datadir", datadir, "--rpc.addr", "127.0.0.1:0"}, extra...)
		out, err := runApp(t, args...)
		return out, err, datadir
	}
	accepted := func(t *testing.T, out string, err error, fams ...string) {
		t.Helper()
		if errors.Is(err, prover.ErrInsecureKeys) || !errors.Is(err, bind.ErrNoCode) {
			t.Fatalf("want the keys accepted and the node stopped at the missing bridge, got %v\n%s", err, out)
		}
		for _, f := range fams {
			if !strings.Contains(out, `"loaded prover keys" family=`+f) {
				t.Errorf("no %s keys loaded:\n%s", f, out)
			}
		}
	}
	refused := func(t *testing.T, out string, err error, datadir, family string) {
		t.Helper()
		if !errors.Is(err, prover.ErrInsecureKeys) || !strings.Contains(err.Error(), "--insecure-dev-keys") || !strings.Contains(err.Error(), family) {
			t.Fatalf("want ErrInsecureKeys naming %s and the flag, got %v\n%s", family, err, out)
		}
		if !strings.Contains(out, "refusing INSECURE development keys") {
			t.Errorf("the refusal is not in the log:\n%s", out)
		}
		if _, err := os.Stat(datadir); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("the refused node touched its data directory: %v", err)
		}
	}

	t.Run("dev keys refused", func(t *testing.T) {
		out, err, datadir := run(t, "Withdraw")
		refused(t, out, err, datadir, "Withdraw")
	})
	t.Run("dev keys beside ceremony keys refused", func(t *testing.T) {
		out, err, datadir := run(t, "Transfer,Withdraw")
		refused(t, out, err, datadir, "Withdraw")
	})
	t.Run("dev keys accepted with the flag", func(t *testing.T) {
		out, err, _ := run(t, "Transfer,Withdraw", "--insecure-dev-keys")
		accepted(t, out, err, "Transfer", "Withdraw")
		if !strings.Contains(out, "accepted INSECURE development keys") || !strings.Contains(out, "families=Withdraw") {
			t.Errorf("no loud warning naming the dev keys' family:\n%s", out)
		}
	})
	t.Run("dev keys accepted with the env twin", func(t *testing.T) {
		t.Setenv("MODEX_INSECURE_DEV_KEYS", "true")
		out, err, _ := run(t, "Withdraw")
		accepted(t, out, err, "Withdraw")
	})
	t.Run("ceremony keys accepted without the flag", func(t *testing.T) {
		out, err, _ := run(t, "Transfer")
		accepted(t, out, err, "Transfer")
		if !strings.Contains(out, "origin=ceremony") || strings.Contains(out, "INSECURE") {
			t.Errorf("ceremony keys logged as insecure:\n%s", out)
		}
	})
}
