package devnet

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"

	"github.com/modex/modex/types"
)

// TestStopDuringSetup: a devnet answers before its families' keys exist
// (a cold key cache: the node awaits the family's prover), and Stop during
// the setup stops it: the background setup ends (WaitReady reports the
// cancel) instead of going on to deploy and prove.
func TestStopDuringSetup(t *testing.T) {
	ctx := context.Background()
	dn, err := Start(ctx, Config{
		DataDir: t.TempDir(), KeyDir: t.TempDir(), L1Addr: "", RPCAddr: "127.0.0.1:0",
		Params: types.TestParams(), Families: []types.Family{types.FamilyPriority},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Progress: func(m string) { t.Log(m) },
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := dn.Node.Pipeline().Awaiting(); len(got) != 1 || got[0] != types.FamilyPriority {
		t.Errorf("awaiting %v at start, want [Priority]", got)
	}
	if v := dn.Rollup.Verifiers[types.FamilyPriority]; v != dn.Record().Families[0].Verifier.Address {
		t.Errorf("planned verifier %s, record %s", v, dn.Record().Families[0].Verifier.Address)
	}
	if err := dn.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if err := dn.WaitReady(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("WaitReady after Stop: %v, want context.Canceled", err)
	}
	if dn.Record().Complete || len(dn.Keys()) != 0 {
		t.Fatalf("the setup went on after Stop: record complete %v, keys %d", dn.Record().Complete, len(dn.Keys()))
	}
}
