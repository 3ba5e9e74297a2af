package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/modex/modex/circuits"
	"github.com/modex/modex/node/devnet"
	"github.com/modex/modex/prover"
	"github.com/modex/modex/types"
)

// devnetMarker marks a directory as a devnet's data directory (the only
// kind the devnet wipes).
const devnetMarker = ".modex-devnet"

// devnetConfig is `modex devnet`'s configuration.
type devnetConfig struct {
	DataDir       string
	Fresh         bool
	Keys          string
	L1Addr        string
	L1BlockTime   time.Duration
	RPCAddr       string
	Admin         bool
	Params        paramsConfig
	Families      string
	BatchTimeout  time.Duration
	FamilyWait    time.Duration
	Accounts      int
	ProverWorkers int
	StopTimeout   time.Duration
	Log           logConfig

	families []types.Family
}

func newDevnetFlags() (*cmdFlags, *devnetConfig) {
	c := &devnetConfig{}
	f := newCmdFlags("devnet", true)
	fs := f.fs
	fs.StringVar(&c.DataDir, "datadir", "./build/devnet", "the node's state store and journal (started afresh: the embedded L1 lives in memory)")
	fs.BoolVar(&c.Fresh, "fresh", true, "wipe the data of a previous devnet in --datadir at start (--fresh=false refuses to start over it instead)")
	fs.StringVar(&c.Keys, "keys", "./build/devnet-keys", "cache of compiled circuits, dev keys and verifiers (\"\": none)")
	fs.StringVar(&c.L1Addr, "l1.addr", "127.0.0.1:8545", "the embedded L1's JSON-RPC address, HTTP and websocket (\"\": none)")
	fs.DurationVar(&c.L1BlockTime, "l1.blocktime", time.Second, "the L1 mines pending transactions at once and an empty block at least this often")
	fs.StringVar(&c.RPCAddr, "rpc.addr", "127.0.0.1:8645", "the rollup API's address (HTTP and websocket)")
	fs.BoolVar(&c.Admin, "admin", true, "serve the admin namespace")
	c.Params.register(fs)
	fs.StringVar(&c.Families, "families", "all", "batch families to deploy verifiers for (comma-separated, or all)")
	fs.DurationVar(&c.BatchTimeout, "batch.timeout", time.Second, "seal a batch this long after its first transaction")
	fs.DurationVar(&c.FamilyWait, "batch.family-wait", 10*time.Millisecond, "seal the open batch once a transaction of another family has waited this long (a batch holds one family)")
	fs.IntVar(&c.Accounts, "accounts", 10, "funded dev accounts (10,000 ETH each)")
	fs.IntVar(&c.ProverWorkers, "prover.workers", 1, "batches proven at once")
	fs.DurationVar(&c.StopTimeout, "stop-timeout", 30*time.Second, "how long a graceful stop may take")
	c.Log.register(fs)
	return f, c
}

func (c *devnetConfig) check() error {
	if c.DataDir == "" {
		return cfgErr("datadir", "", "required (the devnet's node keeps its state on disk)")
	}
	if err := checkAddr("l1.addr", c.L1Addr, true); err != nil {
		return err
	}
	if c.L1BlockTime <= 0 {
		return cfgErr("l1.blocktime", c.L1BlockTime.String(), "must be positive")
	}
	if err := checkAddr("rpc.addr", c.RPCAddr, false); err != nil {
		return err
	}
	if err := c.Params.check(); err != nil {
		return err
	}
	var err error
	if c.families, err = parseFamilies(c.Families); err != nil {
		return cfgErr("families", c.Families, "%v", err)
	}
	if c.BatchTimeout <= 0 {
		return cfgErr("batch.timeout", c.BatchTimeout.String(), "must be positive")
	}
	if c.FamilyWait <= 0 {
		return cfgErr("batch.family-wait", c.FamilyWait.String(), "must be positive")
	}
	if c.Accounts < 1 || c.Accounts > 1000 {
		return cfgErr("accounts", strconv.Itoa(c.Accounts), "want 1..1000")
	}
	if c.ProverWorkers < 1 || c.ProverWorkers > 64 {
		return cfgErr("prover.workers", strconv.Itoa(c.ProverWorkers), "want 1..64")
	}
	if c.StopTimeout <= 0 {
		return cfgErr("stop-timeout", c.StopTimeout.String(), "must be positive")
	}
	return c.Log.check()
}

