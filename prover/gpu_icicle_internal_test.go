//go:build icicle

package prover

import (
	"context"
	"os"
	"testing"

	"github.com/consensys/gnark/backend/groth16"
	groth16_bn254 "github.com/consensys/gnark/backend/groth16/bn254"
	"github.com/consensys/gnark/frontend"
)

// testGPUConfig is the ICICLE backend of the tagged tests: ICICLE's CPU
// backend unless MODEX_ICICLE_BACKEND says CUDA (a machine with a GPU).
func testGPUConfig() GPUConfig {
	be := os.Getenv("MODEX_ICICLE_BACKEND")
	if be == "" {
		be = "CPU"
	}
	return GPUConfig{Backend: be, BackendLibs: os.Getenv("MODEX_ICICLE_LIBS"), Pin: true}
}

type icicleCube struct {
	X frontend.Variable
	Y frontend.Variable `gnark:",public"`
}

func (c *icicleCube) Define(api frontend.API) error {
	api.AssertIsEqual(api.Add(api.Mul(c.X, c.X, c.X), c.X, 5), c.Y)
	return nil
}

// TestICICLEFallback: a device proof that fails CPU verification is never
// returned; the CPU prover makes it instead, and the fallback is counted.
func TestICICLEFallback(t *testing.T) {
	ccs, err := Compile(&icicleCube{}, "icicle-cube-test", "")
	if err != nil {
		t.Fatal(err)
	}
	keys, err := DevSetup(ccs)
	if err != nil {
		t.Fatal(err)
	}
	pr, err := NewGPU(keys, testGPUConfig())
	if err != nil {
		t.Fatal(err)
	}
	g := pr.(*gpuProver)
	a := &icicleCube{X: 3, Y: 35}
	p, err := g.Prove(context.Background(), a)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Verify(keys.VK); err != nil {
		t.Fatal(err)
	}
	if st := g.Stats(); st.Proofs != 1 || st.Fallbacks != 0 {
		t.Fatalf("stats %+v after one good device proof", st)
	}
	g.corrupt = func(pf groth16.Proof) {
		b := pf.(*groth16_bn254.Proof)
		b.Ar, b.Krs = b.Krs, b.Ar // still points on the curve, no longer a proof
	}
	p, err = g.Prove(context.Background(), a)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Verify(keys.VK); err != nil {
		t.Fatalf("the fallback proof does not verify: %v", err)
	}
	if st := g.Stats(); st.Proofs != 1 || st.Fallbacks != 1 {
		t.Fatalf("stats %+v after a corrupted device proof", st)
	}
}
