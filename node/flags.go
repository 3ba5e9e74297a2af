package node

// The node's command-line configuration (as op-node/flags and op-service's
// NewConfig(cliCtx)): each flag is defined once here, with its default, its
// env twin and its TOML key (cliconfig.go); NewCLIConfig reads and checks
// them all before anything starts, and CLIConfig.Config builds the node's
// Config. `modex node` and `modex devnet` share ServiceFlags.

import (
	"crypto/ecdsa"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/urfave/cli/v3"

	"github.com/modex/modex/bridge"
	"github.com/modex/modex/deploy"
	"github.com/modex/modex/prover"
	"github.com/modex/modex/rpc"
	"github.com/modex/modex/types"
)

// DefaultCapacity is the batch capacity of devnets and nodes by default
// (the capacity the devnet's keys are made for).
const DefaultCapacity = 4

// DefaultRPCAddr is the API's listen address by default.
const DefaultRPCAddr = "127.0.0.1:8645"

// ServiceFlags are the flags modex node and modex devnet share.
func ServiceFlags(s *Settings) []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "rpc.addr", Value: DefaultRPCAddr, Usage: "the rollup API's listen address (HTTP and websocket)", Sources: s.Sources("rpc.addr")},
		&cli.StringFlag{Name: "params", Value: "test", Usage: "tree depths: test (2^6 accounts, fast proofs) or prod (2^24 accounts)", Sources: s.Sources("params")},
		&cli.IntFlag{Name: "batch.capacity", Value: DefaultCapacity, Usage: "transactions per batch (each family's circuit is made for it)", Sources: s.Sources("batch.capacity")},
		&cli.StringFlag{Name: "families", Value: "all", Usage: "batch families with a verifier on L1 (comma-separated, or all)", Sources: s.Sources("families")},
		&cli.DurationFlag{Name: "batch.timeout", Value: time.Second, Usage: "seal a batch this long after its first transaction", Sources: s.Sources("batch.timeout")},
		&cli.DurationFlag{Name: "batch.family-wait", Value: 10 * time.Millisecond, Usage: "seal the open batch once a transaction of another family has waited this long (a batch holds one family)", Sources: s.Sources("batch.family-wait")},
		&cli.DurationFlag{Name: "rpc.ws-ping-interval", Value: rpc.DefaultWSPingInterval, Usage: "ping each websocket this often; a peer that answers no ping for two intervals is dropped", Sources: s.Sources("rpc.ws-ping-interval")},
		&cli.IntFlag{Name: "rpc.ws-max-connections", Value: rpc.DefaultWSMaxConnections, Usage: "open websocket connections at most (more are refused with 503)", Sources: s.Sources("rpc.ws-max-connections")},
		&cli.IntFlag{Name: "rpc.ws-max-subscriptions", Value: rpc.DefaultWSMaxSubscriptions, Usage: "subscriptions of one websocket connection at most", Sources: s.Sources("rpc.ws-max-subscriptions")},
		&cli.IntFlag{Name: "prover.attempts", Value: 8, Usage: "times a batch is proven (with backoff) before the pipeline halts on it", Sources: s.Sources("prover.attempts")},
		&cli.IntFlag{Name: "prover.workers", Value: 1, Usage: "batches proven at once", Sources: s.Sources("prover.workers")},
		&cli.DurationFlag{Name: "stop-timeout", Value: 30 * time.Second, Usage: "how long a graceful stop may take", Sources: s.Sources("stop-timeout")},
		&cli.StringFlag{Name: "log.level", Value: "info", Usage: "log level: debug, info, warn or error", Sources: s.Sources("log.level")},
		&cli.StringFlag{Name: "log.format", Value: "text", Usage: "log format: text or json (log/slog, on stderr)", Sources: s.Sources("log.format")},
	}
}

