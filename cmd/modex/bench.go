package main

// modex bench apply|seal|circuit|prove|gas|sequencer: each target parses
// its flags, calls its measurement in bench/ and prints the figures (a
// table, or with --json an object with the parameters, the machine and
// the figures).

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"strconv"
	"strings"

	"github.com/consensys/gnark/logger"
	"github.com/urfave/cli/v3"

	"github.com/modex/modex/bench/apply"
	"github.com/modex/modex/bench/gas"
	"github.com/modex/modex/bench/prove"
	"github.com/modex/modex/bench/workload"
	"github.com/modex/modex/node"
	"github.com/modex/modex/prover"
)

func (a *app) benchCommand() *cli.Command {
	return group("bench", "benchmarks: apply|seal|circuit|prove|gas|sequencer [--json] (modex bench TARGET -h)",
		a.benchTarget("apply", "State.Apply per transaction kind at production depths (ns/tx, tx/s)", benchUsersFlag, a.benchApply),
		a.benchTarget("seal", "sealing a full batch of transfers durably on disk (ms/batch)", benchUsersFlag, a.benchSeal),
		a.benchTarget("circuit", "constraints of every kind gadget and every family's batch circuit", benchParamsFlag, a.benchCircuit),
		a.benchTarget("prove", "dev setup and proofs of full batches of a family (CPU, ICICLE or both)", benchProveFlags, a.benchProve),
		a.benchTarget("gas", "L1 gas per batch and kind and per user operation, on the simulated chain", benchGasFlags, a.benchGas),
		a.benchSequencerCommand(),
	)
}

// benchTarget is a bench subcommand: --json and its flags; run adds its
// figures to meta and prints them unless asJSON.
func (a *app) benchTarget(name, usage string, flags func(*node.Settings) []cli.Flag,
	run func(ctx context.Context, cmd *cli.Command, meta map[string]any, asJSON bool) error) *cli.Command {
	s := a.newSettings(false)
	fl := append([]cli.Flag{jsonFlag(s)}, flags(s)...)
	return a.command(s, name, usage, fl, func(ctx context.Context, cmd *cli.Command) error {
		if err := noArgs(cmd); err != nil {
			return err
		}
		asJSON := cmd.Bool("json")
		if asJSON {
			logger.Disable() // gnark logs to stdout; keep it for the JSON
		}
		meta := map[string]any{"params": workload.BenchParams(), "cpus": runtime.NumCPU(), "go": runtime.Version()}
		if err := run(ctx, cmd, meta, asJSON); err != nil {
			return err
		}
		if asJSON {
			return a.printJSON(meta)
		}
		return nil
	})
}

func jsonFlag(s *node.Settings) cli.Flag {
	return &cli.BoolFlag{Name: "json", Usage: "print JSON", Sources: s.Sources("json")}
}

func (a *app) printJSON(v any) error {
	enc := json.NewEncoder(a.out)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// noArgs: a command that takes only flags refuses an argument.
func noArgs(cmd *cli.Command) error {
	if cmd.Args().Present() {
		return fmt.Errorf("%w: %s: unexpected argument %q (%s -h lists the flags)", ErrUsage, cmd.FullName(), cmd.Args().First(), cmd.FullName())
	}
	return nil
}

func benchUsersFlag(s *node.Settings) []cli.Flag {
	return []cli.Flag{&cli.IntFlag{Name: "users", Value: 32, Usage: "accounts in the benchmark world", Sources: s.Sources("users")}}
}

func benchParamsFlag(s *node.Settings) []cli.Flag {
	return []cli.Flag{&cli.StringFlag{Name: "params", Value: "prod", Usage: "tree depths: prod (2^24 accounts) or test", Sources: s.Sources("params")}}
}

func benchProveFlags(s *node.Settings) []cli.Flag {
	return append(benchParamsFlag(s),
		&cli.StringFlag{Name: "family", Value: "Trade", Usage: "the batch family (Trade, Transfer, Priority, Withdraw, …)", Sources: s.Sources("family")},
		&cli.StringFlag{Name: "sizes", Value: "1,2,4", Usage: "batch sizes (capacities), comma-separated", Sources: s.Sources("sizes")},
		&cli.IntFlag{Name: "runs", Value: 3, Usage: "proofs to time", Sources: s.Sources("runs")},
		&cli.StringFlag{Name: "backend", Value: "cpu", Usage: "cpu, icicle (needs a -tags icicle build: make gpu) or both (CPU then ICICLE, same batch and keys)", Sources: s.Sources("backend")},
		&cli.IntFlag{Name: "device", Usage: "ICICLE device id", Sources: s.Sources("device")},
		&cli.StringFlag{Name: "icicle-backend", Value: "CUDA", Usage: "ICICLE backend, CUDA (an NVIDIA GPU) or CPU (ICICLE's CPU backend)", Sources: s.Sources("icicle-backend")},
		&cli.StringFlag{Name: "icicle-libs", Usage: "ICICLE backend library directory (default: $ICICLE_BACKEND_INSTALL_DIR)", Sources: s.Sources("icicle-libs")},
		&cli.BoolFlag{Name: "pin", Value: true, Usage: "keep the proving key in device memory between proofs (on by default; --pin=false)", Sources: s.Sources("pin")},
	)
}

func benchGasFlags(s *node.Settings) []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "capacities", Value: "8,32,64", Usage: "batch capacities, comma-separated", Sources: s.Sources("capacities")},
		&cli.Uint64Flag{Name: "seed", Value: 1, Usage: "seed of the random operation fields", Sources: s.Sources("seed")},
		&cli.StringFlag{Name: "fork", Value: "osaka", Usage: "EVM rules, osaka (mainnet today) or dev (go-ethereum's dev chain, with the next fork)", Sources: s.Sources("fork")},
	}
}

