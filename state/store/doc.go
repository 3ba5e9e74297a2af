// Package store is the rollup's versioned, crash-safe key/value state store,
// built on Badger in managed (MVCC) mode.
//
// # Model
//
// State changes are grouped in numbered batches. Batch 0 is genesis (empty
// state); Begin opens the Txn that becomes batch Head()+1, and Commit writes
// the whole batch as exactly one Badger transaction at a fresh commit
// timestamp. Every committed batch is therefore an MVCC version: View(b)
// returns a read-only Snapshot of the state as of batch b for any b between
// Finalized()-KeepBatches and Head(). Rollback(to) undoes the batches after
// `to` (e.g. a reorg or a failed proof) in one atomic transaction;
// SetFinalized(b) marks batches <= b as proven (no longer revertible) and
// prunes history that is no longer readable.
//
// A typical block of the rollup:
//
//	txn, err := db.Begin()       // batch db.Head()+1
//	_, err = tree.Update(txn, i, leaf) // *Txn satisfies smt.Writer
//	err = txn.Set(k, v)
//	err = txn.Commit()           // durable once nil
//	...
//	snap, err := db.View(b)      // *Snapshot satisfies smt.Reader
//	defer snap.Discard()
//
// # Durability and atomicity
//
// Commits are synced (Badger's SyncWrites, on unless Options.NoSync): Badger
// fsyncs its write-ahead log before Commit returns: it is the setting that makes an acknowledged batch
// survive kill -9 or power loss. With it off, a crash may lose recently
// acknowledged batches (but never leaves one half-applied). Badger replays
// its log on Open and drops any transaction whose end marker is missing, so
// a batch is either entirely present or entirely absent after a crash;
// crash_test.go SIGKILLs a writer at many points to check exactly that.
//
// A batch is never split: WriteBatch (which silently splits into several
// commits) is not used. A batch larger than Badger's transaction limit (15%
// of MemTableSize, 64 MiB by default) fails with ErrBatchTooLarge and writes
// nothing; Head() is unchanged.
//
// # Invariants and internal layout
//
//   - Keys starting with 0xFF are reserved for the store (ErrReservedKey);
//     empty keys are rejected too.
//   - 0xFF 'm' holds the meta record: head, finalized, last commit timestamp,
//     prune floor and garbage-collection progress. Every commit (batch,
//     rollback, finalization, gc) rewrites it in the same Badger transaction
//     as the data it describes, so after a crash meta and data agree.
//   - 0xFF 't' ‖ be64(batch) maps a batch to its commit timestamp.
//     Timestamps strictly increase over all commits; after a rollback the
//     re-done batch number gets a new, higher timestamp, which is why the
//     mapping is stored rather than derived.
//   - 0xFF 'u' ‖ be64(batch) ‖ be32(chunk) is the batch's undo record: the set
//     of keys it wrote. Rollback reads each such key at the target batch's
//     timestamp and writes that value back (or deletes the key) at a new
//     timestamp. Undo records of finalized batches are deleted.
//   - Badger keeps every version (NumVersionsToKeep = MaxInt32) until the
//     discard timestamp, set to the timestamp of the oldest readable batch
//     (held back by open Snapshots), lets compaction drop older ones.
//
// # Concurrency
//
// DB methods are safe for concurrent use. There is at most one open Txn
// (Begin returns ErrTxnOpen otherwise); Rollback refuses while a Txn is open,
// SetFinalized does not. A Txn or a Snapshot must be used by one goroutine at
// a time; Snapshots may be read while a Txn is being built and committed.
//
// If Badger returns an unexpected error during a commit, the outcome on disk
// is unknown, so the DB refuses further writes with ErrFailed; Close and
// reopen it, and Open resumes at whatever batch is durable.
package store
