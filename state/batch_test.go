package state

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/big"
	"reflect"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/modex/modex/types"
)

// slotBytes8 is the slot-size column of the family table, docs/protocol.md §8.
var slotBytes8 = map[types.Family]int{types.FamilyPriority: 103, types.FamilyTransfer: 16, types.FamilyWithdraw: 40,
	types.FamilyModelAdmin: 104, types.FamilyTrade: 27, types.FamilyCancel: 11, types.FamilyAssetTransfer: 16,
	types.FamilyBuyCredits: 16, types.FamilyRedeemCredits: 48, types.FamilyClaimRevenue: 8}

// refCommitment recomputes a pubdata commitment from docs/protocol.md §6,
// without types.PubdataCommitment: each slot of slotBytes is cut into 31-byte
// chunks (the last one zero-padded on the right), each chunk read as a
// big-endian integer, and all chunks of all slots in order go through the
// zero-IV chain.
func refCommitment(t testing.TB, slotBytes int, pub []byte) fr.Element {
	t.Helper()
	if slotBytes <= 0 || len(pub)%slotBytes != 0 {
		t.Fatalf("%d pubdata bytes are not whole %d-byte slots", len(pub), slotBytes)
	}
	var xs []fr.Element
	for s := 0; s < len(pub); s += slotBytes {
		slot := pub[s : s+slotBytes]
		for c := 0; c < slotBytes; c += 31 {
			chunk := make([]byte, 31)
			copy(chunk, slot[c:min(c+31, slotBytes)])
			v := new(big.Int).SetBytes(chunk)
			if v.BitLen() > 248 || v.Cmp(fr.Modulus()) >= 0 {
				t.Fatalf("chunk %x is not below 2^248", chunk)
			}
			var e fr.Element
			e.SetBigInt(v)
			xs = append(xs, e)
		}
	}
	if want := len(pub) / slotBytes * ((slotBytes + 30) / 31); len(xs) != want {
		t.Fatalf("%d chunks, want %d", len(xs), want)
	}
	return types.HashChain(xs...)
}

// checkPubdata checks a sealed batch against §6 and §8: every transaction is
// of the header's family; the pubdata is BatchCapacity slots of the family's
// size from the §8 table; slot i is transaction i's pubdata zero-padded to
// the slot; every unused slot is all zero; the header's commitment is the
// chunked chain over it; and what is stored is what was returned.
func checkPubdata(t testing.TB, db *DB, sb *SealedBatch) {
	t.Helper()
	f := sb.Header.Family
	sbytes, ok := slotBytes8[f]
	if !ok {
		t.Fatalf("batch %d: family %v", sb.Header.Number, f)
	}
	if f.SlotBytes() != sbytes {
		t.Fatalf("%v: SlotBytes %d, §8 says %d", f, f.SlotBytes(), sbytes)
	}
	if len(sb.Txs) == 0 {
		t.Fatalf("batch %d has no transactions", sb.Header.Number)
	}
	capacity := db.Params().BatchCapacity
	if len(sb.Pubdata) != capacity*sbytes {
		t.Fatalf("batch %d: %d pubdata bytes, want %d slots of %d", sb.Header.Number, len(sb.Pubdata), capacity, sbytes)
	}
	var prio uint32
	for i := 0; i < capacity; i++ {
		slot := sb.Pubdata[i*sbytes : (i+1)*sbytes]
		if i >= len(sb.Txs) {
			if !bytes.Equal(slot, make([]byte, sbytes)) {
				t.Fatalf("batch %d: unused slot %d is not all zero", sb.Header.Number, i)
			}
			continue
		}
		tx := sb.Txs[i]
		if types.FamilyOf(tx) != f {
			t.Fatalf("batch %d: %s in a %v batch", sb.Header.Number, tx.Kind(), f)
		}
		if tx.Kind() == types.KindDeposit || tx.Kind() == types.KindForcedWithdraw {
			prio++
		}
		pd, err := types.Pubdata(tx)
		if err != nil {
			t.Fatal(err)
		}
		if len(pd) > sbytes || !bytes.Equal(slot[:len(pd)], pd) || !bytes.Equal(slot[len(pd):], make([]byte, sbytes-len(pd))) {
			t.Fatalf("batch %d slot %d: %x, want %x zero-padded to %d bytes", sb.Header.Number, i, slot, pd, sbytes)
		}
		ops, err := types.DecodePubdata(slot[:len(pd)])
		if err != nil || len(ops) != 1 || ops[0].Kind() != tx.Kind() {
			t.Fatalf("batch %d slot %d decodes to %v (%v)", sb.Header.Number, i, ops, err)
		}
	}
	if sb.Header.PriorityCount != prio {
		t.Fatalf("batch %d: priority count %d, want %d", sb.Header.Number, sb.Header.PriorityCount, prio)
	}
	if sb.Header.PubdataCommitment != refCommitment(t, sbytes, sb.Pubdata) {
		t.Fatalf("batch %d: pubdata commitment", sb.Header.Number)
	}
	if stored, err := db.Pubdata(sb.Header.Number); err != nil || !bytes.Equal(stored, sb.Pubdata) {
		t.Fatalf("batch %d: stored pubdata differs (%v)", sb.Header.Number, err)
	}
}

