// Package sequencer will order transactions into batches: a mempool with
// per-account nonce ordering, one order book per model market matched by
// price-time priority, and batch sealing over state.DB (Batch.Add / Seal).
//
// Built so far (issue: the node, end to end): sequencer/mempool, the durable
// transaction pool (signatures verified before acceptance, nonce ordering,
// replacement, bounds, synced before acknowledgement), and sequencer/book,
// the matching engine of one market. The sequencer loop that ties them to
// state.DB, the prover and bridge.Submitter is not built yet.
package sequencer
