// Package circuits holds the gnark gadgets of the Modex batch circuit, each
// beside its native twin in package types or state (docs/protocol.md), and
// tests that run both on the same inputs.
//
// Today it holds the hashing gadgets every other gadget is built from: the
// Poseidon2 2-to-1 compression (Merkle levels, leaf hashes) and the
// Merkle–Damgård message hash (signed messages). The batch circuit for every
// transaction kind is the next step (see docs/architecture.md).
package circuits
