package main

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math/big"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"

	"github.com/modex/modex/circuits"
	"github.com/modex/modex/node"
	"github.com/modex/modex/prover"
	"github.com/modex/modex/rpc"
	"github.com/modex/modex/types"
)

// nodeConfig is `modex node`'s configuration.
type nodeConfig struct {
	L1RPC           string
	Bridge          string
	OperatorKey     string
	OperatorKeyFile string
	Keys            string
	DataDir         string
	RPCAddr         string
	Admin           bool
	Params          paramsConfig
	Families        string
	Confirmations   uint64
	FromBlock       uint64
	L1Poll          time.Duration
	MaxFeeGwei      uint64
	Prover          string
	ProverWorkers   int
	ProverDevice    int
	BatchTimeout    time.Duration
	FamilyWait      time.Duration
	MakerFeeBips    uint
	TakerFeeBips    uint
	StopTimeout     time.Duration
	Log             logConfig

	// filled by check
	operator *ecdsa.PrivateKey
	families []types.Family
}

func newNodeFlags() (*cmdFlags, *nodeConfig) {
	c := &nodeConfig{}
	f := newCmdFlags("node", true)
	fs := f.fs
	fs.StringVar(&c.L1RPC, "l1-rpc", "", "L1 JSON-RPC endpoint (http, https, ws or wss URL)")
	fs.StringVar(&c.Bridge, "bridge", "", "the bridge contract's address")
	fs.StringVar(&c.OperatorKey, "operator-key", "", "the operator's L1 key (hex secp256k1; commits batches)")
	fs.StringVar(&c.OperatorKeyFile, "operator-key-file", "", "file holding the operator's L1 key (hex)")
	fs.StringVar(&c.Keys, "keys", "", "prover keys: <keys>/<circuit key>/ per family, the layout `modex devnet --keys` writes")
	fs.StringVar(&c.DataDir, "datadir", "./build/node", "state store and journal")
	fs.StringVar(&c.RPCAddr, "rpc.addr", "127.0.0.1:8645", "API listen address (HTTP and websocket)")
	fs.BoolVar(&c.Admin, "admin", false, "serve the admin namespace (admin_startSequencing, admin_stopSequencing)")
	c.Params.register(fs)
	fs.StringVar(&c.Families, "families", "all", "batch families the bridge has verifiers for (comma-separated, or all)")
	fs.Uint64Var(&c.Confirmations, "confirmations", 0, "L1 blocks before a deposit or forced withdrawal is taken")
	fs.Uint64Var(&c.FromBlock, "from-block", 0, "the block of the bridge's deployment (where the L1 history starts)")
	fs.DurationVar(&c.L1Poll, "l1.poll", time.Second, "how often L1 is polled")
	fs.Uint64Var(&c.MaxFeeGwei, "l1.max-fee-gwei", 1000, "the most the batch submitter pays per gas (gwei)")
	fs.StringVar(&c.Prover, "prover", "cpu", "prover: cpu or icicle (GPU; needs bin/modex-gpu, `make gpu`)")
	fs.IntVar(&c.ProverWorkers, "prover.workers", 1, "batches proven at once")
	fs.IntVar(&c.ProverDevice, "prover.device", 0, "GPU device id (--prover icicle)")
	fs.DurationVar(&c.BatchTimeout, "batch.timeout", time.Second, "seal a batch this long after its first transaction")
	fs.DurationVar(&c.FamilyWait, "batch.family-wait", 10*time.Millisecond, "seal the open batch once a transaction of another family has waited this long (a batch holds one family)")
	fs.UintVar(&c.MakerFeeBips, "fees.maker-bips", 2, "trade fee of the resting order (basis points)")
	fs.UintVar(&c.TakerFeeBips, "fees.taker-bips", 5, "trade fee of the incoming order (basis points)")
	fs.DurationVar(&c.StopTimeout, "stop-timeout", 30*time.Second, "how long a graceful stop may take")
	c.Log.register(fs)
	f.secret("operator-key")
	return f, c
}

