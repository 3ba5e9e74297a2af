package state

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/modex/modex/state/store"
	"github.com/modex/modex/types"
)

var (
	ErrBatchFull     = errors.New("state: batch is at capacity")
	ErrBatchBroken   = errors.New("state: batch had a write failure and must be discarded")
	ErrTimestamp     = errors.New("state: batch timestamp goes backwards")
	ErrUnknownBatch  = errors.New("state: no such batch")
	ErrReadOnlyState = errors.New("state: read-only view")
)

// Header is a sealed batch's public record; its commitment is the proof's
// single public input (docs/protocol.md §8).
type Header struct {
	Number        uint64
	Timestamp     uint64
	PrevRoot      fr.Element
	NewRoot       fr.Element
	FirstPriority uint64 // id of the first priority operation consumed
	PriorityCount uint32 // priority operations consumed
	PubdataHash   [32]byte
}

const headerSize = 8 + 8 + 32 + 32 + 8 + 4 + 32

// Encode is the 124-byte layout hashed by Commitment and stored.
func (h *Header) Encode() []byte {
	b := make([]byte, 0, headerSize)
	b = binary.BigEndian.AppendUint64(b, h.Number)
	b = binary.BigEndian.AppendUint64(b, h.Timestamp)
	pr, nr := h.PrevRoot.Bytes(), h.NewRoot.Bytes()
	b = append(b, pr[:]...)
	b = append(b, nr[:]...)
	b = binary.BigEndian.AppendUint64(b, h.FirstPriority)
	b = binary.BigEndian.AppendUint32(b, h.PriorityCount)
	return append(b, h.PubdataHash[:]...)
}

// DecodeHeader parses Encode's output.
func DecodeHeader(b []byte) (*Header, error) {
	if len(b) != headerSize {
		return nil, fmt.Errorf("%w: header of %d bytes", types.ErrMalformed, len(b))
	}
	h := &Header{Number: binary.BigEndian.Uint64(b[0:8]), Timestamp: binary.BigEndian.Uint64(b[8:16])}
	var err error
	if h.PrevRoot, err = types.ElemFromBytes(b[16:48]); err != nil {
		return nil, err
	}
	if h.NewRoot, err = types.ElemFromBytes(b[48:80]); err != nil {
		return nil, err
	}
	h.FirstPriority = binary.BigEndian.Uint64(b[80:88])
	h.PriorityCount = binary.BigEndian.Uint32(b[88:92])
	copy(h.PubdataHash[:], b[92:])
	return h, nil
}

// Commitment is sha256(Encode()).
func (h *Header) Commitment() [32]byte { return sha256.Sum256(h.Encode()) }

// PublicInput is the commitment with its top three bits cleared: a 253-bit
// integer, always below the BN254 scalar modulus, so the L1 contract and the
// circuit agree on it without a reduction.
func (h *Header) PublicInput() fr.Element {
	c := h.Commitment()
	c[0] &= 0x1f
	var e fr.Element
	e.SetBytes(c[:])
	return e
}

// SealedBatch is a committed batch with everything the prover and the bridge need.
type SealedBatch struct {
	Header      Header
	Pubdata     []byte
	Txs         []types.Tx
	Witnesses   []*TxWitness // one per transaction, then the fee settlement
	Withdrawals []Withdrawal
}

// DB is the rollup state database: the versioned store under the protocol's
// trees. Batch n of the rollup is version n of the store; version 0 is the
// empty genesis state.
type DB struct {
	store  *store.DB
	p      types.Params
	domain types.Domain
}

// Open opens the state database.
func Open(p types.Params, d types.Domain, opts store.Options) (*DB, error) {
	if err := p.Check(); err != nil {
		return nil, err
	}
	s, err := store.Open(opts)
	if err != nil {
		return nil, err
	}
	return &DB{store: s, p: p, domain: d}, nil
}

// Close closes the store.
func (db *DB) Close() error { return db.store.Close() }

// Store exposes the versioned store (rollback, finalization).
func (db *DB) Store() *store.DB { return db.store }

// Params returns the parameters.
func (db *DB) Params() types.Params { return db.p }

// Head is the last committed batch.
func (db *DB) Head() uint64 { return db.store.Head() }

type readOnly struct{ s *store.Snapshot }

func (r readOnly) Get(k []byte) ([]byte, error) { return r.s.Get(k) }
func (readOnly) Set(_, _ []byte) error          { return ErrReadOnlyState }
func (readOnly) Delete(_ []byte) error          { return ErrReadOnlyState }

// View opens a read-only State as of batch n; call release when done.
func (db *DB) View(n uint64) (st *State, release func(), err error) {
	snap, err := db.store.View(n)
	if err != nil {
		return nil, nil, err
	}
	st, err = New(db.p, db.domain, readOnly{snap})
	if err != nil {
		snap.Discard()
		return nil, nil, err
	}
	return st, snap.Discard, nil
}

// Root returns the state root after batch n.
func (db *DB) Root(n uint64) (fr.Element, error) {
	st, release, err := db.View(n)
	if err != nil {
		return fr.Element{}, err
	}
	defer release()
	return st.Root()
}

// Header returns a sealed batch's header.
func (db *DB) Header(n uint64) (*Header, error) {
	b, err := db.get(batchKey(keyHeader, n))
	if err != nil {
		return nil, err
	}
	return DecodeHeader(b)
}

// Pubdata returns a sealed batch's pubdata.
func (db *DB) Pubdata(n uint64) ([]byte, error) { return db.get(batchKey(keyPubdata, n)) }

func (db *DB) get(k []byte) ([]byte, error) {
	head := db.store.Head()
	snap, err := db.store.View(head)
	if err != nil {
		return nil, err
	}
	defer snap.Discard()
	b, err := snap.Get(k)
	if err != nil {
		return nil, err
	}
	if b == nil {
		return nil, ErrUnknownBatch
	}
	return b, nil
}

