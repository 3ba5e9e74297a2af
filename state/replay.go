package state

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/modex/modex/types"
)

// Rebuilding the state from L1 data alone (docs/protocol.md §6: "everything
// needed to rebuild the state from L1 alone is published"). The bridge keeps
// each batch's header fields and its pubdata in calldata; DecodeSlots parses
// the pubdata and DB.Replay applies it, filling in from the state what the
// pubdata leaves out, and checks that the result is the published batch.

var (
	// ErrBadPubdata: the pubdata is not a well-formed batch of its family.
	// DecodeSlots wraps it with one of the three reasons below, or with the
	// decoder's own error (types.ErrMalformed, types.ErrNotPackable, …).
	ErrBadPubdata = errors.New("state: malformed batch pubdata")
	// ErrPubdataLength: the pubdata is not BatchCapacity slots of the family's slot size.
	ErrPubdataLength = errors.New("state: pubdata length is not capacity × slot size")
	// ErrPubdataFamily: a slot holds an operation of another family (or the family is unknown).
	ErrPubdataFamily = errors.New("state: pubdata operation of another family")
	// ErrPubdataPadding: a non-zero byte in a slot's padding or after the first Noop slot.
	ErrPubdataPadding = errors.New("state: non-zero pubdata padding")

	// ErrReplaySequence: the replayed batch is not the next one (Head()+1).
	ErrReplaySequence = errors.New("state: replayed batch is not the next batch")
	// ErrReplayMismatch: the header and pubdata are not a batch this state
	// can produce: the pubdata is malformed, an operation is rejected, or
	// the resulting batch differs from them (root, pubdata, priority range,
	// commitment, timestamp). The cause is wrapped too.
	ErrReplayMismatch = errors.New("state: batch does not replay to its header and pubdata")
)

// DecodeSlots splits a batch's pubdata (docs/protocol.md §6) into its
// operations: BatchCapacity slots of f.SlotBytes() bytes, each an operation of
// family f zero-padded to the slot, up to the first Noop (all-zero) slot;
// every slot after it must be all zero too. Each operation must be the
// canonical encoding of what it decodes to. Decoded operations carry exactly
// the published fields: no signatures, nonces or unpublished order fields.
func DecodeSlots(f types.Family, p types.Params, pubdata []byte) ([]types.Tx, error) {
	sb := f.SlotBytes()
	if sb == 0 {
		return nil, fmt.Errorf("%w: %w: %v batches have no slots", ErrBadPubdata, ErrPubdataFamily, f)
	}
	if p.BatchCapacity < 1 || len(pubdata) != p.BatchCapacity*sb {
		return nil, fmt.Errorf("%w: %w: %d bytes, want %d slots of %d", ErrBadPubdata, ErrPubdataLength, len(pubdata), p.BatchCapacity, sb)
	}
	kinds := f.Kinds()
	var ops []types.Tx
	for i := 0; i < p.BatchCapacity; i++ {
		slot := pubdata[i*sb : (i+1)*sb]
		k := types.Kind(slot[0])
		if k == types.KindNoop {
			// padding from here on: this slot and every later one all zero
			if j := nonZero(pubdata[i*sb:]); j >= 0 {
				j += i * sb
				return nil, fmt.Errorf("%w: %w: byte %d of slot %d, after the Noop of slot %d", ErrBadPubdata, ErrPubdataPadding, j%sb, j/sb, i)
			}
			break
		}
		if !slices.Contains(kinds, k) {
			return nil, fmt.Errorf("%w: %w: slot %d holds kind %d (%s) in a %v batch", ErrBadPubdata, ErrPubdataFamily, i, uint8(k), k, f)
		}
		n := types.PubdataSize[k] // ≤ sb: the slot is the largest of the family's kinds
		dec, err := types.DecodePubdata(slot[:n])
		if err != nil {
			return nil, fmt.Errorf("%w: slot %d: %w", ErrBadPubdata, i, err)
		}
		if len(dec) != 1 {
			return nil, fmt.Errorf("%w: slot %d decodes to %d operations", ErrBadPubdata, i, len(dec))
		}
		op := dec[0]
		if g := types.FamilyOf(op); g != f { // a share or credit Transfer in a base Transfer batch, or the reverse
			return nil, fmt.Errorf("%w: %w: slot %d holds a %s of the %v family in a %v batch", ErrBadPubdata, ErrPubdataFamily, i, k, g, f)
		}
		if j := nonZero(slot[n:]); j >= 0 {
			return nil, fmt.Errorf("%w: %w: byte %d of slot %d, after its %d-byte %s", ErrBadPubdata, ErrPubdataPadding, n+j, i, n, k)
		}
		// one state change has one pubdata encoding (§2): re-encoding gives the slot back
		if enc, err := types.Pubdata(op); err != nil || !bytes.Equal(enc, slot[:n]) {
			return nil, fmt.Errorf("%w: slot %d: %s is not canonically encoded (%v)", ErrBadPubdata, i, k, err)
		}
		ops = append(ops, op)
	}
	return ops, nil
}

