package state

import (
	"encoding/binary"
	"errors"
	"fmt"
	"reflect"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/modex/modex/state/smt"
	"github.com/modex/modex/state/store"
	"github.com/modex/modex/types"
)

var (
	ErrBatchFull     = errors.New("state: batch is at capacity")
	ErrBatchBroken   = errors.New("state: batch had a write failure and must be discarded")
	ErrTimestamp     = errors.New("state: batch timestamp goes backwards")
	ErrUnknownBatch  = errors.New("state: no such batch")
	ErrReadOnlyState = errors.New("state: read-only view")
	ErrFamily        = errors.New("state: transaction of another batch family")
	ErrEmptyBatch    = errors.New("state: nothing to seal")
	ErrFlatState     = errors.New("state: a soft batch's flat state has no tree root")
	ErrSoftBatch     = errors.New("state: a soft batch is finished, not sealed into the store")
)

// Header is a sealed batch's public record; PublicInput is the proof's
// single public input (docs/protocol.md §8).
type Header struct {
	Number            uint64
	Timestamp         uint64
	Family            types.Family
	PrevRoot          fr.Element
	NewRoot           fr.Element
	FirstPriority     uint64 // id of the first priority operation consumed
	PriorityCount     uint32 // priority operations consumed
	PubdataCommitment fr.Element
}

const headerSize = 8 + 8 + 1 + 32 + 32 + 8 + 4 + 32

// Encode is the 125-byte stored layout.
func (h *Header) Encode() []byte {
	b := make([]byte, 0, headerSize)
	b = binary.BigEndian.AppendUint64(b, h.Number)
	b = binary.BigEndian.AppendUint64(b, h.Timestamp)
	b = append(b, byte(h.Family))
	pr, nr, pc := h.PrevRoot.Bytes(), h.NewRoot.Bytes(), h.PubdataCommitment.Bytes()
	b = append(b, pr[:]...)
	b = append(b, nr[:]...)
	b = binary.BigEndian.AppendUint64(b, h.FirstPriority)
	b = binary.BigEndian.AppendUint32(b, h.PriorityCount)
	return append(b, pc[:]...)
}

// DecodeHeader parses Encode's output.
func DecodeHeader(b []byte) (*Header, error) {
	if len(b) != headerSize {
		return nil, fmt.Errorf("%w: header of %d bytes", types.ErrMalformed, len(b))
	}
	h := &Header{Number: binary.BigEndian.Uint64(b[0:8]), Timestamp: binary.BigEndian.Uint64(b[8:16]), Family: types.Family(b[16])}
	var err error
	if h.PrevRoot, err = types.ElemFromBytes(b[17:49]); err != nil {
		return nil, err
	}
	if h.NewRoot, err = types.ElemFromBytes(b[49:81]); err != nil {
		return nil, err
	}
	h.FirstPriority = binary.BigEndian.Uint64(b[81:89])
	h.PriorityCount = binary.BigEndian.Uint32(b[89:93])
	if h.PubdataCommitment, err = types.ElemFromBytes(b[93:]); err != nil {
		return nil, err
	}
	return h, nil
}

// Word is the header's integers packed in one field element:
// number·2^160 + timestamp·2^96 + firstPriority·2^32 + priorityCount.
func (h *Header) Word() fr.Element {
	var w, t fr.Element
	w.SetUint64(h.Number)
	for _, x := range []struct {
		v     uint64
		shift int
	}{{h.Timestamp, 64}, {h.FirstPriority, 64}, {uint64(h.PriorityCount), 32}} {
		for i := 0; i < x.shift; i += 32 {
			t.SetUint64(1 << 32)
			w.Mul(&w, &t)
		}
		t.SetUint64(x.v)
		w.Add(&w, &t)
	}
	return w
}

// PublicInput is the proof's single public input:
// H(domain, Word, prevRoot, newRoot, pubdataCommitment), a field element,
// so it is below r by construction. The family is not in it: the contract
// picks the family's verifying key, and that key's circuit reads the
// pubdata as that family's slots.
func (h *Header) PublicInput(d types.Domain) fr.Element {
	return types.HashChain(d.Element(), h.Word(), h.PrevRoot, h.NewRoot, h.PubdataCommitment)
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
	soft    bool
}

// NewSoftBatch starts batch number at timestamp over kv in flat mode: the
// sequencer's soft execution (docs/node.md §1). Every rule of Apply runs
// and reads and writes go to kv as a tree batch's would, except that no
// tree is hashed: leaf preimages and tree leaves are written, nothing above
// them. Finish, not Seal, ends it: the header it returns has no roots and
// the batch has no witnesses; the same transactions added to the tree batch
// of the same number (NewBatch) give the same pubdata and then the root.
func NewSoftBatch(p types.Params, d types.Domain, kv smt.Writer, number, timestamp uint64) (*Batch, error) {
	st, err := New(p, d, kv)
	if err != nil {
		return nil, err
	}
	st.flat = true
	st.SetTimestamp(timestamp)
	next, err := st.NextPriority()
	if err != nil {
		return nil, err
	}
	return &Batch{db: &DB{p: p, domain: d}, st: st, soft: true,
		header: Header{Number: number, Timestamp: timestamp, FirstPriority: next}}, nil
}

