package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/urfave/cli/v3"

	"github.com/modex/modex/circuits"
	"github.com/modex/modex/internal/datadir"
	"github.com/modex/modex/node"
	"github.com/modex/modex/node/devnet"
	"github.com/modex/modex/prover"
	"github.com/modex/modex/rpc"
	"github.com/modex/modex/types"
)

// devnetMarker marks a directory as a devnet's data directory (the only
// kind the devnet wipes).
const devnetMarker = ".modex-devnet"

// devnetConfig is `modex devnet`'s configuration, checked.
type devnetConfig struct {
	node.ServiceConfig
	DataDir     string
	Fresh       bool
	Keys        string
	L1Addr      string
	L1BlockTime time.Duration
	Admin       bool
	Accounts    int
}

// devnetFlags are the devnet's own flags; the rest are node.ServiceFlags.
func devnetFlags(s *node.Settings) []cli.Flag {
	own := []cli.Flag{
		&cli.StringFlag{Name: "datadir", Value: "./build/devnet", Usage: "the node's state store and journal (started afresh: the embedded L1 lives in memory)", Sources: s.Sources("datadir")},
		&cli.BoolFlag{Name: "fresh", Value: true, Usage: "wipe the data of a previous devnet in --datadir at start (--fresh=false refuses to start over it instead)", Sources: s.Sources("fresh")},
		&cli.StringFlag{Name: "keys", Value: "./build/devnet-keys", Usage: "cache of compiled circuits, dev keys and verifiers (\"\": none)", Sources: s.Sources("keys")},
		&cli.StringFlag{Name: "l1.addr", Value: "127.0.0.1:8545", Usage: "the embedded L1's JSON-RPC address, HTTP and websocket (\"\": none)", Sources: s.Sources("l1.addr")},
		&cli.DurationFlag{Name: "l1.blocktime", Value: time.Second, Usage: "the L1 mines pending transactions at once and an empty block at least this often", Sources: s.Sources("l1.blocktime")},
		&cli.BoolFlag{Name: "admin", Value: true, Usage: "serve the admin namespace", Sources: s.Sources("admin")},
		&cli.IntFlag{Name: "accounts", Value: 10, Usage: "funded dev accounts (10,000 ETH each)", Sources: s.Sources("accounts")},
	}
	return append(own, node.ServiceFlags(s)...)
}

// newDevnetConfig reads and checks the devnet's flags.
func newDevnetConfig(cmd *cli.Command) (*devnetConfig, error) {
	sc, err := node.NewServiceConfig(cmd)
	if err != nil {
		return nil, err
	}
	c := &devnetConfig{ServiceConfig: *sc, DataDir: cmd.String("datadir"), Fresh: cmd.Bool("fresh"), Keys: cmd.String("keys"),
		L1Addr: cmd.String("l1.addr"), L1BlockTime: cmd.Duration("l1.blocktime"), Admin: cmd.Bool("admin"), Accounts: cmd.Int("accounts")}
	if c.DataDir == "" {
		return nil, node.ConfigErr("datadir", "", "required (the devnet's node keeps its state on disk)")
	}
	if err := node.CheckAddr("l1.addr", c.L1Addr, true); err != nil {
		return nil, err
	}
	if c.L1BlockTime <= 0 {
		return nil, node.ConfigErr("l1.blocktime", c.L1BlockTime.String(), "must be positive")
	}
	if c.Accounts < 1 || c.Accounts > 1000 {
		return nil, node.ConfigErr("accounts", strconv.Itoa(c.Accounts), "want 1..1000")
	}
	return c, nil
}

// openDevnetDir locks the devnet's data directory and makes it an empty
// one, in the order that keeps a running devnet's data safe: the directory
// is locked first (a directory in use is a *datadir.InUseError), then the
// ports the devnet will bind are checked (one in use is a *node.ConfigError
// naming its flag), and only then, holding the lock, is a previous devnet's
// data wiped. A refusal changes nothing and releases the lock; on success
// the caller holds it until the devnet has stopped. A directory that is
// neither empty nor a devnet's is refused before it is locked, so not even
// a lock file is left in it.
func openDevnetDir(c *devnetConfig) (*datadir.Lock, bool, error) {
	if _, err := devnetDirData(c.DataDir, c.Fresh); err != nil {
		return nil, false, err
	}
	lock, err := datadir.Acquire(c.DataDir)
	if err != nil {
		return nil, false, err
	}
	if err := node.CheckListen(node.ListenAddr{Field: "l1.addr", Addr: c.L1Addr}, node.ListenAddr{Field: "rpc.addr", Addr: c.RPCAddr}); err != nil {
		lock.Release()
		return nil, false, err
	}
	wiped, err := prepareDataDir(lock, c.Fresh)
	if err != nil {
		lock.Release()
		return nil, false, err
	}
	return lock, wiped, nil
}

