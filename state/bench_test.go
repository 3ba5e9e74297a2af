package state_test

import (
	"testing"

	"github.com/modex/modex/state/store"
	"github.com/modex/modex/state/workload"
	"github.com/modex/modex/types"
)

// BenchmarkApply measures the native state transition per transaction kind at
// production depths (accounts 2^24, balances 2^16, models 2^16, orders 2^6).
func BenchmarkApply(b *testing.B) {
	for _, k := range types.AllKinds() {
		b.Run(k.String(), workload.ApplyBench(k, 32))
	}
}

// BenchmarkSeal measures sealing a 256-transfer batch durably on disk.
func BenchmarkSeal(b *testing.B) {
	b.Run("disk-sync", workload.SealBench(store.DefaultOptions(b.TempDir()), 32))
}
