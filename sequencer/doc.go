// Package sequencer will order transactions into batches: a mempool with
// per-account nonce ordering, one order book per model market matched by
// price-time priority, and batch sealing over state.DB (Batch.Add / Seal).
//
// Not built yet (issue: the node, end to end). Today batches are built
// directly with state.DB.NewBatch, as cmd/modex's demo does.
package sequencer
