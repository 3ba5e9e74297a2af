package sequencer

import (
	"errors"

	"github.com/modex/modex/rpc"
	"github.com/modex/modex/sequencer/mempool"
	"github.com/modex/modex/types/seqerr"
)

// The sequencer's own refusals are the API's (rpc/errors.go), so that each
// has one code.
var (
	ErrStopped     = rpc.ErrSequencingStopped // sequencing is paused
	ErrClosed      = rpc.ErrShuttingDown
	ErrRawTooLarge = rpc.ErrRawTooLarge
	ErrNotSigned   = mempool.ErrNotPoolTx
	// ErrOrderAboveSupply: an order for more shares than its model's
	// maximum supply (it could never fill).
	ErrOrderAboveSupply = seqerr.ErrOrderAboveSupply
)

var (
	// ErrNotRunning: the sequencer was built (New) but not started.
	ErrNotRunning = errors.New("sequencer: not started")
	// ErrHalted: sequencing halted (a journal write failed or the tree
	// stage disagrees with a sealed batch); only a restart clears it.
	ErrHalted = errors.New("sequencer: halted")
	// ErrConfig: the configuration is invalid (the message names the field).
	ErrConfig = errors.New("sequencer: invalid config")
)

// ErrCommitMismatch: the tree stage, applying a sealed batch's transactions
// to the state store, did not reproduce what the soft execution sealed (a
// transaction refused, other pubdata, another header). Sequencing and the
// pipeline halt on it; an operator must look.
var ErrCommitMismatch = errors.New("sequencer: the tree stage disagrees with the sealed batch")
