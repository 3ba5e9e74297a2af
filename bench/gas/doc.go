// Package gas measures the bridge contract's L1 gas on go-ethereum's
// in-process EVM (ethclient/simulated): a full commitBatch of every
// transaction kind at each capacity, and the user operations (deposits,
// claims, a forced-withdrawal request, exodus, an exit at production depths,
// a refund). `modex bench gas` prints its Report as JSON.
//
// Batches carry real pubdata and real Groth16 proofs, checked by a
// gnark-exported verifier of a one-public-input stand-in circuit: Groth16
// verification gas depends on the number of public inputs, not on the
// circuit, so the figures are those of the production verifiers without a
// production setup (TestStandInVerifierGas checks that against a real batch
// verifier).
//
// The simulated chain lives here, not in bridge: the node never links it.
package gas
