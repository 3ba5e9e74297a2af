package main

// The configuration system of the long-running commands (modex devnet,
// modex node) and the flag parsing of the wallet commands.
//
// Every flag has an environment twin under one prefix: --log.level is
// MODEX_LOG_LEVEL, --l1-rpc MODEX_L1_RPC ('.' and '-' become '_'). The
// service commands also read a TOML file (--config FILE or MODEX_CONFIG)
// whose keys are the flag names, nested at the dots:
//
//	params = "test"
//	[batch]
//	capacity = 4
//	timeout = "1s"
//
// Precedence: flag > env > TOML > default. The whole configuration is
// validated before anything starts (a *ConfigError names the field), and
// `modex dumpconfig CMD [flags]` or `--dump-config` prints the effective
// configuration as TOML.

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
	gnarklog "github.com/consensys/gnark/logger"

	"github.com/modex/modex/types"
)

// EnvPrefix is the prefix of every flag's environment twin.
const EnvPrefix = "MODEX_"

// ErrInvalidConfig is wrapped by every ConfigError.
var ErrInvalidConfig = errors.New("invalid configuration")

// ConfigError is an invalid setting or argument; Field is the flag's name.
type ConfigError struct {
	Field  string
	Value  string // the offending value ("" when missing)
	Source string // where the value came from: flag, env $NAME, FILE.toml
	Reason string
}

func (e *ConfigError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "invalid configuration: --%s", e.Field)
	if e.Value != "" {
		fmt.Fprintf(&b, " %q", e.Value)
	}
	if e.Source != "" && e.Source != "flag" {
		fmt.Fprintf(&b, " (from %s)", e.Source)
	}
	fmt.Fprintf(&b, ": %s", e.Reason)
	return b.String()
}

func (e *ConfigError) Unwrap() error { return ErrInvalidConfig }

func cfgErr(field, value, format string, args ...any) *ConfigError {
	return &ConfigError{Field: field, Value: value, Reason: fmt.Sprintf(format, args...)}
}

// EnvName is the environment twin of a flag: log.level → MODEX_LOG_LEVEL.
func EnvName(flagName string) string {
	r := strings.NewReplacer(".", "_", "-", "_")
	return EnvPrefix + strings.ToUpper(r.Replace(flagName))
}

// Source of an effective setting.
const (
	srcDefault = "default"
	srcFlag    = "flag"
	srcEnv     = "env"
	srcTOML    = "toml"
)

// cmdFlags is a command's flag set with its configuration sources.
type cmdFlags struct {
	name string
	fs   *flag.FlagSet
	// withConfig: the command reads --config FILE.toml and has --dump-config.
	withConfig bool
	configPath string
	dump       bool
	secrets    map[string]bool // flags dumpconfig leaves out
	// optional: boolean-style flags that also take one of these words as
	// their next argument (--wait finalized is --wait=finalized)
	optional map[string][]string
	internal map[string]bool // flags that take no env twin or TOML value
	sources  map[string]string
	// lookupEnv is os.LookupEnv (tests replace it).
	lookupEnv func(string) (string, bool)
}

func newCmdFlags(name string, withConfig bool) *cmdFlags {
	c := &cmdFlags{
		name: name, fs: flag.NewFlagSet(name, flag.ContinueOnError), withConfig: withConfig,
		secrets: map[string]bool{}, optional: map[string][]string{}, internal: map[string]bool{}, sources: map[string]string{}, lookupEnv: os.LookupEnv,
	}
	if withConfig {
		c.fs.StringVar(&c.configPath, "config", "", "TOML configuration file (keys are the flag names; env "+EnvName("config")+")")
		c.fs.BoolVar(&c.dump, "dump-config", false, "print the effective configuration as TOML and exit")
		c.internal["config"], c.internal["dump-config"] = true, true
	}
	c.fs.Usage = func() {
		out := c.fs.Output()
		fmt.Fprintf(out, "usage: modex %s [flags]\n\nEvery flag has an environment twin: --a.b-c is %sA_B_C", c.name, EnvPrefix)
		if c.withConfig {
			fmt.Fprint(out, "; precedence: flag > env > --config TOML > default")
		}
		fmt.Fprint(out, ".\n\nflags:\n")
		c.fs.PrintDefaults()
	}
	return c
}

// secret marks a flag whose value dumpconfig leaves out.
func (c *cmdFlags) secret(name string) { c.secrets[name] = true }