// Flags are modex node's flags (ServiceFlags included).
func Flags(s *Settings) []cli.Flag {
	s.Secret("operator-key")
	own := []cli.Flag{
		&cli.StringFlag{Name: "l1-rpc", Usage: "L1 JSON-RPC endpoint (http, https, ws or wss URL)", Sources: s.Sources("l1-rpc")},
		&cli.StringFlag{Name: "deployment", Usage: "the deployment record `modex deploy` wrote: the bridge, its first block, the parameters and the families come from it, and the node refuses to start when the chain's code or verifying keys differ from it", Sources: s.Sources("deployment"), TakesFile: true},
		&cli.StringFlag{Name: "bridge", Usage: "the bridge contract's address (without --deployment)", Sources: s.Sources("bridge")},
		&cli.StringFlag{Name: "operator-key", Usage: "the operator's L1 key (hex secp256k1; commits batches)", Sources: s.Sources("operator-key")},
		&cli.StringFlag{Name: "operator-key-file", Usage: "file holding the operator's L1 key (hex)", Sources: s.Sources("operator-key-file"), TakesFile: true},
		&cli.StringFlag{Name: "keys", Usage: "prover keys: <keys>/<circuit key>/ per family, the layout `modex devnet --keys` writes", Sources: s.Sources("keys")},
		&cli.StringFlag{Name: "datadir", Value: "./build/node", Usage: "state store and journal", Sources: s.Sources("datadir")},
		&cli.BoolFlag{Name: "admin", Usage: "serve the admin namespace (admin_startSequencing, admin_stopSequencing)", Sources: s.Sources("admin")},
		&cli.Uint64Flag{Name: "confirmations", Usage: "L1 blocks before a deposit or forced withdrawal is taken", Sources: s.Sources("confirmations")},
		&cli.Uint64Flag{Name: "from-block", Usage: "the block of the bridge's deployment (where the L1 history starts)", Sources: s.Sources("from-block")},
		&cli.DurationFlag{Name: "l1.poll", Value: time.Second, Usage: "how often L1 is polled", Sources: s.Sources("l1.poll")},
		&cli.Uint64Flag{Name: "l1.max-fee-gwei", Value: 1000, Usage: "the most the batch submitter pays per gas (gwei)", Sources: s.Sources("l1.max-fee-gwei")},
		&cli.StringFlag{Name: "prover", Value: "cpu", Usage: "prover: cpu or icicle (GPU; needs bin/modex-gpu, `make gpu`)", Sources: s.Sources("prover")},
		&cli.IntFlag{Name: "prover.device", Usage: "GPU device id (--prover icicle)", Sources: s.Sources("prover.device")},
		&cli.UintFlag{Name: "fees.maker-bips", Value: 2, Usage: "trade fee of the resting order (basis points)", Sources: s.Sources("fees.maker-bips")},
		&cli.UintFlag{Name: "fees.taker-bips", Value: 5, Usage: "trade fee of the incoming order (basis points)", Sources: s.Sources("fees.taker-bips")},
		InsecureDevKeysFlag(s),
	}
	return append(own, ServiceFlags(s)...)
}

// InsecureDevKeysFlag is --insecure-dev-keys (env MODEX_INSECURE_DEV_KEYS,
// TOML insecure-dev-keys): without it, keys from the INSECURE development
// setup (prover.Keys.Insecure) are refused with prover.ErrInsecureKeys
// (prover.Keys.CheckSecure). modex node and modex deploy take it; a devnet
// always allows dev keys.
func InsecureDevKeysFlag(s *Settings) cli.Flag {
	return &cli.BoolFlag{Name: "insecure-dev-keys", Usage: "accept prover keys from the INSECURE development setup (modex setup --dev, the devnet's key cache): " +
		"whoever made them can forge proofs; devnets only (keys from modex ceremony need no flag)", Sources: s.Sources("insecure-dev-keys")}
}

// InsecureDevKeysWarning is what a node running with dev keys logs, loud.
const InsecureDevKeysWarning = "INSECURE DEVELOPMENT KEYS: this node proves with keys from the single-party dev setup; " +
	"whoever ran it can forge proofs and take every deposit. Devnets only, never real funds (keys from modex ceremony are safe)"

// LogConfig is --log.level and --log.format.
type LogConfig struct {
	Level  slog.Level
	Format string // text or json
}

// ServiceConfig is what ServiceFlags set, checked.
type ServiceConfig struct {
	RPCAddr       string
	RPC           rpc.Config // RPCAddr and the websocket limits (Admin is set by the command)
	ParamsName    string     // test or prod
	Params        types.Params
	Families      []types.Family
	BatchTimeout  time.Duration
	FamilyWait    time.Duration
	ProverWorkers int
	ProveAttempts int
	StopTimeout   time.Duration
	Log           LogConfig
}

