// Package smt implements a fixed-depth sparse 4-ary Merkle tree over the
// BN254 scalar field, hashed with the width-4 Poseidon2 compression
// (types.Compress4), stored in any key/value store that satisfies [Reader] /
// [Writer] (docs/protocol.md §3).
//
// # Shape
//
// A [Tree] of depth d (in bits) has leaves indexed 0..2^d-1 and Levels(d) =
// ceil(d/2) levels above them. Level 0 holds the leaves, level Levels(d)
// holds the root (a single node, index 0). For every level h:
//
//	node(h+1, i) = types.Compress4(node(h, 4i), node(h, 4i+1), node(h, 4i+2), node(h, 4i+3))
//
// The node at level h on the path of leaf index sits at position
// (index >> 2h) & 3 among its siblings. When d is odd the root's children 2
// and 3 are subtrees no index reaches: they stay Zero(Levels(d)-1).
//
// A node that was never written (or was reset) has the value Zero(h), where
// Zero(0) is the tree's zero leaf and Zero(h+1) = Compress4 of four Zero(h).
// The zero hashes are precomputed once per (depth, zeroLeaf) and shared by all
// trees through a package-level cache, so New is cheap: a rollup creates one
// Tree value per account subtree access.
//
// A [Proof] carries three siblings per level, bottom-up, each level's in
// ascending position order (SiblingCount(d) = 3·Levels(d)); Verify takes the
// depth, so a proof of another length or an index of d bits or more fails.
// The range check is load-bearing: the fold reads only 2·Levels(d) index
// bits, and at an odd depth a path into the empty children 2 or 3 of the
// root (index bit d set) folds to the true root. Depths 2k-1 and 2k have the
// same shape, so they differ only in the indices Verify admits.
//
// # Storage layout and invariants
//
//   - key(level, index) = namespace ‖ byte(level) ‖ uint64 big-endian(index),
//     the layout of the binary tree, where level is now the 4-ary level
//     (0..Levels(d)) and index the node's index within it: the node of leaf
//     j's path at level h is (h, j >> 2h). At an odd depth, level Levels(d)-1
//     holds indices 0 and 1 only.
//     Different trees in one KV store must use namespaces none of which is a
//     prefix of another's keys (e.g. fixed-length namespaces).
//   - value = fr.Element.Marshal(): 32 bytes, canonical, big-endian. Anything
//     else read back is reported as ErrCorruptNode (never a panic).
//   - A node whose value equals Zero(level) is deleted, never stored. An empty
//     tree therefore has no keys at all, and a tree whose leaves are all reset
//     to the zero leaf returns to having no keys.
//   - The root is the node (Levels(depth), 0); an absent root means EmptyRoot().
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
//	ok := p.Verify(root, 24)
//
// Update costs 3·Levels(depth) sibling reads, one read of the old leaf,
// Levels(depth)+1 writes and Levels(depth) Compress4 hashes; it never reads a
// node it has just written. The Writer must
// not retain the key or value slices passed to Set/Delete after the call
// returns (state/store copies them); the tree reuses its buffers.
package smt
