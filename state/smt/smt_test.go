package smt_test

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/modex/modex/state/smt"
	"github.com/modex/modex/types"
)

// memKV is an in-memory Writer (test fake for the KV store).
type memKV map[string][]byte

func (m memKV) Get(k []byte) ([]byte, error) {
	v, ok := m[string(k)]
	if !ok {
		return nil, nil
	}
	return append([]byte{}, v...), nil
}
func (m memKV) Set(k, v []byte) error  { m[string(k)] = append([]byte(nil), v...); return nil }
func (m memKV) Delete(k []byte) error  { delete(m, string(k)); return nil }
func elem(x uint64) (e fr.Element)     { e.SetUint64(x); return e }
func randElem(r *rand.Rand) fr.Element { return elem(r.Uint64()) }

// naive is a full in-memory 4-ary tree recomputed from scratch: 2^depth
// leaves padded with the zero leaf to 4^levels, so an odd depth's top node
// has empty subtrees as children 2 and 3.
type naive struct {
	depth  int
	levels int
	leaves []fr.Element
}

func newNaive(depth int, zero fr.Element) *naive {
	levels := (depth + 1) / 2
	n := &naive{depth: depth, levels: levels, leaves: make([]fr.Element, 1<<(2*levels))}
	for i := range n.leaves {
		n.leaves[i] = zero
	}
	return n
}

// tree returns all levels, lv[0] = leaves, lv[levels] = [root].
func (n *naive) tree() [][]fr.Element {
	lv := [][]fr.Element{append([]fr.Element(nil), n.leaves...)}
	for h := 0; h < n.levels; h++ {
		prev := lv[h]
		next := make([]fr.Element, len(prev)/4)
		for i := range next {
			next[i] = types.Compress4(prev[4*i], prev[4*i+1], prev[4*i+2], prev[4*i+3])
		}
		lv = append(lv, next)
	}
	return lv
}

func (n *naive) root(lv [][]fr.Element) fr.Element { return lv[n.levels][0] }

func (n *naive) proof(lv [][]fr.Element, index uint64) smt.Proof {
	p := smt.Proof{Index: index, Leaf: lv[0][index]}
	for h := 0; h < n.levels; h++ {
		i := index >> (2 * h)
		for c := uint64(0); c < 4; c++ {
			if c != i&3 {
				p.Siblings = append(p.Siblings, lv[h][i&^3|c])
			}
		}
	}
	return p
}

func TestAgainstNaive(t *testing.T) {
	zeroLeaves := map[string]fr.Element{"zero0": elem(0), "zero42": elem(42)}
	for depth := 1; depth <= 8; depth++ {
		for zname, zero := range zeroLeaves {
			t.Run(zname+"/depth"+string(rune('0'+depth)), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(uint64(depth), zero.Uint64()))
				kv := memKV{}
				tr := smt.New([]byte("ns"), depth, zero)
				ref := newNaive(depth, zero)
				if r, _ := tr.Root(kv); r != ref.root(ref.tree()) || r != tr.EmptyRoot() {
					t.Fatal("empty root mismatch")
				}
				max := uint64(1)<<depth - 1
				steps := 40 + 2*(1<<depth)
				oldLv := ref.tree()
				for step := 0; step < steps; step++ {
					var idx uint64
					switch step % 5 {
					case 0:
						idx = 0
					case 1:
						idx = max
					default:
						idx = rng.Uint64N(max + 1)
					}
					leaf := randElem(rng)
					if rng.IntN(3) == 0 {
						leaf = zero // set back to the zero leaf
					}
					oldRoot := ref.root(oldLv)
					p, err := tr.Update(kv, idx, leaf)
					if err != nil {
						t.Fatal(err)
					}
					ref.leaves[idx] = leaf
					lv := ref.tree()
					want := ref.proof(oldLv, idx)
					if p.Index != idx || p.Leaf != want.Leaf || !equalSibs(p.Siblings, want.Siblings) {
						t.Fatalf("step %d: returned proof differs from naive old proof", step)
					}
					if !p.Verify(oldRoot, depth) {
						t.Fatalf("step %d: update proof does not verify against old root", step)
					}
					np := p
					np.Leaf = leaf
					if !np.Verify(ref.root(lv), depth) {
						t.Fatalf("step %d: update proof with new leaf does not give new root", step)
					}
					checkTree(t, tr, kv, ref, lv, step%16 == 0 || step == steps-1)
					oldLv = lv
				}
				// Reset every leaf: the store must return to no keys at all.
				for i := 0; i < 1<<depth; i++ {
					if _, err := tr.Update(kv, uint64(i), zero); err != nil {
						t.Fatal(err)
					}
				}
				if len(kv) != 0 {
					t.Fatalf("emptied tree still has %d keys", len(kv))
				}
			})
		}
	}
}

