package store

import "errors"

var (
	// ErrInvalidOptions is returned by Options.Check and Open for bad options.
	ErrInvalidOptions = errors.New("store: invalid options")
	// ErrLocked is returned by Open when another process holds the directory.
	ErrLocked = errors.New("store: directory is locked by another process")
	// ErrClosed is returned by every operation after Close.
	ErrClosed = errors.New("store: closed")
	// ErrTxnOpen is returned by Begin and Rollback while a Txn is open.
	ErrTxnOpen = errors.New("store: a transaction is already open")
	// ErrTxnDone is returned when a Txn is used after Commit or Discard, or a
	// Snapshot after Discard.
	ErrTxnDone = errors.New("store: transaction already committed or discarded")
	// ErrReservedKey is returned for keys that are empty or start with the
	// reserved byte 0xFF.
	ErrReservedKey = errors.New("store: reserved or empty key")
	// ErrBatchTooLarge is returned when a batch (or a rollback) does not fit
	// in one Badger transaction. Nothing of it is written.
	ErrBatchTooLarge = errors.New("store: batch too large for one transaction")
	// ErrBatchUnknown is returned for a batch number above Head().
	ErrBatchUnknown = errors.New("store: batch not committed")
	// ErrBatchPruned is returned by View for a batch whose versions may have
	// been discarded.
	ErrBatchPruned = errors.New("store: batch pruned")
	// ErrRollbackFinalized is returned by Rollback below Finalized().
	ErrRollbackFinalized = errors.New("store: cannot roll back finalized batch")
	// ErrCorrupt is returned when internal metadata cannot be decoded.
	ErrCorrupt = errors.New("store: corrupt metadata")
	// ErrFailed is returned after a commit failed with an unexpected Badger
	// error: the outcome on disk is unknown, so the DB refuses further
	// writes. Close and reopen it; Open resumes at whatever is durable.
	ErrFailed = errors.New("store: unexpected write failure, reopen the store")
)
