package apply

import (
	"fmt"
	"os"
	"runtime"
	"time"

	"github.com/modex/modex/bench/workload"
)

// MinTime is how long a measured run must take (go test's -benchtime).
var MinTime = time.Second

// maxN bounds the iterations of a run, as Go's harness does.
const maxN = 1_000_000_000

// Stopwatch is a workload.Timer on the wall clock. It starts stopped.
type Stopwatch struct {
	start   time.Time
	elapsed time.Duration
	running bool
}

func (s *Stopwatch) StartTimer() {
	if !s.running {
		s.start, s.running = time.Now(), true
	}
}

func (s *Stopwatch) StopTimer() {
	if s.running {
		s.elapsed += time.Since(s.start)
		s.running = false
	}
}

func (s *Stopwatch) ResetTimer() {
	if s.running {
		s.start = time.Now()
	}
	s.elapsed = 0
}

// Elapsed is the time measured so far.
func (s *Stopwatch) Elapsed() time.Duration {
	if s.running {
		return s.elapsed + time.Since(s.start)
	}
	return s.elapsed
}

// Body runs n iterations timed by t.
type Body func(t workload.Timer, n int) error

// Measure runs body with a growing n until a run takes MinTime; it returns
// that run's n and time.
func Measure(body Body) (n int, d time.Duration, err error) {
	run := func(n int) (time.Duration, error) {
		runtime.GC()
		var sw Stopwatch
		sw.StartTimer()
		err := body(&sw, n)
		sw.StopTimer()
		return sw.Elapsed(), err
	}
	n = 1
	if d, err = run(n); err != nil {
		return 0, 0, err
	}
	for d < MinTime && n < maxN {
		last := n
		prev := max(d.Nanoseconds(), 1)
		next := int64(MinTime.Nanoseconds()) * int64(last) / prev
		next += next / 5 // 1.2×, to land above MinTime
		next = min(next, 100*int64(last))
		next = max(next, int64(last)+1)
		n = int(min(next, maxN))
		if d, err = run(n); err != nil {
			return 0, 0, err
		}
	}
	return n, d, nil
}

// KindResult is one kind's apply figure (modex bench apply --json).
type KindResult struct {
	Kind    string  `json:"kind"`
	N       int     `json:"n"`
	NsPerTx float64 `json:"ns_per_tx"`
	TxPerS  float64 `json:"tx_per_s"`
}

// Kinds measures applying every kind (workload.BenchKinds) in a world of
// users accounts; each figure is passed to report (if set) as it is made.
func Kinds(users int, report func(KindResult)) ([]KindResult, error) {
	var out []KindResult
	for _, k := range workload.BenchKinds() {
		n, d, err := Measure(func(t workload.Timer, n int) error { return workload.ApplyN(t, k, users, n) })
		if err != nil {
			return nil, fmt.Errorf("bench apply %s: %w", k, err)
		}
		ns := float64(d.Nanoseconds()) / float64(n)
		r := KindResult{Kind: k.String(), N: n, NsPerTx: ns, TxPerS: 1e9 / ns}
		if report != nil {
			report(r)
		}
		out = append(out, r)
	}
	return out, nil
}

// SealResult is the seal figure (modex bench seal --json); the fields are
// in the order encoding/json gave the map it replaces.
type SealResult struct {
	MsPerBatch  float64 `json:"ms_per_batch"`
	N           int     `json:"n"`
	TxsPerBatch int     `json:"txs_per_batch"`
}

// Seal measures sealing full batches of transfers durably (synced writes)
// in a temporary directory, in a world of users accounts.
func Seal(users int) (*SealResult, error) {
	dir, err := os.MkdirTemp("", "modex-bench-seal")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	n, d, err := Measure(func(t workload.Timer, n int) error { return workload.SealN(t, dir, users, n) })
	if err != nil {
		return nil, fmt.Errorf("bench seal: %w", err)
	}
	return &SealResult{MsPerBatch: float64(d.Nanoseconds()) / float64(n) / 1e6, N: n, TxsPerBatch: workload.BenchParams().BatchCapacity}, nil
}
