package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"

	"github.com/urfave/cli/v3"

	"github.com/modex/modex/bench/seqbench"
	"github.com/modex/modex/types"
)

// benchSequencerCommand: modex bench sequencer — sustained soft-confirmed
// tps of a real sequencer (in-process Submit/Place, journal and state on
// disk) against the machine's EdDSA verification rate (bench/seqbench).
func (a *app) benchSequencerCommand() *cli.Command {
	s := a.newSettings(false)
	flags := []cli.Flag{
		jsonFlag(s),
		&cli.DurationFlag{Name: "duration", Value: seqbenchDefault.Duration, Usage: "the timed window", Sources: s.Sources("duration")},
		&cli.IntFlag{Name: "users", Value: 256, Usage: "accounts (0: fee account, 1: the model's DAO, the rest trade)", Sources: s.Sources("users")},
		&cli.IntFlag{Name: "clients", Value: 16, Usage: "concurrent client goroutines", Sources: s.Sources("clients")},
		&cli.StringFlag{Name: "mix", Value: "transfers=70,orders=30", Usage: "operation mix (weights)", Sources: s.Sources("mix")},
		&cli.BoolFlag{Name: "sync", Value: true, Usage: "synced writes (journal and state store; on by default, --sync=false turns them off)", Sources: s.Sources("sync")},
		&cli.DurationFlag{Name: "verify-for", Value: seqbenchDefault.VerifyFor, Usage: "how long the EdDSA verification bound is measured", Sources: s.Sources("verify-for")},
		&cli.IntFlag{Name: "model-depth", Value: seqbench.DefaultModelDepth, Usage: "model tree depth (the default is production's)", Sources: s.Sources("model-depth")},
		&cli.IntFlag{Name: "capacity", Value: types.DefaultParams().BatchCapacity, Usage: "batch capacity", Sources: s.Sources("capacity")},
		&cli.StringFlag{Name: "cpuprofile", Usage: "write a CPU profile of the timed window to this file", Sources: s.Sources("cpuprofile"), TakesFile: true},
		&cli.BoolFlag{Name: "pause-tree", Usage: "pause the tree stage (Merkle hashing) during the window: the sequencer alone; the stage's rate is measured catching up after", Sources: s.Sources("pause-tree")},
	}
	c := a.command(s, "sequencer", "sustained soft-confirmed tps of a real sequencer against the machine's EdDSA verification bound", flags, a.benchSequencer)
	c.UsageText = "modex bench sequencer [--json] [--duration 10s] [--users 256] [--clients 16] [--mix transfers=70,orders=30] [--sync=true] [--model-depth 15] [--capacity 64] [--pause-tree] [--cpuprofile FILE]"
	return c
}

func (a *app) benchSequencer(ctx context.Context, cmd *cli.Command) error {
	if err := noArgs(cmd); err != nil {
		return err
	}
	asJSON := cmd.Bool("json")
	tr, or, err := seqbench.ParseMix(cmd.String("mix"))
	if err != nil {
		return err
	}
	p := seqbench.DefaultParams()
	p.ModelDepth, p.BatchCapacity = int(cmd.Int("model-depth")), int(cmd.Int("capacity"))
	cfg := seqbench.Config{Duration: cmd.Duration("duration"), Users: int(cmd.Int("users")), Clients: int(cmd.Int("clients")),
		Transfers: tr, Orders: or, NoSync: !cmd.Bool("sync"), VerifyFor: cmd.Duration("verify-for"), Params: p, PauseTree: cmd.Bool("pause-tree")}
	if path := cmd.String("cpuprofile"); path != "" {
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		defer f.Close()
		cfg.CPUProfile = f
	}
	if !asJSON {
		cfg.Progress = func(format string, args ...any) { fmt.Fprintf(a.errOut, "· "+format+"\n", args...) }
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt)
	defer stop()
	r, err := seqbench.Run(ctx, cfg)
	if err != nil {
		return err
	}
	if asJSON {
		return a.printJSON(r)
	}
	printSequencerBench(a.out, r)
	return nil
}

var seqbenchDefault = seqbench.Config{Duration: 10e9, VerifyFor: 2e9}

func printSequencerBench(w io.Writer, r *seqbench.Result) {
	fmt.Fprintf(w, "sequencer benchmark — %s\n", r.Path)
	fmt.Fprintf(w, "params: accounts 2^%d, balances 2^%d, models 2^%d, batch capacity %d, batch timeout %.1fs; synced writes %v; %d users, %d clients, mix %s\n\n",
		r.Params.AccountDepth, r.Params.BalanceDepth, r.Params.ModelDepth, r.Params.BatchCapacity, r.BatchTimeoutS, r.Sync, r.Users, r.Clients, r.Mix)
	row := func(k, v string) { fmt.Fprintf(w, "  %-34s %s\n", k, v) }
	row("window", fmt.Sprintf("%.2f s (load avg %.2f → %.2f)", r.DurationS, r.Load[0], r.Load[1]))
	row("accepted (soft-confirmed)", fmt.Sprintf("%d: %d transfers, %d orders (%d trades)", r.Accepted, r.Transfers, r.Orders, r.Trades))
	row("tps", fmt.Sprintf("%.0f", r.TPS))
	for _, k := range []string{"all", "transfer", "order"} {
		l := r.Latency[k]
		row("latency "+k+" (ms)", fmt.Sprintf("p50 %.2f  p90 %.2f  p99 %.2f  max %.2f  (n %d)", l.P50, l.P90, l.P99, l.Max, l.N))
	}
	var reasons []string
	for k := range r.Rejected {
		reasons = append(reasons, k)
	}
	sort.Strings(reasons)
	rej := "none"
	if len(reasons) > 0 {
		rej = ""
		for _, k := range reasons {
			rej += fmt.Sprintf("%s %d  ", k, r.Rejected[k])
		}
	}
	row("rejected (retried if pool full)", rej)
	row("batches sealed in the window", fmt.Sprintf("%d, txs by family %v; included %.0f tx/s; transfer backlog %d", r.BatchesSealed, r.SealedTxs, r.IncludedTPS, r.TransferBacklog))
	row("tree stage", fmt.Sprintf("%s in the window: committed %.0f tx/s; %d batches behind at its end, caught up in %.1f s (%.0f tx/s)",
		r.TreeStage, r.CommittedTPS, r.TreeBacklog, r.TreeCatchupS, r.TreeTPS))
	row("EdDSA verify bound", fmt.Sprintf("%.0f /s on %d cores (before %.0f, after %.0f)", r.EdDSAVerifyPerS, r.EdDSAVerifyCores,
		r.EdDSABeforeAfter[0], r.EdDSABeforeAfter[1]))
	row("tps / bound", fmt.Sprintf("%.1f%% (target ≥ %.0f%% with p99 < %.0f ms): met %v", 100*r.RatioOfBound, 100*seqbench.Target.Ratio, seqbench.Target.P99Ms, r.Met))
	if r.Transfers > 0 && r.TransferBacklog > r.Transfers/2 {
		row("note", fmt.Sprintf("acceptance outpaces inclusion: %d of %d accepted transfers are not in a sealed batch (tps is not sustainable)", r.TransferBacklog, r.Transfers))
	}
	if r.Exhausted {
		row("note", "a client ran out of pre-signed operations: tps is a lower bound")
	}
}
