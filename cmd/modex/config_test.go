package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/urfave/cli/v3"

	"github.com/modex/modex/node"
	"github.com/modex/modex/types"
	"github.com/modex/modex/wallet"
)

func writeFile(t *testing.T, name, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// wantField checks that err is a configuration or argument error naming
// the flag.
func wantField(t *testing.T, err error, field string) {
	t.Helper()
	if got := errField(err); got != field {
		t.Fatalf("want an error naming --%s, got %T %v", field, err, err)
	}
	if !errors.Is(err, node.ErrInvalidConfig) && !errors.Is(err, wallet.ErrInvalidArgument) {
		t.Fatalf("%v wraps neither ErrInvalidConfig nor ErrInvalidArgument", err)
	}
}

// runApp runs a modex command line; its output comes back.
func runApp(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	a := newApp(&out, &out)
	err := a.run(context.Background(), append([]string{"modex"}, args...))
	return out.String(), err
}

// parseCmd runs `modex path... args` with the leaf's action replaced by
// read (the flags are parsed and their sources checked, nothing starts).
func parseCmd(t *testing.T, path []string, args []string, read func(cmd *cli.Command) error) error {
	t.Helper()
	a := newApp(io.Discard, io.Discard)
	c := a.root
	for _, p := range path {
		c = c.Command(p)
	}
	c.Action = func(_ context.Context, cmd *cli.Command) error { return read(cmd) }
	return a.run(context.Background(), append(append([]string{"modex"}, path...), args...))
}

func parseDevnet(t *testing.T, args ...string) (*devnetConfig, error) {
	var c *devnetConfig
	err := parseCmd(t, []string{"devnet"}, args, func(cmd *cli.Command) (err error) { c, err = newDevnetConfig(cmd); return err })
	return c, err
}

func TestEnvName(t *testing.T) {
	for in, want := range map[string]string{"log.level": "MODEX_LOG_LEVEL", "l1-rpc": "MODEX_L1_RPC",
		"batch.capacity": "MODEX_BATCH_CAPACITY", "operator-key-file": "MODEX_OPERATOR_KEY_FILE"} {
		if got := node.EnvName(in); got != want {
			t.Errorf("EnvName(%q) = %q, want %q", in, got, want)
		}
	}
}

// flag > env > TOML > default, for every layer at once.
func TestConfigPrecedence(t *testing.T) {
	file := writeFile(t, "devnet.toml", `
accounts = 7
families = ["Priority", "Trade"]
[batch]
capacity = 3
timeout = "3s"
[log]
level = "warn"
`)
	t.Setenv("MODEX_CONFIG", file)
	t.Setenv("MODEX_ACCOUNTS", "5")       // the flag wins
	t.Setenv("MODEX_BATCH_TIMEOUT", "2s") // env beats TOML
	t.Setenv("MODEX_LOG_FORMAT", "json")  // env beats the default
	c, err := parseDevnet(t, "--accounts", "9")
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"accounts (flag)", c.Accounts, 9},
		{"batch.timeout (env)", c.BatchTimeout, 2 * time.Second},
		{"log.format (env)", c.Log.Format, "json"},
		{"batch.capacity (TOML)", c.Params.BatchCapacity, 3},
		{"log.level (TOML)", c.Log.Level.String(), "WARN"},
		{"families (TOML)", len(c.Families), 2},
		{"datadir (default)", c.DataDir, "./build/devnet"},
		{"admin (default)", c.Admin, true},
	}
	for _, k := range checks {
		if k.got != k.want {
			t.Errorf("%s = %v, want %v", k.name, k.got, k.want)
		}
	}

	// --config on the command line beats MODEX_CONFIG
	other := writeFile(t, "other.toml", "accounts = 11\n")
	os.Unsetenv("MODEX_ACCOUNTS")
	c, err = parseDevnet(t, "--config", other)
	if err != nil {
		t.Fatal(err)
	}
	if c.Accounts != 11 || c.Params.BatchCapacity != node.DefaultCapacity {
		t.Errorf("accounts %d capacity %d: want the --config file's", c.Accounts, c.Params.BatchCapacity)
	}
}

