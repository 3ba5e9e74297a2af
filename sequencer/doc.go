// Package sequencer orders transactions into batches and takes them to L1
// (docs/node.md §1–§3):
//
//   - Sequencer: one loop goroutine owns the open state.Batch. Signed
//     transactions are soft-confirmed once the pool (sequencer/mempool) has
//     checked and journaled them; orders are matched in their market's book
//     (sequencer/book) and every match is applied as a Trade before the book
//     commits it; L1 priority requests are journaled and go first. A batch
//     holds one family and is sealed when full or after BatchTimeout.
//   - Pipeline: every sealed batch is re-executed over the state before it
//     (the sealed→witness root check), proven by the family's prover.Prover
//     in a pool of workers (public input checked against the header), and
//     committed to L1 in order by a Submitter; each stage is journaled by
//     batch number, so a restart resumes where it stopped. A disagreement
//     between stages halts the pipeline.
//
// The journal is one Badger database (store.OpenPlain) shared by the pool,
// the orders, the API's records and the pipeline.
package sequencer