func TestBatchCapacity(t *testing.T) {
	p := types.TestParams()
	p.BatchCapacity = 4
	w := newWorld(t, p, 3)
	w.deposit(0, 0, 10)
	w.deposit(1, 0, 10)
	w.deposit(0, 0, 1)
	w.deposit(1, 0, 1)
	before := w.snap()
	if _, err := w.batch.Add(w.depositTx(2, 0, 1)); !errors.Is(err, ErrBatchFull) {
		t.Fatalf("a deposit in a full Priority batch: %v", err)
	}
	// neither padding nor another family fits in it either
	for _, tx := range []types.Tx{&types.Noop{}, w.transfer(1, 0, types.ETH, 1, 0)} {
		if _, err := w.batch.Add(tx); !errors.Is(err, ErrBatchFull) && !errors.Is(err, ErrFamily) {
			t.Fatalf("%s in a full batch: %v", tx.Kind(), err)
		}
	}
	before.same(t, w.snap())
	sb := w.seal()
	// a full batch has no padding: 4 deposits in 4 slots of 103 bytes
	if len(sb.Pubdata) != 4*103 || len(sb.Txs) != 4 || len(sb.Witnesses) != 5 {
		t.Fatalf("pubdata %d bytes, %d txs, %d witnesses", len(sb.Pubdata), len(sb.Txs), len(sb.Witnesses))
	}
	checkPubdata(t, w.db, sb)
	// the next batch takes the transaction that did not fit
	w.deposit(2, 0, 1)
	if w.batch.Number() != 2 || w.batch.Len() != 1 {
		t.Fatalf("batch %d with %d txs", w.batch.Number(), w.batch.Len())
	}
}