func (a *app) benchApply(_ context.Context, cmd *cli.Command, meta map[string]any, asJSON bool) error {
	out, err := apply.Kinds(int(cmd.Int("users")), func(r apply.KindResult) {
		if !asJSON {
			fmt.Fprintf(a.out, "%-16s %10.0f ns/tx %9.0f tx/s\n", r.Kind, r.NsPerTx, r.TxPerS)
		}
	})
	if err != nil {
		return err
	}
	meta["apply"] = out
	return nil
}

func (a *app) benchSeal(_ context.Context, cmd *cli.Command, meta map[string]any, asJSON bool) error {
	r, err := apply.Seal(int(cmd.Int("users")))
	if err != nil {
		return err
	}
	meta["seal"] = r
	if !asJSON {
		fmt.Fprintf(a.out, "seal: %.2f ms per %d-transfer batch (sync writes on)\n", r.MsPerBatch, r.TxsPerBatch)
	}
	return nil
}

func (a *app) benchProve(_ context.Context, cmd *cli.Command, meta map[string]any, asJSON bool) error {
	p, err := benchParams(cmd.String("params"))
	if err != nil {
		return err
	}
	sizes, err := intList(cmd.String("sizes"))
	if err != nil {
		return fmt.Errorf("bench prove: %w", err)
	}
	meta["params"] = p
	meta["icicle_built"] = prover.ICICLEAvailable
	opts := prove.Options{Backend: cmd.String("backend"), GPU: prover.GPUConfig{DeviceID: int(cmd.Int("device")),
		Backend: cmd.String("icicle-backend"), BackendLibs: cmd.String("icicle-libs"), Pin: cmd.Bool("pin")}}
	runs := int(cmd.Int("runs"))
	results, err := prove.Run(p, cmd.String("family"), sizes, runs, opts, func(res prove.Result) {
		if asJSON {
			return
		}
		fmt.Fprintf(a.out, "%s batch of %d on %s: %d constraints, compile %.1fs, setup %.1fs, prove %.2fs (median of %d, verified), %.0f constraints/s, %.2f tx/s, peak RSS %.0f MB\n",
			res.Family, res.Size, res.Backend, res.Constraints, res.CompileS, res.SetupS, res.MedianProveS, runs, res.ConstraintsPS, res.TxPerS, res.PeakRSSMB)
		if res.SpeedUp != nil {
			fmt.Fprintf(a.out, "  speed-up over the CPU prover: %.2fx\n", *res.SpeedUp)
		}
	})
	if err != nil {
		return err
	}
	meta["prove"] = results
	meta["note"] = "full batches of real transactions in the family's batch circuit; peak RSS is the process's, cumulative over sizes"
	return nil
}

func (a *app) benchGas(ctx context.Context, cmd *cli.Command, meta map[string]any, asJSON bool) error {
	caps, err := intList(cmd.String("capacities"))
	if err != nil {
		return fmt.Errorf("bench gas: %w", err)
	}
	rep, err := gas.Run(ctx, caps, cmd.Uint64("seed"), cmd.String("fork"))
	if err != nil {
		return err
	}
	meta["params"] = "production depths 24/16; capacities as listed"
	meta["gas"] = rep
	if !asJSON {
		a.printGas(rep)
	}
	return nil
}

// intList parses "8,32,64".
func intList(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("size %q", f)
		}
		out = append(out, n)
	}
	return out, nil
}

func (a *app) printGas(r *gas.Report) {
	w := a.out
	fmt.Fprintf(w, "verifyProof alone: %d gas\n\n", r.VerifyGas)
	fmt.Fprintf(w, "%-16s %-18s %8s %10s %9s %9s\n", "family", "kind", "capacity", "gas", "gas/tx", "calldata")
	for _, b := range r.Batches {
		fmt.Fprintf(w, "%-16s %-18s %8d %10d %9d %9d\n", b.Family, b.Kind, b.Capacity, b.Gas, b.GasPerTx, b.CalldataBytes)
	}
	fmt.Fprintln(w)
	for _, o := range r.Operations {
		fmt.Fprintf(w, "%-30s %8d  %s\n", o.Name, o.Gas, o.Note)
	}
}
