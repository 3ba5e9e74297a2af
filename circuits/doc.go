// Package circuits holds the gnark gadgets of the Modex batch circuit, each
// beside its native twin in package types or state (docs/protocol.md), and
// tests that run both on the same inputs.
//
// The hashing gadgets every other gadget is built from are the Poseidon2
// 4-to-1 compression (4-ary Merkle levels, leaf hashes), the 2-to-1
// compression and the Merkle–Damgård message hash (signed messages, pubdata,
// public input). On them sit the leaf and path gadgets, one gadget per
// transaction kind and the batch circuit of each family (docs/circuit.md).
package circuits
