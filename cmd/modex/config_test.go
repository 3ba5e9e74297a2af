package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/modex/modex/types"
)

func envMap(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func writeFile(t *testing.T, name, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func wantConfigErr(t *testing.T, err error, field string) *ConfigError {
	t.Helper()
	var ce *ConfigError
	if !errors.As(err, &ce) {
		t.Fatalf("want a *ConfigError for --%s, got %T %v", field, err, err)
	}
	if ce.Field != field {
		t.Fatalf("want a ConfigError for --%s, got --%s: %v", field, ce.Field, err)
	}
	if !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("%v does not wrap ErrInvalidConfig", err)
	}
	return ce
}

func TestEnvName(t *testing.T) {
	for in, want := range map[string]string{"log.level": "MODEX_LOG_LEVEL", "l1-rpc": "MODEX_L1_RPC",
		"batch.capacity": "MODEX_BATCH_CAPACITY", "operator-key-file": "MODEX_OPERATOR_KEY_FILE"} {
		if got := EnvName(in); got != want {
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
	f, c := newDevnetFlags()
	f.lookupEnv = envMap(map[string]string{
		"MODEX_CONFIG":        file,
		"MODEX_ACCOUNTS":      "5",  // flag wins
		"MODEX_BATCH_TIMEOUT": "2s", // env beats TOML
		"MODEX_LOG_FORMAT":    "json",
	})
	if err := f.parse([]string{"--accounts", "9"}); err != nil {
		t.Fatal(err)
	}
	if err := c.check(); err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
		src       string
	}{
		{"accounts", c.Accounts, 9, srcFlag},
		{"batch.timeout", c.BatchTimeout, 2 * time.Second, srcEnv},
		{"log.format", c.Log.Format, "json", srcEnv},
		{"batch.capacity", c.Params.Capacity, 3, srcTOML},
		{"log.level", c.Log.Level, "warn", srcTOML},
		{"families", c.Families, "Priority,Trade", srcTOML},
		{"datadir", c.DataDir, "./build/devnet", srcDefault},
		{"admin", c.Admin, true, srcDefault},
	}
	for _, k := range checks {
		if k.got != k.want {
			t.Errorf("%s = %v, want %v", k.name, k.got, k.want)
		}
		if f.sources[k.name] != k.src {
			t.Errorf("%s came from %s, want %s", k.name, f.sources[k.name], k.src)
		}
	}
	if len(c.families) != 2 || c.Params.params().BatchCapacity != 3 {
		t.Errorf("families %v, params %+v", c.families, c.Params.params())
	}

	// --config on the command line beats MODEX_CONFIG
	other := writeFile(t, "other.toml", "accounts = 11\n")
	f, c = newDevnetFlags()
	f.lookupEnv = envMap(map[string]string{"MODEX_CONFIG": file})
	if err := f.parse([]string{"--config", other}); err != nil {
		t.Fatal(err)
	}
	if c.Accounts != 11 || c.Params.Capacity != DefaultCapacity {
		t.Errorf("accounts %d capacity %d: want the --config file's", c.Accounts, c.Params.Capacity)
	}
}

func TestConfigErrors(t *testing.T) {
	parse := func(env map[string]string, toml string, args ...string) (*devnetConfig, error) {
		f, c := newDevnetFlags()
		if toml != "" {
			args = append(args, "--config", writeFile(t, "c.toml", toml))
		}
		f.lookupEnv = envMap(env)
		if err := f.parse(args); err != nil {
			return c, err
		}
		return c, c.check()
	}
	cases := []struct {
		name  string
		env   map[string]string
		toml  string
		args  []string
		field string
	}{
		{"unknown flag", nil, "", []string{"--nope", "1"}, "nope"},
		{"stray argument", nil, "", []string{"extra"}, "extra"},
		{"bad int", nil, "", []string{"--batch.capacity", "x"}, "batch.capacity"},
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
		{"l1 addr port", nil, "", []string{"--l1.addr", "127.0.0.1:99999"}, "l1.addr"},
		{"timeout", nil, "", []string{"--batch.timeout", "0s"}, "batch.timeout"},
		{"family wait", nil, "", []string{"--batch.family-wait", "0s"}, "batch.family-wait"},
		{"accounts", nil, "", []string{"--accounts", "0"}, "accounts"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parse(tc.env, tc.toml, tc.args...)
			wantConfigErr(t, err, tc.field)
		})
	}
	ce := wantConfigErr(t, func() error { _, err := parse(map[string]string{"MODEX_BATCH_TIMEOUT": "soon"}, ""); return err }(), "batch.timeout")
	if !strings.Contains(ce.Error(), "MODEX_BATCH_TIMEOUT") {
		t.Errorf("the error does not name the env var: %v", ce)
	}
}

func TestNodeConfigCheck(t *testing.T) {
	keys := t.TempDir()
	keyFile := writeFile(t, "op.key", "0x"+strings.Repeat("11", 32)+"\n")
	base := []string{"--l1-rpc", "http://127.0.0.1:8545", "--bridge", "0x" + strings.Repeat("ab", 20),
		"--operator-key-file", keyFile, "--keys", keys}
	parse := func(args ...string) (*nodeConfig, error) {
		f, c := newNodeFlags()
		f.lookupEnv = envMap(nil)
		if err := f.parse(args); err != nil {
			return c, err
		}
		return c, c.check()
	}
	c, err := parse(base...)
	if err != nil {
		t.Fatal(err)
	}
	if c.operator == nil || len(c.families) != len(types.AllFamilies()) {
		t.Fatalf("operator set %v, families %v", c.operator != nil, c.families)
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
		wantConfigErr(t, err, tc.field)
	}
}

// dumpconfig's output is a config file that gives the same configuration.
func TestDumpConfigRoundTrip(t *testing.T) {
	f, c := newDevnetFlags()
	f.lookupEnv = envMap(map[string]string{"MODEX_LOG_LEVEL": "debug"})
	if err := f.parse([]string{"--batch.capacity", "2", "--families", "Trade,Priority", "--batch.timeout", "250ms", "--admin=false"}); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := f.dumpTOML(&buf); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"[batch]", "capacity = 2", `timeout = "250ms"`, `level = "debug"`, "admin = false"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("dump lacks %q:\n%s", want, buf.String())
		}
	}
	f2, c2 := newDevnetFlags()
	f2.lookupEnv = envMap(nil)
	if err := f2.parse([]string{"--config", writeFile(t, "dump.toml", buf.String())}); err != nil {
		t.Fatal(err)
	}
	c.families, c2.families = nil, nil
	if !reflect.DeepEqual(c, c2) {
		t.Errorf("round trip:\n%+v\n%+v", *c, *c2)
	}

	// secrets stay out of the dump
	nf, _ := newNodeFlags()
	nf.lookupEnv = envMap(nil)
	if err := nf.parse([]string{"--operator-key", strings.Repeat("33", 32)}); err != nil {
		t.Fatal(err)
	}
	buf.Reset()
	if err := nf.dumpTOML(&buf); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), strings.Repeat("33", 32)) {
		t.Error("dumpconfig printed the operator key")
	}
}

func TestPrepareDataDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "dn")
	if wiped, err := prepareDataDir(dir, true); err != nil || wiped {
		t.Fatalf("new dir: wiped %v err %v", wiped, err)
	}
	if err := os.WriteFile(filepath.Join(dir, "state"), []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := prepareDataDir(dir, false)
	wantConfigErr(t, err, "fresh")
	if wiped, err := prepareDataDir(dir, true); err != nil || !wiped {
		t.Fatalf("devnet dir: wiped %v err %v", wiped, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "state")); !os.IsNotExist(err) {
		t.Fatal("old data survived")
	}
	// a directory that is not a devnet's is never wiped
	other := t.TempDir()
	if err := os.WriteFile(filepath.Join(other, "precious"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = prepareDataDir(other, true)
	wantConfigErr(t, err, "datadir")
	if _, err := os.Stat(filepath.Join(other, "precious")); err != nil {
		t.Fatal("wiped a foreign directory")
	}
}