// parse parses the command line, then fills every flag not set there from
// its environment twin, then from the TOML file. Errors are *ConfigError
// (or flag.ErrHelp).
func (c *cmdFlags) parse(args []string) error {
	args = c.joinOptional(args)
	c.fs.SetOutput(io.Discard)
	err := c.fs.Parse(args)
	c.fs.SetOutput(os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		c.fs.Usage()
		return err
	}
	if err != nil {
		return parseFlagError(err)
	}
	if c.fs.NArg() > 0 {
		return cfgErr(c.fs.Arg(0), "", "unexpected argument (flags are --name value)")
	}
	set := map[string]bool{}
	c.fs.Visit(func(f *flag.Flag) { set[f.Name] = true; c.sources[f.Name] = srcFlag })

	var file map[string]string
	if c.withConfig {
		if !set["config"] {
			if v, ok := c.lookupEnv(EnvName("config")); ok && v != "" {
				c.configPath = v
			}
		}
		if c.configPath != "" {
			if file, err = c.loadTOML(c.configPath); err != nil {
				return err
			}
		}
	}
	var perr error
	c.fs.VisitAll(func(f *flag.Flag) {
		if perr != nil || set[f.Name] || c.internal[f.Name] {
			return
		}
		if v, ok := c.lookupEnv(EnvName(f.Name)); ok {
			if err := c.fs.Set(f.Name, v); err != nil {
				perr = &ConfigError{Field: f.Name, Value: v, Source: "env " + EnvName(f.Name), Reason: flagValueReason(err)}
				return
			}
			c.sources[f.Name] = srcEnv
			return
		}
		if v, ok := file[f.Name]; ok {
			if err := c.fs.Set(f.Name, v); err != nil {
				perr = &ConfigError{Field: f.Name, Value: v, Source: c.configPath, Reason: flagValueReason(err)}
				return
			}
			c.sources[f.Name] = srcTOML
			return
		}
		c.sources[f.Name] = srcDefault
	})
	return perr
}

// joinOptional turns "--flag WORD" into "--flag=WORD" for the flags with
// an optional value.
func (c *cmdFlags) joinOptional(args []string) []string {
	if len(c.optional) == 0 {
		return args
	}
	out := make([]string, 0, len(args))
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return append(out, args[i:]...)
		}
		name := strings.TrimLeft(a, "-")
		if words, ok := c.optional[name]; ok && strings.HasPrefix(a, "-") && i+1 < len(args) {
			for _, w := range words {
				if strings.EqualFold(args[i+1], w) {
					a = a + "=" + args[i+1]
					i++
					break
				}
			}
		}
		out = append(out, a)
	}
	return out
}

// flagValueReason is a flag.Value's Set error in words.
func flagValueReason(err error) string {
	switch err.Error() {
	case "parse error":
		return "not a valid value of this flag's type"
	case "value out of range":
		return "out of range"
	}
	return err.Error()
}

// parseFlagError turns the flag package's errors into ConfigErrors.
func parseFlagError(err error) error {
	msg := err.Error()
	switch {
	case strings.HasPrefix(msg, "flag provided but not defined: "):
		name := strings.TrimLeft(strings.TrimPrefix(msg, "flag provided but not defined: "), "-")
		return cfgErr(name, "", "unknown flag")
	case strings.HasPrefix(msg, "flag needs an argument: "):
		name := strings.TrimLeft(strings.TrimPrefix(msg, "flag needs an argument: "), "-")
		return cfgErr(name, "", "needs a value")
	case strings.HasPrefix(msg, "invalid boolean value "):
		msg = "invalid value " + strings.TrimPrefix(msg, "invalid boolean value ")
		msg = strings.Replace(msg, " for -", " for flag -", 1)
		return parseFlagError(errors.New(msg))
	case strings.HasPrefix(msg, "invalid value "):
		// invalid value "x" for flag -name: reason
		rest := strings.TrimPrefix(msg, "invalid value ")
		if i := strings.Index(rest, " for flag -"); i >= 0 {
			val, _ := strconv.Unquote(rest[:i])
			tail := rest[i+len(" for flag -"):]
			name, reason, _ := strings.Cut(tail, ": ")
			if reason == "parse error" {
				reason = "not a valid value of this flag's type"
			}
			return cfgErr(name, val, "%s", reason)
		}
	}
	return &ConfigError{Field: "?", Reason: msg}
}