// Batch builds the next batch inside one store transaction: either Seal
// commits all of it atomically, or Discard drops all of it.
type Batch struct {
	db      *DB
	txn     *store.Txn
	st      *State
	header  Header
	txs     []types.Tx
	pubdata []byte
	wits    []*TxWitness
	wds     []Withdrawal
	broken  bool
}

// NewBatch starts batch Head()+1 at the given timestamp (unix seconds, not
// before the previous batch's).
func (db *DB) NewBatch(timestamp uint64) (*Batch, error) {
	head := db.store.Head()
	prev := EmptyRoot(db.p)
	var prevTs, nextPrio uint64
	if head > 0 {
		h, err := db.Header(head)
		if err != nil {
			return nil, fmt.Errorf("header of batch %d: %w", head, err)
		}
		prev, prevTs = h.NewRoot, h.Timestamp
	}
	if timestamp < prevTs {
		return nil, fmt.Errorf("%w: %d < %d", ErrTimestamp, timestamp, prevTs)
	}
	txn, err := db.store.Begin()
	if err != nil {
		return nil, err
	}
	st, err := New(db.p, db.domain, txn)
	if err != nil {
		txn.Discard()
		return nil, err
	}
	st.SetTimestamp(timestamp)
	if nextPrio, err = st.NextPriority(); err != nil {
		txn.Discard()
		return nil, err
	}
	return &Batch{db: db, txn: txn, st: st, header: Header{Number: txn.Batch(), Timestamp: timestamp,
		PrevRoot: prev, FirstPriority: nextPrio}}, nil
}

// Number is the batch number being built.
func (b *Batch) Number() uint64 { return b.header.Number }

// State is the batch's working state (reads see the batch's own changes).
func (b *Batch) State() *State { return b.st }

// Len is the number of transactions added.
func (b *Batch) Len() int { return len(b.txs) }

// Add applies a transaction. A rejected one leaves the batch unchanged and
// usable; ErrBatchFull means seal first. After ErrWriteFailed the batch is broken.
func (b *Batch) Add(tx types.Tx) (*Receipt, error) {
	if b.broken {
		return nil, ErrBatchBroken
	}
	if len(b.txs) >= b.db.p.BatchCapacity {
		return nil, ErrBatchFull
	}
	r, err := b.st.Apply(tx)
	if err != nil {
		if errors.Is(err, ErrWriteFailed) {
			b.broken = true
		}
		return nil, err
	}
	b.txs = append(b.txs, tx)
	b.pubdata = append(b.pubdata, r.Pubdata...)
	b.wits = append(b.wits, r.Witness)
	if r.Withdrawal != nil {
		b.wds = append(b.wds, *r.Withdrawal)
	}
	switch tx.(type) {
	case *types.Deposit, *types.ForcedWithdraw:
		b.header.PriorityCount++
	}
	return r, nil
}

// Seal credits the batch's fees, pads it with Noops to capacity, writes its
// header, pubdata and transactions, and commits everything as one store
// transaction (durable when it returns nil). A batch too large for one
// transaction fails with store.ErrBatchTooLarge and nothing is written.
func (b *Batch) Seal() (*SealedBatch, error) {
	if b.broken {
		b.Discard()
		return nil, ErrBatchBroken
	}
	fw, err := b.st.SettleFees()
	if err != nil {
		b.broken = true
		b.Discard()
		return nil, err
	}
	for i := len(b.txs); i < b.db.p.BatchCapacity; i++ {
		b.pubdata = append(b.pubdata, byte(types.KindNoop))
	}
	b.wits = append(b.wits, fw)
	if b.header.NewRoot, err = b.st.Root(); err != nil {
		b.Discard()
		return nil, err
	}
	b.header.PubdataHash = sha256.Sum256(b.pubdata)
	var txs []byte
	for _, tx := range b.txs {
		enc, err := types.EncodeTx(tx)
		if err != nil {
			b.Discard()
			return nil, err
		}
		txs = binary.BigEndian.AppendUint32(txs, uint32(len(enc)))
		txs = append(txs, enc...)
	}
	n := b.header.Number
	for _, kv := range [][2][]byte{
		{batchKey(keyHeader, n), b.header.Encode()},
		{batchKey(keyPubdata, n), b.pubdata},
		{batchKey(keyTxs, n), txs},
	} {
		if err := b.txn.Set(kv[0], kv[1]); err != nil {
			b.Discard()
			return nil, err
		}
	}
	if err := b.txn.Commit(); err != nil {
		b.Discard()
		return nil, err
	}
	return &SealedBatch{Header: b.header, Pubdata: b.pubdata, Txs: b.txs, Witnesses: b.wits, Withdrawals: b.wds}, nil
}

// Discard drops the batch.
func (b *Batch) Discard() { b.txn.Discard() }

// Txs returns a sealed batch's transactions as stored.
func (db *DB) Txs(n uint64) ([]types.Tx, error) {
	b, err := db.get(batchKey(keyTxs, n))
	if err != nil {
		return nil, err
	}
	var txs []types.Tx
	for len(b) > 0 {
		if len(b) < 4 {
			return nil, fmt.Errorf("%w: truncated tx list", types.ErrMalformed)
		}
		l := binary.BigEndian.Uint32(b)
		if uint64(len(b)-4) < uint64(l) {
			return nil, fmt.Errorf("%w: truncated tx", types.ErrMalformed)
		}
		tx, err := types.DecodeTx(b[4 : 4+l])
		if err != nil {
			return nil, err
		}
		txs = append(txs, tx)
		b = b[4+l:]
	}
	return txs, nil
}