// TestBatchFamily: a batch holds one family (docs/protocol.md §8). A
// transaction of another family, or a Noop, is refused with ErrFamily and
// changes nothing; an empty batch cannot be sealed; the header records the
// family; the pubdata is BatchCapacity zero-padded slots of the family's size.
func TestBatchFamily(t *testing.T) {
	for f, n := range slotBytes8 {
		if f.SlotBytes() != n {
			t.Errorf("%v: SlotBytes %d, §8 says %d", f, f.SlotBytes(), n)
		}
	}
	if got := types.AllFamilies(); len(got) != len(slotBytes8) {
		t.Fatalf("families %v", got)
	}
	w := stdWorld(t) // capacity 64; the open batch is empty
	if w.batch.Len() != 0 {
		t.Fatal("stdWorld left transactions in the open batch")
	}
	// a Noop is padding, not a transaction: it does not open a batch
	before := w.snap()
	if r, err := w.batch.Add(&types.Noop{}); !errors.Is(err, ErrFamily) || r != nil {
		t.Fatalf("Noop in an empty batch: %v", err)
	}
	before.same(t, w.snap())
	// the first transaction sets the family
	w.mustAdd(w.transfer(uAlice, uBob, types.ETH, 3, 1))
	if w.batch.header.Family != types.FamilyTransfer {
		t.Fatalf("family %v after a base transfer", w.batch.header.Family)
	}
	before = w.snap()
	others := []types.Tx{
		&types.Noop{},
		w.transfer(uDao, uAlice, types.ShareAsset(m1), 1, 0), // a transfer, but of shares: AssetTransfer
		w.depositTx(uAlice, 0, 1),
		&types.ForcedWithdraw{PriorityID: w.prio, Requester: userAddr(uAlice), Account: w.acct[uAlice], Token: 0},
		w.sign(uAlice, &types.Withdraw{Account: w.acct[uAlice], Token: 0, Amount: u256(1), To: userAddr(uAlice), Nonce: w.nonce(uAlice)}),
		w.sign(uDao, &types.MintShares{Account: w.acct[uDao], Model: m1, Amount: 1, Nonce: w.nonce(uDao)}),
		&types.Trade{Buy: w.order(uBob, m1, types.Buy, 1, 10, 60, 30), Sell: w.order(uDao, m1, types.Sell, 1, 10, 50, 30),
			Fill: 10, Price: u256(55)},
		w.sign(uAlice, &types.CancelOrder{Account: w.acct[uAlice], Model: m1, OrderID: 3, Nonce: w.nonce(uAlice)}),
		w.sign(uBob, &types.BuyCredits{Account: w.acct[uBob], Model: m1, Credits: 1, MaxPrice: u256(100), Nonce: w.nonce(uBob)}),
		w.sign(uBob, &types.RedeemCredits{Account: w.acct[uBob], Model: m1, Credits: 1, Request: elem(1), Nonce: w.nonce(uBob)}),
		w.sign(uDao, &types.ClaimRevenue{Account: w.acct[uDao], Model: m1, Nonce: w.nonce(uDao)}),
	}
	seen := map[types.Family]bool{}
	for _, tx := range others {
		seen[types.FamilyOf(tx)] = true
		root, _ := w.st().Root()
		r, err := w.batch.Add(tx)
		if !errors.Is(err, ErrFamily) || r != nil {
			t.Fatalf("%s (%v) in a Transfer batch: %v", tx.Kind(), types.FamilyOf(tx), err)
		}
		if after, _ := w.st().Root(); after != root {
			t.Fatalf("refused %s changed the state root", tx.Kind())
		}
		before.same(t, w.snap())
	}
	if len(seen) != len(slotBytes8) { // every other family, and Noop's none
		t.Fatalf("families tried: %v", seen)
	}
	if d := others[2].(*types.Deposit); d.Refused {
		t.Fatal("a deposit refused with ErrFamily was marked refused")
	}
	// the batch still works, and seals as a Transfer batch
	w.mustAdd(w.transfer(uCarol, uDave, types.ETH, 1, 0))
	sb := w.seal()
	if sb.Header.Family != types.FamilyTransfer || len(sb.Txs) != 2 {
		t.Fatalf("family %v, %d txs", sb.Header.Family, len(sb.Txs))
	}
	if stored, err := w.db.Header(sb.Header.Number); err != nil || stored.Family != types.FamilyTransfer {
		t.Fatalf("stored header: %+v %v", stored, err)
	}
	if len(sb.Pubdata) != w.p.BatchCapacity*16 {
		t.Fatalf("pubdata %d bytes, want %d", len(sb.Pubdata), w.p.BatchCapacity*16)
	}
	checkPubdata(t, w.db, sb)

	// an empty batch cannot be sealed: nothing is written, its number is not used
	head, headRoot := w.db.Head(), sb.Header.NewRoot
	if _, err := w.batch.Seal(); !errors.Is(err, ErrEmptyBatch) {
		t.Fatalf("seal of an empty batch: %v", err)
	}
	if w.db.Head() != head {
		t.Fatalf("head %d after an empty seal, want %d", w.db.Head(), head)
	}
	if _, err := w.db.Header(head + 1); !errors.Is(err, ErrUnknownBatch) {
		t.Fatalf("header of the empty batch: %v", err)
	}
	if r, err := w.db.Root(head); err != nil || r != headRoot {
		t.Fatalf("root after an empty seal: %v", err)
	}
	w.open()
	if w.batch.Number() != head+1 {
		t.Fatalf("next batch numbered %d, want %d", w.batch.Number(), head+1)
	}
	// a batch that only saw refused transactions is still empty
	if _, err := w.batch.Add(w.transfer(uAlice, uBob, types.ETH, 0, 0)); !errors.Is(err, types.ErrZeroAmount) {
		t.Fatalf("zero transfer: %v", err)
	}
	if _, err := w.batch.Seal(); !errors.Is(err, ErrEmptyBatch) {
		t.Fatalf("seal of a batch with only a rejected transaction: %v", err)
	}
	w.open()

	// the fixture seals on ErrFamily: each family lands in its own batch, in order
	first := len(w.sealed)
	w.mustAdd(w.transfer(uDao, uAlice, types.ShareAsset(m1), 1, 0))
	w.mustAdd(w.transfer(uBob, uAlice, types.CreditAsset(m1), 1, 0))
	w.mustAdd(w.sign(uAlice, &types.Withdraw{Account: w.acct[uAlice], Token: 1, Amount: u256(5), Fee: u256(1), To: userAddr(uAlice), Nonce: w.nonce(uAlice)}))
	w.mustAdd(w.sign(uAlice, &types.CancelOrder{Account: w.acct[uAlice], Model: m1, OrderID: 3, Nonce: w.nonce(uAlice)}))
	w.mustAdd(w.sign(uBob, &types.RedeemCredits{Account: w.acct[uBob], Model: m1, Credits: 1, Request: elem(1), Nonce: w.nonce(uBob)}))
	w.mustAdd(w.sign(uDao, &types.MintShares{Account: w.acct[uDao], Model: m1, Amount: 1, Nonce: w.nonce(uDao)}))
	w.seal()
	want := []struct {
		f   types.Family
		txs int
	}{{types.FamilyAssetTransfer, 2}, {types.FamilyWithdraw, 1}, {types.FamilyCancel, 1}, {types.FamilyRedeemCredits, 1}, {types.FamilyModelAdmin, 1}}
	if got := len(w.sealed) - first; got != len(want) {
		t.Fatalf("%d batches, want %d", got, len(want))
	}
	for i, c := range want {
		sb := w.sealed[first+i]
		if sb.Header.Family != c.f || len(sb.Txs) != c.txs || sb.Header.Number != head+1+uint64(i) {
			t.Fatalf("batch %d: %v with %d txs, want %v with %d", sb.Header.Number, sb.Header.Family, len(sb.Txs), c.f, c.txs)
		}
		if len(sb.Pubdata) != w.p.BatchCapacity*slotBytes8[c.f] {
			t.Fatalf("batch %d: %d pubdata bytes", sb.Header.Number, len(sb.Pubdata))
		}
		checkPubdata(t, w.db, sb)
	}
}