// check validates the whole configuration (before anything starts).
func (c *nodeConfig) check() error {
	if err := checkURL("l1-rpc", c.L1RPC); err != nil {
		return err
	}
	if !common.IsHexAddress(c.Bridge) {
		return cfgErr("bridge", c.Bridge, "want a 0x-hex address")
	}
	switch {
	case c.OperatorKey != "" && c.OperatorKeyFile != "":
		return cfgErr("operator-key", "", "give --operator-key or --operator-key-file, not both")
	case c.OperatorKey == "" && c.OperatorKeyFile == "":
		return cfgErr("operator-key", "", "required (or --operator-key-file)")
	}
	field, hexKey := "operator-key", c.OperatorKey
	if c.OperatorKeyFile != "" {
		field = "operator-key-file"
		b, err := os.ReadFile(c.OperatorKeyFile)
		if err != nil {
			return cfgErr(field, c.OperatorKeyFile, "%v", err)
		}
		hexKey = strings.TrimSpace(string(b))
	}
	k, err := crypto.HexToECDSA(trim0x(hexKey))
	if err != nil {
		return cfgErr(field, "", "not a hex secp256k1 key: %v", err)
	}
	c.operator = k
	if c.Keys == "" {
		return cfgErr("keys", "", "required: the directory of the prover keys")
	}
	if st, err := os.Stat(c.Keys); err != nil || !st.IsDir() {
		return cfgErr("keys", c.Keys, "not a directory")
	}
	if c.DataDir == "" {
		return cfgErr("datadir", "", "required")
	}
	if err := checkAddr("rpc.addr", c.RPCAddr, false); err != nil {
		return err
	}
	if err := c.Params.check(); err != nil {
		return err
	}
	if c.families, err = parseFamilies(c.Families); err != nil {
		return cfgErr("families", c.Families, "%v", err)
	}
	if c.L1Poll < 10*time.Millisecond {
		return cfgErr("l1.poll", c.L1Poll.String(), "at least 10ms")
	}
	if c.MaxFeeGwei == 0 {
		return cfgErr("l1.max-fee-gwei", "0", "must be positive")
	}
	if c.Prover != "cpu" && c.Prover != "icicle" {
		return cfgErr("prover", c.Prover, "want cpu or icicle")
	}
	if c.ProverWorkers < 1 || c.ProverWorkers > 64 {
		return cfgErr("prover.workers", strconv.Itoa(c.ProverWorkers), "want 1..64")
	}
	if c.ProverDevice < 0 {
		return cfgErr("prover.device", strconv.Itoa(c.ProverDevice), "negative")
	}
	if c.BatchTimeout <= 0 {
		return cfgErr("batch.timeout", c.BatchTimeout.String(), "must be positive")
	}
	if c.FamilyWait <= 0 {
		return cfgErr("batch.family-wait", c.FamilyWait.String(), "must be positive")
	}
	if c.MakerFeeBips > 255 {
		return cfgErr("fees.maker-bips", strconv.FormatUint(uint64(c.MakerFeeBips), 10), "want 0..255")
	}
	if c.TakerFeeBips > 255 {
		return cfgErr("fees.taker-bips", strconv.FormatUint(uint64(c.TakerFeeBips), 10), "want 0..255")
	}
	if c.StopTimeout <= 0 {
		return cfgErr("stop-timeout", c.StopTimeout.String(), "must be positive")
	}
	return c.Log.check()
}

// runNode: modex node — a rollup node against an external L1.
func runNode(args []string) error {
	f, c := newNodeFlags()
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
	ctx, stopSignals := startupContext(log)
	defer stopSignals()

	params := c.Params.params()
	provers, err := loadProvers(ctx, log, c.Keys, params, c.families, c.Prover, c.ProverDevice)
	if err != nil {
		return err
	}
	l1, err := ethclient.DialContext(ctx, c.L1RPC)
	if err != nil {
		return fmt.Errorf("L1 endpoint %s: %w", c.L1RPC, err)
	}
	defer l1.Close()
	maxFee := new(big.Int).Mul(new(big.Int).SetUint64(c.MaxFeeGwei), big.NewInt(1_000_000_000))
	n, err := node.New(ctx, node.Config{
		DataDir: c.DataDir, Params: params, L1: l1, Bridge: common.HexToAddress(c.Bridge),
		OperatorKey: c.operator, Confirmations: c.Confirmations, FromBlock: c.FromBlock,
		MaxFeeCap: maxFee, L1Poll: c.L1Poll, Provers: provers, ProverWorkers: c.ProverWorkers,
		BatchTimeout: c.BatchTimeout, FamilyWait: c.FamilyWait, MakerFeeBips: uint8(c.MakerFeeBips), TakerFeeBips: uint8(c.TakerFeeBips),
		RPC:    rpc.Config{Addr: c.RPCAddr, Admin: c.Admin},
		Logger: log,
	})
	if err != nil {
		return err
	}
	if err := n.Start(ctx); err != nil {
		_ = n.Stop(context.Background())
		return err
	}
	stopSignals()
	fmt.Printf("modex node: API http://%s and ws://%s, bridge %s, data %s\n", n.Addr(), n.Addr(), c.Bridge, c.DataDir)
	return waitAndStop(log, c.StopTimeout, n.Stop)
}