// NewServiceConfig reads and checks ServiceFlags.
func NewServiceConfig(cmd *cli.Command) (*ServiceConfig, error) {
	c := &ServiceConfig{
		RPCAddr: cmd.String("rpc.addr"), ParamsName: cmd.String("params"), BatchTimeout: cmd.Duration("batch.timeout"),
		FamilyWait: cmd.Duration("batch.family-wait"), ProverWorkers: cmd.Int("prover.workers"), ProveAttempts: cmd.Int("prover.attempts"), StopTimeout: cmd.Duration("stop-timeout"),
	}
	if err := CheckAddr("rpc.addr", c.RPCAddr, false); err != nil {
		return nil, err
	}
	c.RPC = rpc.Config{Addr: c.RPCAddr, WSPingInterval: cmd.Duration("rpc.ws-ping-interval"),
		WSMaxConnections: cmd.Int("rpc.ws-max-connections"), WSMaxSubscriptions: cmd.Int("rpc.ws-max-subscriptions")}
	for _, f := range []struct {
		name, val, want string
		bad             bool
	}{
		{"rpc.ws-ping-interval", c.RPC.WSPingInterval.String(), "want 10ms..10m", c.RPC.WSPingInterval < 10*time.Millisecond || c.RPC.WSPingInterval > 10*time.Minute},
		{"rpc.ws-max-connections", strconv.Itoa(c.RPC.WSMaxConnections), "want 1..1000000", c.RPC.WSMaxConnections < 1 || c.RPC.WSMaxConnections > 1_000_000},
		{"rpc.ws-max-subscriptions", strconv.Itoa(c.RPC.WSMaxSubscriptions), "want 1..10000", c.RPC.WSMaxSubscriptions < 1 || c.RPC.WSMaxSubscriptions > 10_000},
	} {
		if f.bad {
			return nil, ConfigErr(f.name, f.val, "%s", f.want)
		}
	}
	switch c.ParamsName {
	case "test":
		c.Params = types.TestParams()
	case "prod":
		c.Params = types.DefaultParams()
	default:
		return nil, ConfigErr("params", c.ParamsName, "want test or prod")
	}
	capacity := cmd.Int("batch.capacity")
	if capacity < 1 || capacity > 4096 {
		return nil, ConfigErr("batch.capacity", strconv.Itoa(capacity), "want 1..4096")
	}
	c.Params.BatchCapacity = capacity
	if err := c.Params.Check(); err != nil {
		return nil, ConfigErr("params", c.ParamsName, "%v", err)
	}
	fams := cmd.String("families")
	var err error
	if c.Families, err = ParseFamilies(fams); err != nil {
		return nil, ConfigErr("families", fams, "%v", err)
	}
	if c.BatchTimeout <= 0 {
		return nil, ConfigErr("batch.timeout", c.BatchTimeout.String(), "must be positive")
	}
	if c.FamilyWait <= 0 {
		return nil, ConfigErr("batch.family-wait", c.FamilyWait.String(), "must be positive")
	}
	if c.ProveAttempts < 1 || c.ProveAttempts > 1000 {
		return nil, ConfigErr("prover.attempts", strconv.Itoa(c.ProveAttempts), "want 1..1000")
	}
	if c.ProverWorkers < 1 || c.ProverWorkers > 64 {
		return nil, ConfigErr("prover.workers", strconv.Itoa(c.ProverWorkers), "want 1..64")
	}
	if c.StopTimeout <= 0 {
		return nil, ConfigErr("stop-timeout", c.StopTimeout.String(), "must be positive")
	}
	if c.Log, err = ParseLog(cmd.String("log.level"), cmd.String("log.format")); err != nil {
		return nil, err
	}
	return c, nil
}

// ParseLog checks --log.level and --log.format.
func ParseLog(level, format string) (LogConfig, error) {
	var c LogConfig
	switch lvl := strings.ToLower(level); lvl {
	case "debug":
		c.Level = slog.LevelDebug
	case "info", "":
		c.Level = slog.LevelInfo
	case "warn", "warning":
		c.Level = slog.LevelWarn
	case "error":
		c.Level = slog.LevelError
	default:
		return c, ConfigErr("log.level", lvl, "want debug, info, warn or error")
	}
	c.Format = format
	if c.Format != "text" && c.Format != "json" {
		return c, ConfigErr("log.format", c.Format, "want text or json")
	}
	return c, nil
}

