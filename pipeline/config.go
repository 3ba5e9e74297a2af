package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/modex/modex/prover"
	"github.com/modex/modex/rpc"
	"github.com/modex/modex/state"
	"github.com/modex/modex/types"
)

var (
	// ErrStageMismatch: two stages of the pipeline disagree on a batch (its
	// re-executed root, its proof's public input, or the root L1 holds).
	// The pipeline halts on it; an operator must look.
	ErrStageMismatch = errors.New("pipeline: stages disagree on a batch")
	// ErrProofFailed: a batch could not be proven in Config.MaxAttempts
	// attempts. The pipeline halts on it: later batches cannot go to L1
	// before it.
	ErrProofFailed = errors.New("pipeline: batch cannot be proven")
	// ErrL1Disagrees: the Submitter found L1 holding another batch with
	// this number, or L1 rejected the commit. A Submitter wraps it; the
	// pipeline halts on it.
	ErrL1Disagrees = errors.New("pipeline: L1 disagrees with the batch")
	// ErrStore: the state store or the journal failed to read or write a
	// batch's record. The pipeline halts on it: going on could send a
	// batch twice or finalize one L1 has not verified.
	ErrStore = errors.New("pipeline: store failed")
	// ErrConfig: the configuration is invalid (the message names the field).
	ErrConfig = errors.New("pipeline: invalid config")
)

// SubmitStatus is where a batch's commit stands on L1.
type SubmitStatus struct {
	// Landed: L1 holds the batch with the header's root.
	Landed bool
	// Tx is the latest L1 transaction sent for the batch (zero if none).
	Tx common.Hash
}

// Submitter sends a proven batch to L1 and reports where it stands; it is
// stepped until the batch has landed. A batch L1 holds with another root,
// or a commit L1 rejects, is an error wrapping ErrL1Disagrees. The node
// adapts bridge.Submitter to it.
type Submitter interface {
	Step(ctx context.Context, h *state.Header, pubdata []byte, proof *prover.Proof) (SubmitStatus, error)
}

// Listener is told of each batch's stage changes (the sequencer: its batch
// feed and the proven and verified heads its queries report).
type Listener interface {
	SetProven(n uint64)
	SetVerified(n uint64)
	PublishBatch(h *state.Header, st rpc.BatchStatus, l1Tx common.Hash, proveMillis int64)
}

// Config configures the proving pipeline.
type Config struct {
	Params types.Params
	Domain types.Domain
	// Provers proves each family's batches (CPU, GPU or remote: anything
	// behind prover.Prover).
	Provers map[types.Family]prover.Prover
	// Awaited are families whose provers come later (Pipeline.AddProver;
	// the devnet's first start, while their keys are made). A batch of one
	// waits for its prover without spending its attempts; a batch of a
	// family neither in Provers nor here fails like any failed proof.
	Awaited []types.Family
	// Workers is how many batches are proven at once (default 1).
	Workers int
	// Submitter, if set, takes proven batches to L1 in order.
	Submitter Submitter
	// MaxAttempts is how many times a batch is re-executed and proven
	// before the pipeline halts on it (default 8).
	MaxAttempts int
	// RetryBase is the wait after a batch's first failed attempt, doubled
	// after each further one up to RetryMax (defaults 1 s and 1 min).
	RetryBase, RetryMax time.Duration
	// Poll is how often a sent commit is checked (default 500 ms).
	Poll    time.Duration
	Logger  *slog.Logger
	Metrics *rpc.Metrics
}

// DefaultConfig is a configuration with every default set; the caller adds
// the parameters, the domain and the provers.
func DefaultConfig() Config {
	return Config{Workers: 1, MaxAttempts: 8, RetryBase: time.Second, RetryMax: time.Minute,
		Poll: 500 * time.Millisecond}
}

func (c *Config) defaults() {
	d := DefaultConfig()
	if c.Workers == 0 {
		c.Workers = d.Workers
	}
	if c.MaxAttempts == 0 {
		c.MaxAttempts = d.MaxAttempts
	}
	if c.RetryBase == 0 {
		c.RetryBase = d.RetryBase
	}
	if c.RetryMax == 0 {
		c.RetryMax = max(d.RetryMax, c.RetryBase)
	}
	if c.Poll == 0 {
		c.Poll = d.Poll
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// Check validates the configuration (zero fields take their defaults).
func (c *Config) Check() error {
	switch {
	case c.Workers < 0:
		return fmt.Errorf("%w: workers %d", ErrConfig, c.Workers)
	case c.MaxAttempts < 0:
		return fmt.Errorf("%w: max attempts %d", ErrConfig, c.MaxAttempts)
	case c.RetryBase < 0 || c.RetryMax < 0:
		return fmt.Errorf("%w: retry wait %s..%s", ErrConfig, c.RetryBase, c.RetryMax)
	case c.RetryMax > 0 && c.RetryBase > c.RetryMax:
		return fmt.Errorf("%w: retry base %s above max %s", ErrConfig, c.RetryBase, c.RetryMax)
	case c.Poll < 0:
		return fmt.Errorf("%w: poll %s", ErrConfig, c.Poll)
	}
	return nil
}

// backoff is the wait after attempt failed attempts (1-based).
func (c *Config) backoff(attempt int) time.Duration {
	d := c.RetryBase
	for i := 1; i < attempt && d < c.RetryMax; i++ {
		d *= 2
	}
	return min(d, c.RetryMax)
}