// nonZero is the index of the first non-zero byte of b, or -1.
func nonZero(b []byte) int {
	for i, x := range b {
		if x != 0 {
			return i
		}
	}
	return -1
}

// Replay applies a batch known only from L1 (its header and pubdata) as the
// next batch of db, and seals it. Batch numbers are sequential: h.Number must
// be Head()+1 (ErrReplaySequence otherwise).
//
// The pubdata carries no signatures, nonces or full orders: a proof stood
// for them. Replay fills in, from the state before each operation: the
// signer's nonce (the account's current one); the DAO of the model as the
// signer of MintShares and SetModelParams; the model's credit price as the
// limit of BuyCredits; the priority ids, consecutive from h.FirstPriority;
// and for a Trade two orders consistent with the published fill, price and
// fee bips (both limit prices = the trade price, maxFeeBips = the fee bips,
// valid until 2^32−1, an amount no fill reaches), which leave the same order
// slots as the signed orders did. The operations are then applied by the
// ordinary rules with signature verification off, and only that: nonces,
// balances, order slots, fees, priority order all hold. A Deposit's refusal
// and a ForcedWithdraw's amount are recomputed and must come out as
// published.
//
// Before anything is committed the rebuilt batch must equal h and pubdata
// exactly (new root, pubdata bytes, priority range, commitment, previous root,
// timestamp, family); otherwise, or if an operation is rejected, Replay
// returns ErrReplayMismatch (wrapping the cause) and db is unchanged.
// The returned batch's Txs are the filled-in operations (without
// signatures), and its witnesses are those of the replay.
//
// Replay does not stand in for the proof: without signatures it would apply
// a transfer nobody signed. Feed it only batches the bridge accepted with a
// valid proof (header fields and calldata pubdata of BatchVerified batches);
// the comparison with the header then binds every operation to that proof.
func (db *DB) Replay(h *Header, pubdata []byte) (*SealedBatch, error) {
	if h == nil {
		return nil, fmt.Errorf("%w: nil header", types.ErrMalformed)
	}
	if head := db.Head(); h.Number != head+1 {
		return nil, fmt.Errorf("%w: batch %d, head is %d", ErrReplaySequence, h.Number, head)
	}
	mismatch := func(format string, args ...any) error { // format may hold one %w
		return fmt.Errorf("%w: batch %d: "+format, append([]any{ErrReplayMismatch, h.Number}, args...)...)
	}
	ops, err := DecodeSlots(h.Family, db.p, pubdata)
	if err != nil {
		return nil, mismatch("%w", err)
	}
	if len(ops) == 0 {
		return nil, mismatch("%w", ErrEmptyBatch)
	}
	b, err := db.NewBatch(h.Timestamp)
	if errors.Is(err, ErrTimestamp) {
		return nil, mismatch("%w", err)
	}
	if err != nil {
		return nil, err
	}
	sealing := false
	defer func() {
		if !sealing { // Seal commits or discards by itself
			b.Discard()
		}
	}()
	switch {
	case b.header.Number != h.Number:
		return nil, fmt.Errorf("%w: opened batch %d for %d", ErrReplaySequence, b.header.Number, h.Number)
	case b.header.PrevRoot != h.PrevRoot:
		return nil, mismatch("previous root %s, the state is at %s", h.PrevRoot.Text(16), b.header.PrevRoot.Text(16))
	case b.header.FirstPriority != h.FirstPriority:
		return nil, mismatch("first priority operation %d, the next one is %d", h.FirstPriority, b.header.FirstPriority)
	}
	b.st.replay = true // this State is Replay's own: it never leaves this function
	sb := h.Family.SlotBytes()
	prio := h.FirstPriority
	for i, op := range ops {
		b.st.fillReplay(op, prio)
		r, err := b.Add(op)
		if err != nil {
			if errors.Is(err, ErrWriteFailed) || errors.Is(err, ErrBatchBroken) {
				return nil, err
			}
			return nil, mismatch("op %d (%s) rejected: %w", i, op.Kind(), err)
		}
		if types.FamilyOf(op) == types.FamilyPriority {
			prio++
		}
		// a Deposit's refused flag and a ForcedWithdraw's amount are
		// recomputed by Apply; every other field is the published one
		if want := pubdata[i*sb : i*sb+len(r.Pubdata)]; !bytes.Equal(r.Pubdata, want) {
			return nil, mismatch("op %d (%s) replays to pubdata %x, published %x", i, op.Kind(), r.Pubdata, want)
		}
	}
	// The fee settlement, root and commitment as Seal will compute them, to
	// compare before anything is committed. Seal then settles an empty fee
	// book: no write, the same root.
	fw, err := b.st.SettleFees()
	if errors.Is(err, types.ErrBalanceOverflow) {
		return nil, mismatch("fee settlement: %w", err)
	}
	if err != nil {
		return nil, err
	}
	got := b.header
	if got.NewRoot, err = b.st.Root(); err != nil {
		return nil, err
	}
	full := append(slices.Clip(b.pubdata), make([]byte, (db.p.BatchCapacity-len(ops))*sb)...)
	if !bytes.Equal(full, pubdata) {
		return nil, mismatch("the replayed pubdata differs from the published one")
	}
	if got.PubdataCommitment, err = types.PubdataCommitment(got.Family, full); err != nil {
		return nil, err
	}
	if got != *h {
		return nil, mismatch("header differs in %s", headerDiff(&got, h))
	}
	sealing = true
	sealed, err := b.Seal()
	if err != nil {
		return nil, err
	}
	if sealed.Header != *h { // cannot happen: Seal computes exactly the above
		return nil, fmt.Errorf("state: replayed batch %d sealed with header differing in %s", h.Number, headerDiff(&sealed.Header, h))
	}
	sealed.Witnesses[len(sealed.Witnesses)-1] = fw // the settlement that credited the fees
	return sealed, nil
}

