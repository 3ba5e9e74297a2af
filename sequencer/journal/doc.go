// Package journal is the sequencer's journal schema (docs/node.md §3): one
// Badger database beside the state store holding, under one prefix per
// record kind, everything the sequencer and the proving pipeline have
// acknowledged and the state store does not hold yet. schema.go declares
// every key and its layout; accessors.go reads and writes each record
// through the narrowest Badger interface (Reader, Writer, Iteratee; a
// *badger.Txn is all three).
//
// Invariants: no key is built outside this package (the pool's m/ and the
// bridge's b/ are owned by their packages and only named here); prefixes
// are distinct single lower-case letters, so no prefix is another's prefix
// and none differs from another only by case; a Read of an absent record
// returns ErrNotFound and a record that does not decode returns ErrCorrupt,
// so callers never mistake a broken journal for an empty one.
package journal
