package seqbench

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/modex/modex/rpc"
)

// TestRunShort runs the whole harness for about a second with few users:
// it accepts transactions and orders, refuses none except "pool full"
// (which the clients retry), and its JSON has every field of Fields.
func TestRunShort(t *testing.T) {
	r, err := Run(context.Background(), Config{
		Duration: time.Second, Users: 12, Clients: 2, VerifyFor: 200 * time.Millisecond,
		MaxOps: 6000, Dir: t.TempDir(),
	})
	if err != nil {
		t.Fatal(err)
	}
	if r.Accepted == 0 || r.Transfers == 0 || r.Orders == 0 {
		t.Fatalf("accepted %d (transfers %d, orders %d)", r.Accepted, r.Transfers, r.Orders)
	}
	for reason, n := range r.Rejected {
		if !retryable(reason) {
			t.Errorf("%d rejected: %s", n, reason)
		}
	}
	if r.EdDSAVerifyPerS <= 0 || r.EdDSAVerifyCores < 1 || r.TPS <= 0 || r.P99Ms <= 0 || r.P50Ms > r.P99Ms {
		t.Errorf("figures: %+v", r)
	}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, f := range Fields {
		if _, ok := m[f]; !ok {
			t.Errorf("JSON lacks %q", f)
		}
	}
	t.Logf("%s", b)
}

func TestParseMix(t *testing.T) {
	tr, or, err := ParseMix("transfers=70,orders=30")
	if err != nil || tr != 70 || or != 30 {
		t.Fatalf("%d %d %v", tr, or, err)
	}
	for _, bad := range []string{"", "transfers=0,orders=0", "swaps=1", "transfers=-1", "transfers"} {
		if _, _, err := ParseMix(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// BenchmarkSequencerSubmit: b.N pre-signed ETH transfers through
// Sequencer.Submit from 8 goroutines, synced journal on disk. A full pool
// (64 pending per account) is waited out and retried, so at large b.N the
// figure tends to the rate at which the loop applies and seals.
func BenchmarkSequencerSubmit(b *testing.B) {
	const clients = 8
	h, err := Open(Config{Users: 256, Clients: clients, Dir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer h.Close()
	plans, err := h.Plan(clients, (b.N+clients-1)/clients, 1, 0)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	var wg sync.WaitGroup
	b.ResetTimer()
	for c := range plans {
		wg.Add(1)
		go func(ops []Op) {
			defer wg.Done()
			for k := 0; k < len(ops); {
				if _, err := h.Seq.Submit(ctx, ops[k].Tx); err != nil {
					if retryable(rpc.Reason(err)) {
						time.Sleep(time.Millisecond)
						continue
					}
					b.Error(err)
					return
				}
				k++
			}
		}(plans[c])
	}
	wg.Wait()
}
