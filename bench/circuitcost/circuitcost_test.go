package circuitcost

import (
	"testing"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark/test"

	"github.com/modex/modex/bench/workload"
	"github.com/modex/modex/circuits"
	"github.com/modex/modex/state/store"
	"github.com/modex/modex/types"
)

// TestStandaloneProvesTrade: a native trade assigns into the standalone
// circuit (the one the prove benchmark uses) and solves; a wrong digest does
// not.
func TestStandaloneProvesTrade(t *testing.T) {
	p := types.TestParams()
	p.BatchCapacity = 256
	b, err := workload.NewBench(p, store.Options{InMemory: true}, 6)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	st, err := b.Next(types.KindTrade, 0)
	if err != nil {
		t.Fatal(err)
	}
	tx := st.Tx.(*types.Trade)
	r, err := b.Add(tx)
	if err != nil {
		t.Fatal(err)
	}
	g, err := circuits.AssignTrade(tx, r.Witness)
	if err != nil {
		t.Fatal(err)
	}
	a := AssignStandalone[circuits.Trade](b.P, g, r.Witness, r, b.D, b.TS)
	shape := KindCircuits(b.P)["Trade"]
	if err := test.IsSolved(shape, a, ecc.BN254.ScalarField()); err != nil {
		t.Fatalf("standalone trade: %v", err)
	}
	a.Digest = types.FromUint64(1)
	if err := test.IsSolved(shape, a, ecc.BN254.ScalarField()); err == nil {
		t.Fatal("wrong digest accepted")
	}
}

// TestKindCostsCompile: every kind gadget compiles standalone at test depths.
func TestKindCostsCompile(t *testing.T) {
	costs, err := KindCosts(types.TestParams())
	if err != nil {
		t.Fatal(err)
	}
	if len(costs) != 13 {
		t.Fatalf("%d kinds", len(costs))
	}
}
