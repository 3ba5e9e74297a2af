package apply

import (
	"errors"
	"testing"
	"time"

	"github.com/modex/modex/bench/workload"
	"github.com/modex/modex/types"
)

// Measure grows n until a run reaches MinTime, and counts only timed parts.
func TestMeasure(t *testing.T) {
	defer func(d time.Duration) { MinTime = d }(MinTime)
	MinTime = 20 * time.Millisecond
	var last int
	n, d, err := Measure(func(tm workload.Timer, n int) error {
		tm.StopTimer()
		time.Sleep(3 * MinTime / 2) // untimed: were it counted, n = 1 would do
		tm.StartTimer()
		for i := 0; i < n; i++ {
			for t0 := time.Now(); time.Since(t0) < 50*time.Microsecond; {
			}
		}
		last = n
		return nil
	})
	if err != nil || n != last || n < 2 || d < MinTime {
		t.Fatalf("n %d (last run %d), d %v, err %v", n, last, d, err)
	}
	boom := errors.New("boom")
	if _, _, err := Measure(func(workload.Timer, int) error { return boom }); !errors.Is(err, boom) {
		t.Errorf("error: %v", err)
	}
}

// The apply body runs one kind end to end (a few transactions, quickly).
func TestApplyTransfer(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a production-depth world")
	}
	var sw Stopwatch
	sw.StartTimer()
	if err := workload.ApplyN(&sw, types.KindTransfer, 8, 3); err != nil {
		t.Fatal(err)
	}
	if sw.Elapsed() <= 0 {
		t.Error("nothing timed")
	}
}
