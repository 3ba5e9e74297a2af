package sequencer

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/modex/modex/rpc"
	"github.com/modex/modex/sequencer/mempool"
	"github.com/modex/modex/state"
	"github.com/modex/modex/types"
)

// MaxRawSize bounds a submitted transaction or order encoding.
const MaxRawSize = 4096

// Config configures a Sequencer.
type Config struct {
	Params types.Params
	Domain types.Domain
	// BatchTimeout: an open batch is sealed this long after its first
	// transaction even if it is not full (default 1 s).
	BatchTimeout time.Duration
	// FamilyWait: an open batch is sealed once a transaction of another
	// family has waited this long behind it (a batch holds one family), so
	// that a busy market and a stream of transfers take turns (default
	// 10 ms, at most BatchTimeout).
	FamilyWait   time.Duration
	MakerFeeBips uint8
	TakerFeeBips uint8
	MaxOrders    int // resting orders per market (default 100,000)
	// Pool bounds the pool (its Dir and DB are set by the sequencer).
	Pool mempool.Options
	// Clock gives batch timestamps and the order books' time, in unix
	// seconds (Sequencer.Now). The node passes the wall clock held back to
	// the L1 head's timestamp, which a batch may not exceed (protocol
	// §11.3). Default: wall clock.
	Clock func() uint64
	// OnSeal, if set, is called (in the tree stage's goroutine) with each
	// batch the tree stage committed; the pipeline takes it from there
	// (pipeline.Pipeline.Sealed).
	OnSeal func(sb *state.SealedBatch)
	// Families, if set, are the batch families this rollup can prove (its
	// bridge has their verifiers); transactions and orders of any other
	// family are refused with rpc.ErrFamilyDisabled. Priority batches are
	// always on. Nil: every family.
	Families map[types.Family]bool
	// Tokens is how many base tokens are registered on L1 (account queries
	// list their balances; default: ETH only).
	Tokens func() int
	Logger *slog.Logger
	// Metrics, if set, receives pool, batch and trade figures.
	Metrics *rpc.Metrics
}

func (c *Config) defaults() {
	if c.BatchTimeout <= 0 {
		c.BatchTimeout = time.Second
	}
	if c.FamilyWait <= 0 {
		c.FamilyWait = 10 * time.Millisecond
	}
	c.FamilyWait = min(c.FamilyWait, c.BatchTimeout)
	if c.MaxOrders <= 0 {
		c.MaxOrders = 100_000
	}
	if c.Clock == nil {
		c.Clock = func() uint64 { return uint64(time.Now().Unix()) }
	}
	if c.Tokens == nil {
		c.Tokens = func() int { return 1 }
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// Check validates the configuration (zero durations and sizes take their
// defaults).
func (c *Config) Check() error {
	switch {
	case c.BatchTimeout < 0:
		return fmt.Errorf("%w: batch timeout %s", ErrConfig, c.BatchTimeout)
	case c.FamilyWait < 0:
		return fmt.Errorf("%w: family wait %s", ErrConfig, c.FamilyWait)
	case c.MaxOrders < 0:
		return fmt.Errorf("%w: max orders %d", ErrConfig, c.MaxOrders)
	}
	if err := c.Params.Check(); err != nil {
		return fmt.Errorf("%w: %w", ErrConfig, err)
	}
	return nil
}
