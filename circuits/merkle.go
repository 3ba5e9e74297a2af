package circuits

import "github.com/consensys/gnark/frontend"

// PathUpdate is the circuit twin of smt.Tree.Update's witness: the leaf at
// Index moves from Old to New along one path with shared Siblings
// (bottom-up). Index is decomposed into exactly depth boolean bits, so the
// path is bound to the index (no bit of 2, no index that disagrees with its
// path), and both roots are computed with the same siblings.
func PathUpdate(api frontend.API, h *Hasher, index frontend.Variable, siblings []frontend.Variable, oldLeaf, newLeaf frontend.Variable) (oldRoot, newRoot frontend.Variable) {
	bits := Bits(api, index, len(siblings))
	oldRoot, newRoot = oldLeaf, newLeaf
	for i, sib := range siblings {
		oldRoot = level(api, h, bits[i], oldRoot, sib)
		newRoot = level(api, h, bits[i], newRoot, sib)
	}
	return oldRoot, newRoot
}

// PathRoot is a read: the root of leaf at index with the given siblings.
func PathRoot(api frontend.API, h *Hasher, index frontend.Variable, siblings []frontend.Variable, leaf frontend.Variable) frontend.Variable {
	bits := Bits(api, index, len(siblings))
	root := leaf
	for i, sib := range siblings {
		root = level(api, h, bits[i], root, sib)
	}
	return root
}

// level hashes cur with its sibling: bit 0 means cur is the left child.
// left = cur + bit·(sib − cur) costs one constraint; right is then linear.
func level(api frontend.API, h *Hasher, bit, cur, sib frontend.Variable) frontend.Variable {
	left := api.Add(cur, api.Mul(bit, api.Sub(sib, cur)))
	right := api.Sub(api.Add(cur, sib), left)
	return h.Compress(left, right)
}
