package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/urfave/cli/v3"

	"github.com/modex/modex/circuits"
	"github.com/modex/modex/deploy"
	"github.com/modex/modex/internal/datadir"
	"github.com/modex/modex/node"
	"github.com/modex/modex/prover"
	"github.com/modex/modex/types"
)

// nodeCommand: modex node — a rollup node against an external L1.
func (a *app) nodeCommand() *cli.Command {
	s := a.newSettings(true)
	return a.command(s, "node", "a rollup node against an external L1 (--l1-rpc URL --bridge ADDR --operator-key-file F --keys DIR)",
		node.Flags(s), func(_ context.Context, cmd *cli.Command) error {
			c, err := node.NewCLIConfig(cmd)
			if cmd.Bool("dump-config") {
				return a.dumpAndCheck(s, cmd, func() error { return err })
			}
			if err != nil {
				return err
			}
			return a.runNode(c)
		})
}

func (a *app) runNode(c *node.CLIConfig) error {
	log := newLogger(a.errOut, c.Log)
	// INSECURE dev keys are refused before anything is touched: only each
	// family's mark and verifying key are read (the proving keys load after
	// the data directory is locked)
	if err := checkKeyMarks(log, c.Keys, c.Params, c.Families, c.InsecureDevKeys); err != nil {
		return err
	}
	// the data directory is locked first (a directory in use is a
	// *datadir.InUseError) and its port checked before the keys load
	// (minutes at production depths); the node uses the held lock
	lock, err := datadir.Acquire(c.DataDir)
	if err != nil {
		return err
	}
	defer lock.Release()
	if err := node.CheckListen(node.ListenAddr{Field: "rpc.addr", Addr: c.RPCAddr}); err != nil {
		return err
	}
	ctx, stopSignals := startupContext(log)
	defer stopSignals()

	provers, keys, insecure, err := loadProvers(ctx, log, c.Keys, c.Params, c.Families, c.Prover, c.ProverDevice, c.InsecureDevKeys)
	if err != nil {
		return err
	}
	l1, err := ethclient.DialContext(ctx, c.L1RPC)
	if err != nil {
		return fmt.Errorf("L1 endpoint %s: %w", c.L1RPC, err)
	}
	defer l1.Close()
	if c.Deployment != nil {
		// The chain must hold what the record says, and --keys the keys
		// that were deployed.
		if err := deploy.Check(ctx, l1, c.Deployment, keys); err != nil {
			return fmt.Errorf("--deployment %s: %w", c.DeploymentPath, err)
		}
		log.Info("the chain matches the deployment record", "record", c.DeploymentPath, "chain", c.Deployment.ChainID,
			"bridge", c.Bridge, "deployBlock", c.FromBlock, "families", len(c.Families))
	}
	cfg := c.Config(l1, provers, log)
	cfg.InsecureDevKeys = insecure
	cfg.DataDirLock = lock
	n, err := node.New(ctx, cfg)
	if err != nil {
		return err
	}
	if err := n.Start(ctx); err != nil {
		_ = n.Stop(context.Background())
		return err
	}
	stopSignals()
	fmt.Fprintf(a.out, "modex node: API http://%s and ws://%s, bridge %s, data %s\n", n.Addr(), n.Addr(), c.Bridge, c.DataDir)
	return waitAndStop(log, c.StopTimeout, n.Stop)
}

// checkKeyMarks refuses INSECURE dev keys (prover.ErrInsecureKeys) unless
// allowInsecure, reading only the marks and verifying keys; missing keys
// are left to loadProvers.
func checkKeyMarks(log *slog.Logger, dir string, p types.Params, fams []types.Family, allowInsecure bool) error {
	if allowInsecure {
		return nil
	}
	for _, f := range fams {
		kd := filepath.Join(dir, filepath.FromSlash(circuits.BatchKey(f, p)))
		if _, insecure, err := prover.LoadVerifyingKey(kd); err == nil && insecure {
			log.Error("refusing INSECURE development keys (pass --insecure-dev-keys to accept them on a devnet)", "family", f.String(), "dir", kd)
			return fmt.Errorf("%v keys in %s: %w", f, kd, (&prover.Keys{Insecure: true}).CheckSecure(false))
		}
	}
	return nil
}

// loadProvers loads every family's keys from dir/<circuits.BatchKey(f, p)>
// (the layout of the devnet's key cache) and builds the provers. Keys from
// the INSECURE dev setup are refused with prover.ErrInsecureKeys unless
// allowInsecure (--insecure-dev-keys); insecure says whether any were
// loaded.
func loadProvers(ctx context.Context, log *slog.Logger, dir string, p types.Params, fams []types.Family, kind string, device int, allowInsecure bool) (_ map[types.Family]prover.Prover, _ map[types.Family]*prover.Keys, insecure bool, _ error) {
	out := map[types.Family]prover.Prover{}
	all := map[types.Family]*prover.Keys{}
	start := time.Now()
	var devFams []string
	for i, f := range fams {
		if err := ctx.Err(); err != nil {
			return nil, nil, false, err
		}
		t0 := time.Now()
		kd := filepath.Join(dir, filepath.FromSlash(circuits.BatchKey(f, p)))
		keys, err := prover.LoadKeys(kd)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil, false, &node.ConfigError{Field: "keys", Value: dir, Reason: fmt.Sprintf("no %v keys in %s (each family's keys live in <keys>/%s; `modex devnet --keys DIR` makes them, or restrict --families)", f, kd, circuits.BatchKey(f, p))}
		}
		if err != nil {
			return nil, nil, false, fmt.Errorf("%v keys in %s: %w", f, kd, err)
		}
		if err := keys.CheckSecure(allowInsecure); err != nil {
			log.Error("refusing INSECURE development keys (pass --insecure-dev-keys to accept them on a devnet)", "family", f.String(), "dir", kd)
			return nil, nil, false, fmt.Errorf("%v keys in %s: %w", f, kd, err)
		}
		if keys.Insecure {
			devFams = append(devFams, f.String())
		}
		var pv prover.Prover
		switch kind {
		case "icicle":
			pv, err = prover.NewGPU(keys, prover.GPUConfig{DeviceID: device, Backend: "CUDA", Pin: true})
			if errors.Is(err, prover.ErrNoICICLE) {
				return nil, nil, false, &node.ConfigError{Field: "prover", Value: kind, Reason: "this binary was built without ICICLE: build bin/modex-gpu with `make gpu` and run it instead, or use --prover cpu"}
			}
			if err != nil {
				return nil, nil, false, fmt.Errorf("ICICLE prover for %v: %w", f, err)
			}
		default:
			pv = prover.NewCPU(keys)
		}
		out[f] = pv
		all[f] = keys
		log.Info("loaded prover keys", "family", f.String(), "origin", keys.Origin(), "n", fmt.Sprintf("%d/%d", i+1, len(fams)), "took", humanSince(t0), "elapsed", humanSince(start))
	}
	if len(devFams) > 0 {
		log.Warn("accepted INSECURE development keys (--insecure-dev-keys): "+node.InsecureDevKeysWarning, "families", strings.Join(devFams, ","))
	}
	return out, all, len(devFams) > 0, nil
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
