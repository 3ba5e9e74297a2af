package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"github.com/consensys/gnark/logger"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/modex/modex/bench/gas"
	"github.com/modex/modex/bench/workload"
	"github.com/modex/modex/prover"
)

type applyResult struct {
	Kind    string  `json:"kind"`
	N       int     `json:"n"`
	NsPerTx float64 `json:"ns_per_tx"`
	TxPerS  float64 `json:"tx_per_s"`
}

func runBench(args []string) error {
	if len(args) < 1 {
		return fmt.Errorf("bench: want a target (apply, seal, circuit, prove, gas, sequencer)")
	}
	switch args[0] {
	case "sequencer": // flags of its own: bench_sequencer.go
		return runBenchSequencer(args[1:])
	}
	fs := flag.NewFlagSet("bench "+args[0], flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print JSON")
	users := fs.Int("users", 32, "accounts in the benchmark world")
	params := fs.String("params", "prod", "tree depths for circuit/prove: prod (2^24 accounts) or test")
	family := fs.String("family", "Trade", "prove: the batch family (Trade, Transfer, Priority, Withdraw, …)")
	sizesFlag := fs.String("sizes", "1,2,4", "prove: batch sizes (capacities), comma-separated")
	runs := fs.Int("runs", 3, "prove: proofs to time")
	backend := fs.String("backend", "cpu", "prove: cpu, icicle (needs a -tags icicle build: make gpu) or both (CPU then ICICLE, same batch and keys)")
	device := fs.Int("device", 0, "prove: ICICLE device id")
	icicleBackend := fs.String("icicle-backend", "CUDA", "prove: ICICLE backend, CUDA (an NVIDIA GPU) or CPU (ICICLE's CPU backend)")
	icicleLibs := fs.String("icicle-libs", "", "prove: ICICLE backend library directory (default: $ICICLE_BACKEND_INSTALL_DIR)")
	pin := fs.Bool("pin", true, "prove: keep the proving key in device memory between proofs")
	capsFlag := fs.String("capacities", "8,32,64", "gas: batch capacities, comma-separated")
	seed := fs.Uint64("seed", 1, "gas: seed of the random operation fields")
	fork := fs.String("fork", "osaka", "gas: EVM rules, osaka (mainnet today) or dev (go-ethereum's dev chain, with the next fork)")
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
			if sizes, err = intList(*sizesFlag); err != nil {
				return fmt.Errorf("bench prove: %w", err)
			}
			po := proveOpts{backend: *backend, gpu: prover.GPUConfig{DeviceID: *device, Backend: *icicleBackend, BackendLibs: *icicleLibs, Pin: *pin}}
			meta["icicle_built"] = prover.ICICLEAvailable
			err = benchProve(cp, *family, sizes, *runs, po, meta, *asJSON)
		}
		if err != nil {
			return err
		}
	case "gas":
		caps, err := intList(*capsFlag)
		if err != nil {
			return fmt.Errorf("bench gas: %w", err)
		}
		rep, err := gas.Run(context.Background(), caps, *seed, *fork)
		if err != nil {
			return err
		}
		meta["params"] = "production depths 24/16; capacities as listed"
		meta["gas"] = rep
		if !*asJSON {
			printGas(rep)
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

func printGas(r *gas.Report) {
	fmt.Printf("verifyProof alone: %d gas\n\n", r.VerifyGas)
	fmt.Printf("%-16s %-18s %8s %10s %9s %9s\n", "family", "kind", "capacity", "gas", "gas/tx", "calldata")
	for _, b := range r.Batches {
		fmt.Printf("%-16s %-18s %8d %10d %9d %9d\n", b.Family, b.Kind, b.Capacity, b.Gas, b.GasPerTx, b.CalldataBytes)
	}
	fmt.Println()
	for _, o := range r.Operations {
		fmt.Printf("%-30s %8d  %s\n", o.Name, o.Gas, o.Note)
	}
}