func TestConfigErrors(t *testing.T) {
	cases := []struct {
		name  string
		env   map[string]string
		toml  string
		args  []string
		field string
	}{
		{"bad env", map[string]string{"MODEX_BATCH_TIMEOUT": "soon"}, "", nil, "batch.timeout"},
		{"unknown TOML key", nil, "[batch]\nsize = 3\n", nil, "batch.size"},
		{"bad TOML value", nil, "accounts = \"many\"\n", nil, "accounts"},
		{"broken TOML", nil, "accounts = \n", nil, "config"},
		{"params", nil, "", []string{"--params", "huge"}, "params"},
		{"capacity", nil, "", []string{"--batch.capacity", "0"}, "batch.capacity"},
		{"families", nil, "", []string{"--families", "Trade,Bogus"}, "families"},
		{"log level", nil, "", []string{"--log.level", "loud"}, "log.level"},
		{"log format", nil, "", []string{"--log.format", "xml"}, "log.format"},
		{"rpc addr", nil, "", []string{"--rpc.addr", "localhost"}, "rpc.addr"},
		{"prove attempts", nil, "", []string{"--prover.attempts", "0"}, "prover.attempts"},
		{"ws ping", nil, "", []string{"--rpc.ws-ping-interval", "1ms"}, "rpc.ws-ping-interval"},
		{"ws connections", nil, "", []string{"--rpc.ws-max-connections", "0"}, "rpc.ws-max-connections"},
		{"ws subscriptions", nil, "", []string{"--rpc.ws-max-subscriptions", "10001"}, "rpc.ws-max-subscriptions"},
		{"l1 addr port", nil, "", []string{"--l1.addr", "127.0.0.1:99999"}, "l1.addr"},
		{"timeout", nil, "", []string{"--batch.timeout", "0s"}, "batch.timeout"},
		{"family wait", nil, "", []string{"--batch.family-wait", "0s"}, "batch.family-wait"},
		{"accounts", nil, "", []string{"--accounts", "0"}, "accounts"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			args := tc.args
			if tc.toml != "" {
				args = append(args, "--config", writeFile(t, "c.toml", tc.toml))
			}
			_, err := parseDevnet(t, args...)
			wantField(t, err, tc.field)
			if tc.env != nil && !strings.Contains(err.Error(), "MODEX_BATCH_TIMEOUT") {
				t.Errorf("the error does not name the env var: %v", err)
			}
		})
	}
	// command-line mistakes are usage errors that say where the usage is
	for _, args := range [][]string{{"--nope", "1"}, {"--batch.capacity", "x"}, {"--accounts"}} {
		_, err := parseDevnet(t, args...)
		if !errors.Is(err, ErrUsage) || !strings.Contains(err.Error(), "modex devnet -h") {
			t.Errorf("%v: %v", args, err)
		}
	}
}

func TestNodeConfigCheck(t *testing.T) {
	keys := t.TempDir()
	keyFile := writeFile(t, "op.key", "0x"+strings.Repeat("11", 32)+"\n")
	base := []string{"--l1-rpc", "http://127.0.0.1:8545", "--bridge", "0x" + strings.Repeat("ab", 20),
		"--operator-key-file", keyFile, "--keys", keys}
	parse := func(args ...string) (*node.CLIConfig, error) {
		var c *node.CLIConfig
		err := parseCmd(t, []string{"node"}, args, func(cmd *cli.Command) (err error) { c, err = node.NewCLIConfig(cmd); return err })
		return c, err
	}
	c, err := parse(base...)
	if err != nil {
		t.Fatal(err)
	}
	if c.OperatorKey == nil || len(c.Families) != len(types.AllFamilies()) || c.MakerFeeBips != 2 || c.TakerFeeBips != 5 {
		t.Fatalf("operator set %v, families %v, fees %d/%d", c.OperatorKey != nil, c.Families, c.MakerFeeBips, c.TakerFeeBips)
	}
	nc := c.Config(nil, nil, nil)
	if nc.MaxFeeCap.String() != "1000000000000" || nc.RPC.Addr != node.DefaultRPCAddr || nc.Params.BatchCapacity != node.DefaultCapacity {
		t.Errorf("node.Config: fee cap %s, rpc %s, capacity %d", nc.MaxFeeCap, nc.RPC.Addr, nc.Params.BatchCapacity)
	}
	without := func(name string) []string {
		var out []string
		for i := 0; i < len(base); i += 2 {
			if base[i] != "--"+name {
				out = append(out, base[i], base[i+1])
			}
		}
		return out
	}
	cases := []struct {
		args  []string
		field string
	}{
		{without("l1-rpc"), "l1-rpc"},
		{append(without("l1-rpc"), "--l1-rpc", "127.0.0.1:8545"), "l1-rpc"},
		{append(without("bridge"), "--bridge", "0x1234"), "bridge"},
		{without("operator-key-file"), "operator-key"},
		{append(base, "--operator-key", strings.Repeat("22", 32)), "operator-key"},
		{append(without("operator-key-file"), "--operator-key", "nothex"), "operator-key"},
		{append(without("operator-key-file"), "--operator-key-file", filepath.Join(keys, "missing")), "operator-key-file"},
		{without("keys"), "keys"},
		{append(without("keys"), "--keys", keyFile), "keys"},
		{append(base, "--prover", "tpu"), "prover"},
		{append(base, "--prover.workers", "0"), "prover.workers"},
		{append(base, "--fees.taker-bips", "300"), "fees.taker-bips"},
		{append(base, "--datadir", ""), "datadir"},
	}
	for _, tc := range cases {
		_, err := parse(tc.args...)
		wantField(t, err, tc.field)
	}
}

