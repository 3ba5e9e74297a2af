// Package prove measures the batch prover for `modex bench prove`: for each
// batch size it builds a real full batch of one family (SealedBatch, on a
// bench/workload world), compiles the family's batch circuit, runs the
// insecure development setup, and times proofs with the CPU prover, the
// ICICLE prover (a -tags icicle build) or both on the same batch and keys.
// Every proof is verified natively by the prover. GPU runs also sample the
// device's peak memory (nvidia-smi, when present).
//
// Like the rest of bench/, it is measurement code: linked by cmd/modex and
// tests, never by the node's packages.
package prove
