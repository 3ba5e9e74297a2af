// Package smt implements a fixed-depth sparse binary Merkle tree over the
// BN254 scalar field, hashed with Poseidon2 (types.Compress), stored in any
// key/value store that satisfies [Reader] / [Writer].
//
// # Shape
//
// A [Tree] of depth d has leaves indexed 0..2^d-1. Level 0 holds the leaves,
// level d holds the root (a single node, index 0). For every level h < d:
//
//	node(h+1, i) = types.Compress(node(h, 2i), node(h, 2i+1))
//
// A node that was never written (or was reset) has the value Zero(h), where
// Zero(0) is the tree's zero leaf and Zero(h+1) = Compress(Zero(h), Zero(h)).
// The zero hashes are precomputed once per (depth, zeroLeaf) and shared by all
// trees through a package-level cache, so New is cheap: a rollup creates one
// Tree value per account subtree access.
//
// # Storage layout and invariants
//
//   - key(level, index) = namespace ‖ byte(level) ‖ uint64 big-endian(index).
//     Different trees in one KV store must use namespaces none of which is a
//     prefix of another's keys (e.g. fixed-length namespaces).
//   - value = fr.Element.Marshal(): 32 bytes, canonical, big-endian. Anything
//     else read back is reported as ErrCorruptNode (never a panic).
//   - A node whose value equals Zero(level) is deleted, never stored. An empty
//     tree therefore has no keys at all, and a tree whose leaves are all reset
//     to the zero leaf returns to having no keys.
//   - The root is the node (depth, 0); an absent root means EmptyRoot().
//   - Every stored node is consistent with its children: Update rewrites the
//     whole leaf-to-root path in the caller's write transaction, so the
//     atomicity of a tree update is the atomicity of the caller's Writer
//     (state/store commits one batch as one Badger transaction).
//
// # Usage
//
//	t := smt.New([]byte("acct/"), 24, zeroLeaf)
//	proof, err := t.Update(txn, idx, leaf) // proof of the OLD leaf
//	root, err := t.Root(txn)
//	p, err := t.Prove(snapshot, idx)
//	ok := p.Verify(root)
//
// Update costs depth sibling reads, one read of the old leaf, depth+1 writes
// and depth hashes; it never reads a node it has just written. The Writer must
// not retain the key or value slices passed to Set/Delete after the call
// returns (state/store copies them); the tree reuses its buffers.
package smt
