package prove

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/modex/modex/bench/workload"
	"github.com/modex/modex/circuits"
	"github.com/modex/modex/prover"
	"github.com/modex/modex/state"
	"github.com/modex/modex/state/store"
	"github.com/modex/modex/types"
)

// sealedBatch builds a real batch of n transactions of a family at the
// parameters (capacity n): a benchmark world, the transactions' preparation
// in batches of their own, then the n transactions in one sealed batch.
func SealedBatch(p types.Params, family string, n int) (*state.SealedBatch, types.Domain, error) {
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

type Result struct {
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

// Options selects the provers.
type Options struct {
	Backend string // cpu, icicle, or both (CPU then ICICLE on the same batch and keys)
	GPU     prover.GPUConfig
}

// Run, for each batch size: builds a real full batch of the family,
// compiles its batch circuit, runs the (insecure) development setup, and
// proves it runs times with each chosen prover (each proof verified
// natively). Each result is passed to report (if set) as it is made.
func Run(p types.Params, family string, sizes []int, runs int, po Options, report func(Result)) ([]Result, error) {
	if runs < 1 {
		return nil, fmt.Errorf("bench prove: runs %d: want at least 1", runs)
	}
	var backends []string
	switch po.Backend {
	case "cpu", "icicle":
		backends = []string{po.Backend}
	case "both":
		backends = []string{"cpu", "icicle"}
	default:
		return nil, fmt.Errorf("bench prove: --backend %q (cpu, icicle or both)", po.Backend)
	}
	var results []Result
	for _, n := range sizes {
		sb, d, err := SealedBatch(p, family, n)
		if err != nil {
			return nil, err
		}
		q := p
		q.BatchCapacity = n
		t0 := time.Now()
		assignment, err := circuits.AssignBatch(q, d, sb)
		if err != nil {
			return nil, err
		}
		base := Result{Family: family, Size: n, WitnessS: time.Since(t0).Seconds()}
		shape, err := circuits.NewBatch(sb.Header.Family, q)
		if err != nil {
			return nil, err
		}
		t0 = time.Now()
		ccs, err := prover.Compile(shape, circuits.BatchKey(sb.Header.Family, q), "")
		if err != nil {
			return nil, err
		}
		base.Constraints, base.CompileS = ccs.GetNbConstraints(), time.Since(t0).Seconds()
		t0 = time.Now()
		keys, err := prover.DevSetup(ccs)
		if err != nil {
			return nil, err
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
				if pr, err = prover.NewGPU(keys, po.GPU); err != nil {
					return nil, err
				}
				if _, err := pr.Prove(context.Background(), assignment); err != nil { // warm-up: device init, key upload
					return nil, err
				}
				mem = startGPUMemSampler(po.GPU.DeviceID)
			}
			for i := 0; i < runs; i++ {
				t0 = time.Now()
				if _, err := pr.Prove(context.Background(), assignment); err != nil {
					return nil, err
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
			if report != nil {
				report(res)
			}
		}
	}
	return results, nil
}