// dumpconfig's output is a config file that gives the same configuration.
func TestDumpConfigRoundTrip(t *testing.T) {
	t.Setenv("MODEX_LOG_LEVEL", "debug")
	args := []string{"--batch.capacity", "2", "--families", "Trade,Priority", "--batch.timeout", "250ms", "--admin=false"}
	dump, err := runApp(t, append([]string{"dumpconfig", "devnet"}, args...)...)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"[batch]", "capacity = 2", `timeout = "250ms"`, `level = "debug"`, "admin = false"} {
		if !strings.Contains(dump, want) {
			t.Errorf("dump lacks %q:\n%s", want, dump)
		}
	}
	if same, err := runApp(t, append([]string{"devnet", "--dump-config"}, args...)...); err != nil || same != dump {
		t.Errorf("devnet --dump-config differs from dumpconfig devnet (%v):\n%s", err, same)
	}
	c, err := parseDevnet(t, args...)
	if err != nil {
		t.Fatal(err)
	}
	os.Unsetenv("MODEX_LOG_LEVEL")
	body := dump[strings.Index(dump, "\n")+1:] // the comment line, then TOML
	c2, err := parseDevnet(t, "--config", writeFile(t, "dump.toml", body))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c, c2) {
		t.Errorf("round trip:\n%+v\n%+v", *c, *c2)
	}

	// secrets stay out of the dump
	out, err := runApp(t, "dumpconfig", "node", "--operator-key", strings.Repeat("33", 32))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out, strings.Repeat("33", 32)) || !strings.Contains(out, "operator-key omitted") {
		t.Errorf("dumpconfig node:\n%s", out)
	}
}

// What a new user tries first: help and the version, on every command.
func TestHelpAndVersion(t *testing.T) {
	for _, args := range [][]string{{"-h"}, {"--help"}, {"order", "-h"}, {"order", "place", "-h"}, {"devnet", "-h"}, {"wallet", "import", "--help"}, {"order"}, {}} {
		out, err := runApp(t, args...)
		if err != nil {
			t.Errorf("%v: %v", args, err)
		}
		if !strings.Contains(out, "USAGE") || strings.Contains(out, "invalid") {
			t.Errorf("%v printed:\n%s", args, out)
		}
	}
	for _, args := range [][]string{{"frobnicate"}, {"wallet", "frobnicate"}, {"order", "frobnicate"}} {
		_, err := runApp(t, args...)
		if !errors.Is(err, ErrUsage) || !strings.Contains(err.Error(), "unknown command") {
			t.Errorf("%v: %v", args, err)
		}
	}
	for _, args := range [][]string{{"--version"}, {"transfer", "--version"}, {"order", "place", "--version"}, {"devnet", "--version"}, {"bench", "--version"}, {"model", "show", "--version"}} {
		out, err := runApp(t, args...)
		if (err != nil && !errors.Is(err, errShown)) || strings.TrimSpace(out) != "modex "+node.Version {
			t.Errorf("%v: %q %v", args, out, err)
		}
	}
}

