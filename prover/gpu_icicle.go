//go:build icicle

package prover

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/consensys/gnark/backend/accelerated/icicle"
	icicle_bn254 "github.com/consensys/gnark/backend/accelerated/icicle/groth16/bn254"
	"github.com/consensys/gnark/backend/groth16"
	groth16_bn254 "github.com/consensys/gnark/backend/groth16/bn254"
	cs_bn254 "github.com/consensys/gnark/constraint/bn254"
	"github.com/consensys/gnark/frontend"
	icicle_runtime "github.com/ingonyama-zk/icicle-gnark/v3/wrappers/golang/runtime"
)

// ICICLEAvailable reports whether this binary was built with ICICLE.
const ICICLEAvailable = true

type gpuProver struct {
	keys  *Keys
	ccs   *cs_bn254.R1CS
	ipk   *icicle_bn254.ProvingKey
	cfg   *icicle.Config
	cpu   Prover
	mu    sync.Mutex
	stats struct{ proofs, fallbacks atomic.Int64 }
	// corrupt, in tests, alters each device proof before it is verified
	// (the fallback path).
	corrupt func(groth16.Proof)
}

// NewGPU returns a Prover on ICICLE (gnark's accelerated Groth16 backend).
// It uses the same keys as the CPU prover (LoadKeys, DevSetup, a ceremony).
// Every device proof is verified on the CPU before it is returned; one that
// fails (seen when the device runs out of memory) is logged and remade by
// the CPU prover, so the Prover invariant holds.
func NewGPU(keys *Keys, cfg GPUConfig) (Prover, error) {
	if err := keys.Check(); err != nil {
		return nil, err
	}
	pk, ok := keys.PK.(*groth16_bn254.ProvingKey)
	if !ok {
		return nil, fmt.Errorf("prover: ICICLE needs a BN254 proving key, have %T", keys.PK)
	}
	r1cs, ok := keys.CCS.(*cs_bn254.R1CS)
	if !ok {
		return nil, fmt.Errorf("prover: ICICLE needs a BN254 R1CS, have %T", keys.CCS)
	}
	backend := icicle.CUDA
	switch strings.ToUpper(cfg.Backend) {
	case "", "CUDA":
	case "CPU":
		backend = icicle.CPU
	default:
		return nil, fmt.Errorf("prover: ICICLE backend %q (CUDA or CPU)", cfg.Backend)
	}
	opts := []icicle.Option{
		icicle.WithDeviceID(cfg.DeviceID),
		icicle.WithBackend(backend),
		icicle.WithPinKeysToGPU(cfg.Pin),
		icicle.WithProverOptions(proverOpts...),
	}
	if cfg.BackendLibs != "" {
		opts = append(opts, icicle.WithBackendLibrary(cfg.BackendLibs))
	}
	ic, err := icicle.NewConfig(opts...)
	if err != nil {
		return nil, fmt.Errorf("prover: ICICLE: %w", err)
	}
	if err := loadICICLE(ic); err != nil {
		return nil, err
	}
	return &gpuProver{
		keys: keys,
		ccs:  r1cs,
		ipk:  &icicle_bn254.ProvingKey{ProvingKey: *pk},
		cfg:  ic,
		cpu:  NewCPU(keys),
	}, nil
}

var (
	icicleOnce sync.Once
	icicleErr  error
)

// loadICICLE loads ICICLE's backend libraries once per process and warms
// up every device (gnark's generic icicle/groth16 package does the same, but
// it links every curve's library; Modex proves on BN254 only).
func loadICICLE(cfg *icicle.Config) error {
	icicleOnce.Do(func() {
		want := cfg.Backend.String()
		if cfg.BackendLibs != "" {
			if e := icicle_runtime.LoadBackend(cfg.BackendLibs, true); e != icicle_runtime.Success {
				icicleErr = fmt.Errorf("prover: ICICLE backend libraries in %s: %s", cfg.BackendLibs, e.AsString())
				return
			}
		} else if e := icicle_runtime.LoadBackendFromEnvOrDefault(); e != icicle_runtime.Success {
			// the CPU backend is linked into ICICLE's own libraries and needs
			// no loading; any other must have been found
			if !registered(want) {
				icicleErr = fmt.Errorf("prover: ICICLE %s backend not found (set ICICLE_BACKEND_INSTALL_DIR or GPUConfig.BackendLibs): %s", want, e.AsString())
				return
			}
		}
		if !registered(want) {
			icicleErr = fmt.Errorf("prover: ICICLE has no %s backend", want)
			return
		}
		n, e := icicle_runtime.GetDeviceCount()
		if e != icicle_runtime.Success {
			icicleErr = fmt.Errorf("prover: ICICLE devices: %s", e.AsString())
			return
		}
		for id := 0; id < n; id++ {
			dev := icicle_runtime.CreateDevice(want, id)
			done := make(chan icicle_runtime.EIcicleError, 1)
			icicle_runtime.RunOnDevice(&dev, func(args ...any) {
				stream, e := icicle_runtime.CreateStream()
				if e == icicle_runtime.Success {
					e = icicle_runtime.WarmUpDevice(stream)
				}
				done <- e
			})
			// the CPU backend has nothing to warm up (ApiNotImplemented)
			if e := <-done; e != icicle_runtime.Success && e != icicle_runtime.ApiNotImplemented {
				icicleErr = fmt.Errorf("prover: ICICLE device %d warm-up: %s", id, e.AsString())
				return
			}
		}
		logger().Info("ICICLE loaded", "backend", cfg.Backend.String(), "devices", n)
	})
	return icicleErr
}

func (g *gpuProver) VerifyingKey() groth16.VerifyingKey { return g.keys.VK }

// Stats reports the proofs made and the CPU fallbacks.
func (g *gpuProver) Stats() GPUStats {
	return GPUStats{Proofs: g.stats.proofs.Load(), Fallbacks: g.stats.fallbacks.Load()}
}

func (g *gpuProver) Prove(ctx context.Context, assignment frontend.Circuit) (*Proof, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	w, pub, err := witnesses(assignment)
	if err != nil {
		return nil, err
	}
	g.mu.Lock()
	done := stage("prove-icicle", "constraints", g.keys.CCS.GetNbConstraints())
	var proof groth16.Proof
	proof, err = icicle_bn254.Prove(g.ccs, g.ipk, w, g.cfg)
	done(&err)
	if err == nil && g.corrupt != nil {
		g.corrupt(proof)
	}
	g.mu.Unlock()
	if err == nil {
		p := &Proof{Groth16: proof, Public: pub}
		if err = p.Verify(g.keys.VK); err == nil {
			g.stats.proofs.Add(1)
			return p, nil
		}
	}
	if errors.Is(err, context.Canceled) {
		return nil, err
	}
	g.stats.fallbacks.Add(1)
	logger().Error("ICICLE proof failed or did not verify on the CPU; proving on the CPU instead", "err", err)
	return g.cpu.Prove(ctx, assignment)
}

// registered reports whether ICICLE has a backend of this device type.
func registered(deviceType string) bool {
	types, e := icicle_runtime.GetRegisteredDevices()
	if e != icicle_runtime.Success {
		return false
	}
	for _, t := range types {
		if strings.EqualFold(t, deviceType) {
			return true
		}
	}
	return false
}
