package smt

import (
	"encoding/binary"
	"fmt"
	"sync"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/modex/modex/types"
)

// Reader reads raw node values. Get returns (nil, nil) when the key is absent.
type Reader interface {
	Get(key []byte) ([]byte, error)
}

// Writer is a Reader that can also write. Implementations must not retain
// key or value after Set/Delete returns.
type Writer interface {
	Reader
	Set(key, value []byte) error
	Delete(key []byte) error
}

// MaxDepth is the largest supported tree depth.
const MaxDepth = 64

// Levels is the number of 4-ary levels of a tree of depth bits: ceil(depth/2).
func Levels(depth int) int { return (depth + 1) / 2 }

// SiblingCount is the length of a proof's Siblings for a tree of depth bits:
// three per level.
func SiblingCount(depth int) int { return 3 * Levels(depth) }

// Tree is a fixed-depth 4-ary Merkle tree, leaves indexed 0..2^depth-1 (depth
// in bits). Level 0 = leaves, level Levels(depth) = root. A Tree value holds no state besides
// its parameters; all nodes live in the Reader/Writer passed to each call, so
// a Tree is safe for concurrent use.
type Tree struct {
	ns    []byte
	depth int
	top   int          // Levels(depth): the root's level
	zero  []fr.Element // zero[h] = Zero(h), h = 0..top
}

type zeroKey struct {
	depth int
	leaf  fr.Element
}

// zeroCache maps zeroKey -> []fr.Element (read-only once stored).
var zeroCache sync.Map

func zeroHashes(depth int, zeroLeaf fr.Element) []fr.Element {
	k := zeroKey{depth, zeroLeaf}
	if v, ok := zeroCache.Load(k); ok {
		return v.([]fr.Element)
	}
	levels := Levels(depth)
	z := make([]fr.Element, levels+1)
	z[0] = zeroLeaf
	for h := 0; h < levels; h++ {
		z[h+1] = types.Compress4(z[h], z[h], z[h], z[h])
	}
	v, _ := zeroCache.LoadOrStore(k, z)
	return v.([]fr.Element)
}

// New returns a tree of the given depth (1..64) whose absent leaves equal
// zeroLeaf, storing its nodes under namespace. It panics on an invalid depth
// (a programming error). The namespace is copied.
func New(namespace []byte, depth int, zeroLeaf fr.Element) *Tree {
	if depth < 1 || depth > MaxDepth {
		panic(fmt.Sprintf("smt: depth %d out of range 1..%d", depth, MaxDepth))
	}
	return &Tree{
		ns:    append([]byte(nil), namespace...),
		depth: depth,
		top:   Levels(depth),
		zero:  zeroHashes(depth, zeroLeaf),
	}
}

// Depth returns the tree's depth in bits (leaves are indexed below 2^Depth).
func (t *Tree) Depth() int { return t.depth }

// Namespace returns the key prefix of the tree's nodes (do not modify).
func (t *Tree) Namespace() []byte { return t.ns }

// Zero returns the value of an absent node at level h (0..Levels(Depth())).
func (t *Tree) Zero(h int) fr.Element { return t.zero[h] }

// EmptyRoot returns the root of a tree with no leaf set: Zero(Levels(Depth())).
func (t *Tree) EmptyRoot() fr.Element { return t.zero[t.top] }

func (t *Tree) checkIndex(index uint64) error {
	if t.depth < 64 && index>>uint(t.depth) != 0 {
		return fmt.Errorf("%w: %d >= 2^%d", ErrIndexOutOfRange, index, t.depth)
	}
	return nil
}

// newKey returns a key buffer sized for this tree's node keys.
func (t *Tree) newKey() []byte {
	k := make([]byte, len(t.ns)+9)
	copy(k, t.ns)
	return k
}

// setKey fills key(level, index) into buf (from newKey).
func (t *Tree) setKey(buf []byte, level int, index uint64) {
	n := len(t.ns)
	buf[n] = byte(level)
	binary.BigEndian.PutUint64(buf[n+1:], index)
}

// NodeKey returns the storage key of node (level, index).
func (t *Tree) NodeKey(level int, index uint64) []byte {
	k := t.newKey()
	t.setKey(k, level, index)
	return k
}

// get reads node (level, index) using key buffer buf.
func (t *Tree) get(r Reader, buf []byte, level int, index uint64) (fr.Element, error) {
	t.setKey(buf, level, index)
	v, err := r.Get(buf)
	if err != nil {
		return fr.Element{}, fmt.Errorf("smt: read node (%d,%d): %w", level, index, err)
	}
	if v == nil {
		return t.zero[level], nil
	}
	var e fr.Element
	if err := e.SetBytesCanonical(v); err != nil {
		return fr.Element{}, fmt.Errorf("%w: node (%d,%d) under %x: %v", ErrCorruptNode, level, index, t.ns, err)
	}
	return e, nil
}

// put writes node (level, index), deleting it when it equals Zero(level).
func (t *Tree) put(w Writer, buf []byte, val *[fr.Bytes]byte, level int, index uint64, e *fr.Element) error {
	t.setKey(buf, level, index)
	var err error
	if e.Equal(&t.zero[level]) {
		err = w.Delete(buf)
	} else {
		*val = e.Bytes()
		err = w.Set(buf, val[:])
	}
	if err != nil {
		return fmt.Errorf("smt: write node (%d,%d): %w", level, index, err)
	}
	return nil
}