func equalSibs(a, b []fr.Element) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// checkTree compares every stored node, root, leaf and proof with the naive tree.
func checkTree(t *testing.T, tr *smt.Tree, kv memKV, ref *naive, lv [][]fr.Element, proofs bool) {
	t.Helper()
	root, err := tr.Root(kv)
	if err != nil || root != ref.root(lv) {
		t.Fatalf("root mismatch (err %v)", err)
	}
	stored := 0
	for h := 0; h <= ref.levels; h++ {
		for i := range lv[h] {
			v, _ := kv.Get(tr.NodeKey(h, uint64(i)))
			if lv[h][i] == tr.Zero(h) {
				if v != nil {
					t.Fatalf("zero node (%d,%d) is stored", h, i)
				}
				continue
			}
			stored++
			b := lv[h][i].Bytes()
			if !bytes.Equal(v, b[:]) {
				t.Fatalf("node (%d,%d) stored %x want %x", h, i, v, b)
			}
		}
	}
	if stored != len(kv) {
		t.Fatalf("%d stray keys", len(kv)-stored)
	}
	if !proofs {
		return
	}
	for i := 0; i < 1<<ref.depth; i++ {
		l, err := tr.Leaf(kv, uint64(i))
		if err != nil || l != ref.leaves[i] {
			t.Fatalf("leaf %d mismatch", i)
		}
		p, err := tr.Prove(kv, uint64(i))
		if err != nil || !p.Verify(root, ref.depth) {
			t.Fatalf("proof of %d does not verify", i)
		}
	}
}

func TestProofTamper(t *testing.T) {
	for _, depth := range []int{6, 7} {
		t.Run(fmt.Sprint("depth", depth), func(t *testing.T) { proofTamper(t, depth) })
	}
}

