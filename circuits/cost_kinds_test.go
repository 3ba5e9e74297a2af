package circuits

import (
	"testing"

	"github.com/modex/modex/types"
)

// TestStandaloneProvesTrade: a native trade assigns into the standalone
// circuit (the one the prove benchmark uses) and solves; a wrong digest does
// not.
func TestStandaloneProvesTrade(t *testing.T) {
	b := kindWorld(t)
	st, err := b.Next(types.KindTrade, 0)
	if err != nil {
		t.Fatal(err)
	}
	tx := st.Tx.(*types.Trade)
	r, err := b.Add(tx)
	if err != nil {
		t.Fatal(err)
	}
	g, err := AssignTrade(tx, r.Witness)
	if err != nil {
		t.Fatal(err)
	}
	a := AssignStandalone[Trade](b.P, g, r.Witness, r, b.D, b.TS)
	shape := KindCircuits(b.P)["Trade"]
	if err := solved(t, shape, a); err != nil {
		t.Fatalf("standalone trade: %v", err)
	}
	a.Digest = types.FromUint64(1)
	if err := solved(t, shape, a); err == nil {
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