// Root returns the current root.
func (t *Tree) Root(r Reader) (fr.Element, error) {
	return t.get(r, t.newKey(), t.top, 0)
}

// Leaf returns the value of leaf index.
func (t *Tree) Leaf(r Reader, index uint64) (fr.Element, error) {
	if err := t.checkIndex(index); err != nil {
		return fr.Element{}, err
	}
	return t.get(r, t.newKey(), 0, index)
}

// Prove returns the Merkle proof of leaf index.
func (t *Tree) Prove(r Reader, index uint64) (Proof, error) {
	if err := t.checkIndex(index); err != nil {
		return Proof{}, err
	}
	return t.prove(r, t.newKey(), index)
}

func (t *Tree) prove(r Reader, buf []byte, index uint64) (Proof, error) {
	p := Proof{Index: index, Siblings: make([]fr.Element, 3*t.top)}
	var err error
	if p.Leaf, err = t.get(r, buf, 0, index); err != nil {
		return Proof{}, err
	}
	for h, i := 0, index; h < t.top; h, i = h+1, i>>2 {
		k := 0
		for c := uint64(0); c < 4; c++ {
			if c == i&3 {
				continue
			}
			if p.Siblings[3*h+k], err = t.get(r, buf, h, i&^3|c); err != nil {
				return Proof{}, err
			}
			k++
		}
	}
	return p, nil
}

// Update sets leaf index to leaf and rewrites the path to the root (one
// Compress4 per level, no full rehash). It returns the proof of the OLD leaf; its
// Siblings are also the siblings of the new path, so
// Proof{Index, leaf, Siblings}.ComputeRoot() is the new root. When the leaf
// is unchanged nothing is written. On error the Writer may hold a partially
// rewritten path: discard the enclosing transaction.
func (t *Tree) Update(w Writer, index uint64, leaf fr.Element) (Proof, error) {
	if err := t.checkIndex(index); err != nil {
		return Proof{}, err
	}
	buf := t.newKey()
	p, err := t.prove(w, buf, index)
	if err != nil {
		return Proof{}, err
	}
	if p.Leaf.Equal(&leaf) {
		return p, nil
	}
	var val [fr.Bytes]byte
	cur := leaf
	i := index
	for h := 0; h < t.top; h++ {
		if err := t.put(w, buf, &val, h, i, &cur); err != nil {
			return Proof{}, err
		}
		cur = hashLevel(int(i&3), cur, p.Siblings[3*h:3*h+3])
		i >>= 2
	}
	if err := t.put(w, buf, &val, t.top, 0, &cur); err != nil {
		return Proof{}, err
	}
	return p, nil
}

// SetLeaf writes leaf index and nothing above it: the flat state of the
// sequencer's soft execution (state.NewSoftBatch), whose tree is hashed
// later by a full Update of the same leaf. The tree's root is then stale
// until that Update; Root and Prove must not be used over such a Writer.
func (t *Tree) SetLeaf(w Writer, index uint64, leaf fr.Element) error {
	if err := t.checkIndex(index); err != nil {
		return err
	}
	var val [fr.Bytes]byte
	return t.put(w, t.newKey(), &val, 0, index, &leaf)
}

// Proof is a Merkle inclusion proof of Leaf at Index.
type Proof struct {
	Index    uint64
	Leaf     fr.Element
	Siblings []fr.Element // bottom-up, three per level: the node's other children in ascending position; len == SiblingCount(depth)
}

// hashLevel places cur at position pos (0..3) among the three siblings and
// compresses the four children.
func hashLevel(pos int, cur fr.Element, sib []fr.Element) fr.Element {
	switch pos {
	case 0:
		return types.Compress4(cur, sib[0], sib[1], sib[2])
	case 1:
		return types.Compress4(sib[0], cur, sib[1], sib[2])
	case 2:
		return types.Compress4(sib[0], sib[1], cur, sib[2])
	default:
		return types.Compress4(sib[0], sib[1], sib[2], cur)
	}
}

// ComputeRoot folds Leaf with Siblings: bits 2h and 2h+1 of Index give the
// position of the running node among its siblings at level h.
func (p Proof) ComputeRoot() fr.Element {
	cur := p.Leaf
	for h := 0; h+3 <= len(p.Siblings); h += 3 {
		cur = hashLevel(int(p.Index>>uint(2*h/3))&3, cur, p.Siblings[h:h+3])
	}
	return cur
}

// Verify reports whether the proof leads to root in a tree of depth bits. A
// proof whose Index does not fit in depth bits, or whose length is not
// SiblingCount(depth), is rejected.
func (p Proof) Verify(root fr.Element, depth int) bool {
	if depth < 1 || depth > MaxDepth || len(p.Siblings) != SiblingCount(depth) || (depth < 64 && p.Index>>uint(depth) != 0) {
		return false
	}
	r := p.ComputeRoot()
	return r.Equal(&root)
}
