package main

// modex bench circuit, and the parameter names of the bench, ceremony,
// setup and exit commands.

import (
	"context"
	"fmt"

	"github.com/urfave/cli/v3"

	"github.com/modex/modex/bench/circuitcost"
	"github.com/modex/modex/bench/workload"
	"github.com/modex/modex/types"
)

// benchParams are the named parameters: prod (production depths, batch
// capacity 256) or test.
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
func (a *app) benchCircuit(_ context.Context, cmd *cli.Command, meta map[string]any, asJSON bool) error {
	p, err := benchParams(cmd.String("params"))
	if err != nil {
		return err
	}
	meta["params"] = p
	costs, err := circuitcost.KindCosts(p)
	if err != nil {
		return err
	}
	meta["kinds"] = costs
	if !asJSON {
		for _, c := range costs {
			fmt.Fprintf(a.out, "%-18s %8d constraints (standalone gadget)\n", c.Kind, c.Constraints)
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
			fmt.Fprintf(a.out, "batch %-14s %8d per slot + %6d fixed = %9d at capacity %d (%s)\n", b.Family, b.PerSlot, b.Fixed,
				b.AtCapacity, b.Capacity, b.Members)
		}
	}
	return nil
}
