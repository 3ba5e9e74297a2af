package node

// The configuration layer of modex's commands, over urfave/cli: every flag
// has an environment twin under one prefix (--log.level is MODEX_LOG_LEVEL,
// --l1-rpc MODEX_L1_RPC), and the service commands also read a TOML file
// (--config FILE or MODEX_CONFIG) whose keys are the flag names, nested at
// the dots:
//
//	params = "test"
//	[batch]
//	capacity = 4
//	timeout = "1s"
//
// Precedence: flag > env > TOML > default (urfave/cli takes the command
// line first, then each flag's Sources in order: the env twin, then the
// file). A value that does not parse, from any source, is a *ConfigError
// naming the flag and where the value came from.

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/urfave/cli/v3"
)

// EnvPrefix is the prefix of every flag's environment twin.
const EnvPrefix = "MODEX_"

// EnvName is the environment twin of a flag: log.level → MODEX_LOG_LEVEL.
func EnvName(flagName string) string {
	r := strings.NewReplacer(".", "_", "-", "_")
	return EnvPrefix + strings.ToUpper(r.Replace(flagName))
}

// ErrInvalidConfig is wrapped by every ConfigError.
var ErrInvalidConfig = errors.New("invalid configuration")

// ConfigError is an invalid setting or argument; Field is the flag's name.
type ConfigError struct {
	Field  string
	Value  string // the offending value ("" when missing)
	Source string // where the value came from: "" (flag), env $NAME, FILE.toml
	Reason string
}

func (e *ConfigError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "invalid configuration: --%s", e.Field)
	if e.Value != "" {
		fmt.Fprintf(&b, " %q", e.Value)
	}
	if e.Source != "" {
		fmt.Fprintf(&b, " (from %s)", e.Source)
	}
	fmt.Fprintf(&b, ": %s", e.Reason)
	return b.String()
}

func (e *ConfigError) Unwrap() error { return ErrInvalidConfig }

// ConfigErr is a ConfigError for a value given on the command line.
func ConfigErr(field, value, format string, args ...any) *ConfigError {
	return &ConfigError{Field: field, Value: value, Reason: fmt.Sprintf(format, args...)}
}

// Settings are the value sources of one command's flags: the env twins and,
// with a config file, the TOML file named by --config. Make one per command
// run (urfave/cli flags keep their parsed state).
type Settings struct {
	withFile   bool
	configPath string
	secrets    map[string]bool

	file    map[string]string
	loaded  bool
	fileErr error

	// tried is the last value a source handed to a flag: when urfave/cli
	// fails to parse it, this is the one (flags are filled in order and the
	// first failure stops the command).
	tried *ConfigError
}

// NewSettings makes the sources of a command; withFile adds --config and
// --dump-config.
func NewSettings(withFile bool) *Settings {
	return &Settings{withFile: withFile, secrets: map[string]bool{}}
}

// Secret marks a flag whose value dumpconfig leaves out.
func (s *Settings) Secret(name string) { s.secrets[name] = true }

// FileFlags are --config and --dump-config (none without a file).
func (s *Settings) FileFlags() []cli.Flag {
	if !s.withFile {
		return nil
	}
	return []cli.Flag{
		&cli.StringFlag{Name: "config", Usage: "TOML configuration file (keys are the flag names, nested at the dots)",
			Sources: cli.EnvVars(EnvName("config")), Destination: &s.configPath, TakesFile: true},
		&cli.BoolFlag{Name: "dump-config", Usage: "print the effective configuration as TOML and exit"},
	}
}

// Sources is a flag's value sources after the command line: its env twin,
// then the TOML file.
func (s *Settings) Sources(name string) cli.ValueSourceChain {
	chain := []cli.ValueSource{&source{s: s, name: name, env: true}}
	if s.withFile {
		chain = append(chain, &source{s: s, name: name})
	}
	return cli.NewValueSourceChain(chain...)
}

// source is one flag's env twin or TOML key.
type source struct {
	s    *Settings
	name string
	env  bool
}

