// Package sequencer will order transactions into batches: a mempool with
// per-account nonce ordering, one order book per model market matched by
// price-time priority, and batch sealing over state.DB (Batch.Add / Seal).
//
// Built so far (issue: the node, end to end): sequencer/book, the matching
// engine of one market. The mempool (branch wip-mempool: its SIGKILL test
// lost an acknowledged transaction once in CI, under investigation) and the
// sequencer loop that ties them to state.DB, the prover and bridge.Submitter
// are not on main yet.
package sequencer