// loadTOML reads a TOML file into flag name → value text; an unknown key is
// an error naming it.
func (c *cmdFlags) loadTOML(path string) (map[string]string, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, cfgErr("config", path, "%v", err)
	}
	var doc map[string]any
	if _, err := toml.NewDecoder(bytes.NewReader(raw)).Decode(&doc); err != nil {
		return nil, cfgErr("config", path, "%v", err)
	}
	out := map[string]string{}
	if err := flattenTOML("", doc, out); err != nil {
		return nil, &ConfigError{Field: "config", Value: path, Reason: err.Error()}
	}
	for k := range out {
		if c.fs.Lookup(k) == nil || c.internal[k] {
			return nil, &ConfigError{Field: k, Source: path, Reason: fmt.Sprintf("unknown setting (modex %s has no flag --%s)", c.name, k)}
		}
	}
	return out, nil
}

func flattenTOML(prefix string, m map[string]any, out map[string]string) error {
	for k, v := range m {
		name := k
		if prefix != "" {
			name = prefix + "." + k
		}
		switch x := v.(type) {
		case map[string]any:
			if err := flattenTOML(name, x, out); err != nil {
				return err
			}
		case string:
			out[name] = x
		case bool:
			out[name] = strconv.FormatBool(x)
		case int64:
			out[name] = strconv.FormatInt(x, 10)
		case float64:
			out[name] = strconv.FormatFloat(x, 'f', -1, 64)
		case []any:
			parts := make([]string, len(x))
			for i, e := range x {
				parts[i] = fmt.Sprint(e)
			}
			out[name] = strings.Join(parts, ",")
		default:
			return fmt.Errorf("%s: unsupported TOML value %T", name, v)
		}
	}
	return nil
}

// dumpTOML writes the effective configuration as TOML: flags with a dot go
// into the table named by the part before the first dot.
func (c *cmdFlags) dumpTOML(w io.Writer) error {
	doc := map[string]any{}
	var omitted []string
	c.fs.VisitAll(func(f *flag.Flag) {
		if c.internal[f.Name] {
			return
		}
		if c.secrets[f.Name] {
			omitted = append(omitted, f.Name)
			return
		}
		var v any = f.Value.String()
		if g, ok := f.Value.(flag.Getter); ok {
			v = g.Get()
		}
		switch x := v.(type) {
		case time.Duration:
			v = x.String()
		case uint:
			v = uint64(x)
		}
		table, key, nested := strings.Cut(f.Name, ".")
		if !nested {
			doc[f.Name] = v
			return
		}
		t, _ := doc[table].(map[string]any)
		if t == nil {
			t = map[string]any{}
			doc[table] = t
		}
		t[key] = v
	})
	fmt.Fprintf(w, "# modex %s: effective configuration (flag > env %s* > --config TOML > default)\n", c.name, EnvPrefix)
	sort.Strings(omitted)
	for _, name := range omitted {
		fmt.Fprintf(w, "# %s omitted (a secret): set it with --%s or %s\n", name, name, EnvName(name))
	}
	return toml.NewEncoder(w).Encode(doc)
}

// --- shared settings --------------------------------------------------------

// logConfig is --log.level and --log.format.
type logConfig struct {
	Level  string
	Format string
}

func (l *logConfig) register(fs *flag.FlagSet) {
	fs.StringVar(&l.Level, "log.level", "info", "log level: debug, info, warn or error")
	fs.StringVar(&l.Format, "log.format", "text", "log format: text or json")
}

func (l *logConfig) check() error {
	if _, err := l.level(); err != nil {
		return cfgErr("log.level", l.Level, "want debug, info, warn or error")
	}
	if l.Format != "text" && l.Format != "json" {
		return cfgErr("log.format", l.Format, "want text or json")
	}
	return nil
}

