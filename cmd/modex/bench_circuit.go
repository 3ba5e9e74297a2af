package main

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/modex/modex/bench/circuitcost"
	"github.com/modex/modex/bench/workload"
	"github.com/modex/modex/circuits"
	"github.com/modex/modex/prover"
	"github.com/modex/modex/state"
	"github.com/modex/modex/state/store"
	"github.com/modex/modex/types"
)

func benchParams(name string) (types.Params, error) {
	switch name {
	case "prod":
		return workload.BenchParams(), nil
	case "test":
		p := types.TestParams()
		p.BatchCapacity = 256
		return p, nil
	}
	return types.Params{}, fmt.Errorf("params %q: want prod or test", name)
}

// benchCircuit reports the R1CS size of every kind gadget and of every
// family's batch circuit (per slot, fixed, and at the production capacity).
func benchCircuit(p types.Params, meta map[string]any, asJSON bool) error {
	costs, err := circuitcost.KindCosts(p)
	if err != nil {
		return err
	}
	meta["kinds"] = costs
	if !asJSON {
		for _, c := range costs {
			fmt.Printf("%-18s %8d constraints (standalone gadget)\n", c.Kind, c.Constraints)
		}
	}
	bp := p
	bp.BatchCapacity = types.DefaultParams().BatchCapacity
	batches, err := circuitcost.BatchCosts(bp)
	if err != nil {
		return err
	}
	meta["batches"] = batches
	if !asJSON {
		for _, b := range batches {
			fmt.Printf("batch %-14s %8d per slot + %6d fixed = %9d at capacity %d (%s)\n", b.Family, b.PerSlot, b.Fixed,
				b.AtCapacity, b.Capacity, b.Members)
		}
	}
	return nil
}

// sealedBatch builds a real batch of n transactions of a family at the
// parameters (capacity n): a benchmark world, the transactions' preparation
// in batches of their own, then the n transactions in one sealed batch.
func sealedBatch(p types.Params, family string, n int) (*state.SealedBatch, types.Domain, error) {
	f, err := types.ParseFamily(family)
	if err != nil {
		return nil, types.Domain{}, err
	}
	var k types.Kind
	switch f {
	case types.FamilyAssetTransfer:
		return nil, types.Domain{}, fmt.Errorf("bench prove: family %v has no generator", f)
	default:
		k = f.Kinds()[0]
	}
	p.BatchCapacity = n
	b, err := workload.NewBench(p, store.Options{InMemory: true, NoSync: true}, 8)
	if err != nil {
		return nil, types.Domain{}, err
	}
	defer b.Close()
	var txs []types.Tx
	for i := 0; i < n; i++ {
		st, err := b.Next(k, i)
		if err != nil {
			return nil, types.Domain{}, err
		}
		for _, tx := range st.Prep {
			if _, err := b.Add(tx); err != nil {
				return nil, types.Domain{}, fmt.Errorf("prepare %s: %w", tx.Kind(), err)
			}
			if _, ok := tx.(*types.Deposit); ok {
				b.Prio++
			}
		}
		txs = append(txs, st.Tx)
	}
	if b.Batch.Len() > 0 {
		if _, err := b.Seal(); err != nil {
			return nil, types.Domain{}, err
		}
	}
	for _, tx := range txs {
		if _, err := b.Batch.Add(tx); err != nil {
			return nil, types.Domain{}, fmt.Errorf("%s: %w", tx.Kind(), err)
		}
		switch tx.(type) {
		case *types.Deposit, *types.ForcedWithdraw:
			b.Prio++
		}
	}
	sb, err := b.Seal()
	return sb, b.D, err
}

type proveResult struct {
	Family        string    `json:"family"`
	Backend       string    `json:"backend"`
	Size          int       `json:"batch_size"`
	Constraints   int       `json:"constraints"`
	CompileS      float64   `json:"compile_s"`
	SetupS        float64   `json:"setup_s"`
	WitnessS      float64   `json:"witness_s"`
	ProveS        []float64 `json:"prove_s"`
	MedianProveS  float64   `json:"median_prove_s"`
	ConstraintsPS float64   `json:"constraints_per_s"`
	TxPerS        float64   `json:"tx_per_s"`
	PeakRSSMB     float64   `json:"peak_rss_mb"`
	// GPU runs: the device's peak memory in use while proving (nvidia-smi),
	// the CPU fallbacks, and the speed-up over the CPU prover of the same run.
	GPUPeakMemMB *float64 `json:"gpu_peak_mem_mb,omitempty"`
	Fallbacks    *int64   `json:"cpu_fallbacks,omitempty"`
	SpeedUp      *float64 `json:"speedup_vs_cpu,omitempty"`
}

