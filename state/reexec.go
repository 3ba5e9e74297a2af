package state

import (
	"bytes"
	"errors"
	"fmt"
)

// ErrReexecMismatch: re-executing a sealed batch over the state before it did
// not reproduce its stored header or pubdata (a corrupted or inconsistent
// store). The sequencer's pipeline halts on it.
var ErrReexecMismatch = errors.New("state: re-executed batch differs from the sealed batch")

// overlay is an in-memory write layer over a read-only snapshot.
type overlay struct {
	base readOnly
	w    map[string][]byte // nil value: deleted
}

func (o *overlay) Get(k []byte) ([]byte, error) {
	if v, ok := o.w[string(k)]; ok {
		if v == nil {
			return nil, nil
		}
		return v, nil
	}
	return o.base.Get(k)
}

func (o *overlay) Set(k, v []byte) error {
	o.w[string(k)] = bytes.Clone(v)
	return nil
}

func (o *overlay) Delete(k []byte) error {
	o.w[string(k)] = nil
	return nil
}

// Reexecute re-runs sealed batch n over the state as of batch n−1, in memory
// (nothing is written), and returns it with its witnesses, as Seal did. The
// result must reproduce the stored header and pubdata exactly, else
// ErrReexecMismatch. It needs version n−1 to be readable (store.Options.KeepBatches
// before the finalized batch). The prover pipeline uses it so that a batch
// sealed before a restart can still be proven, and as the root check between
// the sealed and the witness stage.
func (db *DB) Reexecute(n uint64) (*SealedBatch, error) {
	if n == 0 || n > db.Head() {
		return nil, fmt.Errorf("%w: %d", ErrUnknownBatch, n)
	}
	want, err := db.Header(n)
	if err != nil {
		return nil, err
	}
	wantPub, err := db.Pubdata(n)
	if err != nil {
		return nil, err
	}
	txs, err := db.Txs(n)
	if err != nil {
		return nil, err
	}
	snap, err := db.store.View(n - 1)
	if err != nil {
		return nil, fmt.Errorf("state before batch %d: %w", n, err)
	}
	defer snap.Discard()
	st, err := New(db.p, db.domain, &overlay{base: readOnly{snap}, w: map[string][]byte{}})
	if err != nil {
		return nil, err
	}
	st.SetTimestamp(want.Timestamp)
	prev := EmptyRoot(db.p)
	if n > 1 {
		if prev, err = st.Root(); err != nil {
			return nil, err
		}
	}
	first, err := st.NextPriority()
	if err != nil {
		return nil, err
	}
	b := &Batch{db: db, st: st, header: Header{Number: n, Timestamp: want.Timestamp, PrevRoot: prev, FirstPriority: first}}
	for i, tx := range txs {
		if _, err := b.Add(tx); err != nil {
			return nil, fmt.Errorf("%w: batch %d tx %d: %w", ErrReexecMismatch, n, i, err)
		}
	}
	sb, err := b.finish()
	if err != nil {
		return nil, err
	}
	if sb.Header != *want {
		return nil, fmt.Errorf("%w: batch %d header (root %s, stored %s)", ErrReexecMismatch, n, sb.Header.NewRoot.Text(16), want.NewRoot.Text(16))
	}
	if !bytes.Equal(sb.Pubdata, wantPub) {
		return nil, fmt.Errorf("%w: batch %d pubdata", ErrReexecMismatch, n)
	}
	return sb, nil
}