// proofTamper: on a full tree (every sibling distinct), every change to a
// proof of leaf 13 makes Verify false.
func proofTamper(t *testing.T, depth int) {
	rng := rand.New(rand.NewPCG(1, uint64(depth)))
	kv := memKV{}
	tr := smt.New([]byte("p/"), depth, fr.Element{})
	for i := uint64(0); i < 1<<depth; i++ {
		if _, err := tr.Update(kv, i, randElem(rng)); err != nil {
			t.Fatal(err)
		}
	}
	root, _ := tr.Root(kv)
	idx := uint64(13) // position 1 at level 0, 3 at level 1
	base, err := tr.Prove(kv, idx)
	if err != nil || !base.Verify(root, depth) {
		t.Fatal("base proof must verify")
	}
	n := len(base.Siblings)
	if n != smt.SiblingCount(depth) {
		t.Fatalf("%d siblings at depth %d", n, depth)
	}
	clone := func() smt.Proof {
		p := base
		p.Siblings = append([]fr.Element(nil), base.Siblings...)
		return p
	}
	tests := []struct {
		name   string
		tamper func(p *smt.Proof)
		depth  int
	}{
		{"wrong bottom sibling", func(p *smt.Proof) { p.Siblings[1] = elem(7) }, depth},
		{"wrong top sibling", func(p *smt.Proof) { one := elem(1); p.Siblings[n-3].Add(&p.Siblings[n-3], &one) }, depth},
		{"wrong last top sibling (an empty subtree at odd depth)", func(p *smt.Proof) { p.Siblings[n-1] = elem(7) }, depth},
		{"swapped bottom siblings", func(p *smt.Proof) { p.Siblings[0], p.Siblings[1] = p.Siblings[1], p.Siblings[0] }, depth},
		{"swapped siblings of level 1", func(p *smt.Proof) { p.Siblings[4], p.Siblings[5] = p.Siblings[5], p.Siblings[4] }, depth},
		{"swapped top siblings", func(p *smt.Proof) { p.Siblings[n-3], p.Siblings[n-2] = p.Siblings[n-2], p.Siblings[n-3] }, depth},
		{"wrong index, bit 0", func(p *smt.Proof) { p.Index ^= 1 }, depth},
		{"wrong index, bit 1", func(p *smt.Proof) { p.Index ^= 2 }, depth},
		{"wrong index, bit 3", func(p *smt.Proof) { p.Index ^= 8 }, depth},
		{"index out of range", func(p *smt.Proof) { p.Index |= 1 << depth }, depth},
		// bit 2·Levels is above every level's position: the fold ignores it,
		// only Verify's range check rejects it (at an odd depth too)
		{"index out of range, above the fold", func(p *smt.Proof) { p.Index |= 1 << (2 * smt.Levels(depth)) }, depth},
		{"index 2^64-1", func(p *smt.Proof) { p.Index = ^uint64(0) }, depth},
		{"wrong leaf", func(p *smt.Proof) { p.Leaf = elem(12345) }, depth},
		{"missing sibling", func(p *smt.Proof) { p.Siblings = p.Siblings[:n-1] }, depth},
		{"missing level", func(p *smt.Proof) { p.Siblings = p.Siblings[:n-3] }, depth},
		{"extra sibling", func(p *smt.Proof) { p.Siblings = append(p.Siblings, elem(0)) }, depth},
		{"another depth", func(p *smt.Proof) {}, depth + 2},
		{"one level less", func(p *smt.Proof) {}, depth - 2},
		{"depth 0", func(p *smt.Proof) {}, 0},
		{"depth 65", func(p *smt.Proof) {}, 65},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := clone()
			tc.tamper(&p)
			if p.Verify(root, tc.depth) {
				t.Fatal("tampered proof verifies")
			}
		})
	}
	// An even depth and the odd depth below it have the same levels (6 and 5:
	// three), so the same proof shape: the smaller depth rejects an index that
	// does not fit in it.
	if depth%2 == 0 {
		last, err := tr.Prove(kv, 1<<depth-1)
		if err != nil || !last.Verify(root, depth) {
			t.Fatal("proof of the last leaf must verify")
		}
		if last.Verify(root, depth-1) {
			t.Fatalf("proof of leaf %d verifies at depth %d", last.Index, depth-1)
		}
	}
	// the same siblings never prove the leaf at another index: every other
	// index of the tree fails (the position bits are bound to the path)
	for j := uint64(0); j < 1<<depth; j++ {
		if j == idx {
			continue
		}
		p := clone()
		p.Index = j
		if p.Verify(root, depth) {
			t.Fatalf("proof of leaf %d verifies as leaf %d", idx, j)
		}
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name  string
		depth int
		index uint64
	}{
		{"depth1", 1, 2},
		{"depth8", 8, 256},
		{"depth24", 24, 1 << 24},
		{"depth63", 63, 1 << 63},
		{"max", 8, ^uint64(0)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			kv := memKV{}
			tr := smt.New([]byte("e"), tc.depth, fr.Element{})
			if _, err := tr.Update(kv, tc.index, elem(1)); !errors.Is(err, smt.ErrIndexOutOfRange) {
				t.Fatalf("Update: got %v", err)
			}
			if _, err := tr.Prove(kv, tc.index); !errors.Is(err, smt.ErrIndexOutOfRange) {
				t.Fatalf("Prove: got %v", err)
			}
			if _, err := tr.Leaf(kv, tc.index); !errors.Is(err, smt.ErrIndexOutOfRange) {
				t.Fatalf("Leaf: got %v", err)
			}
			if len(kv) != 0 {
				t.Fatal("failed update wrote")
			}
		})
	}
	t.Run("depth64 accepts max index", func(t *testing.T) {
		kv := memKV{}
		tr := smt.New([]byte("e"), 64, fr.Element{})
		p, err := tr.Update(kv, ^uint64(0), elem(9))
		if err != nil {
			t.Fatal(err)
		}
		root, _ := tr.Root(kv)
		p.Leaf = elem(9)
		if !p.Verify(root, 64) || len(p.Siblings) != 96 {
			t.Fatal("depth-64 proof does not verify")
		}
	})
}