// TestBatchPubdataPadding: each operation is zero-padded to its family's
// slot and unused slots are all zero (§6); a second family is refused from
// the batch (§8), and the fixture's seal-and-retry puts each in its own batch.
func TestBatchPubdataPadding(t *testing.T) {
	w := stdWorld(t) // capacity 64
	w.deposit(uAlice, 0, 1)
	fw := &types.ForcedWithdraw{PriorityID: w.prio, Requester: userAddr(uAlice), Account: w.acct[uAlice], Token: 3}
	w.mustAdd(fw) // 38 bytes in a 103-byte slot
	w.prio++
	tr := w.transfer(uAlice, uBob, types.ETH, 3, 1)
	before := w.snap()
	if _, err := w.batch.Add(tr); !errors.Is(err, ErrFamily) {
		t.Fatalf("a transfer in a Priority batch: %v", err)
	}
	before.same(t, w.snap())
	first := len(w.sealed)
	w.mustAdd(tr) // seals the Priority batch first
	w.mustAdd(&types.Trade{Buy: w.order(uBob, m1, types.Buy, 1, 10, 60, 30), Sell: w.order(uDao, m1, types.Sell, 1, 10, 50, 30),
		Fill: 10, Price: u256(55)})
	w.mustAdd(w.sign(uDao, &types.ClaimRevenue{Account: w.acct[uDao], Model: m1, Nonce: w.nonce(uDao)}))
	w.seal()
	batches := w.sealed[first:]
	want := []struct {
		f     types.Family
		kinds []types.Kind
	}{
		{types.FamilyPriority, []types.Kind{types.KindDeposit, types.KindForcedWithdraw}},
		{types.FamilyTransfer, []types.Kind{types.KindTransfer}},
		{types.FamilyTrade, []types.Kind{types.KindTrade}},
		{types.FamilyClaimRevenue, []types.Kind{types.KindClaimRevenue}},
	}
	if len(batches) != len(want) {
		t.Fatalf("%d batches, want %d", len(batches), len(want))
	}
	for i, c := range want {
		sb := batches[i]
		if sb.Header.Family != c.f || len(sb.Txs) != len(c.kinds) {
			t.Fatalf("batch %d: %v with %d txs, want %v", sb.Header.Number, sb.Header.Family, len(sb.Txs), c.f)
		}
		for j, k := range c.kinds {
			if sb.Txs[j].Kind() != k {
				t.Fatalf("batch %d tx %d: %s, want %s", sb.Header.Number, j, sb.Txs[j].Kind(), k)
			}
		}
		if len(sb.Pubdata) != w.p.BatchCapacity*slotBytes8[c.f] {
			t.Fatalf("batch %d: %d pubdata bytes, want %d", sb.Header.Number, len(sb.Pubdata), w.p.BatchCapacity*slotBytes8[c.f])
		}
		checkPubdata(t, w.db, sb)
	}
	// the forced withdrawal's slot: its 38 bytes, then 65 zero bytes
	prio := batches[0].Pubdata
	fwPub, _ := types.Pubdata(fw)
	if len(fwPub) != 38 || !bytes.Equal(prio[103:103+38], fwPub) || !bytes.Equal(prio[103+38:2*103], make([]byte, 65)) {
		t.Fatal("forced withdrawal slot")
	}
	// the commitment covers the padding: a nonzero byte in it changes it
	pub := append([]byte(nil), batches[1].Pubdata...)
	pub[len(pub)-1] = 1
	if c := refCommitment(t, 16, pub); c == batches[1].Header.PubdataCommitment {
		t.Fatal("commitment ignores the last slot")
	}
	if c, err := types.PubdataCommitment(types.FamilyTransfer, pub); err != nil || c != refCommitment(t, 16, pub) {
		t.Fatalf("types.PubdataCommitment differs from §6 on altered pubdata (%v)", err)
	}
	// a ragged pubdata is not a commitment
	if _, err := types.PubdataCommitment(types.FamilyTransfer, pub[:len(pub)-1]); !errors.Is(err, types.ErrMalformed) {
		t.Fatalf("ragged pubdata: %v", err)
	}
}

