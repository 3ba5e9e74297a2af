package main

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/consensys/gnark/frontend"

	"github.com/modex/modex/circuits"
	"github.com/modex/modex/prover"
	"github.com/modex/modex/state/store"
	"github.com/modex/modex/state/workload"
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

// benchCircuit reports the R1CS size of every kind gadget.
func benchCircuit(p types.Params, meta map[string]any, asJSON bool) error {
	costs, err := circuits.KindCosts(p)
	if err != nil {
		return err
	}
	meta["kinds"] = costs
	meta["batch"] = "not built yet: the batch circuit's layout is open (docs/circuit.md)"
	if !asJSON {
		for _, c := range costs {
			fmt.Printf("%-18s %8d constraints\n", c.Kind, c.Constraints)
		}
	}
	return nil
}

// proveOne builds a real transaction of the kind at the parameters and its
// standalone circuit assignment.
func proveOne(p types.Params, kind string) (shape, assignment frontend.Circuit, err error) {
	b, err := workload.NewBench(p, store.Options{InMemory: true}, 8)
	if err != nil {
		return nil, nil, err
	}
	defer b.Close()
	shapes := circuits.KindCircuits(p)
	switch kind {
	case "Trade":
		st, err := b.Next(types.KindTrade, 0)
		if err != nil {
			return nil, nil, err
		}
		tx := st.Tx.(*types.Trade)
		r, err := b.Batch.Add(tx)
		if err != nil {
			return nil, nil, err
		}
		g, err := circuits.AssignTrade(tx, r.Witness)
		if err != nil {
			return nil, nil, err
		}
		return shapes["Trade"], circuits.AssignStandalone[circuits.Trade](p, g, r.Witness, r, b.D, b.TS), nil
	case "Transfer":
		st, err := b.Next(types.KindTransfer, 0)
		if err != nil {
			return nil, nil, err
		}
		tx := st.Tx.(*types.Transfer)
		r, err := b.Batch.Add(tx)
		if err != nil {
			return nil, nil, err
		}
		g, err := circuits.AssignTransferBase(tx, r.Witness)
		if err != nil {
			return nil, nil, err
		}
		return shapes["Transfer(base)"], circuits.AssignStandalone[circuits.TransferBase](p, g, r.Witness, r, b.D, b.TS), nil
	}
	return nil, nil, fmt.Errorf("bench prove: kind %q: want Trade or Transfer", kind)
}

type proveResult struct {
	Kind          string    `json:"kind"`
	Constraints   int       `json:"constraints"`
	CompileS      float64   `json:"compile_s"`
	SetupS        float64   `json:"setup_s"`
	ProveS        []float64 `json:"prove_s"`
	MedianProveS  float64   `json:"median_prove_s"`
	ConstraintsPS float64   `json:"constraints_per_s"`
	PeakRSSMB     float64   `json:"peak_rss_mb"`
}

// benchProve compiles, runs the (insecure) development setup, and proves a
// real transaction's circuit `runs` times with the CPU prover.
func benchProve(p types.Params, kind string, runs int, meta map[string]any, asJSON bool) error {
	shape, assignment, err := proveOne(p, kind)
	if err != nil {
		return err
	}
	t0 := time.Now()
	ccs, err := prover.Compile(shape, "bench/"+kind, "")
	if err != nil {
		return err
	}
	res := proveResult{Kind: kind, Constraints: ccs.GetNbConstraints(), CompileS: time.Since(t0).Seconds()}
	t0 = time.Now()
	keys, err := prover.DevSetup(ccs)
	if err != nil {
		return err
	}
	res.SetupS = time.Since(t0).Seconds()
	pr := prover.NewCPU(keys)
	for i := 0; i < runs; i++ {
		t0 = time.Now()
		if _, err := pr.Prove(context.Background(), assignment); err != nil {
			return err
		}
		res.ProveS = append(res.ProveS, time.Since(t0).Seconds())
	}
	sorted := append([]float64(nil), res.ProveS...)
	sort.Float64s(sorted)
	res.MedianProveS = sorted[len(sorted)/2]
	res.ConstraintsPS = float64(res.Constraints) / res.MedianProveS
	res.PeakRSSMB = workload.PeakRSSMB()
	meta["prove"] = res
	meta["note"] = "one transaction's standalone circuit (proof verified natively each run); the batch circuit is not built yet"
	if !asJSON {
		fmt.Printf("%s: %d constraints, compile %.2fs, setup %.2fs, prove %.2fs (median of %d, verified), %.0f constraints/s, peak RSS %.0f MB\n",
			kind, res.Constraints, res.CompileS, res.SetupS, res.MedianProveS, runs, res.ConstraintsPS, res.PeakRSSMB)
	}
	return nil
}
