// Package sequencer orders transactions into batches (docs/node.md §1).
// One goroutine, the loop, owns the open state.Batch; the soft state is
// the state store's head under every batch sealed since; the tree stage
// hashes each sealed batch into the state store behind the loop and hands
// it to the proving pipeline (package pipeline) through Config.OnSeal.
//
// By responsibility:
//
//   - loop.go: the loop — fill the open batch (priority requests first,
//     then the pool, one family per batch), apply, seal (one
//     group-committed journal write per batch).
//   - submit.go: submission — signed transactions into the pool, orders
//     into their book, confirmed L1 requests into the priority queue; each
//     is journaled (synced) before it is acknowledged.
//   - orders.go: matching — each match applied as a Trade before the book
//     commits it.
//   - commit.go: the tree stage.
//   - recovery.go: restart — New replays the sealed, uncommitted batches
//     softly and reloads the queues; Start replays the open orders.
//   - query.go, events.go: Queries, the read side and subscriptions.
//   - journal (sub-package): the journal's schema and accessors.
//
// Lifecycle: New(cfg, db, journal) recovers and starts nothing;
// Start(ctx) runs the loop and the tree stage; Stop(ctx) stops them.
// Pause and Resume switch sequencing (the operator's admin API). A journal
// write that fails, or a tree stage that does not reproduce a sealed
// batch, halts sequencing (Halted) until a restart.
package sequencer
