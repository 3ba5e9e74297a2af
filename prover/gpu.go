package prover

import "errors"

// GPUConfig configures the ICICLE prover (NewGPU, built with -tags icicle).
type GPUConfig struct {
	// DeviceID is the device to prove on (default 0).
	DeviceID int
	// Backend is ICICLE's backend: "CUDA" (default; an NVIDIA GPU) or "CPU"
	// (ICICLE's CPU backend: the same code path on a machine without a GPU,
	// for tests).
	Backend string
	// BackendLibs is the directory of ICICLE's backend libraries
	// (build/icicle/lib after scripts/icicle-build.sh). Empty: the
	// ICICLE_BACKEND_INSTALL_DIR environment variable, then ICICLE's default.
	BackendLibs string
	// Pin keeps the proving key in device memory between proofs (a
	// long-running prover); otherwise it is loaded for each proof.
	Pin bool
}

// ErrNoICICLE is NewGPU in a binary built without -tags icicle.
var ErrNoICICLE = errors.New("prover: built without ICICLE (build with -tags icicle: make gpu)")

// GPUStats is what a GPU prover has done: proofs made on the device, and
// proofs that failed CPU verification and were remade on the CPU.
type GPUStats struct {
	Proofs    int64
	Fallbacks int64
}