// Finish ends a soft batch: fees credited, pubdata padded, the header
// without roots and pubdata commitment (zero: the tree batch computes them).
// Its writes stay in the batch's kv.
func (b *Batch) Finish() (*SealedBatch, error) {
	if !b.soft {
		return nil, fmt.Errorf("%w: Finish is for soft batches; use Seal", ErrSoftBatch)
	}
	return b.finish()
}

// Pubdata is the pubdata of the transactions added so far (unpadded).
func (b *Batch) Pubdata() []byte { return b.pubdata }

// Family is the family of the transactions added so far (FamilyNone before the first).
func (b *Batch) Family() types.Family { return b.header.Family }

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
		return nil, fmt.Errorf("%w: %s < %s", ErrTimestamp, types.FormatTime(timestamp), types.FormatTime(prevTs))
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
	if tx == nil || reflect.ValueOf(tx).IsNil() {
		return nil, fmt.Errorf("%w: nil transaction", types.ErrMalformed)
	}
	f := types.FamilyOf(tx)
	if f == types.FamilyNone {
		return nil, fmt.Errorf("%w: %s is padding, not a transaction", ErrFamily, tx.Kind())
	}
	if b.header.Family != types.FamilyNone && f != b.header.Family {
		return nil, fmt.Errorf("%w: a %v batch cannot take %v", ErrFamily, b.header.Family, f)
	}
	r, err := b.st.Apply(tx)
	if err != nil {
		if errors.Is(err, ErrWriteFailed) {
			b.broken = true
		}
		return nil, err
	}
	b.header.Family = f
	b.txs = append(b.txs, tx)
	b.pubdata = append(b.pubdata, r.Pubdata...)
	b.pubdata = append(b.pubdata, make([]byte, f.SlotBytes()-len(r.Pubdata))...)
	if !b.soft {
		b.wits = append(b.wits, r.Witness)
	}
	if r.Withdrawal != nil {
		b.wds = append(b.wds, *r.Withdrawal)
	}
	if f == types.FamilyPriority {
		b.header.PriorityCount++
	}
	return r, nil
}

// AddVerified is Add for a transaction whose signatures (a signed
// transaction's, or both orders' of a Trade) the caller has already verified
// under this batch's domain against the signers' keys, which never change
// once an account exists: the sequencer verifies them when it accepts the
// transaction or the order, and would otherwise verify each twice on its
// one-goroutine hot path. Every other rule of Apply runs; the pipeline's
// re-execution (Reexecute) verifies every signature again.
func (b *Batch) AddVerified(tx types.Tx) (*Receipt, error) {
	b.st.replay = true
	defer func() { b.st.replay = false }()
	return b.Add(tx)
}

// Seal credits the batch's fees, pads it with Noops to capacity, writes its
// header, pubdata and transactions, and commits everything as one store
// transaction (durable when it returns nil). A batch too large for one
// transaction fails with store.ErrBatchTooLarge and nothing is written.
func (b *Batch) Seal() (*SealedBatch, error) {
	if b.soft {
		return nil, ErrSoftBatch
	}
	sb, err := b.finish()
	if err != nil {
		return nil, err
	}
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
	return sb, nil
}

// finish credits the batch's fees, pads it with Noops to capacity and
// computes its header; it writes nothing outside the batch's state.
func (b *Batch) finish() (*SealedBatch, error) {
	if b.broken {
		b.Discard()
		return nil, ErrBatchBroken
	}
	if len(b.txs) == 0 {
		b.Discard()
		return nil, ErrEmptyBatch
	}
	fw, err := b.st.SettleFees()
	if err != nil {
		b.broken = true
		b.Discard()
		return nil, err
	}
	b.pubdata = append(b.pubdata, make([]byte, (b.db.p.BatchCapacity-len(b.txs))*b.header.Family.SlotBytes())...)
	if !b.soft {
		b.wits = append(b.wits, fw)
		if b.header.NewRoot, err = b.st.Root(); err != nil {
			b.Discard()
			return nil, err
		}
	}
	if b.soft {
		// the commitment is the prover's (Poseidon over the padded
		// pubdata): the tree batch computes it
		return &SealedBatch{Header: b.header, Pubdata: b.pubdata, Txs: b.txs, Withdrawals: b.wds}, nil
	}
	if b.header.PubdataCommitment, err = types.PubdataCommitment(b.header.Family, b.pubdata); err != nil {
		b.Discard()
		return nil, err
	}
	return &SealedBatch{Header: b.header, Pubdata: b.pubdata, Txs: b.txs, Witnesses: b.wits, Withdrawals: b.wds}, nil
}

// Discard drops the batch.
func (b *Batch) Discard() {
	if b.txn != nil {
		b.txn.Discard()
	}
}

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
