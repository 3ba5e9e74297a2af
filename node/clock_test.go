package node

import (
	"testing"
	"time"
)

// TestClockHeldBackToL1: the sequencer's clock is the wall clock, held back
// to the L1 head's time when that is behind (a batch may not be later than
// the block that commits it), and not pushed ahead by an L1 whose time runs
// ahead of the wall clock (a dev chain stamps every block at least a second
// after its parent): wallets and batches keep to the time people read.
func TestClockHeldBackToL1(t *testing.T) {
	n := &Node{}
	wall := func(f func() uint64) (lo, got, hi uint64) {
		lo = uint64(time.Now().Unix())
		got = f()
		hi = uint64(time.Now().Unix())
		return
	}
	if lo, got, hi := wall(n.clock); got < lo || got > hi {
		t.Errorf("no L1 head yet: clock %d, want the wall clock [%d, %d]", got, lo, hi)
	}
	n.l1Time.Store(uint64(time.Now().Unix()) + 3600) // L1 an hour ahead
	if lo, got, hi := wall(n.clock); got < lo || got > hi {
		t.Errorf("L1 ahead: clock %d, want the wall clock [%d, %d]", got, lo, hi)
	}
	behind := uint64(time.Now().Unix()) - 3600 // L1 an hour behind
	n.l1Time.Store(behind)
	if got := n.clock(); got != behind {
		t.Errorf("L1 behind: clock %d, want the L1 head's time %d", got, behind)
	}
}
