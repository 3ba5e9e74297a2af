package state

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"math/big"
	"reflect"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/modex/modex/types"
)

func TestBatchCapacity(t *testing.T) {
	p := types.TestParams()
	p.BatchCapacity = 4
	w := newWorld(t, p, 3)
	w.deposit(0, 0, 10)
	w.deposit(1, 0, 10)
	for i := 0; i < 2; i++ {
		if _, err := w.batch.Add(&types.Noop{}); err != nil {
			t.Fatal(err)
		}
	}
	before := w.snap()
	for _, tx := range []types.Tx{&types.Noop{}, w.depositTx(2, 0, 1), w.transfer(1, 0, types.ETH, 1, 0)} {
		if _, err := w.batch.Add(tx); !errors.Is(err, ErrBatchFull) {
			t.Fatalf("%s in a full batch: %v", tx.Kind(), err)
		}
	}
	before.same(t, w.snap())
	sb := w.seal()
	// a full batch has no padding: 2 deposits + 2 Noops
	if len(sb.Pubdata) != 2*103+2 || len(sb.Txs) != 4 || len(sb.Witnesses) != 5 {
		t.Fatalf("pubdata %d bytes, %d txs, %d witnesses", len(sb.Pubdata), len(sb.Txs), len(sb.Witnesses))
	}
	// the next batch takes the transaction that did not fit
	w.deposit(2, 0, 1)
	if w.batch.Number() != 2 || w.batch.Len() != 1 {
		t.Fatalf("batch %d with %d txs", w.batch.Number(), w.batch.Len())
	}
}

func TestBatchPubdataPadding(t *testing.T) {
	w := stdWorld(t) // capacity 64
	w.deposit(uAlice, 0, 1)
	w.mustAdd(w.transfer(uAlice, uBob, types.ETH, 3, 1))
	w.mustAdd(&types.Trade{Buy: w.order(uBob, m1, types.Buy, 1, 10, 60, 30), Sell: w.order(uDao, m1, types.Sell, 1, 10, 50, 30),
		Fill: 10, Price: u256(55)})
	w.mustAdd(w.sign(uDao, &types.ClaimRevenue{Account: w.acct[uDao], Model: m1, Nonce: w.nonce(uDao)}))
	sb := w.seal()
	used := 103 + 16 + 27 + 8
	if len(sb.Pubdata) != used+w.p.BatchCapacity-4 {
		t.Fatalf("pubdata %d bytes, want %d", len(sb.Pubdata), used+w.p.BatchCapacity-4)
	}
	if !bytes.Equal(sb.Pubdata[used:], make([]byte, w.p.BatchCapacity-4)) {
		t.Fatal("padding is not Noop bytes")
	}
	ops, err := types.DecodePubdata(sb.Pubdata)
	if err != nil {
		t.Fatal(err)
	}
	if len(ops) != w.p.BatchCapacity {
		t.Fatalf("%d operations", len(ops))
	}
	want := []types.Kind{types.KindDeposit, types.KindTransfer, types.KindTrade, types.KindClaimRevenue}
	for i, op := range ops {
		k := types.KindNoop
		if i < len(want) {
			k = want[i]
		}
		if op.Kind() != k {
			t.Fatalf("op %d is %s, want %s", i, op.Kind(), k)
		}
	}
	if sb.Header.PubdataHash != sha256.Sum256(sb.Pubdata) {
		t.Fatal("pubdata hash")
	}
	stored, err := w.db.Pubdata(sb.Header.Number)
	if err != nil || !bytes.Equal(stored, sb.Pubdata) {
		t.Fatalf("stored pubdata differs (%v)", err)
	}
	// an empty batch is all padding
	sb = w.seal()
	if !bytes.Equal(sb.Pubdata, make([]byte, w.p.BatchCapacity)) || len(sb.Witnesses) != 1 {
		t.Fatalf("empty batch: %d bytes of pubdata, %d witnesses", len(sb.Pubdata), len(sb.Witnesses))
	}
}