// The commands that once parsed their own flags: -h prints their usage,
// --version works, and a bad flag or stray argument is a usage error that
// says where the usage is.
func TestMovedCommandsUsage(t *testing.T) {
	cmds := [][]string{
		{"demo"}, {"setup"}, {"export-verifier"}, {"bench"},
		{"bench", "apply"}, {"bench", "seal"}, {"bench", "circuit"}, {"bench", "prove"}, {"bench", "gas"}, {"bench", "sequencer"},
		{"ceremony"}, {"ceremony", "phase1-init"}, {"ceremony", "phase1-contribute"}, {"ceremony", "phase1-verify"},
		{"ceremony", "phase1-seal"}, {"ceremony", "phase2-init"}, {"ceremony", "phase2-contribute"},
		{"ceremony", "phase2-verify"}, {"ceremony", "seal"},
	}
	for _, c := range cmds {
		name := strings.Join(c, " ")
		t.Run(name, func(t *testing.T) {
			out, err := runApp(t, append(c, "-h")...)
			if err != nil || !strings.Contains(out, "USAGE") || !strings.Contains(out, "modex "+name) {
				t.Errorf("-h: %v\n%s", err, out)
			}
			out, err = runApp(t, append(c, "--version")...)
			if (err != nil && !errors.Is(err, errShown)) || strings.TrimSpace(out) != "modex "+node.Version {
				t.Errorf("--version: %q %v", out, err)
			}
			_, err = runApp(t, append(c, "--nope")...)
			if !errors.Is(err, ErrUsage) || !strings.Contains(err.Error(), "modex "+name+" -h") {
				t.Errorf("bad flag: %v", err)
			}
		})
	}
	// a leaf that takes no arguments refuses one; the flags keep their names
	for _, args := range [][]string{{"demo", "extra"}, {"bench", "gas", "extra"}, {"setup", "--dev", "extra"}, {"ceremony", "phase1-verify", "extra"}} {
		_, err := runApp(t, args...)
		if !errors.Is(err, ErrUsage) || !strings.Contains(err.Error(), `"extra"`) {
			t.Errorf("%v: %v", args, err)
		}
	}
	for _, args := range [][]string{{"bench", "frobnicate"}, {"ceremony", "frobnicate"}} {
		_, err := runApp(t, args...)
		if !errors.Is(err, ErrUsage) || !strings.Contains(err.Error(), "unknown command") {
			t.Errorf("%v: %v", args, err)
		}
	}
}

// Every flag of the moved commands keeps its name and default, and reads
// its env twin.
func TestMovedCommandsFlags(t *testing.T) {
	cases := []struct {
		path []string
		args []string
		env  map[string]string
		want map[string]string // flag: value as cmd.Value prints it
	}{
		{[]string{"demo"}, nil, nil, map[string]string{"dir": "", "prod": "false"}},
		{[]string{"bench", "apply"}, nil, nil, map[string]string{"json": "false", "users": "32"}},
		{[]string{"bench", "seal"}, []string{"-json", "--users", "8"}, nil, map[string]string{"json": "true", "users": "8"}},
		{[]string{"bench", "circuit"}, nil, map[string]string{"MODEX_PARAMS": "test"}, map[string]string{"params": "test"}},
		{[]string{"bench", "prove"}, []string{"--pin=false"}, nil, map[string]string{"params": "prod", "family": "Trade", "sizes": "1,2,4", "runs": "3",
			"backend": "cpu", "device": "0", "icicle-backend": "CUDA", "icicle-libs": "", "pin": "false"}},
		{[]string{"bench", "gas"}, nil, map[string]string{"MODEX_SEED": "7"}, map[string]string{"capacities": "8,32,64", "seed": "7", "fork": "osaka"}},
		{[]string{"bench", "sequencer"}, []string{"--sync=false"}, nil, map[string]string{"duration": "10s", "users": "256", "clients": "16",
			"mix": "transfers=70,orders=30", "sync": "false", "verify-for": "2s", "model-depth": "16", "capacity": "64", "cpuprofile": "", "pause-tree": "false"}},
		{[]string{"setup"}, []string{"--dev"}, nil, map[string]string{"circuit": "", "params": "prod", "keys": "", "dev": "true"}},
		{[]string{"export-verifier"}, nil, map[string]string{"MODEX_OUT": "v.sol"}, map[string]string{"keys": "", "out": "v.sol"}},
		{[]string{"ceremony", "seal"}, []string{"--circuit", "Trade", "a", "b"}, nil, map[string]string{"circuit": "Trade", "params": "prod", "srs": "", "beacon": "", "keys": ""}},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.path, " "), func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			err := parseCmd(t, tc.path, tc.args, func(cmd *cli.Command) error {
				for name, want := range tc.want {
					if got := fmt.Sprint(cmd.Value(name)); got != want {
						t.Errorf("--%s = %q, want %q", name, got, want)
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
	// the setup acknowledgement is on the command line only
	t.Setenv("MODEX_DEV", "true")
	if err := parseCmd(t, []string{"setup"}, nil, func(cmd *cli.Command) error {
		if cmd.Bool("dev") {
			t.Error("MODEX_DEV acknowledged the insecure setup")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// A ceremony step names a missing flag before it compiles anything.
func TestCeremonyRequired(t *testing.T) {
	for _, tc := range []struct {
		args  []string
		field string
	}{
		{[]string{"ceremony", "phase1-init", "--out", "x"}, "circuit"},
		{[]string{"ceremony", "phase1-contribute", "--in", "x"}, "out"},
		{[]string{"ceremony", "phase2-verify", "--next", "x"}, "prev"},
		{[]string{"ceremony", "seal", "--circuit", "Trade", "--srs", "s", "--keys", "k"}, "beacon"},
	} {
		_, err := runApp(t, tc.args...)
		wantField(t, err, tc.field)
	}
}
