package store

import (
	"fmt"

	"github.com/dgraph-io/badger/v4"
)

// Options configure Open.
type Options struct {
	// Dir is the Badger directory. Required unless InMemory.
	Dir string
	// InMemory keeps everything in memory (tests that do not need
	// durability). Dir is ignored.
	InMemory bool
	// NoSync turns off the fsync of every commit. The zero value (false)
	// syncs: Commit returns only once the batch is on disk, which is what makes
	// an acknowledged batch survive kill -9 / power loss. Only benchmarks of
	// pure CPU cost should set it.
	NoSync bool
	// KeepBatches is how many batches before the finalized one stay
	// readable via View (DefaultOptions: 128; 0 keeps only the finalized one).
	KeepBatches uint64
	// MemTableSize is passed through to Badger (0 = Badger's default, 64 MiB).
	// A batch must fit in 15% of it. Tests use a tiny one.
	MemTableSize int64
	// Logger receives Badger's log output. nil = Badger's default logger at
	// WARNING level (warnings and errors only, to stderr).
	Logger badger.Logger
}

// DefaultOptions returns durable defaults for a store in dir.
func DefaultOptions(dir string) Options {
	return Options{Dir: dir, KeepBatches: 128}
}

// minMemTableSize keeps Badger's derived batch limits sane.
const minMemTableSize = 64 << 10

// Check validates the options.
func (o Options) Check() error {
	if !o.InMemory && o.Dir == "" {
		return fmt.Errorf("%w: Dir is required unless InMemory", ErrInvalidOptions)
	}
	if o.MemTableSize != 0 && o.MemTableSize < minMemTableSize {
		return fmt.Errorf("%w: MemTableSize %d < %d", ErrInvalidOptions, o.MemTableSize, minMemTableSize)
	}
	return nil
}

// valueThreshold is the largest value Badger keeps inline in the LSM tree;
// in-memory Badger rejects larger values, so undo records are chunked below it.
const maxValueThreshold = 1 << 20

func (o Options) badger() badger.Options {
	dir := o.Dir
	if o.InMemory {
		dir = ""
	}
	bo := badger.DefaultOptions(dir).
		WithInMemory(o.InMemory).
		WithSyncWrites(!o.NoSync).
		WithNumVersionsToKeep(1<<31 - 1). // math.MaxInt32: keep every version until SetDiscardTs
		WithDetectConflicts(false).       // single writer, serialized by DB.mu
		WithMetricsEnabled(false)
	if o.Logger != nil {
		bo = bo.WithLogger(o.Logger)
	} else {
		bo = bo.WithLoggingLevel(badger.WARNING)
	}
	if o.MemTableSize > 0 {
		bo = bo.WithMemTableSize(o.MemTableSize)
	}
	// Badger requires ValueThreshold <= 15% of MemTableSize (its max batch size).
	vt := int64(maxValueThreshold)
	if mb := bo.MemTableSize * 15 / 100 / 4; mb < vt {
		vt = mb
	}
	return bo.WithValueThreshold(vt)
}

// undoChunk is the maximum size of one undo-record value.
func (o Options) undoChunk() int {
	c := int(o.badger().ValueThreshold)
	if c > 16<<10 {
		c = 16 << 10
	}
	return c
}