func TestHeaderEncoding(t *testing.T) {
	w := stdWorld(t)
	w.mustAdd(w.transfer(uAlice, uBob, types.ETH, 3, 1))
	sb := w.seal()
	h := sb.Header
	enc := h.Encode()
	if len(enc) != 124 {
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
	// field layout (§8): big-endian integers, roots as 32-byte elements
	pr, nr := h.PrevRoot.Bytes(), h.NewRoot.Bytes()
	if new(big.Int).SetBytes(enc[0:8]).Uint64() != h.Number || new(big.Int).SetBytes(enc[8:16]).Uint64() != h.Timestamp ||
		!bytes.Equal(enc[16:48], pr[:]) || !bytes.Equal(enc[48:80], nr[:]) ||
		new(big.Int).SetBytes(enc[80:88]).Uint64() != h.FirstPriority || new(big.Int).SetBytes(enc[88:92]).Uint64() != uint64(h.PriorityCount) ||
		!bytes.Equal(enc[92:], h.PubdataHash[:]) {
		t.Fatal("header layout")
	}
	// every field round-trips
	h2 := Header{Number: 1<<64 - 1, Timestamp: 1<<63 + 5, PrevRoot: elem(7), NewRoot: elem(8), FirstPriority: 12345, PriorityCount: 1<<32 - 1}
	h2.PubdataHash[0], h2.PubdataHash[31] = 0xff, 0x01
	if got, err := DecodeHeader(h2.Encode()); err != nil || !reflect.DeepEqual(*got, h2) {
		t.Fatalf("round trip: %+v %v", got, err)
	}
	for _, n := range []int{0, 123, 125} {
		b := make([]byte, n)
		copy(b, enc)
		if _, err := DecodeHeader(b); !errors.Is(err, types.ErrMalformed) {
			t.Fatalf("%d bytes: %v", n, err)
		}
	}
	// a root at or above the field modulus is not canonical
	bad := append([]byte(nil), enc...)
	fr.Modulus().FillBytes(bad[16:48])
	if _, err := DecodeHeader(bad); !errors.Is(err, types.ErrFieldElement) {
		t.Fatalf("non-canonical root: %v", err)
	}
	if _, err := w.db.Header(99); !errors.Is(err, ErrUnknownBatch) {
		t.Fatalf("unknown batch: %v", err)
	}
}

func TestPublicInput(t *testing.T) {
	bound := new(big.Int).Lsh(big.NewInt(1), 253)
	topSet := 0
	check := func(h *Header) {
		t.Helper()
		c := sha256.Sum256(h.Encode())
		if c != h.Commitment() {
			t.Fatal("commitment is not sha256(header)")
		}
		if c[0]&0xe0 != 0 {
			topSet++
		}
		want := new(big.Int).SetBytes(c[:])
		want.Mod(want, bound) // top three bits cleared
		pi := h.PublicInput()
		got := pi.BigInt(new(big.Int))
		if got.Cmp(want) != 0 {
			t.Fatalf("public input %s, want %s", got, want)
		}
		if got.Cmp(bound) >= 0 || got.Cmp(fr.Modulus()) >= 0 {
			t.Fatal("public input not below 2^253")
		}
	}
	for n := uint64(0); n < 64; n++ {
		check(&Header{Number: n, Timestamp: 1000 + n, PrevRoot: elem(n), NewRoot: elem(n + 1)})
	}
	if topSet == 0 {
		t.Fatal("no header exercised the bit clearing")
	}
	w := stdWorld(t)
	for _, sb := range w.sealed {
		check(&sb.Header)
	}
}

func TestBatchChaining(t *testing.T) {
	w := newWorld(t, types.TestParams(), 4)
	w.deposit(0, 0, 0)
	w.deposit(1, 0, 100)
	w.deposit(2, 0, 100)
	sb1 := w.seal()
	fw := &types.ForcedWithdraw{PriorityID: w.prio, Requester: userAddr(2), Account: w.acct[2], Token: 0}
	w.mustAdd(fw)
	w.prio++
	w.mustAdd(w.transfer(1, 0, types.ETH, 5, 1))
	// a new pair whose key cannot sign: refused (refunded on L1), still a
	// priority operation of the batch; the bridge gave the pair its own id
	refused := &types.Deposit{PriorityID: w.prio, Account: w.accountFor(userAddr(3), types.PubKey{}), L1Address: userAddr(3), Token: 1}
	refused.Amount.SetUint64(1)
	if r := w.mustAdd(refused); !refused.Refused || !errors.Is(r.Refusal, types.ErrBadPublicKey) {
		t.Fatalf("deposit with an empty key: refused=%v (%v)", refused.Refused, r.Refusal)
	}
	w.prio++
	sb2 := w.seal()
	w.mustAdd(w.transfer(1, 0, types.ETH, 5, 0))
	sb3 := w.seal()
	sb4 := w.seal() // empty

	for i, c := range []struct {
		sb           *SealedBatch
		first        uint64
		count        uint32
		withdrawals  int
		wantTxsKinds []types.Kind
	}{
		{sb1, 0, 3, 0, []types.Kind{types.KindDeposit, types.KindDeposit, types.KindDeposit}},
		{sb2, 3, 2, 1, []types.Kind{types.KindForcedWithdraw, types.KindTransfer, types.KindDeposit}},
		{sb3, 5, 0, 0, []types.Kind{types.KindTransfer}},
		{sb4, 5, 0, 0, nil},
	} {
		h := c.sb.Header
		if h.Number != uint64(i+1) {
			t.Fatalf("batch %d numbered %d", i+1, h.Number)
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
		if len(c.sb.Withdrawals) != c.withdrawals {
			t.Fatalf("batch %d: %d withdrawals", h.Number, len(c.sb.Withdrawals))
		}
		for _, wit := range c.sb.Witnesses {
			if err := VerifyWitness(w.p, wit); err != nil {
				t.Fatalf("batch %d: %v", h.Number, err)
			}
		}
		// the witnesses chain from PrevRoot to NewRoot
		root := h.PrevRoot
		for _, wit := range c.sb.Witnesses {
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
			b, _ := types.EncodeTx(c.sb.Txs[j])
			if !bytes.Equal(a, b) {
				t.Fatalf("batch %d tx %d differs from the applied one", h.Number, j)
			}
		}
		// roots of old batches
		r, err := w.db.Root(h.Number)
		if err != nil || r != h.NewRoot {
			t.Fatalf("db.Root(%d): %v", h.Number, err)
		}
	}
	if r, err := w.db.Root(0); err != nil || r != EmptyRoot(w.p) {
		t.Fatalf("db.Root(0): %v", err)
	}
	if sb1.Header.NewRoot == sb2.Header.NewRoot || sb3.Header.NewRoot != sb4.Header.NewRoot {
		t.Fatal("roots")
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
	if w.db.Head() != base+2 {
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
	// rebuild both batches with the same timestamps and transactions
	for _, orig := range []*SealedBatch{a, b} {
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
		if sb.Header.PublicInput() != orig.Header.PublicInput() {
			t.Fatal("public input differs")
		}
	}
	if r, err := w.db.Root(base + 2); err != nil || r != b.Header.NewRoot {
		t.Fatalf("root after rebuild: %v", err)
	}
	// a rollback of one batch, then an alternative batch instead
	if err := w.db.Store().Rollback(base + 1); err != nil {
		t.Fatal(err)
	}
	if r, _ := w.db.Root(base + 1); r != a.Header.NewRoot {
		t.Fatal("root of batch k after rolling back k+1")
	}
	w.ts = b.Header.Timestamp
	w.open()
	if w.batch.Number() != base+2 || w.balance(uBob, 0) == 0 {
		t.Fatalf("batch %d", w.batch.Number())
	}
	w.mustAdd(w.transfer(uAlice, uBob, types.ETH, 1, 0))
	alt := w.seal()
	if alt.Header.PrevRoot != a.Header.NewRoot || alt.Header.NewRoot == b.Header.NewRoot {
		t.Fatal("alternative batch")
	}
}
