package workload

import (
	"os"
	"strconv"
	"strings"
)

// PeakRSSMB returns the process's peak resident set size (VmHWM) in MiB, or 0
// where /proc is not available. Benchmarks report it beside their timings.
func PeakRSSMB() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) == 3 && f[0] == "VmHWM:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return 0
}