func TestHeaderEncoding(t *testing.T) {
	w := stdWorld(t)
	w.mustAdd(w.transfer(uAlice, uBob, types.ETH, 3, 1))
	sb := w.seal()
	h := sb.Header
	enc := h.Encode()
	if len(enc) != 125 {
		t.Fatalf("header of %d bytes", len(enc))
	}
	got, err := DecodeHeader(enc)
	if err != nil || !reflect.DeepEqual(*got, h) {
		t.Fatalf("round trip: %+v %v", got, err)
	}
	stored, err := w.db.Header(h.Number)
	if err != nil || !reflect.DeepEqual(*stored, h) {
		t.Fatalf("stored header: %+v %v", stored, err)
	}
	// field layout (§8): big-endian integers, elements as 32 big-endian bytes
	layout := func(h *Header, enc []byte) {
		t.Helper()
		pr, nr, pc := h.PrevRoot.Bytes(), h.NewRoot.Bytes(), h.PubdataCommitment.Bytes()
		switch {
		case len(enc) != 125:
			t.Fatalf("header of %d bytes", len(enc))
		case binary.BigEndian.Uint64(enc[0:8]) != h.Number:
			t.Fatal("number")
		case binary.BigEndian.Uint64(enc[8:16]) != h.Timestamp:
			t.Fatal("timestamp")
		case enc[16] != byte(h.Family):
			t.Fatal("family")
		case !bytes.Equal(enc[17:49], pr[:]):
			t.Fatal("prevRoot")
		case !bytes.Equal(enc[49:81], nr[:]):
			t.Fatal("newRoot")
		case binary.BigEndian.Uint64(enc[81:89]) != h.FirstPriority:
			t.Fatal("firstPriority")
		case binary.BigEndian.Uint32(enc[89:93]) != h.PriorityCount:
			t.Fatal("priorityCount")
		case !bytes.Equal(enc[93:125], pc[:]):
			t.Fatal("pubdataCommitment")
		}
	}
	layout(&h, enc)
	if h.Family != types.FamilyTransfer || enc[16] != 2 {
		t.Fatalf("family %v encoded as %d", h.Family, enc[16])
	}
	// every field round-trips, each at a distinct value
	h2 := Header{Number: 1<<64 - 1, Timestamp: 1<<63 + 5, Family: types.FamilyClaimRevenue, PrevRoot: elem(7), NewRoot: elem(8),
		FirstPriority: 12345, PriorityCount: 1<<32 - 1}
	h2.PubdataCommitment.SetBigInt(new(big.Int).Sub(fr.Modulus(), big.NewInt(1)))
	enc2 := h2.Encode()
	layout(&h2, enc2)
	if got, err := DecodeHeader(enc2); err != nil || !reflect.DeepEqual(*got, h2) {
		t.Fatalf("round trip: %+v %v", got, err)
	}
	for _, n := range []int{0, 124, 126} {
		b := make([]byte, n)
		copy(b, enc)
		if _, err := DecodeHeader(b); !errors.Is(err, types.ErrMalformed) {
			t.Fatalf("%d bytes: %v", n, err)
		}
	}
	// an element at or above the field modulus is not canonical
	for _, at := range []struct {
		name string
		off  int
	}{{"prevRoot", 17}, {"newRoot", 49}, {"pubdataCommitment", 93}} {
		for _, v := range []*big.Int{fr.Modulus(), new(big.Int).Lsh(big.NewInt(1), 256-1)} {
			bad := append([]byte(nil), enc...)
			v.FillBytes(bad[at.off : at.off+32])
			if _, err := DecodeHeader(bad); !errors.Is(err, types.ErrFieldElement) {
				t.Fatalf("non-canonical %s: %v", at.name, err)
			}
		}
	}
	if _, err := w.db.Header(99); !errors.Is(err, ErrUnknownBatch) {
		t.Fatalf("unknown batch: %v", err)
	}
}

// refWord packs the header's integers with math/big:
// number·2^160 + timestamp·2^96 + firstPriority·2^32 + priorityCount (§8).
func refWord(t testing.TB, h *Header) fr.Element {
	t.Helper()
	w := new(big.Int).Lsh(bu64(h.Number), 160)
	w.Add(w, new(big.Int).Lsh(bu64(h.Timestamp), 96))
	w.Add(w, new(big.Int).Lsh(bu64(h.FirstPriority), 32))
	w.Add(w, bu64(uint64(h.PriorityCount)))
	if w.BitLen() > 224 || w.Cmp(fr.Modulus()) >= 0 {
		t.Fatalf("word of %d bits", w.BitLen())
	}
	var e fr.Element
	e.SetBigInt(w)
	return e
}

