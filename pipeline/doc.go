// Package pipeline proves the batches the sequencer sealed and takes them
// to L1 (docs/node.md §2). Each batch the tree stage committed is
// re-executed over the state before it (its root must be the committed
// header's), proven by its family's prover.Prover in a pool of workers
// (the proof's public input must be the header's), and committed to L1 in
// order by a Submitter, which then checks the root L1 holds.
//
// Each stage is journaled by batch number (sequencer/journal), so a
// restart resumes where it stopped. Two stages that disagree on a batch,
// or a batch its prover fails MaxAttempts times, halt the pipeline loudly:
// an ERROR log, modex_pipeline_halted set to 1, and Halted reporting why
// (the node's /healthz answers 503 with it).
//
// The pipeline talks to the sequencer and to L1 through interfaces it
// declares (Listener, Submitter); the node wires the sequencer and the
// bridge into them, so neither the pipeline's callers nor the sequencer
// import the bridge through it. Lifecycle: New loads the journal and
// starts nothing; Start(ctx) runs the provers and the submitter; Stop(ctx)
// stops them (a proof in progress is abandoned and made again after a
// restart).
package pipeline
