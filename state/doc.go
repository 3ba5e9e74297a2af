// Package state is the rollup's state and its native state transition
// (docs/protocol.md §1–§7): the account, balance, position, order-slot and
// model trees over state/smt, versioned in state/store (one store version
// per batch), and the rules every transaction kind obeys.
//
// Apply (apply.go) validates a transaction against the state and writes
// its leaves in the order of docs/protocol.md §5; each kind's rule lives in
// kind_<name>.go, at the same address as its gadget in circuits/ and its
// message in types/, and kinds.go lists them in one table. A Batch (batch.go)
// applies transactions, records each one's witness (witness.go: the old and
// new leaves with their siblings, the circuit's input) and seals the batch
// with its header and pubdata; a soft batch applies the same rules over a
// flat state without hashing (the sequencer's hot path). Reexecute
// (reexec.go) re-runs a sealed batch and checks it reproduces its header.
// Exit proofs for the escape hatch are in exit.go; the store's key layout in
// schema.go.
//
// Invariants: a rejected transaction changes nothing (ErrWriteFailed marks
// the one exception, a storage failure after validation, which discards the
// batch); every sealed batch is provable by the batch circuit of its family.
package state