// devnetDirData says whether dir holds a previous devnet's data (its lock
// file aside), and refuses a directory that is neither empty nor a
// devnet's, and a devnet's when fresh is false. It only reads.
func devnetDirData(dir string, fresh bool) (bool, error) {
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return false, nil
	case err != nil:
		return false, node.ConfigErr("datadir", dir, "%v", err)
	}
	var data bool
	for _, e := range entries {
		data = data || e.Name() != datadir.LockFile
	}
	if !data {
		return false, nil
	}
	if _, err := os.Stat(filepath.Join(dir, devnetMarker)); err != nil {
		return false, node.ConfigErr("datadir", dir, "not empty and not a devnet data directory (no %s file): refusing to wipe it; choose another --datadir", devnetMarker)
	}
	if !fresh {
		return false, node.ConfigErr("fresh", "false", "%s holds a previous devnet's data, which a new devnet cannot resume (its L1 lived in memory): wipe it (--fresh) or choose another --datadir", dir)
	}
	return true, nil
}

// prepareDataDir makes the locked directory an empty devnet data
// directory. The devnet's L1 lives in memory and is deployed afresh at
// every start, so the node's state must start empty too: a previous
// devnet's data is wiped (only a directory that is empty or holds the
// devnet marker; anything else is refused). The lock file stays: the wipe
// removes everything else, so the lock goes on guarding the directory.
func prepareDataDir(lock *datadir.Lock, fresh bool) (wiped bool, err error) {
	dir := lock.Dir()
	if !lock.Held() {
		return false, fmt.Errorf("devnet: %s is not locked", dir)
	}
	data, err := devnetDirData(dir, fresh)
	if err != nil {
		return false, err
	}
	if data {
		entries, err := os.ReadDir(dir)
		if err != nil {
			return false, node.ConfigErr("datadir", dir, "%v", err)
		}
		for _, e := range entries {
			if e.Name() == datadir.LockFile {
				continue
			}
			if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
				return false, node.ConfigErr("datadir", dir, "wipe: %v", err)
			}
		}
		wiped = true
	}
	marker := "a modex devnet's data directory: `modex devnet` wipes it at every start (all but its LOCK file)\n"
	if err := os.WriteFile(filepath.Join(dir, devnetMarker), []byte(marker), 0o600); err != nil {
		return false, node.ConfigErr("datadir", dir, "%v", err)
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

// devnetCommand: modex devnet — an embedded L1, the rollup deployed on it
// and a node, with funded dev accounts.
func (a *app) devnetCommand() *cli.Command {
	s := a.newSettings(true)
	return a.command(s, "devnet", "embedded L1 + deployed rollup + node, with funded dev accounts",
		devnetFlags(s), func(_ context.Context, cmd *cli.Command) error {
			c, err := newDevnetConfig(cmd)
			if cmd.Bool("dump-config") {
				return a.dumpAndCheck(s, cmd, func() error { return err })
			}
			if err != nil {
				return err
			}
			return a.runDevnet(c)
		})
}

func (a *app) runDevnet(c *devnetConfig) error {
	log := newLogger(a.errOut, c.Log)
	lock, wiped, err := openDevnetDir(c)
	if err != nil {
		return err
	}
	// held until the devnet has stopped (a forced exit: the kernel frees it)
	defer lock.Release()
	if wiped {
		log.Info("wiped the previous devnet's data (the embedded L1 starts afresh)", "datadir", c.DataDir)
	}
	params := c.Params
	if miss := missingKeys(c.Keys, params, c.Families); len(miss) > 0 {
		where := "no cache (--keys \"\")"
		if c.Keys != "" {
			where = "cached in " + c.Keys + " for the next starts"
		}
		log.Warn(fmt.Sprintf("first start for these parameters: the API answers at once; %d circuits are compiled and set up (INSECURE dev setup) in the background, one family at a time, and each family's batches are proven once its keys are ready (%s)", len(miss), where),
			"families", fmt.Sprint(miss), "params", c.ParamsName, "capacity", params.BatchCapacity)
	}

	ctx, stopSignals := startupContext(log)
	defer stopSignals()
	start := time.Now()
	dn, err := devnet.Start(ctx, devnet.Config{
		DataDir: c.DataDir, DataDirLock: lock, KeyDir: c.Keys, L1Addr: c.L1Addr, RPCAddr: c.RPCAddr, Admin: c.Admin, RPC: c.RPC,
		Params: params, Families: c.Families, Accounts: c.Accounts, BlockTime: c.L1BlockTime,
		BatchTimeout: c.BatchTimeout, FamilyWait: c.FamilyWait, ProverWorkers: c.ProverWorkers, ProveAttempts: c.ProveAttempts, Logger: log,
		Progress: func(msg string) { log.Info(msg, "elapsed", humanSince(start)) },
	})
	if err != nil {
		return err
	}
	log.Info("devnet started: the API answers", "elapsed", humanSince(start))
	// The banner comes last, after every startup line: the node seals,
	// proves and verifies the startup's own batch (priority request 0
	// opens the operator's fee account) at once, and the banner waits for
	// it. The node's per-batch log lines scroll it away later, so it is
	// in a file too.
	awaitStartupBatch(ctx, dn.Node.SyncStatus, startupBatchWait)
	stopSignals()
	if ctx.Err() != nil { // interrupted while waiting
		sctx, cancel := context.WithTimeout(context.Background(), c.StopTimeout)
		defer cancel()
		return dn.Stop(sctx)
	}
	if err := printDevnet(a.out, devnetInfoOf(dn), c); err != nil {
		log.Warn("the dev accounts file was not written (the banner above has the keys)", "err", err)
	}
	return waitAndStop(log, c.StopTimeout, dn.Stop)
}

// startupBatchWait bounds how long the banner waits for the startup's own
// batch (a slow prover only delays it that long).
const startupBatchWait = time.Minute

// awaitStartupBatch waits until batch 1, the startup's own, is verified on
// L1 (or the pipeline halted, ctx ended, or limit passed).
func awaitStartupBatch(ctx context.Context, status func(context.Context) (*rpc.SyncStatus, error), limit time.Duration) {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		if st, err := status(ctx); err == nil && (st.Verified >= 1 || st.Halted != "") {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// devnetAccountsFile, in the data directory, holds the devnet's banner:
// the endpoints and the dev accounts' keys (mode 0600; rewritten at every
// start, as the keys are deterministic and the data directory is wiped).
const devnetAccountsFile = "dev-accounts.txt"

// devnetInfo is what the banner says about a running devnet.
type devnetInfo struct {
	L1URL       string
	ChainID     string
	Bridge      common.Address
	DeployBlock uint64
	API         string // host:port
	Accounts    []devnet.DevAccount
}

func devnetInfoOf(dn *devnet.Devnet) devnetInfo {
	return devnetInfo{L1URL: dn.Chain.URL(), ChainID: dn.Chain.ChainID().String(), Bridge: dn.Rollup.Contract.Address,
		DeployBlock: dn.Rollup.DeployBlock, API: dn.Node.Addr(), Accounts: dn.DevAccounts()}
}

// printDevnet writes the banner to the data directory's devnetAccountsFile
// (mode 0600) and prints it, naming the file. The banner is printed even
// when the file cannot be written (the error says why).
func printDevnet(w io.Writer, info devnetInfo, c *devnetConfig) error {
	path := filepath.Join(c.DataDir, devnetAccountsFile)
	body := devnetBanner(info, c)
	err := writeFile0600(path, []byte(body))
	fmt.Fprint(w, body)
	if err == nil {
		fmt.Fprintf(w, "These keys and endpoints are also in %s (mode 0600): the log below scrolls this away.\n\n", path)
	}
	return err
}

// writeFile0600 writes a private file: mode 0600 even over an existing one.
func writeFile0600(path string, b []byte) error {
	if err := os.WriteFile(path, b, 0o600); err != nil {
		return err
	}
	return os.Chmod(path, 0o600)
}

func devnetBanner(info devnetInfo, c *devnetConfig) string {
	var b strings.Builder
	l1 := info.L1URL
	if l1 == "" {
		l1 = "(none: --l1.addr \"\")"
	}
	fams := make([]string, 0, len(c.Families))
	for _, f := range c.Families {
		fams = append(fams, f.String())
	}
	fmt.Fprintf(&b, `
Modex devnet is running (Ctrl-C stops it; the next start begins afresh).

  L1 RPC        %s   (HTTP and websocket; chain id %s)
  bridge        %s   (deployed in block %d)
  rollup API    http://%s   ws://%s
  params        %s, batch capacity %d, families %v
  data          %s   (keys cache: %s)

Proofs: each family's keys and verifier come in the background, one family at a time (progress and
the time left in the log); a batch is proven and verified on L1 once its family is ready.

Proofs: each family's keys and verifier come in the background, one family at a time (progress and
the time left in the log); a batch is proven and verified on L1 once its family is ready.

Dev accounts: 10,000 ETH each on L1. Account 0 operates the rollup and owns L2 fee account 0.
Import one into the wallet with its two keys, or with: modex wallet import --dev N --out dN.json
`, l1, info.ChainID, info.Bridge, info.DeployBlock, info.API, info.API,
		c.ParamsName, c.Params.BatchCapacity, fams, c.DataDir, orNone(c.Keys))
	for _, a := range info.Accounts {
		role := ""
		if a.Index == 0 {
			role = "  (operator)"
		}
		fmt.Fprintf(&b, "\n  (%d) %s%s\n      l1Key 0x%s\n      l2Key 0x%s\n", a.Index, a.Address, role, a.L1Key, a.L2Key)
	}
	fmt.Fprintf(&b, "\nTry: modex status --rpc http://%s\n\n", info.API)
	return b.String()
}
