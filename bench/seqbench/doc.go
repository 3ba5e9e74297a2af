// Package seqbench measures the sequencer's soft-confirmation throughput:
// a real Sequencer over a state store and a journal on disk (synced writes),
// driven in-process through Sequencer.Submit and Sequencer.Place (the code
// path behind tx_submit and market_placeOrder, without the HTTP layer) by
// concurrent clients with pre-signed transfers and orders. In the same run it
// measures the machine's raw EdDSA verification rate on all cores, the bound
// the throughput is compared with, before and after the window. There
// is no prover (Config.OnSeal is nil): batches are sealed (journaled, durable)
// and committed by the sequencer's tree stage, which runs in the window or,
// with PauseTree, only after it (then the sequencer is measured alone, as
// with its tree stage on other cores, and the stage's own rate catching up).
//
// `modex bench sequencer` prints its Result as JSON; TestRunShort runs the
// whole harness briefly. Nothing here is linked into the node.
package seqbench
