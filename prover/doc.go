// Package prover will compile the batch circuit (package circuits), run the
// Groth16 setup (development setup and MPC-ceremony import), prove sealed
// batches from their witnesses (state.SealedBatch.Witnesses), verify each
// proof natively before it leaves, and export the Solidity verifier.
//
// Not built yet (issue: validity proofs). The seam it will fill is a Prover
// interface with a CPU implementation by default and an ICICLE GPU one
// behind the icicle build tag.
package prover
