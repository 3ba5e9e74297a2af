package circuits

import "github.com/consensys/gnark/frontend"

// The Merkle gadgets are the circuit twins of state/smt: 4-ary trees hashed
// with Compress4 (docs/protocol.md §3). A tree of depth d (bits) has
// ceil(d/2) levels; level l takes index bits 2l and 2l+1 as the child's
// position (the second bit is 0 above an odd depth). Siblings are flat,
// bottom-up, three per level: the other children of the node in ascending
// position order.

// PathUpdate is the circuit twin of smt.Tree.Update's witness: the leaf at
// Index moves from Old to New along one path with shared Siblings. Index is
// decomposed into exactly depth boolean bits, so the path is bound to the
// index (no bit of 2, no index that disagrees with its path, none of depth or
// more bits), and both roots are computed with the same siblings and
// selectors.
func PathUpdate(api frontend.API, h *Hasher, index frontend.Variable, depth int, siblings []frontend.Variable, oldLeaf, newLeaf frontend.Variable) (oldRoot, newRoot frontend.Variable) {
	sels := selectors(api, index, depth, len(siblings))
	oldRoot, newRoot = oldLeaf, newLeaf
	for l, s := range sels {
		sib := siblings[3*l : 3*l+3]
		shared := s.shared(api, sib)
		oldRoot = s.level(api, h, shared, sib, oldRoot)
		newRoot = s.level(api, h, shared, sib, newRoot)
	}
	return oldRoot, newRoot
}

// PathRoot is a read: the root of leaf at index with the given siblings.
func PathRoot(api frontend.API, h *Hasher, index frontend.Variable, depth int, siblings []frontend.Variable, leaf frontend.Variable) frontend.Variable {
	sels := selectors(api, index, depth, len(siblings))
	root := leaf
	for l, s := range sels {
		sib := siblings[3*l : 3*l+3]
		root = s.level(api, h, s.shared(api, sib), sib, root)
	}
	return root
}

// levelSel holds the one-hot position selectors e0..e3 of one level, linear
// in the two bits and their product.
type levelSel struct{ e0, e1, e2, e3 frontend.Variable }

// selectors decomposes index into depth bits and returns one levelSel per
// level (len(siblings)/3 levels, which must be ceil(depth/2)).
func selectors(api frontend.API, index frontend.Variable, depth, nSiblings int) []levelSel {
	levels := (depth + 1) / 2
	if nSiblings != 3*levels {
		panic("circuits: path of the wrong length for its depth")
	}
	bits := Bits(api, index, depth)
	out := make([]levelSel, levels)
	for l := range out {
		b0 := bits[2*l]
		var b1 frontend.Variable = 0
		if 2*l+1 < depth {
			b1 = bits[2*l+1]
		}
		b01 := api.Mul(b0, b1)
		out[l] = levelSel{
			e0: api.Add(api.Sub(1, api.Add(b0, b1)), b01),
			e1: api.Sub(b0, b01),
			e2: api.Sub(b1, b01),
			e3: b01,
		}
	}
	return out
}

// shared are the products of a level that do not depend on the running node,
// computed once for the old and the new path.
type sharedTerms struct{ t1, t2 frontend.Variable }

func (s levelSel) shared(api frontend.API, sib []frontend.Variable) sharedTerms {
	return sharedTerms{
		t1: api.Mul(s.e0, api.Sub(sib[0], sib[1])),
		t2: api.Mul(s.e3, api.Sub(sib[2], sib[1])),
	}
}

// level places cur at its position among the siblings and compresses:
// position 0 [cur s0 s1 s2], 1 [s0 cur s1 s2], 2 [s0 s1 cur s2], 3 [s0 s1 s2 cur].
func (s levelSel) level(api frontend.API, h *Hasher, sh sharedTerms, sib []frontend.Variable, cur frontend.Variable) frontend.Variable {
	x0 := api.Add(sib[0], api.Mul(s.e0, api.Sub(cur, sib[0])))
	x1 := api.Add(sib[1], sh.t1, api.Mul(s.e1, api.Sub(cur, sib[1])))
	x2 := api.Add(sib[1], sh.t2, api.Mul(s.e2, api.Sub(cur, sib[1])))
	x3 := api.Add(sib[2], api.Mul(s.e3, api.Sub(cur, sib[2])))
	return h.Compress4(x0, x1, x2, x3)
}
