package state

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"testing"

	"github.com/holiman/uint256"

	"github.com/modex/modex/state/store"
	"github.com/modex/modex/types"
)

// openReplayDB opens a fresh in-memory state DB to replay into.
func openReplayDB(t testing.TB, p types.Params) *DB {
	t.Helper()
	db, err := Open(p, testDomain, store.Options{InMemory: true, KeepBatches: 16})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// replayAll replays batches (header and pubdata only) into db, checking after
// each one that the header, the pubdata and the stored root are the original's.
func replayAll(t *testing.T, db *DB, batches []*SealedBatch) {
	t.Helper()
	for _, sb := range batches {
		h := sb.Header
		got, err := db.Replay(&h, bytes.Clone(sb.Pubdata))
		if err != nil {
			t.Fatalf("replay of batch %d (%v, %d txs): %v", h.Number, h.Family, len(sb.Txs), err)
		}
		if got.Header != sb.Header || !bytes.Equal(got.Pubdata, sb.Pubdata) || len(got.Txs) != len(sb.Txs) {
			t.Fatalf("batch %d: replayed batch differs", h.Number)
		}
		if root, err := db.Root(h.Number); err != nil || root != sb.Header.NewRoot {
			t.Fatalf("batch %d: replayed root differs (%v)", h.Number, err)
		}
		if db.Head() != h.Number {
			t.Fatalf("batch %d: head %d", h.Number, db.Head())
		}
		// the replay's witnesses chain from the previous root to the new one
		cur := h.PrevRoot
		for i, wit := range got.Witnesses {
			if wit.RootBefore != cur {
				t.Fatalf("batch %d: replay witness %d does not chain", h.Number, i)
			}
			if err := VerifyWitness(db.Params(), wit); err != nil {
				t.Fatalf("batch %d: replay witness %d: %v", h.Number, i, err)
			}
			cur = wit.RootAfter
		}
		if cur != h.NewRoot {
			t.Fatalf("batch %d: replay witnesses end off the new root", h.Number)
		}
	}
}

// sameState compares two states leaf by leaf over the whole (test-sized)
// trees, the records beside them and the priority counter.
func sameState(t *testing.T, p types.Params, a, b *State) {
	t.Helper()
	ra, err := a.Root()
	if err != nil {
		t.Fatal(err)
	}
	if rb, err := b.Root(); err != nil || ra != rb {
		t.Fatalf("roots differ (%v)", err)
	}
	pa, _ := a.NextPriority()
	if pb, _ := b.NextPriority(); pa != pb {
		t.Fatalf("next priority %d vs %d", pa, pb)
	}
	same := func(what string, x, y any, ex, ey error) {
		t.Helper()
		if (ex == nil) != (ey == nil) || (ex != nil && ex.Error() != ey.Error()) || !reflect.DeepEqual(x, y) {
			t.Fatalf("%s: %+v (%v) vs %+v (%v)", what, x, ex, y, ey)
		}
	}
	for m := uint16(0); uint64(m) < 1<<p.ModelDepth; m++ {
		x, ex := a.Model(m)
		y, ey := b.Model(m)
		same(fmt.Sprintf("model %d", m), x, y, ex, ey)
	}
	for id := uint32(0); uint64(id) < 1<<p.AccountDepth; id++ {
		x, ex := a.Account(id)
		y, ey := b.Account(id)
		same(fmt.Sprintf("account %d", id), x, y, ex, ey)
		if ex != nil {
			continue
		}
		ix, okx, ex := a.AccountByKey(x)
		iy, oky, ey := b.AccountByKey(y)
		same(fmt.Sprintf("index of account %d", id), [2]any{ix, okx}, [2]any{iy, oky}, ex, ey)
		for tok := uint16(0); uint64(tok) < 1<<p.BalanceDepth; tok++ {
			x, ex := a.Balance(id, tok)
			y, ey := b.Balance(id, tok)
			same(fmt.Sprintf("balance %d/%d", id, tok), x, y, ex, ey)
			// the exit helper's view: the same proof from either state
			px, ex := a.ExitProof(id, tok)
			py, ey := b.ExitProof(id, tok)
			same(fmt.Sprintf("exit proof %d/%d", id, tok), px, py, ex, ey)
			if px.Root() != ra {
				t.Fatalf("exit proof %d/%d does not lead to the root", id, tok)
			}
		}
		for m := uint16(0); uint64(m) < 1<<p.ModelDepth; m++ {
			x, ex := a.Position(id, m)
			y, ey := b.Position(id, m)
			same(fmt.Sprintf("position %d/%d", id, m), x, y, ex, ey)
			for s := uint64(0); s < 1<<p.OrderDepth; s++ {
				x, ex := a.Slot(id, m, s)
				y, ey := b.Slot(id, m, s)
				same(fmt.Sprintf("slot %d/%d/%d", id, m, s), x, y, ex, ey)
			}
		}
	}
}

// replayCoverage counts what the replayed batches exercised.
type replayCoverage struct {
	families                                     map[types.Family]int
	batches, deposits, refused, fwZero, fwPaid   int
	trades, partialFills, slotRestarts           int
	buyCredits, redeems, creditTransfers, shares int
	daoClaims, holderClaims, feeSettlements      int
	cancels, mints, setParams, withdraws         int
}

// scan tallies the batches' operations as the pubdata shows them, tracking
// the order slots (trades and cancels) and the models' DAOs from the
// operations themselves.
func (c *replayCoverage) scan(p types.Params, batches []*SealedBatch) {
	type slotKey struct {
		acct  uint32
		model uint16
		slot  uint32
	}
	slots := map[slotKey]uint32{} // order id last written to the slot
	dao := map[uint16]uint32{}
	touch := func(acct uint32, model uint16, id uint32) {
		k := slotKey{acct, model, id % (1 << p.OrderDepth)}
		switch cur, ok := slots[k]; {
		case ok && cur == id:
			c.partialFills++ // the order continues (a later fill of a partly filled order)
		case ok && cur < id:
			c.slotRestarts++ // a newer order takes the slot over
		}
		slots[k] = id
	}
	for _, sb := range batches {
		c.batches++
		c.families[sb.Header.Family]++
		if fw := sb.Witnesses[len(sb.Witnesses)-1]; len(fw.Updates) > 0 {
			c.feeSettlements++
		}
		for _, tx := range sb.Txs {
			switch t := tx.(type) {
			case *types.Deposit:
				c.deposits++
				if t.Refused {
					c.refused++
				}
			case *types.ForcedWithdraw:
				if t.Amount.IsZero() {
					c.fwZero++
				} else {
					c.fwPaid++
				}
			case *types.Trade:
				c.trades++
				touch(t.Buy.Account, t.Buy.Model, t.Buy.OrderID)
				touch(t.Sell.Account, t.Sell.Model, t.Sell.OrderID)
			case *types.CancelOrder:
				c.cancels++
				slots[slotKey{t.Account, t.Model, t.OrderID % (1 << p.OrderDepth)}] = t.OrderID
			case *types.CreateModel:
				dao[t.Model] = t.Account
			case *types.MintShares:
				c.mints++
			case *types.SetModelParams:
				c.setParams++
			case *types.Withdraw:
				c.withdraws++
			case *types.BuyCredits:
				c.buyCredits++
			case *types.RedeemCredits:
				c.redeems++
			case *types.Transfer:
				switch t.Asset.Kind() {
				case types.AssetCredit:
					c.creditTransfers++
				case types.AssetShare:
					c.shares++
				}
			case *types.ClaimRevenue:
				if dao[t.Model] == t.Account {
					c.daoClaims++
				} else {
					c.holderClaims++
				}
			}
		}
	}
}

// TestReplayFromPubdata rebuilds the state from L1 data alone: seeded random
// runs of every transaction kind (about 30% of them invalid, so rejected and
// absent from the batches), sealed into batches of every family, are replayed
// from each batch's header and pubdata into a fresh DB. After every batch the
// roots agree (Replay refuses otherwise, and the test checks again); at the
// end the two states agree leaf by leaf, and so do their exit proofs.
func TestReplayFromPubdata(t *testing.T) {
	seeds, steps := 6, 300
	if testing.Short() {
		seeds = 2
	}
	cov := &replayCoverage{families: map[types.Family]int{}}
	for seed := 0; seed < seeds; seed++ {
		t.Run(fmt.Sprintf("seed%d", seed), func(t *testing.T) {
			pr := newProp(t, uint64(1000+seed))
			pr.run(steps)
			w := pr.w
			cov.scan(w.p, w.sealed)
			db := openReplayDB(t, w.p)
			replayAll(t, db, w.sealed)
			head := w.db.Head()
			if db.Head() != head {
				t.Fatalf("replayed head %d, original %d", db.Head(), head)
			}
			a, ra, err := w.db.View(head)
			if err != nil {
				t.Fatal(err)
			}
			defer ra()
			b, rb, err := db.View(head)
			if err != nil {
				t.Fatal(err)
			}
			defer rb()
			sameState(t, w.p, a, b)
		})
		if t.Failed() {
			return
		}
	}
	t.Logf("%d batches: families %v", cov.batches, cov.families)
	t.Logf("%+v", *cov)
	for _, f := range types.AllFamilies() {
		if cov.families[f] == 0 {
			t.Errorf("no %v batch replayed", f)
		}
	}
	for name, n := range map[string]int{
		"deposit": cov.deposits - cov.refused, "refused deposit": cov.refused,
		"forced withdrawal of 0": cov.fwZero, "paid forced withdrawal": cov.fwPaid,
		"trade": cov.trades, "partial fill": cov.partialFills, "order-slot restart": cov.slotRestarts,
		"credit purchase": cov.buyCredits, "redemption": cov.redeems, "credit transfer": cov.creditTransfers,
		"share transfer": cov.shares, "DAO claim": cov.daoClaims, "holder claim": cov.holderClaims,
		"fee settlement": cov.feeSettlements, "cancel": cov.cancels, "mint": cov.mints, "parameter change": cov.setParams,
		"withdrawal": cov.withdraws,
	} {
		if n == 0 {
			t.Errorf("no %s replayed", name)
		}
	}
	if min := 100 * seeds; cov.batches < min {
		t.Errorf("%d batches replayed, want at least %d", cov.batches, min)
	}
}

// replayFixture is a short random run and a fresh DB to replay it into.
func replayFixture(t *testing.T) (*prop, *DB) {
	pr := newProp(t, 7)
	pr.run(300)
	return pr, openReplayDB(t, pr.w.p)
}

// findBatch returns the index of the first batch with a transaction that ok accepts.
func findBatch(t *testing.T, batches []*SealedBatch, ok func(types.Tx) bool) int {
	t.Helper()
	for i, sb := range batches {
		for _, tx := range sb.Txs {
			if ok(tx) {
				return i
			}
		}
	}
	t.Fatal("no such batch")
	return -1
}

// setOp re-encodes the op in slot i of a copy of pubdata after change.
func setOp(t *testing.T, f types.Family, p types.Params, pubdata []byte, i int, change func(types.Tx)) []byte {
	t.Helper()
	ops, err := DecodeSlots(f, p, pubdata)
	if err != nil {
		t.Fatal(err)
	}
	change(ops[i])
	enc, err := types.Pubdata(ops[i])
	if err != nil {
		t.Fatal(err)
	}
	out := bytes.Clone(pubdata)
	copy(out[i*f.SlotBytes():], enc)
	return out
}

func opIndex(sb *SealedBatch, ok func(types.Tx) bool) int {
	for i, tx := range sb.Txs {
		if ok(tx) {
			return i
		}
	}
	return -1
}

// TestReplayRejectsTampering: a header or pubdata the state cannot reproduce
// fails with ErrReplayMismatch (or ErrReplaySequence for a batch out of
// turn) and leaves the replaying DB as it was; the genuine batch then replays.
func TestReplayRejectsTampering(t *testing.T) {
	pr, db := replayFixture(t)
	w := pr.w
	p := w.p
	isPaidFW := func(tx types.Tx) bool {
		fw, ok := tx.(*types.ForcedWithdraw)
		return ok && !fw.Amount.IsZero()
	}
	isDeposit := func(tx types.Tx) bool {
		d, ok := tx.(*types.Deposit)
		return ok && !d.Refused && !d.Amount.IsZero()
	}
	isWithdraw := func(tx types.Tx) bool { _, ok := tx.(*types.Withdraw); return ok }
	isTrade := func(tx types.Tx) bool { _, ok := tx.(*types.Trade); return ok }
	isPriority := func(tx types.Tx) bool { return types.FamilyOf(tx) == types.FamilyPriority }

	type tamper struct {
		name string
		pick func(types.Tx) bool // the batch to tamper with: the first holding such an op
		mod  func(h *Header, pub []byte, sb *SealedBatch) []byte
		want error
	}
	recommit := func(h *Header, pub []byte) {
		c, err := types.PubdataCommitment(h.Family, pub)
		if err != nil {
			t.Fatal(err)
		}
		h.PubdataCommitment = c
	}
	plusOne := func(v *uint256.Int) { v.AddUint64(v, 1) }
	cases := []tamper{
		{"withdraw amount +1, header as published", isWithdraw, func(h *Header, pub []byte, sb *SealedBatch) []byte {
			return setOp(t, h.Family, p, pub, opIndex(sb, isWithdraw), func(op types.Tx) { plusOne(&op.(*types.Withdraw).Amount) })
		}, ErrReplayMismatch},
		{"withdraw amount +1, commitment recomputed", isWithdraw, func(h *Header, pub []byte, sb *SealedBatch) []byte {
			out := setOp(t, h.Family, p, pub, opIndex(sb, isWithdraw), func(op types.Tx) { plusOne(&op.(*types.Withdraw).Amount) })
			recommit(h, out)
			return out
		}, ErrReplayMismatch},
		{"deposit amount +1, commitment recomputed", isDeposit, func(h *Header, pub []byte, sb *SealedBatch) []byte {
			out := setOp(t, h.Family, p, pub, opIndex(sb, isDeposit), func(op types.Tx) { plusOne(&op.(*types.Deposit).Amount) })
			recommit(h, out)
			return out
		}, ErrReplayMismatch},
		{"deposit marked refused", isDeposit, func(h *Header, pub []byte, sb *SealedBatch) []byte {
			out := setOp(t, h.Family, p, pub, opIndex(sb, isDeposit), func(op types.Tx) { op.(*types.Deposit).Refused = true })
			recommit(h, out)
			return out
		}, ErrReplayMismatch},
		{"forced withdrawal amount +1", isPaidFW, func(h *Header, pub []byte, sb *SealedBatch) []byte {
			out := setOp(t, h.Family, p, pub, opIndex(sb, isPaidFW), func(op types.Tx) { plusOne(&op.(*types.ForcedWithdraw).Amount) })
			recommit(h, out)
			return out
		}, ErrReplayMismatch},
		{"forced withdrawal amount 0", isPaidFW, func(h *Header, pub []byte, sb *SealedBatch) []byte {
			out := setOp(t, h.Family, p, pub, opIndex(sb, isPaidFW), func(op types.Tx) { op.(*types.ForcedWithdraw).Amount.Clear() })
			recommit(h, out)
			return out
		}, ErrReplayMismatch},
		{"trade fill +1", isTrade, func(h *Header, pub []byte, sb *SealedBatch) []byte {
			out := setOp(t, h.Family, p, pub, opIndex(sb, isTrade), func(op types.Tx) { op.(*types.Trade).Fill++ })
			recommit(h, out)
			return out
		}, ErrReplayMismatch},
		{"new root", isWithdraw, func(h *Header, pub []byte, _ *SealedBatch) []byte {
			h.NewRoot.SetUint64(12345)
			return pub
		}, ErrReplayMismatch},
		{"previous root", isWithdraw, func(h *Header, pub []byte, _ *SealedBatch) []byte {
			h.PrevRoot.SetUint64(12345)
			return pub
		}, ErrReplayMismatch},
		{"first priority +1", isPriority, func(h *Header, pub []byte, _ *SealedBatch) []byte {
			h.FirstPriority++
			return pub
		}, ErrReplayMismatch},
		{"priority count +1", isPriority, func(h *Header, pub []byte, _ *SealedBatch) []byte {
			h.PriorityCount++
			return pub
		}, ErrReplayMismatch},
		{"timestamp before the previous batch", isWithdraw, func(h *Header, pub []byte, _ *SealedBatch) []byte {
			h.Timestamp = 1
			return pub
		}, ErrReplayMismatch},
		{"commitment", isWithdraw, func(h *Header, pub []byte, _ *SealedBatch) []byte {
			h.PubdataCommitment.SetUint64(1)
			return pub
		}, ErrReplayMismatch},
		{"last op dropped", isWithdraw, func(h *Header, pub []byte, sb *SealedBatch) []byte {
			out := bytes.Clone(pub)
			sz := h.Family.SlotBytes()
			clear(out[(len(sb.Txs)-1)*sz : len(sb.Txs)*sz])
			recommit(h, out)
			return out
		}, ErrReplayMismatch},
		{"malformed pubdata", isWithdraw, func(h *Header, pub []byte, _ *SealedBatch) []byte {
			return pub[1:]
		}, ErrReplayMismatch},
		{"batch number skips one", isWithdraw, func(h *Header, pub []byte, _ *SealedBatch) []byte {
			h.Number++
			return pub
		}, ErrReplaySequence},
		{"batch number repeats", isWithdraw, func(h *Header, pub []byte, _ *SealedBatch) []byte {
			h.Number--
			return pub
		}, ErrReplaySequence},
	}
	batches := w.sealed
	// in batch order: the DB replays the genuine batches up to each case's
	idx := map[string]int{}
	for _, c := range cases {
		idx[c.name] = findBatch(t, batches, c.pick)
	}
	sort.SliceStable(cases, func(a, b int) bool { return idx[cases[a].name] < idx[cases[b].name] })
	done := 0 // batches replayed so far
	for _, c := range cases {
		i := idx[c.name]
		replayAll(t, db, batches[done:i])
		done = i
		sb := batches[i]
		h := sb.Header
		pub := c.mod(&h, bytes.Clone(sb.Pubdata), sb)
		headBefore := db.Head()
		rootBefore, err := db.Root(headBefore)
		if err != nil {
			t.Fatal(err)
		}
		_, err = db.Replay(&h, pub)
		if !errors.Is(err, c.want) {
			t.Fatalf("%s: got %v, want %v", c.name, err, c.want)
		}
		t.Logf("%s: %v", c.name, err)
		if db.Head() != headBefore {
			t.Fatalf("%s: head moved from %d to %d", c.name, headBefore, db.Head())
		}
		if root, err := db.Root(headBefore); err != nil || root != rootBefore {
			t.Fatalf("%s: root changed (%v)", c.name, err)
		}
	}
	// the genuine batches still replay, to the end
	replayAll(t, db, batches[done:])

	// replay mode stays inside Replay: a batch opened normally checks signatures
	b, err := db.NewBatch(w.ts + 100)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Discard()
	if b.st.replay {
		t.Fatal("a normal batch is in replay mode")
	}
	tx := &types.Transfer{From: 1, To: 2, Asset: types.ETH, Amount: u256(1)}
	a, err := b.State().Account(1)
	if err != nil {
		t.Fatal(err)
	}
	tx.Nonce = a.Nonce
	if _, err := b.Add(tx); !errors.Is(err, types.ErrBadSignature) && !errors.Is(err, types.ErrSignatureMalleable) && !errors.Is(err, types.ErrBadPublicKey) {
		t.Fatalf("unsigned transfer in a normal batch: %v", err)
	}
}

// TestDecodeSlots: the slot layout of §6 and its error cases.
func TestDecodeSlots(t *testing.T) {
	p := types.TestParams()
	w := newWorld(t, p, 3)
	w.deposit(0, 0, 0)
	w.deposit(1, 0, 1000)
	fw := &types.ForcedWithdraw{PriorityID: w.prio, Requester: userAddr(1), Account: w.acct[1], Token: 0}
	w.mustAdd(fw)
	w.prio++
	prio := w.seal()
	w.deposit(2, 0, 1000)
	w.seal()
	w.mustAdd(w.sign(2, &types.Transfer{From: w.acct[2], To: w.acct[1], Asset: types.ETH, Amount: u256(5), Fee: u256(1), Nonce: 0}))
	transfer := w.seal()

	// a sealed batch decodes to its transactions' pubdata
	for _, sb := range []*SealedBatch{prio, transfer} {
		ops, err := DecodeSlots(sb.Header.Family, p, sb.Pubdata)
		if err != nil || len(ops) != len(sb.Txs) {
			t.Fatalf("%v batch: %d ops (%v), want %d", sb.Header.Family, len(ops), err, len(sb.Txs))
		}
		for i, op := range ops {
			want, _ := types.Pubdata(sb.Txs[i])
			if got, _ := types.Pubdata(op); !bytes.Equal(got, want) {
				t.Fatalf("op %d decodes to %x, want %x", i, got, want)
			}
		}
	}
	pf, tf := types.FamilyPriority, types.FamilyTransfer
	psz, tsz := pf.SlotBytes(), tf.SlotBytes()
	pub := prio.Pubdata
	mod := func(b []byte, f func(b []byte)) []byte { c := bytes.Clone(b); f(c); return c }
	withdraw, err := types.Pubdata(&types.Withdraw{Account: 1, Amount: u256(1)})
	if err != nil {
		t.Fatal(err)
	}
	shares, err := types.Pubdata(&types.Transfer{From: 1, To: 2, Asset: types.ShareAsset(1), Amount: u256(1)})
	if err != nil {
		t.Fatal(err)
	}
	fwLen := types.PubdataSize[types.KindForcedWithdraw]
	for _, c := range []struct {
		name string
		f    types.Family
		pub  []byte
		want error
	}{
		{"one byte short", pf, pub[:len(pub)-1], ErrPubdataLength},
		{"one byte long", pf, append(bytes.Clone(pub), 0), ErrPubdataLength},
		{"one slot short", pf, pub[:len(pub)-psz], ErrPubdataLength},
		{"empty", pf, nil, ErrPubdataLength},
		{"read as another family", tf, pub, ErrPubdataLength},
		{"unknown family", types.Family(0), pub, ErrPubdataFamily},
		{"family 99", types.Family(99), pub, ErrPubdataFamily},
		{"a Withdraw in a Priority batch", pf, mod(pub, func(b []byte) { copy(b[3*psz:], withdraw) }), ErrPubdataFamily},
		{"a share transfer in a Transfer batch", tf, mod(transfer.Pubdata, func(b []byte) { copy(b[tsz:], shares) }), ErrPubdataFamily},
		{"an unknown kind", pf, mod(pub, func(b []byte) { b[3*psz] = 200 }), ErrPubdataFamily},
		{"a byte after the first Noop", pf, mod(pub, func(b []byte) { b[len(b)-1] = 1 }), ErrPubdataPadding},
		{"an op after the first Noop", pf, mod(pub, func(b []byte) { copy(b[4*psz:], pub[:psz]) }), ErrPubdataPadding},
		{"a Noop slot with a non-zero byte", pf, mod(pub, func(b []byte) { b[3*psz+1] = 1 }), ErrPubdataPadding},
		{"a byte in an op's padding", pf, mod(pub, func(b []byte) { b[2*psz+fwLen] = 1 }), ErrPubdataPadding},
		{"a deposit's refused flag 2", pf, mod(pub, func(b []byte) { b[psz+1] = 2 }), types.ErrMalformed},
	} {
		_, err := DecodeSlots(c.f, p, c.pub)
		if !errors.Is(err, c.want) || !errors.Is(err, ErrBadPubdata) {
			t.Errorf("%s: got %v, want %v", c.name, err, c.want)
		}
	}
	// all-zero pubdata is no operation at all; Replay refuses it as an empty batch
	if ops, err := DecodeSlots(pf, p, make([]byte, len(pub))); err != nil || len(ops) != 0 {
		t.Fatalf("all zero: %d ops, %v", len(ops), err)
	}
	db := openReplayDB(t, p)
	h := prio.Header
	if _, err := db.Replay(&h, make([]byte, len(pub))); !errors.Is(err, ErrReplayMismatch) || !errors.Is(err, ErrEmptyBatch) {
		t.Fatalf("empty batch replayed: %v", err)
	}
	if _, err := db.Replay(nil, pub); !errors.Is(err, types.ErrMalformed) {
		t.Fatalf("nil header: %v", err)
	}
}