// proveOpts selects the provers of `bench prove`.
type proveOpts struct {
	backend string // cpu, icicle, or both (CPU then ICICLE on the same batch and keys)
	gpu     prover.GPUConfig
}

// benchProve, for each batch size: builds a real full batch of the family,
// compiles its batch circuit, runs the (insecure) development setup, and
// proves it `runs` times with each chosen prover (each proof verified natively).
func benchProve(p types.Params, family string, sizes []int, runs int, po proveOpts, meta map[string]any, asJSON bool) error {
	var backends []string
	switch po.backend {
	case "cpu", "icicle":
		backends = []string{po.backend}
	case "both":
		backends = []string{"cpu", "icicle"}
	default:
		return fmt.Errorf("bench prove: --backend %q (cpu, icicle or both)", po.backend)
	}
	var results []proveResult
	for _, n := range sizes {
		sb, d, err := sealedBatch(p, family, n)
		if err != nil {
			return err
		}
		q := p
		q.BatchCapacity = n
		t0 := time.Now()
		assignment, err := circuits.AssignBatch(q, d, sb)
		if err != nil {
			return err
		}
		base := proveResult{Family: family, Size: n, WitnessS: time.Since(t0).Seconds()}
		shape, err := circuits.NewBatch(sb.Header.Family, q)
		if err != nil {
			return err
		}
		t0 = time.Now()
		ccs, err := prover.Compile(shape, circuits.BatchKey(sb.Header.Family, q), "")
		if err != nil {
			return err
		}
		base.Constraints, base.CompileS = ccs.GetNbConstraints(), time.Since(t0).Seconds()
		t0 = time.Now()
		keys, err := prover.DevSetup(ccs)
		if err != nil {
			return err
		}
		base.SetupS = time.Since(t0).Seconds()
		var cpuMedian float64
		for _, be := range backends {
			res := base
			res.Backend = be
			var pr prover.Prover
			var mem *gpuMemSampler
			if be == "cpu" {
				pr = prover.NewCPU(keys)
			} else {
				if pr, err = prover.NewGPU(keys, po.gpu); err != nil {
					return err
				}
				if _, err := pr.Prove(context.Background(), assignment); err != nil { // warm-up: device init, key upload
					return err
				}
				mem = startGPUMemSampler(po.gpu.DeviceID)
			}
			for i := 0; i < runs; i++ {
				t0 = time.Now()
				if _, err := pr.Prove(context.Background(), assignment); err != nil {
					return err
				}
				res.ProveS = append(res.ProveS, time.Since(t0).Seconds())
			}
			if mem != nil {
				res.GPUPeakMemMB = mem.stop()
			}
			if st, ok := pr.(interface{ Stats() prover.GPUStats }); ok {
				f := st.Stats().Fallbacks
				res.Fallbacks = &f
			}
			sorted := append([]float64(nil), res.ProveS...)
			sort.Float64s(sorted)
			res.MedianProveS = sorted[len(sorted)/2]
			res.ConstraintsPS = float64(res.Constraints) / res.MedianProveS
			res.TxPerS = float64(n) / res.MedianProveS
			res.PeakRSSMB = workload.PeakRSSMB()
			if be == "cpu" {
				cpuMedian = res.MedianProveS
			} else if cpuMedian > 0 {
				su := cpuMedian / res.MedianProveS
				res.SpeedUp = &su
			}
			results = append(results, res)
			if !asJSON {
				fmt.Printf("%s batch of %d on %s: %d constraints, compile %.1fs, setup %.1fs, prove %.2fs (median of %d, verified), %.0f constraints/s, %.2f tx/s, peak RSS %.0f MB\n",
					family, n, be, res.Constraints, res.CompileS, res.SetupS, res.MedianProveS, runs, res.ConstraintsPS, res.TxPerS, res.PeakRSSMB)
				if res.SpeedUp != nil {
					fmt.Printf("  speed-up over the CPU prover: %.2fx\n", *res.SpeedUp)
				}
			}
		}
	}
	meta["prove"] = results
	meta["note"] = "full batches of real transactions in the family's batch circuit; peak RSS is the process's, cumulative over sizes"
	return nil
}