// CLIConfig is modex node's configuration, checked: what Config needs
// besides the L1 client, the provers and the logger (built from it).
type CLIConfig struct {
	ServiceConfig
	L1RPC         string
	Bridge        common.Address
	OperatorKey   *ecdsa.PrivateKey
	Keys          string // the prover keys' directory
	DataDir       string
	Admin         bool
	Confirmations uint64
	FromBlock     uint64
	L1Poll        time.Duration
	MaxFeeGwei    uint64
	Prover        string // cpu or icicle
	ProverDevice  int
	MakerFeeBips  uint8
	TakerFeeBips  uint8
	// InsecureDevKeys is --insecure-dev-keys: keys from the INSECURE dev
	// setup are accepted (refused with prover.ErrInsecureKeys otherwise).
	InsecureDevKeys bool
	// Deployment is the record of --deployment (nil: none); the node checks
	// the chain against it before it starts.
	Deployment     *deploy.Record
	DeploymentPath string
}

// deploymentFields come from a deployment record; with --deployment they
// may not be given.
var deploymentFields = []string{"bridge", "from-block", "params", "batch.capacity", "families"}

// NewCLIConfig reads and checks Flags (a *ConfigError names the flag).
func NewCLIConfig(cmd *cli.Command) (*CLIConfig, error) {
	sc, err := NewServiceConfig(cmd)
	if err != nil {
		return nil, err
	}
	c := &CLIConfig{ServiceConfig: *sc, L1RPC: cmd.String("l1-rpc"), Keys: cmd.String("keys"), DataDir: cmd.String("datadir"),
		Admin: cmd.Bool("admin"), Confirmations: cmd.Uint64("confirmations"), FromBlock: cmd.Uint64("from-block"),
		L1Poll: cmd.Duration("l1.poll"), MaxFeeGwei: cmd.Uint64("l1.max-fee-gwei"), Prover: cmd.String("prover"), ProverDevice: cmd.Int("prover.device"),
		InsecureDevKeys: cmd.Bool("insecure-dev-keys")}
	if err := CheckURL("l1-rpc", c.L1RPC); err != nil {
		return nil, err
	}
	if path := cmd.String("deployment"); path != "" {
		for _, name := range deploymentFields {
			if cmd.IsSet(name) {
				return nil, ConfigErr(name, cmd.String(name), "comes from the deployment record (--deployment %s): leave it out", path)
			}
		}
		rec, err := deploy.Load(path)
		if err != nil {
			return nil, ConfigErr("deployment", path, "%v", err)
		}
		if !rec.Complete {
			return nil, ConfigErr("deployment", path, "an incomplete deployment (interrupted): run `modex deploy` again with --out %s to finish it", path)
		}
		c.Deployment, c.DeploymentPath = rec, path
		c.Bridge, c.FromBlock, c.Params = rec.Bridge.Address, rec.DeployBlock, rec.Params.Params()
		if rec.Params.Name != "" {
			c.ParamsName = rec.Params.Name
		}
		if c.Families, err = rec.FamilyList(); err != nil {
			return nil, ConfigErr("deployment", path, "%v", err)
		}
		if rec.Insecure && !c.InsecureDevKeys {
			return nil, fmt.Errorf("--deployment %s: %w: the deployment's verifiers are of INSECURE development keys; --insecure-dev-keys accepts them (devnets and tests only)", path, prover.ErrInsecureKeys)
		}
	} else if b := cmd.String("bridge"); !common.IsHexAddress(b) {
		return nil, ConfigErr("bridge", b, "want a 0x-hex address (or --deployment FILE)")
	} else {
		c.Bridge = common.HexToAddress(b)
	}
	key, keyFile := cmd.String("operator-key"), cmd.String("operator-key-file")
	switch {
	case key != "" && keyFile != "":
		return nil, ConfigErr("operator-key", "", "give --operator-key or --operator-key-file, not both")
	case key == "" && keyFile == "":
		return nil, ConfigErr("operator-key", "", "required (or --operator-key-file)")
	}
	field := "operator-key"
	if keyFile != "" {
		field = "operator-key-file"
		b, err := os.ReadFile(keyFile)
		if err != nil {
			return nil, ConfigErr(field, keyFile, "%v", err)
		}
		key = strings.TrimSpace(string(b))
	}
	if c.OperatorKey, err = crypto.HexToECDSA(strings.TrimPrefix(strings.TrimPrefix(key, "0x"), "0X")); err != nil {
		return nil, ConfigErr(field, "", "not a hex secp256k1 key: %v", err)
	}
	if c.Keys == "" {
		return nil, ConfigErr("keys", "", "required: the directory of the prover keys")
	}
	if st, err := os.Stat(c.Keys); err != nil || !st.IsDir() {
		return nil, ConfigErr("keys", c.Keys, "not a directory")
	}
	if c.DataDir == "" {
		return nil, ConfigErr("datadir", "", "required")
	}
	if c.L1Poll < 10*time.Millisecond {
		return nil, ConfigErr("l1.poll", c.L1Poll.String(), "at least 10ms")
	}
	if c.MaxFeeGwei == 0 {
		return nil, ConfigErr("l1.max-fee-gwei", "0", "must be positive")
	}
	if c.Prover != "cpu" && c.Prover != "icicle" {
		return nil, ConfigErr("prover", c.Prover, "want cpu or icicle")
	}
	if c.ProverDevice < 0 {
		return nil, ConfigErr("prover.device", strconv.Itoa(c.ProverDevice), "negative")
	}
	for _, f := range []struct {
		name string
		dst  *uint8
	}{{"fees.maker-bips", &c.MakerFeeBips}, {"fees.taker-bips", &c.TakerFeeBips}} {
		v := cmd.Uint(f.name)
		if v > 255 {
			return nil, ConfigErr(f.name, strconv.FormatUint(uint64(v), 10), "want 0..255")
		}
		*f.dst = uint8(v)
	}
	return c, nil
}

