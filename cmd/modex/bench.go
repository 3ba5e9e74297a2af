package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"github.com/consensys/gnark/logger"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/modex/modex/state/workload"
)

type applyResult struct {
	Kind    string  `json:"kind"`
	N       int     `json:"n"`
	NsPerTx float64 `json:"ns_per_tx"`
	TxPerS  float64 `json:"tx_per_s"`
}

func runBench(args []string) error {
	if len(args) < 1 {
		return fmt.Errorf("bench: want a target (apply, seal, circuit, prove)")
	}
	fs := flag.NewFlagSet("bench "+args[0], flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print JSON")
	users := fs.Int("users", 32, "accounts in the benchmark world")
	params := fs.String("params", "prod", "tree depths for circuit/prove: prod (2^24 accounts) or test")
	family := fs.String("family", "Trade", "prove: the batch family (Trade, Transfer, Priority, Withdraw, …)")
	sizesFlag := fs.String("sizes", "1,2,4", "prove: batch sizes (capacities), comma-separated")
	runs := fs.Int("runs", 3, "prove: proofs to time")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *asJSON {
		logger.Disable() // gnark logs to stdout; keep it for the JSON
	}
	p := workload.BenchParams()
	meta := map[string]any{"params": p, "cpus": runtime.NumCPU(), "go": runtime.Version()}
	switch args[0] {
	case "apply":
		var out []applyResult
		for _, k := range workload.BenchKinds() {
			r := testing.Benchmark(workload.ApplyBench(k, *users))
			if r.N == 0 {
				return fmt.Errorf("bench apply %s: %v", k, workload.LastError())
			}
			ns := float64(r.T.Nanoseconds()) / float64(r.N)
			out = append(out, applyResult{Kind: k.String(), N: r.N, NsPerTx: ns, TxPerS: 1e9 / ns})
			if !*asJSON {
				fmt.Printf("%-16s %10.0f ns/tx %9.0f tx/s\n", k, ns, 1e9/ns)
			}
		}
		meta["apply"] = out
	case "seal":
		dir, err := os.MkdirTemp("", "modex-bench-seal")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		r := testing.Benchmark(workload.SealBench(dir, *users))
		if r.N == 0 {
			return fmt.Errorf("bench seal: %v", workload.LastError())
		}
		ms := float64(r.T.Nanoseconds()) / float64(r.N) / 1e6
		meta["seal"] = map[string]any{"n": r.N, "ms_per_batch": ms, "txs_per_batch": p.BatchCapacity}
		if !*asJSON {
			fmt.Printf("seal: %.2f ms per %d-transfer batch (sync writes on)\n", ms, p.BatchCapacity)
		}
	case "circuit", "prove":
		cp, err := benchParams(*params)
		if err != nil {
			return err
		}
		meta["params"] = cp
		if args[0] == "circuit" {
			err = benchCircuit(cp, meta, *asJSON)
		} else {
			var sizes []int
			for _, f := range strings.Split(*sizesFlag, ",") {
				n, err := strconv.Atoi(strings.TrimSpace(f))
				if err != nil || n < 1 {
					return fmt.Errorf("bench prove: size %q", f)
				}
				sizes = append(sizes, n)
			}
			err = benchProve(cp, *family, sizes, *runs, meta, *asJSON)
		}
		if err != nil {
			return err
		}
	default:
		return fmt.Errorf("bench: unknown target %q", args[0])
	}
	if *asJSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(meta)
	}
	return nil
}