func (v *source) Lookup() (string, bool) {
	var val, where string
	var ok bool
	if v.env {
		val, ok = os.LookupEnv(EnvName(v.name))
		where = "env " + EnvName(v.name)
	} else {
		v.s.load()
		val, ok = v.s.file[v.name]
		where = v.s.configPath
	}
	if ok {
		v.s.tried = &ConfigError{Field: v.name, Value: val, Source: where, Reason: "not a valid value of this flag's type"}
	}
	return val, ok
}

func (v *source) String() string {
	if v.env {
		return "environment variable " + EnvName(v.name)
	}
	return "config file key " + v.name
}

func (v *source) GoString() string { return fmt.Sprintf("&source{name:%q, env:%v}", v.name, v.env) }

// IsFromEnv and Key make the help text list the env twin.
func (v *source) IsFromEnv() bool { return v.env }
func (v *source) Key() string     { return EnvName(v.name) }

// load reads the TOML file once, when the first flag asks for it (--config
// is parsed, and filled from MODEX_CONFIG, before).
func (s *Settings) load() {
	if s.loaded || s.configPath == "" {
		return
	}
	s.loaded = true
	raw, err := os.ReadFile(s.configPath)
	if err != nil {
		s.fileErr = ConfigErr("config", s.configPath, "%v", err)
		return
	}
	var doc map[string]any
	if _, err := toml.NewDecoder(bytes.NewReader(raw)).Decode(&doc); err != nil {
		s.fileErr = ConfigErr("config", s.configPath, "%v", err)
		return
	}
	s.file = map[string]string{}
	if err := flattenTOML("", doc, s.file); err != nil {
		s.file, s.fileErr = nil, ConfigErr("config", s.configPath, "%v", err)
	}
}

// SourceError turns the error of a flag value that did not parse into a
// *ConfigError naming the flag and its source (urfave/cli says it in
// words); other errors pass through.
func (s *Settings) SourceError(err error) error {
	var ce *ConfigError
	if err == nil || errors.As(err, &ce) || s.tried == nil {
		return err
	}
	out := *s.tried
	out.Reason = fmt.Sprintf("%s (%v)", out.Reason, err)
	return &out
}

// Check runs once the flags are parsed (the command's Before): the file
// must have loaded and hold only the command's flags.
func (s *Settings) Check(cmd *cli.Command) error {
	s.tried = nil
	if !s.withFile {
		return nil
	}
	s.load()
	if s.fileErr != nil {
		return s.fileErr
	}
	known := map[string]bool{}
	for _, f := range cmd.Flags {
		known[f.Names()[0]] = true
	}
	keys := make([]string, 0, len(s.file))
	for k := range s.file {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !known[k] || k == "config" || k == "dump-config" {
			return &ConfigError{Field: k, Source: s.configPath, Reason: fmt.Sprintf("unknown setting (modex %s has no flag --%s)", cmd.Name, k)}
		}
	}
	return nil
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

// Dump writes the effective configuration of cmd as TOML: flags with a dot
// go into the table named by the part before the first dot; secrets are
// left out.
func (s *Settings) Dump(w io.Writer, cmd *cli.Command) error {
	doc := map[string]any{}
	var omitted []string
	for _, f := range cmd.Flags {
		name := f.Names()[0]
		if name == "config" || name == "dump-config" || name == "help" || name == "version" {
			continue
		}
		if s.secrets[name] {
			omitted = append(omitted, name)
			continue
		}
		v := cmd.Value(name)
		switch x := v.(type) {
		case time.Duration:
			v = x.String()
		case uint:
			v = uint64(x)
		}
		table, key, nested := strings.Cut(name, ".")
		if !nested {
			doc[name] = v
			continue
		}
		t, _ := doc[table].(map[string]any)
		if t == nil {
			t = map[string]any{}
			doc[table] = t
		}
		t[key] = v
	}
	fmt.Fprintf(w, "# modex %s: effective configuration (flag > env %s* > --config TOML > default)\n", cmd.Name, EnvPrefix)
	sort.Strings(omitted)
	for _, name := range omitted {
		fmt.Fprintf(w, "# %s omitted (a secret): set it with --%s or %s\n", name, name, EnvName(name))
	}
	return toml.NewEncoder(w).Encode(doc)
}