func TestCorruptValue(t *testing.T) {
	var modulus [32]byte
	fr.Modulus().FillBytes(modulus[:])
	tests := []struct {
		name string
		val  []byte
	}{
		{"short", []byte{1, 2, 3}},
		{"long", make([]byte, 33)},
		{"empty", []byte{}},
		{"non-canonical", modulus[:]},
		{"all ones", bytes.Repeat([]byte{0xff}, 32)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			kv := memKV{}
			tr := smt.New([]byte("c"), 4, fr.Element{})
			if _, err := tr.Update(kv, 5, elem(3)); err != nil {
				t.Fatal(err)
			}
			kv[string(tr.NodeKey(1, 0))] = tc.val // a sibling (node 0 of level 1) of leaf 5's parent (node 1)
			kv[string(tr.NodeKey(2, 0))] = tc.val // root (depth 4: two 4-ary levels)
			if _, err := tr.Root(kv); !errors.Is(err, smt.ErrCorruptNode) {
				t.Fatalf("Root: got %v", err)
			}
			if _, err := tr.Prove(kv, 5); !errors.Is(err, smt.ErrCorruptNode) {
				t.Fatalf("Prove: got %v", err)
			}
			if _, err := tr.Update(kv, 5, elem(4)); !errors.Is(err, smt.ErrCorruptNode) {
				t.Fatalf("Update: got %v", err)
			}
		})
	}
}

type failKV struct{ memKV }

var errDisk = errors.New("disk on fire")

func (failKV) Get([]byte) ([]byte, error) { return nil, errDisk }

func TestReadErrorPropagates(t *testing.T) {
	tr := smt.New([]byte("f"), 4, fr.Element{})
	if _, err := tr.Update(failKV{memKV{}}, 1, elem(1)); !errors.Is(err, errDisk) {
		t.Fatalf("got %v", err)
	}
}

func TestZeroCacheShared(t *testing.T) {
	a := smt.New([]byte("a"), 16, elem(5))
	b := smt.New([]byte("b"), 16, elem(5))
	if a.EmptyRoot() != b.EmptyRoot() {
		t.Fatal("same params, different empty roots")
	}
	z := elem(5)
	for h := 0; h < 8; h++ { // 16 bits: eight 4-ary levels
		z = types.Compress4(z, z, z, z)
	}
	if a.EmptyRoot() != z || a.Zero(0) != elem(5) {
		t.Fatal("zero hashes wrong")
	}
	if allocs := testing.AllocsPerRun(100, func() { smt.New([]byte("x"), 16, elem(5)) }); allocs > 3 {
		t.Fatalf("New allocates %v times", allocs)
	}
}

