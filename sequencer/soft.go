package sequencer

import (
	"bytes"

	"github.com/modex/modex/state"
	"github.com/modex/modex/state/store"
)

// softKV is the sequencer's soft state (docs/node.md §1): the committed
// state (a snapshot of the state store's head, the last batch the tree
// stage hashed) under the writes of the batches sealed since, and above
// them the open batch's writes. It implements smt.Writer for soft batches
// (state.NewSoftBatch), which write leaf preimages and tree leaves only.
// The loop owns it.
type softKV struct {
	db     *state.DB
	snap   *store.Snapshot
	base   uint64              // the committed batch snap reads
	open   map[string]softVal  // the open batch's writes
	sealed map[string]softVal  // sealed batches' writes after base; batch = last writer
	keys   map[uint64][]string // keys each sealed batch wrote
}

type softVal struct {
	v     []byte
	del   bool
	batch uint64
}

func newSoftKV(db *state.DB) (*softKV, error) {
	h := db.Head()
	snap, err := db.Store().View(h)
	if err != nil {
		return nil, err
	}
	return &softKV{db: db, snap: snap, base: h, open: map[string]softVal{},
		sealed: map[string]softVal{}, keys: map[uint64][]string{}}, nil
}

func (k *softKV) Get(key []byte) ([]byte, error) {
	if v, ok := k.open[string(key)]; ok {
		if v.del {
			return nil, nil
		}
		return v.v, nil
	}
	if v, ok := k.sealed[string(key)]; ok {
		if v.del {
			return nil, nil
		}
		return v.v, nil
	}
	return k.snap.Get(key)
}

func (k *softKV) Set(key, value []byte) error {
	k.open[string(key)] = softVal{v: bytes.Clone(value)}
	return nil
}

func (k *softKV) Delete(key []byte) error {
	k.open[string(key)] = softVal{del: true}
	return nil
}

// discardOpen drops the open batch's writes.
func (k *softKV) discardOpen() { clear(k.open) }

// sealOpen makes the open batch's writes those of sealed batch n.
func (k *softKV) sealOpen(n uint64) {
	ks := make([]string, 0, len(k.open))
	for key, v := range k.open {
		v.batch = n
		k.sealed[key] = v
		ks = append(ks, key)
	}
	k.keys[n] = ks
	clear(k.open)
}

// advance moves the base to committed batch n: the store now holds every
// write of the batches up to n, so those that no later batch overwrote
// leave the overlay.
func (k *softKV) advance(n uint64) error {
	if n <= k.base {
		return nil
	}
	snap, err := k.db.Store().View(n)
	if err != nil {
		return err
	}
	k.snap.Discard()
	k.snap = snap
	for b := k.base + 1; b <= n; b++ {
		for _, key := range k.keys[b] {
			if v, ok := k.sealed[key]; ok && v.batch == b {
				delete(k.sealed, key)
			}
		}
		delete(k.keys, b)
	}
	k.base = n
	return nil
}

func (k *softKV) close() {
	if k.snap != nil {
		k.snap.Discard()
		k.snap = nil
	}
}
