package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/urfave/cli/v3"

	"github.com/modex/modex/circuits"
	"github.com/modex/modex/deploy"
	"github.com/modex/modex/node"
	"github.com/modex/modex/node/devchain"
	"github.com/modex/modex/prover"
	"github.com/modex/modex/types"
)

func writeRecord(t *testing.T, r *deploy.Record) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "deployment.json")
	if err := r.Save(path); err != nil {
		t.Fatal(err)
	}
	return path
}

func testRecord() *deploy.Record {
	p := types.TestParams()
	p.BatchCapacity = 3
	return &deploy.Record{
		Version: deploy.RecordVersion, Complete: true, ChainID: 1337, Insecure: true,
		Bridge:      deploy.Contract{Address: common.HexToAddress("0x00000000000000000000000000000000000000b1")},
		DeployBlock: 7,
		Params: deploy.ParamsRecord{Name: "test", AccountDepth: p.AccountDepth, BalanceDepth: p.BalanceDepth, ModelDepth: p.ModelDepth,
			OrderDepth: p.OrderDepth, MaxFeeAssets: p.MaxFeeAssets, BatchCapacity: p.BatchCapacity},
		Families: []deploy.FamilyRecord{{Family: "Priority", Insecure: true}, {Family: "Trade", Insecure: true}},
	}
}

// TestNodeDeployment: modex node --deployment takes the bridge, first
// block, parameters and families from the record, refuses them given
// beside it, refuses an incomplete record, and refuses a record of
// INSECURE keys without --insecure-dev-keys.
func TestNodeDeployment(t *testing.T) {
	keys := t.TempDir()
	opKey := filepath.Join(t.TempDir(), "op.key")
	if err := os.WriteFile(opKey, []byte("0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	parse := func(args ...string) (*node.CLIConfig, error) {
		var c *node.CLIConfig
		err := parseCmd(t, []string{"node"}, append([]string{"--l1-rpc", "http://127.0.0.1:1", "--keys", keys, "--operator-key-file", opKey}, args...),
			func(cmd *cli.Command) (err error) { c, err = node.NewCLIConfig(cmd); return err })
		return c, err
	}
	rec := writeRecord(t, testRecord())

	c, err := parse("--deployment", rec, "--insecure-dev-keys")
	if err != nil {
		t.Fatal(err)
	}
	want := testRecord()
	if c.Bridge != want.Bridge.Address || c.FromBlock != 7 || c.Params != want.Params.Params() || len(c.Families) != 2 ||
		c.Families[0] != types.FamilyPriority || c.Families[1] != types.FamilyTrade || c.Deployment == nil {
		t.Fatalf("config from the record: bridge %s block %d params %+v families %v", c.Bridge, c.FromBlock, c.Params, c.Families)
	}

	for _, flag := range []string{"bridge", "from-block", "params", "batch.capacity", "families"} {
		val := map[string]string{"bridge": "0x00000000000000000000000000000000000000b2", "from-block": "3", "params": "test", "batch.capacity": "3", "families": "all"}[flag]
		_, err := parse("--deployment", rec, "--insecure-dev-keys", "--"+flag, val)
		var ce *node.ConfigError
		if !errors.As(err, &ce) || ce.Field != flag || !strings.Contains(ce.Reason, "deployment record") {
			t.Errorf("--%s beside --deployment: %v, want a ConfigError naming it", flag, err)
		}
	}
	if _, err := parse("--deployment", rec); !errors.Is(err, prover.ErrInsecureKeys) {
		t.Errorf("a record of INSECURE keys without --insecure-dev-keys: %v, want prover.ErrInsecureKeys", err)
	}
	inc := testRecord()
	inc.Complete = false
	var ce *node.ConfigError
	if _, err := parse("--deployment", writeRecord(t, inc), "--insecure-dev-keys"); !errors.As(err, &ce) || ce.Field != "deployment" || !strings.Contains(ce.Reason, "incomplete") {
		t.Errorf("an incomplete record: %v, want a ConfigError on --deployment", err)
	}
	bad := filepath.Join(t.TempDir(), "bad.json")
	if err := os.WriteFile(bad, []byte(`{"version": 99}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := parse("--deployment", bad, "--insecure-dev-keys"); !errors.As(err, &ce) || ce.Field != "deployment" || !strings.Contains(err.Error(), "version 99") {
		t.Errorf("a record of another version: %v, want a ConfigError on --deployment", err)
	}
}

// TestDeployCommandRefuses: modex deploy refuses INSECURE dev keys without
// --insecure-dev-keys and keys that are not the circuit of the parameters,
// before it sends anything.
func TestDeployCommandRefuses(t *testing.T) {
	chain, err := devchain.StartChain(devchain.ChainConfig{HTTPAddr: "127.0.0.1:0", Accounts: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer chain.Close()
	keys := t.TempDir()
	p := types.TestParams()
	p.BatchCapacity = 4
	ccs, err := prover.Compile(&cube{}, "test/cmd-modex/cube", "")
	if err != nil {
		t.Fatal(err)
	}
	k, err := prover.DevSetup(ccs)
	if err != nil {
		t.Fatal(err)
	}
	if err := k.Save(filepath.Join(keys, filepath.FromSlash(circuits.BatchKey(types.FamilyPriority, p)))); err != nil {
		t.Fatal(err)
	}
	dk := filepath.Join(t.TempDir(), "deployer.key")
	if err := os.WriteFile(dk, []byte("4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"), 0o600); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "deployment.json")
	args := []string{"deploy", "--l1-rpc", chain.URL(), "--deployer-key-file", dk, "--keys", keys, "--params", "test",
		"--batch.capacity", "4", "--families", "Priority", "--out", out}
	if log, err := runApp(t, args...); !errors.Is(err, prover.ErrInsecureKeys) || !strings.Contains(log, "refusing INSECURE development keys") {
		t.Fatalf("dev keys without the flag: %v, want prover.ErrInsecureKeys\n%s", err, log)
	}
	if log, err := runApp(t, append(args, "--insecure-dev-keys")...); !errors.Is(err, deploy.ErrKeys) || !strings.Contains(err.Error(), "not for these parameters") {
		t.Fatalf("keys of another circuit: %v, want deploy.ErrKeys\n%s", err, log)
	}
	for _, f := range []string{out, strings.TrimSuffix(out, ".json") + ".fee-key.json"} {
		if _, err := os.Stat(f); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("a refused deploy wrote %s: %v", f, err)
		}
	}
}