// TestOddDepthEmptyTopChildren: at an odd depth the root's children 2 and 3
// are empty subtrees that no index reaches. A path into them folds to the true
// root (their value is Zero(top-1) and the leaf below is the zero leaf), so
// only Verify's index range check stops a proof of "leaf 2^depth is empty".
func TestOddDepthEmptyTopChildren(t *testing.T) {
	for _, depth := range []int{1, 3, 7} {
		t.Run(fmt.Sprint("depth", depth), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(5, uint64(depth)))
			zero := elem(42)
			kv := memKV{}
			tr := smt.New([]byte("o/"), depth, zero)
			ref := newNaive(depth, zero)
			for i := uint64(0); i < 1<<depth; i++ {
				leaf := randElem(rng)
				if _, err := tr.Update(kv, i, leaf); err != nil {
					t.Fatal(err)
				}
				ref.leaves[i] = leaf
			}
			lv := ref.tree()
			root, _ := tr.Root(kv)
			if root != ref.root(lv) {
				t.Fatal("root mismatch")
			}
			top := smt.Levels(depth)
			for _, pos := range []uint64{2, 3} {
				// the first leaf of top child pos: positions 0 below, pos at the top
				p := smt.Proof{Index: pos << (2 * (top - 1)), Leaf: zero}
				for h := 0; h < top-1; h++ {
					z := tr.Zero(h)
					p.Siblings = append(p.Siblings, z, z, z)
				}
				for c := 0; c < 4; c++ {
					if uint64(c) != pos {
						p.Siblings = append(p.Siblings, lv[top-1][c])
					}
				}
				if p.ComputeRoot() != root {
					t.Fatal("the forged path must fold to the root (else this test proves nothing)")
				}
				if p.Index>>depth == 0 {
					t.Fatalf("index %d fits in %d bits", p.Index, depth)
				}
				if p.Verify(root, depth) {
					t.Fatalf("proof of empty leaf %d (top child %d) verifies at depth %d", p.Index, pos, depth)
				}
			}
		})
	}
}

// TestVerifyDepthRange: Verify accepts depths 1..64 only. A proof with no
// siblings folds to its own leaf, and a 33-level proof folds to its own
// root; neither verifies at depth 0 or 65.
func TestVerifyDepthRange(t *testing.T) {
	p := smt.Proof{Leaf: elem(3)}
	if p.ComputeRoot() != elem(3) {
		t.Fatal("empty fold must be the leaf")
	}
	for _, d := range []int{-1, 0, 1, 2} {
		if p.Verify(elem(3), d) {
			t.Fatalf("proof without siblings verifies at depth %d", d)
		}
	}
	long := smt.Proof{Index: 1 << 63, Siblings: make([]fr.Element, 3*(smt.MaxDepth/2+1))}
	if long.Verify(long.ComputeRoot(), smt.MaxDepth+1) {
		t.Fatalf("%d-sibling proof verifies at depth %d", len(long.Siblings), smt.MaxDepth+1)
	}
}

// TestSetLeaf: SetLeaf writes the leaf's key and nothing above it (the root
// stays stale), deletes it when set to the zero leaf, and checks the index.
func TestSetLeaf(t *testing.T) {
	zero := elem(42)
	tr := smt.New([]byte("s/"), 5, zero)
	kv := memKV{}
	if err := tr.SetLeaf(kv, 9, elem(7)); err != nil {
		t.Fatal(err)
	}
	seven := elem(7)
	b := seven.Bytes()
	if len(kv) != 1 || !bytes.Equal(kv[string(tr.NodeKey(0, 9))], b[:]) {
		t.Fatalf("SetLeaf wrote %d keys", len(kv))
	}
	if r, _ := tr.Root(kv); r != tr.EmptyRoot() {
		t.Fatal("SetLeaf must not rewrite the path")
	}
	if l, err := tr.Leaf(kv, 9); err != nil || l != elem(7) {
		t.Fatalf("Leaf after SetLeaf: %v %v", l, err)
	}
	if err := tr.SetLeaf(kv, 9, zero); err != nil || len(kv) != 0 {
		t.Fatalf("zero leaf must be deleted (err %v, %d keys)", err, len(kv))
	}
	if err := tr.SetLeaf(kv, 32, elem(1)); !errors.Is(err, smt.ErrIndexOutOfRange) {
		t.Fatalf("SetLeaf out of range: got %v", err)
	}
}
