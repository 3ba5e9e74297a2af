package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"sort"

	"github.com/modex/modex/bench/seqbench"
	"github.com/modex/modex/types"
)

const benchSequencerUsage = `modex bench sequencer [--json] [--duration 10s] [--users 256] [--clients 16] [--mix transfers=70,orders=30] [--sync=true] [--model-depth 15] [--capacity 64] [--pause-tree] [--cpuprofile FILE]`

// runBenchSequencer: sustained soft-confirmed tps of a real sequencer
// (in-process Submit/Place, journal and state on disk) against the machine's
// EdDSA verification rate (bench/seqbench).
func runBenchSequencer(args []string) error {
	fs := flag.NewFlagSet("bench sequencer", flag.ContinueOnError)
	fs.Usage = func() { fmt.Fprintln(fs.Output(), "usage: "+benchSequencerUsage); fs.PrintDefaults() }
	asJSON := fs.Bool("json", false, "print JSON")
	duration := fs.Duration("duration", seqbenchDefault.Duration, "the timed window")
	users := fs.Int("users", 256, "accounts (0: fee account, 1: the model's DAO, the rest trade)")
	clients := fs.Int("clients", 16, "concurrent client goroutines")
	mix := fs.String("mix", "transfers=70,orders=30", "operation mix (weights)")
	sync := fs.Bool("sync", true, "synced writes (journal and state store)")
	verifyFor := fs.Duration("verify-for", seqbenchDefault.VerifyFor, "how long the EdDSA verification bound is measured")
	modelDepth := fs.Int("model-depth", seqbench.DefaultModelDepth, "model tree depth (default: production's)")
	capacity := fs.Int("capacity", types.DefaultParams().BatchCapacity, "batch capacity")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the timed window to this file")
	pauseTree := fs.Bool("pause-tree", false, "pause the tree stage (Merkle hashing) during the window: the sequencer alone; the stage's rate is measured catching up after")
	if err := fs.Parse(args); err != nil {
		return err
	}
	tr, or, err := seqbench.ParseMix(*mix)
	if err != nil {
		return err
	}
	p := seqbench.DefaultParams()
	p.ModelDepth, p.BatchCapacity = *modelDepth, *capacity
	cfg := seqbench.Config{Duration: *duration, Users: *users, Clients: *clients, Transfers: tr, Orders: or,
		NoSync: !*sync, VerifyFor: *verifyFor, Params: p, PauseTree: *pauseTree}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		cfg.CPUProfile = f
	}
	if !*asJSON {
		cfg.Progress = func(format string, a ...any) { fmt.Fprintf(os.Stderr, "· "+format+"\n", a...) }
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	r, err := seqbench.Run(ctx, cfg)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	printSequencerBench(r)
	return nil
}

var seqbenchDefault = seqbench.Config{Duration: 10e9, VerifyFor: 2e9}

func printSequencerBench(r *seqbench.Result) {
	fmt.Printf("sequencer benchmark — %s\n", r.Path)
	fmt.Printf("params: accounts 2^%d, balances 2^%d, models 2^%d, batch capacity %d, batch timeout %.1fs; synced writes %v; %d users, %d clients, mix %s\n\n",
		r.Params.AccountDepth, r.Params.BalanceDepth, r.Params.ModelDepth, r.Params.BatchCapacity, r.BatchTimeoutS, r.Sync, r.Users, r.Clients, r.Mix)
	row := func(k, v string) { fmt.Printf("  %-34s %s\n", k, v) }
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
