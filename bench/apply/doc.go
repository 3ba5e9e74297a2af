// Package apply measures the native state transition for `modex bench
// apply` and `modex bench seal`: the time per transaction of every kind
// (workload.ApplyN) and per durable batch seal (workload.SealN), as figures
// the command prints or encodes as JSON.
//
// It measures with a Stopwatch rather than testing.Benchmark, so the modex
// binary links no testing package: Measure grows the number of iterations
// as Go's harness does (from 1, predicting from the last run, at most 100×
// per step) until a run takes MinTime. The same bodies run under `go test
// -bench` (state's BenchmarkApply and BenchmarkSeal), with *testing.B as
// their Timer.
package apply