func (l *logConfig) level() (slog.Level, error) {
	switch strings.ToLower(l.Level) {
	case "debug":
		return slog.LevelDebug, nil
	case "info", "":
		return slog.LevelInfo, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("log level %q", l.Level)
}

// logger builds the slog logger (to w) and makes it the default.
func (l *logConfig) logger(w io.Writer) *slog.Logger {
	lvl, _ := l.level()
	opts := &slog.HandlerOptions{Level: lvl}
	var h slog.Handler = slog.NewTextHandler(w, opts)
	if l.Format == "json" {
		h = slog.NewJSONHandler(w, opts)
	}
	lg := slog.New(h)
	slog.SetDefault(lg)
	// gnark logs every proof at debug level to stdout: only with
	// --log.level debug, and to the log's stream (the prover package logs
	// each proving stage itself)
	if lvl <= slog.LevelDebug {
		gnarklog.SetOutput(w)
	} else {
		gnarklog.Disable()
	}
	return lg
}

// paramsConfig is --params and --batch.capacity.
type paramsConfig struct {
	Name     string
	Capacity int
}

// DefaultCapacity is the batch capacity of devnets and nodes by default
// (the capacity the devnet's keys are made for).
const DefaultCapacity = 4

func (p *paramsConfig) register(fs *flag.FlagSet) {
	fs.StringVar(&p.Name, "params", "test", "tree depths: test (2^6 accounts, fast proofs) or prod (2^24 accounts)")
	fs.IntVar(&p.Capacity, "batch.capacity", DefaultCapacity, "transactions per batch (each family's circuit is made for it)")
}

func (p *paramsConfig) check() error {
	if p.Name != "test" && p.Name != "prod" {
		return cfgErr("params", p.Name, "want test or prod")
	}
	if p.Capacity < 1 || p.Capacity > 4096 {
		return cfgErr("batch.capacity", strconv.Itoa(p.Capacity), "want 1..4096")
	}
	if err := p.params().Check(); err != nil {
		return cfgErr("params", p.Name, "%v", err)
	}
	return nil
}

func (p *paramsConfig) params() types.Params {
	out := types.TestParams()
	if p.Name == "prod" {
		out = types.DefaultParams()
	}
	out.BatchCapacity = p.Capacity
	return out
}

// parseFamilies parses --families: "all" or comma-separated family names
// (case-insensitive).
func parseFamilies(s string) ([]types.Family, error) {
	s = strings.TrimSpace(s)
	if s == "" || strings.EqualFold(s, "all") {
		return types.AllFamilies(), nil
	}
	var out []types.Family
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		var found bool
		for _, f := range types.AllFamilies() {
			if strings.EqualFold(f.String(), part) {
				out = append(out, f)
				found = true
				break
			}
		}
		if !found {
			names := make([]string, 0)
			for _, f := range types.AllFamilies() {
				names = append(names, f.String())
			}
			return nil, fmt.Errorf("unknown family %q (families: all or %s)", part, strings.Join(names, ","))
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no families")
	}
	return out, nil
}

// checkAddr validates a host:port listen address ("" allowed when
// emptyOK).
func checkAddr(field, v string, emptyOK bool) error {
	if v == "" {
		if emptyOK {
			return nil
		}
		return cfgErr(field, v, "required (host:port)")
	}
	_, port, err := net.SplitHostPort(v)
	if err != nil {
		return cfgErr(field, v, "want host:port")
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || n > 65535 {
		return cfgErr(field, v, "port %q is not in 0..65535", port)
	}
	return nil
}

// checkURL validates an endpoint URL.
func checkURL(field, v string) error {
	if v == "" {
		return cfgErr(field, v, "required")
	}
	for _, s := range []string{"http://", "https://", "ws://", "wss://"} {
		if strings.HasPrefix(strings.ToLower(v), s) && len(v) > len(s) {
			return nil
		}
	}
	return cfgErr(field, v, "want an http://, https://, ws:// or wss:// URL")
}

// runDumpConfig: modex dumpconfig devnet|node [flags] — the effective
// configuration of that command as TOML.
func runDumpConfig(args []string) error {
	if len(args) == 0 {
		return cfgErr("dumpconfig", "", "want a command: modex dumpconfig devnet|node [flags]")
	}
	var f *cmdFlags
	var check func() error
	switch args[0] {
	case "devnet":
		var c *devnetConfig
		f, c = newDevnetFlags()
		check = c.check
	case "node":
		var c *nodeConfig
		f, c = newNodeFlags()
		check = c.check
	default:
		return cfgErr("dumpconfig", args[0], "want devnet or node")
	}
	if err := f.parse(args[1:]); err != nil {
		return err
	}
	return dumpAndCheck(f, check)
}

// dumpAndCheck prints the configuration, then says on stderr whether it
// would start (a template with required fields missing is still printed).
func dumpAndCheck(f *cmdFlags, check func() error) error {
	if err := f.dumpTOML(os.Stdout); err != nil {
		return err
	}
	if err := check(); err != nil {
		fmt.Fprintf(os.Stderr, "modex: note: this configuration would not start: %v\n", err)
	}
	return nil
}