// fillReplay fills in what an operation decoded from pubdata lacks, from the
// state before it (see Replay). A lookup that fails leaves the field empty:
// Apply makes the same lookup and rejects the operation with its error.
func (s *State) fillReplay(op types.Tx, prio uint64) {
	if rule, err := ruleOf(op); err == nil {
		rule.fill(s, op, prio) // state/kind_<name>.go
	}
	if st, ok := op.(types.SignedTx); ok {
		if a, err := s.Account(st.Signer()); err == nil {
			st.SetNonce(a.Nonce)
		}
	}
}

// headerDiff names the fields in which two headers differ.
func headerDiff(a, b *Header) string {
	var d []string
	add := func(name string, differ bool) {
		if differ {
			d = append(d, name)
		}
	}
	add("number", a.Number != b.Number)
	add("timestamp", a.Timestamp != b.Timestamp)
	add("family", a.Family != b.Family)
	add("prevRoot", a.PrevRoot != b.PrevRoot)
	add("newRoot", a.NewRoot != b.NewRoot)
	add("firstPriority", a.FirstPriority != b.FirstPriority)
	add("priorityCount", a.PriorityCount != b.PriorityCount)
	add("pubdataCommitment", a.PubdataCommitment != b.PubdataCommitment)
	if len(d) == 0 {
		return "nothing"
	}
	return strings.Join(d, ", ")
}