func TestPublicInput(t *testing.T) {
	check := func(h *Header, d types.Domain) fr.Element {
		t.Helper()
		word := refWord(t, h)
		if h.Word() != word {
			t.Fatalf("word %s, want %s", belemState(h.Word()), belemState(word))
		}
		want := types.HashChain(d.Element(), word, h.PrevRoot, h.NewRoot, h.PubdataCommitment)
		pi := h.PublicInput(d)
		if pi != want {
			t.Fatalf("public input %s, want %s", belemState(pi), belemState(want))
		}
		return pi
	}
	base := Header{Number: 7, Timestamp: 1_700_000_000, Family: types.FamilyTrade, PrevRoot: elem(11), NewRoot: elem(12),
		FirstPriority: 40, PriorityCount: 3, PubdataCommitment: elem(13)}
	pi0 := check(&base, testDomain)
	// the integers are packed without overlap: each at its maximum
	check(&Header{Number: 1<<64 - 1, Timestamp: 1<<64 - 1, FirstPriority: 1<<64 - 1, PriorityCount: 1<<32 - 1}, testDomain)
	// every bound field changes the public input
	for name, f := range map[string]func(h *Header){
		"number":                       func(h *Header) { h.Number++ },
		"timestamp":                    func(h *Header) { h.Timestamp++ },
		"firstPriority":                func(h *Header) { h.FirstPriority++ },
		"priorityCount":                func(h *Header) { h.PriorityCount++ },
		"prevRoot":                     func(h *Header) { h.PrevRoot = elem(21) },
		"newRoot":                      func(h *Header) { h.NewRoot = elem(21) },
		"pubdataCommitment":            func(h *Header) { h.PubdataCommitment = elem(21) },
		"roots swapped":                func(h *Header) { h.PrevRoot, h.NewRoot = h.NewRoot, h.PrevRoot },
		"number and timestamp swapped": func(h *Header) { h.Number, h.Timestamp = h.Timestamp, h.Number },
		"firstPriority and priorityCount swapped": func(h *Header) { h.FirstPriority, h.PriorityCount = uint64(h.PriorityCount), uint32(h.FirstPriority) },
	} {
		h := base
		f(&h)
		if check(&h, testDomain) == pi0 {
			t.Fatalf("changing %s leaves the public input", name)
		}
	}
	// the domain (chain id, bridge) is bound
	for _, d := range []types.Domain{otherChain, otherBridge} {
		if check(&base, d) == pi0 {
			t.Fatalf("domain %+v gives the same public input", d)
		}
	}
	// the family is not: the verifying key stands for it
	for _, f := range append(types.AllFamilies(), types.FamilyNone) {
		h := base
		h.Family = f
		if check(&h, testDomain) != pi0 {
			t.Fatalf("family %v changes the public input", f)
		}
	}
	// real batches
	w := stdWorld(t)
	for _, sb := range w.sealed {
		check(&sb.Header, testDomain)
		checkPubdata(t, w.db, sb)
	}
}