// loadProvers loads every family's keys from dir/<circuits.BatchKey(f, p)>
// (the layout of the devnet's key cache) and builds the provers.
func loadProvers(ctx context.Context, log *slog.Logger, dir string, p types.Params, fams []types.Family, kind string, device int) (map[types.Family]prover.Prover, error) {
	out := map[types.Family]prover.Prover{}
	start := time.Now()
	for i, f := range fams {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		t0 := time.Now()
		kd := filepath.Join(dir, filepath.FromSlash(circuits.BatchKey(f, p)))
		keys, err := prover.LoadKeys(kd)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, &ConfigError{Field: "keys", Value: dir, Reason: fmt.Sprintf("no %v keys in %s (each family's keys live in <keys>/%s; `modex devnet --keys DIR` makes them, or restrict --families)", f, kd, circuits.BatchKey(f, p))}
		}
		if err != nil {
			return nil, fmt.Errorf("%v keys in %s: %w", f, kd, err)
		}
		var pv prover.Prover
		switch kind {
		case "icicle":
			pv, err = prover.NewGPU(keys, prover.GPUConfig{DeviceID: device, Backend: "CUDA", Pin: true})
			if errors.Is(err, prover.ErrNoICICLE) {
				return nil, &ConfigError{Field: "prover", Value: kind, Reason: "this binary was built without ICICLE: build bin/modex-gpu with `make gpu` and run it instead, or use --prover cpu"}
			}
			if err != nil {
				return nil, fmt.Errorf("ICICLE prover for %v: %w", f, err)
			}
		default:
			pv = prover.NewCPU(keys)
		}
		out[f] = pv
		log.Info("loaded prover keys", "family", f.String(), "n", fmt.Sprintf("%d/%d", i+1, len(fams)), "took", humanSince(t0), "elapsed", humanSince(start))
	}
	return out, nil
}

// startupContext is cancelled by the first SIGINT/SIGTERM during startup;
// a second one exits at once. stop ends the watch (call it once started).
func startupContext(log *slog.Logger) (context.Context, func()) {
	ctx, cancel := context.WithCancel(context.Background())
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case s := <-sig:
			log.Warn("interrupted during startup: stopping (again to force)", "signal", s)
			cancel()
		case <-done:
			return
		}
		select {
		case <-sig:
			fmt.Fprintln(os.Stderr, "modex: forced exit")
			os.Exit(130)
		case <-done:
		}
	}()
	var once bool
	return ctx, func() {
		if !once {
			once = true
			signal.Stop(sig)
			close(done)
		}
	}
}

// waitAndStop runs until SIGINT or SIGTERM, then stops the service within
// timeout; a second signal forces the exit.
func waitAndStop(log *slog.Logger, timeout time.Duration, stop func(context.Context) error) error {
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sig)
	s := <-sig
	log.Info("shutting down (Ctrl-C again to force)", "signal", s, "timeout", timeout)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- stop(ctx) }()
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("stop: %w", err)
		}
		log.Info("stopped", "took", humanSince(start))
		return nil
	case <-sig:
		fmt.Fprintln(os.Stderr, "modex: forced exit")
		os.Exit(130)
	}
	return nil
}

// since is a duration for humans: 340ms, 12.3s, 4m05s.
func humanSince(t time.Time) string { return humanDuration(time.Since(t)) }

func humanDuration(d time.Duration) string {
	switch {
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	case d < time.Minute:
		return fmt.Sprintf("%.1fs", d.Seconds())
	}
	d = d.Round(time.Second)
	return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
}
