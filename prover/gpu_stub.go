//go:build !icicle

package prover

// NewGPU needs the icicle build tag; without it, it returns ErrNoICICLE and
// nothing of ICICLE is linked.
func NewGPU(keys *Keys, cfg GPUConfig) (Prover, error) { return nil, ErrNoICICLE }

// ICICLEAvailable reports whether this binary was built with ICICLE.
const ICICLEAvailable = false
