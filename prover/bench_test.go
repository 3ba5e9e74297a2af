package prover

import (
	"context"
	"testing"
	"time"
)

// BenchmarkProveCPU proves a chain of 170 Poseidon2 compressions (~31.8k
// constraints, domain 2^15, one public input) with the CPU prover, native
// verification included. Compile and dev-setup times are logged.
func BenchmarkProveCPU(b *testing.B) {
	const k = 170
	t0 := time.Now()
	ccs, err := Compile(&compressCircuit{K: k}, "bench/compress/k=170", "")
	if err != nil {
		b.Fatal(err)
	}
	tc := time.Since(t0)
	t0 = time.Now()
	keys, err := DevSetup(ccs)
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("%d constraints: compile %v, dev setup %v", ccs.GetNbConstraints(), tc.Round(time.Millisecond), time.Since(t0).Round(time.Millisecond))
	p := NewCPU(keys)
	a := compressAssignment(k, 1, 2)
	b.ResetTimer()
	for b.Loop() {
		if _, err := p.Prove(context.Background(), a); err != nil {
			b.Fatal(err)
		}
	}
}
