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
	"syscall"
	"time"

	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/urfave/cli/v3"

	"github.com/modex/modex/circuits"
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

	provers, err := loadProvers(ctx, log, c.Keys, c.Params, c.Families, c.Prover, c.ProverDevice)
	if err != nil {
		return err
	}
	l1, err := ethclient.DialContext(ctx, c.L1RPC)
	if err != nil {
		return fmt.Errorf("L1 endpoint %s: %w", c.L1RPC, err)
	}
	defer l1.Close()
	cfg := c.Config(l1, provers, log)
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
			return nil, &node.ConfigError{Field: "keys", Value: dir, Reason: fmt.Sprintf("no %v keys in %s (each family's keys live in <keys>/%s; `modex devnet --keys DIR` makes them, or restrict --families)", f, kd, circuits.BatchKey(f, p))}
		}
		if err != nil {
			return nil, fmt.Errorf("%v keys in %s: %w", f, kd, err)
		}
		var pv prover.Prover
		switch kind {
		case "icicle":
			pv, err = prover.NewGPU(keys, prover.GPUConfig{DeviceID: device, Backend: "CUDA", Pin: true})
			if errors.Is(err, prover.ErrNoICICLE) {
				return nil, &node.ConfigError{Field: "prover", Value: kind, Reason: "this binary was built without ICICLE: build bin/modex-gpu with `make gpu` and run it instead, or use --prover cpu"}
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