// Config is the node's Config for this configuration. Its InsecureDevKeys
// is left false: whether the keys are dev keys is known once they are
// loaded (the caller sets it from prover.Keys.Insecure).
func (c *CLIConfig) Config(l1 bridge.L1, provers map[types.Family]prover.Prover, log *slog.Logger) Config {
	return Config{
		DataDir: c.DataDir, Params: c.Params, L1: l1, Bridge: c.Bridge, OperatorKey: c.OperatorKey,
		Confirmations: c.Confirmations, FromBlock: c.FromBlock,
		MaxFeeCap: new(big.Int).Mul(new(big.Int).SetUint64(c.MaxFeeGwei), big.NewInt(1_000_000_000)),
		L1Poll:    c.L1Poll, Provers: provers, ProverWorkers: c.ProverWorkers, ProveAttempts: c.ProveAttempts,
		BatchTimeout: c.BatchTimeout, FamilyWait: c.FamilyWait, MakerFeeBips: c.MakerFeeBips, TakerFeeBips: c.TakerFeeBips,
		RPC:    c.rpcConfig(),
		Logger: log,
	}
}

// ParseFamilies parses --families: "all" or comma-separated family names
// (case-insensitive).
func ParseFamilies(s string) ([]types.Family, error) {
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

// CheckAddr validates a host:port listen address ("" allowed when
// emptyOK).
func CheckAddr(field, v string, emptyOK bool) error {
	if v == "" {
		if emptyOK {
			return nil
		}
		return ConfigErr(field, v, "required (host:port)")
	}
	_, port, err := net.SplitHostPort(v)
	if err != nil {
		return ConfigErr(field, v, "want host:port")
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || n > 65535 {
		return ConfigErr(field, v, "port %q is not in 0..65535", port)
	}
	return nil
}

// CheckURL validates an endpoint URL.
func CheckURL(field, v string) error {
	if v == "" {
		return ConfigErr(field, v, "required")
	}
	for _, s := range []string{"http://", "https://", "ws://", "wss://"} {
		if strings.HasPrefix(strings.ToLower(v), s) && len(v) > len(s) {
			return nil
		}
	}
	return ConfigErr(field, v, "want an http://, https://, ws:// or wss:// URL")
}

func (c *CLIConfig) rpcConfig() rpc.Config {
	r := c.RPC
	r.Addr, r.Admin = c.RPCAddr, c.Admin
	return r
}