func TestBatchChaining(t *testing.T) {
	w := newWorld(t, types.TestParams(), 4)
	w.deposit(0, 0, 0)
	w.deposit(1, 0, 100)
	w.deposit(2, 0, 100)
	w.seal() // batch 1
	fw := &types.ForcedWithdraw{PriorityID: w.prio, Requester: userAddr(2), Account: w.acct[2], Token: 0}
	w.mustAdd(fw) // batch 2
	w.prio++
	// another family: the fixture seals batch 2 and the transfer opens batch 3
	w.mustAdd(w.transfer(1, 0, types.ETH, 5, 1))
	// a new pair whose key cannot sign: refused (refunded on L1), still a
	// priority operation, in batch 4; the bridge gave the pair its own id
	refused := &types.Deposit{PriorityID: w.prio, Account: w.accountFor(userAddr(3), types.PubKey{}), L1Address: userAddr(3), Token: 1}
	refused.Amount.SetUint64(1)
	if r := w.mustAdd(refused); !refused.Refused || !errors.Is(r.Refusal, types.ErrBadPublicKey) {
		t.Fatalf("deposit with an empty key: refused=%v (%v)", refused.Refused, r.Refusal)
	}
	w.prio++
	w.seal() // batch 4
	w.mustAdd(w.transfer(1, 0, types.ETH, 5, 0))
	w.mustAdd(w.transfer(1, 2, types.ETH, 1, 0))
	w.seal() // batch 5
	if len(w.sealed) != 5 {
		t.Fatalf("%d batches sealed, want 5", len(w.sealed))
	}
	for i, c := range []struct {
		family       types.Family
		first        uint64
		count        uint32
		withdrawals  int
		wantTxsKinds []types.Kind
	}{
		{types.FamilyPriority, 0, 3, 0, []types.Kind{types.KindDeposit, types.KindDeposit, types.KindDeposit}},
		{types.FamilyPriority, 3, 1, 1, []types.Kind{types.KindForcedWithdraw}},
		{types.FamilyTransfer, 4, 0, 0, []types.Kind{types.KindTransfer}},
		{types.FamilyPriority, 4, 1, 0, []types.Kind{types.KindDeposit}},
		{types.FamilyTransfer, 5, 0, 0, []types.Kind{types.KindTransfer, types.KindTransfer}},
	} {
		sb := w.sealed[i]
		h := sb.Header
		if h.Number != uint64(i+1) {
			t.Fatalf("batch %d numbered %d", i+1, h.Number)
		}
		if h.Family != c.family {
			t.Fatalf("batch %d: family %v, want %v", h.Number, h.Family, c.family)
		}
		prev := EmptyRoot(w.p)
		if i > 0 {
			prev = w.sealed[i-1].Header.NewRoot
		}
		if h.PrevRoot != prev {
			t.Fatalf("batch %d does not chain", h.Number)
		}
		if h.FirstPriority != c.first || h.PriorityCount != c.count {
			t.Fatalf("batch %d: priority %d+%d, want %d+%d", h.Number, h.FirstPriority, h.PriorityCount, c.first, c.count)
		}
		if len(sb.Withdrawals) != c.withdrawals {
			t.Fatalf("batch %d: %d withdrawals", h.Number, len(sb.Withdrawals))
		}
		for _, wit := range sb.Witnesses {
			if err := VerifyWitness(w.p, wit); err != nil {
				t.Fatalf("batch %d: %v", h.Number, err)
			}
		}
		// the witnesses chain from PrevRoot to NewRoot
		root := h.PrevRoot
		for _, wit := range sb.Witnesses {
			if wit.RootBefore != root {
				t.Fatalf("batch %d: witness does not start at the running root", h.Number)
			}
			root = wit.RootAfter
		}
		if root != h.NewRoot {
			t.Fatalf("batch %d: witnesses do not end at NewRoot", h.Number)
		}
		// stored transactions, read back after later batches
		txs, err := w.db.Txs(h.Number)
		if err != nil {
			t.Fatal(err)
		}
		if len(txs) != len(c.wantTxsKinds) {
			t.Fatalf("batch %d: %d stored txs", h.Number, len(txs))
		}
		for j, tx := range txs {
			if tx.Kind() != c.wantTxsKinds[j] {
				t.Fatalf("batch %d tx %d: %s", h.Number, j, tx.Kind())
			}
			a, _ := types.EncodeTx(tx)
			b, _ := types.EncodeTx(sb.Txs[j])
			if !bytes.Equal(a, b) {
				t.Fatalf("batch %d tx %d differs from the applied one", h.Number, j)
			}
		}
		checkPubdata(t, w.db, sb)
		// roots and headers of old batches
		r, err := w.db.Root(h.Number)
		if err != nil || r != h.NewRoot {
			t.Fatalf("db.Root(%d): %v", h.Number, err)
		}
		if stored, err := w.db.Header(h.Number); err != nil || !reflect.DeepEqual(*stored, h) {
			t.Fatalf("db.Header(%d): %v", h.Number, err)
		}
	}
	if r, err := w.db.Root(0); err != nil || r != EmptyRoot(w.p) {
		t.Fatalf("db.Root(0): %v", err)
	}
	if w.sealed[0].Header.NewRoot == w.sealed[1].Header.NewRoot {
		t.Fatal("roots")
	}
	// an empty batch cannot be sealed: it leaves no batch 6 and no new root
	if _, err := w.batch.Seal(); !errors.Is(err, ErrEmptyBatch) {
		t.Fatalf("empty seal: %v", err)
	}
	if w.db.Head() != 5 {
		t.Fatalf("head %d after an empty seal", w.db.Head())
	}
	if r, err := w.db.Root(5); err != nil || r != w.sealed[4].Header.NewRoot {
		t.Fatalf("db.Root(5) after an empty seal: %v", err)
	}
	w.open()
	if w.batch.Number() != 6 {
		t.Fatalf("next batch numbered %d", w.batch.Number())
	}
	if _, err := w.db.Txs(99); !errors.Is(err, ErrUnknownBatch) {
		t.Fatalf("unknown batch: %v", err)
	}
}

func TestBatchTimestamp(t *testing.T) {
	w := newWorld(t, types.TestParams(), 2)
	w.deposit(0, 0, 0)
	sb := w.seal()
	w.batch.Discard()
	if _, err := w.db.NewBatch(sb.Header.Timestamp - 1); !errors.Is(err, ErrTimestamp) {
		t.Fatalf("timestamp going backwards: %v", err)
	}
	b, err := w.db.NewBatch(sb.Header.Timestamp) // equal is allowed
	if err != nil {
		t.Fatal(err)
	}
	d := w.depositTx(1, 0, 0)
	if _, err := b.Add(d); err != nil || d.Refused {
		t.Fatalf("deposit: %v (refused %v)", err, d.Refused)
	}
	w.prio++
	w.acct[1] = d.Account
	s2, err := b.Seal()
	if err != nil || s2.Header.Timestamp != sb.Header.Timestamp {
		t.Fatalf("seal at an equal timestamp: %v", err)
	}
	if _, err := w.db.NewBatch(sb.Header.Timestamp - 1); !errors.Is(err, ErrTimestamp) {
		t.Fatalf("timestamp going backwards: %v", err)
	}
	w.ts = sb.Header.Timestamp + 1
	w.open()
	// the batch timestamp is the order-expiry clock
	w.deposit(1, 0, 0)
	if got := w.st().timestamp; got != w.ts {
		t.Fatalf("state timestamp %d, want %d", got, w.ts)
	}
}