// prepareDataDir makes dir an empty devnet data directory. The devnet's L1
// lives in memory and is deployed afresh at every start, so the node's
// state must start empty too: a previous devnet's data is wiped (only a
// directory that is empty or holds the devnet marker; anything else is
// refused).
func prepareDataDir(dir string, fresh bool) (wiped bool, err error) {
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return false, cfgErr("datadir", dir, "%v", err)
	case len(entries) > 0:
		if _, err := os.Stat(filepath.Join(dir, devnetMarker)); err != nil {
			return false, cfgErr("datadir", dir, "not empty and not a devnet data directory (no %s file): refusing to wipe it; choose another --datadir", devnetMarker)
		}
		if !fresh {
			return false, cfgErr("fresh", "false", "%s holds a previous devnet's data, which a new devnet cannot resume (its L1 lived in memory): wipe it (--fresh) or choose another --datadir", dir)
		}
		if err := os.RemoveAll(dir); err != nil {
			return false, cfgErr("datadir", dir, "wipe: %v", err)
		}
		wiped = true
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return false, cfgErr("datadir", dir, "%v", err)
	}
	marker := "a modex devnet's data directory: `modex devnet` wipes it at every start\n"
	if err := os.WriteFile(filepath.Join(dir, devnetMarker), []byte(marker), 0o600); err != nil {
		return false, cfgErr("datadir", dir, "%v", err)
	}
	return wiped, nil
}

// missingKeys lists the families whose keys are not in the cache.
func missingKeys(keyDir string, p types.Params, fams []types.Family) []types.Family {
	var out []types.Family
	for _, f := range fams {
		if keyDir == "" {
			out = append(out, f)
			continue
		}
		dir := filepath.Join(keyDir, filepath.FromSlash(circuits.BatchKey(f, p)))
		if _, err := os.Stat(filepath.Join(dir, prover.PKFile)); err != nil {
			out = append(out, f)
		}
	}
	return out
}

// runDevnet: modex devnet — an embedded L1, the rollup deployed on it and a
// node, with funded dev accounts.
func runDevnet(args []string) error {
	f, c := newDevnetFlags()
	if err := f.parse(args); err != nil {
		return err
	}
	if f.dump {
		return dumpAndCheck(f, c.check)
	}
	if err := c.check(); err != nil {
		return err
	}
	log := c.Log.logger(os.Stderr)
	wiped, err := prepareDataDir(c.DataDir, c.Fresh)
	if err != nil {
		return err
	}
	if wiped {
		log.Info("wiped the previous devnet's data (the embedded L1 starts afresh)", "datadir", c.DataDir)
	}
	params := c.Params.params()
	if miss := missingKeys(c.Keys, params, c.families); len(miss) > 0 {
		where := "no cache (--keys \"\")"
		if c.Keys != "" {
			where = "cached in " + c.Keys + " for the next starts"
		}
		log.Warn(fmt.Sprintf("first start for these parameters: compiling %d circuits and running the INSECURE dev setup; this takes minutes (%s)", len(miss), where),
			"families", fmt.Sprint(miss), "params", c.Params.Name, "capacity", params.BatchCapacity)
	}

	ctx, stopSignals := startupContext(log)
	defer stopSignals()
	start := time.Now()
	dn, err := devnet.Start(ctx, devnet.Config{
		DataDir: c.DataDir, KeyDir: c.Keys, L1Addr: c.L1Addr, RPCAddr: c.RPCAddr, Admin: c.Admin,
		Params: params, Families: c.families, Accounts: c.Accounts, BlockTime: c.L1BlockTime,
		BatchTimeout: c.BatchTimeout, FamilyWait: c.FamilyWait, ProverWorkers: c.ProverWorkers, Logger: log,
		Progress: func(msg string) { log.Info(msg, "elapsed", humanSince(start)) },
	})
	if err != nil {
		return err
	}
	stopSignals()
	log.Info("devnet started", "elapsed", humanSince(start))
	printDevnet(os.Stdout, dn, c)
	return waitAndStop(log, c.StopTimeout, dn.Stop)
}

func printDevnet(w io.Writer, dn *devnet.Devnet, c *devnetConfig) {
	api := dn.Node.Addr()
	l1 := dn.Chain.URL()
	if l1 == "" {
		l1 = "(none: --l1.addr \"\")"
	}
	fams := make([]string, 0, len(dn.Rollup.Verifiers))
	for _, f := range c.families {
		fams = append(fams, f.String())
	}
	fmt.Fprintf(w, `
Modex devnet is running (Ctrl-C stops it; the next start begins afresh).

  L1 RPC        %s   (HTTP and websocket; chain id %d)
  bridge        %s   (deployed in block %d)
  rollup API    http://%s   ws://%s
  params        %s, batch capacity %d, families %v
  data          %s   (keys cache: %s)

Dev accounts: 10,000 ETH each on L1. Account 0 operates the rollup and owns L2 fee account 0.
Import one into the wallet with its two keys, or with: modex wallet import --dev N --out dN.json
`, l1, dn.Chain.ChainID(), dn.Rollup.Contract.Address, dn.Rollup.DeployBlock, api, api,
		c.Params.Name, c.Params.Capacity, fams, c.DataDir, orNone(c.Keys))
	for _, a := range dn.DevAccounts() {
		role := ""
		if a.Index == 0 {
			role = "  (operator)"
		}
		fmt.Fprintf(w, "\n  (%d) %s%s\n      l1Key 0x%s\n      l2Key 0x%s\n", a.Index, a.Address, role, a.L1Key, a.L2Key)
	}
	fmt.Fprintf(w, "\nTry: modex status --rpc http://%s\n\n", api)
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