// TestBatchRollback: rolling back to batch k restores db.Root(k), and
// re-applying the same transactions rebuilds the same batches.
func TestBatchRollback(t *testing.T) {
	w := stdWorld(t)
	base := w.db.Head()
	baseRoot, _ := w.db.Root(base)
	first := len(w.sealed)
	// three families, then two: the fixture seals a batch per family
	w.mustAdd(w.transfer(uAlice, uBob, types.ETH, 100, 2))
	w.mustAdd(w.sign(uBob, &types.BuyCredits{Account: w.acct[uBob], Model: m1, Credits: 3, MaxPrice: u256(100), Fee: u256(1), Nonce: w.nonce(uBob)}))
	d := w.depositTx(uGhost, 0, 50)
	w.mustAdd(d)
	w.prio++
	a := w.seal()
	w.mustAdd(&types.Trade{Buy: w.order(uBob, m1, types.Buy, 1, 10, 60, 30), Sell: w.order(uDao, m1, types.Sell, 1, 10, 50, 30),
		Fill: 10, Price: u256(55), BuyFeeBips: 5})
	w.mustAdd(w.sign(uDao, &types.ClaimRevenue{Account: w.acct[uDao], Model: m1, Nonce: w.nonce(uDao)}))
	b := w.seal()
	built := append([]*SealedBatch(nil), w.sealed[first:]...)
	if len(built) != 5 || built[2] != a || built[4] != b {
		t.Fatalf("%d batches built", len(built))
	}
	n := uint64(len(built))
	if w.db.Head() != base+n {
		t.Fatalf("head %d", w.db.Head())
	}
	w.batch.Discard()
	if err := w.db.Store().Rollback(base); err != nil {
		t.Fatal(err)
	}
	if w.db.Head() != base {
		t.Fatalf("head %d after rollback", w.db.Head())
	}
	if r, err := w.db.Root(base); err != nil || r != baseRoot {
		t.Fatalf("root after rollback: %v", err)
	}
	if _, err := w.db.Header(base + 1); !errors.Is(err, ErrUnknownBatch) {
		t.Fatalf("rolled-back header still readable: %v", err)
	}
	// rebuild every batch with the same timestamps and transactions
	for _, orig := range built {
		nb, err := w.db.NewBatch(orig.Header.Timestamp)
		if err != nil {
			t.Fatal(err)
		}
		if nb.Number() != orig.Header.Number {
			t.Fatalf("rebuilt batch numbered %d, want %d", nb.Number(), orig.Header.Number)
		}
		for _, tx := range orig.Txs {
			if _, err := nb.Add(tx); err != nil {
				t.Fatalf("re-apply %s: %v", tx.Kind(), err)
			}
		}
		sb, err := nb.Seal()
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(sb.Header, orig.Header) || !bytes.Equal(sb.Pubdata, orig.Pubdata) {
			t.Fatalf("batch %d rebuilt differently", orig.Header.Number)
		}
		if sb.Header.PublicInput(testDomain) != orig.Header.PublicInput(testDomain) {
			t.Fatal("public input differs")
		}
	}
	if r, err := w.db.Root(base + n); err != nil || r != b.Header.NewRoot {
		t.Fatalf("root after rebuild: %v", err)
	}
	// a rollback of one batch, then an alternative batch instead
	prev := built[n-2]
	if err := w.db.Store().Rollback(base + n - 1); err != nil {
		t.Fatal(err)
	}
	if r, _ := w.db.Root(base + n - 1); r != prev.Header.NewRoot {
		t.Fatal("root of batch k after rolling back k+1")
	}
	w.ts = b.Header.Timestamp
	w.open()
	if w.batch.Number() != base+n || w.balance(uBob, 0) == 0 {
		t.Fatalf("batch %d", w.batch.Number())
	}
	w.mustAdd(w.transfer(uAlice, uBob, types.ETH, 1, 0))
	alt := w.seal()
	if alt.Header.Number != base+n || alt.Header.PrevRoot != prev.Header.NewRoot || alt.Header.NewRoot == b.Header.NewRoot {
		t.Fatal("alternative batch")
	}
}
