package state

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"sort"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/modex/modex/types"
)

// TestSoftBatchEquivalence runs the property test's seeded random workload
// (every transaction kind, about 30% deliberately invalid; state/property_test.go)
// twice in lockstep: through soft batches (NewSoftBatch, flat state, Finish)
// over one in-memory overlay of the genesis snapshot that carries over from
// batch to batch, as the sequencer's soft execution does, and through tree
// batches (NewBatch, Seal) on the real DB. Batch boundaries are the same for
// both: the ones a full batch, a full fee book or another family forces,
// plus random early ones. It checks that
//
//   - every transaction is accepted or rejected identically, with the same
//     error (same message, same sentinels), the same receipt (pubdata, fee,
//     withdrawal, refusal) and the same in-place outcome on the tx (Refused,
//     forced amount); the running pubdata, family and fee book agree;
//   - a rejected transaction leaves the overlay exactly as it was;
//   - Finish's SealedBatch equals Seal's except for the roots (zero) and the
//     witnesses (none): header, pubdata, transactions, withdrawals;
//   - the soft state never hashes: Root and Roots are ErrFlatState, Seal on
//     it is ErrSoftBatch (Finish on a tree batch too), and the overlay holds
//     no node above level 0 and nothing of the account, model and position
//     trees;
//   - after every batch, every account, balance, position, order slot and
//     model (all of them, the test parameters are small), the priority
//     counter and the key index read the same through a State over the
//     overlay as through the tree DB's View(head), and every key the
//     overlay holds has the same value in the tree DB.
func TestSoftBatchEquivalence(t *testing.T) {
	seeds, steps := 4, 250
	if testing.Short() {
		seeds = 1
	}
	total := newSoftStats()
	for seed := 0; seed < seeds; seed++ {
		t.Run(fmt.Sprintf("seed%d", seed), func(t *testing.T) {
			h := newSoftRun(t, uint64(seed))
			h.run(steps)
			total.merge(h.count)
		})
		if t.Failed() {
			return
		}
	}
	var kinds []string
	for k := range total.ok {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	for _, k := range kinds {
		t.Logf("%-18s accepted %4d  rejected %4d", k, total.ok[k], total.rejected[k])
	}
	t.Logf("%d batch pairs compared; ends forced by: full %d, fee book %d, family %d; early %d, last %d",
		total.batches, total.ends["full"], total.ends["fees"], total.ends["family"], total.ends["early"], total.ends["last"])
	if testing.Short() {
		return // one seed need not reach every kind
	}
	for _, k := range []string{"Deposit", "DepositRefused", "DepositRefusedKey", "ForcedWithdraw", "ForcedWithdrawZero",
		"TransferBase", "TransferShares", "TransferCredits", "Withdraw", "CreateModel", "MintShares", "SetModelParams",
		"Trade", "CancelOrder", "BuyCredits", "RedeemCredits", "ClaimRevenue"} {
		if total.ok[k] == 0 {
			t.Errorf("%s never accepted", k)
		}
	}
	for _, k := range []string{"Deposit", "TransferBase", "Withdraw", "CreateModel", "MintShares", "Trade", "CancelOrder",
		"BuyCredits", "RedeemCredits", "ClaimRevenue"} {
		if total.rejected[k] == 0 {
			t.Errorf("%s never rejected", k)
		}
	}
	for _, e := range []string{"full", "fees", "family", "early"} {
		if total.ends[e] == 0 {
			t.Errorf("no batch ended by %s", e)
		}
	}
}

// TestSoftBatchNeverHashes is the directed form of what the equivalence test
// checks on every batch: the soft state has no root, a soft batch is
// finished and never sealed, a tree batch never finished, and the finished
// soft batch carries no roots and no witnesses.
func TestSoftBatchNeverHashes(t *testing.T) {
	w := newWorld(t, types.TestParams(), 3)
	snap, err := w.db.store.View(0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(snap.Discard)
	ov := &overlay{base: readOnly{snap}, w: map[string][]byte{}}
	sb, err := NewSoftBatch(w.p, w.d, ov, 1, w.ts)
	if err != nil {
		t.Fatal(err)
	}
	checkFlat := func(when string) {
		t.Helper()
		if _, err := sb.State().Root(); !errors.Is(err, ErrFlatState) {
			t.Fatalf("%s: soft Root: %v, want ErrFlatState", when, err)
		}
		if _, _, err := sb.State().Roots(); !errors.Is(err, ErrFlatState) {
			t.Fatalf("%s: soft Roots: %v, want ErrFlatState", when, err)
		}
		softCheckFlat(t, ov)
	}
	checkFlat("empty")
	if _, err := sb.Finish(); !errors.Is(err, ErrEmptyBatch) {
		t.Fatalf("finishing an empty soft batch: %v, want ErrEmptyBatch", err)
	}
	if sb, err = NewSoftBatch(w.p, w.d, ov, 1, w.ts); err != nil {
		t.Fatal(err)
	}
	for u := 0; u < 3; u++ {
		d := w.depositTx(u, 0, uint64(1000*u))
		if _, err := sb.Add(d); err != nil {
			t.Fatal(err)
		}
		w.acct[u] = d.Account
		w.prio++
	}
	checkFlat("after deposits")
	if _, err := sb.Seal(); !errors.Is(err, ErrSoftBatch) {
		t.Fatalf("soft Seal: %v, want ErrSoftBatch", err)
	}
	if _, err := w.batch.Finish(); !errors.Is(err, ErrSoftBatch) {
		t.Fatalf("tree Finish: %v, want ErrSoftBatch", err)
	}
	out, err := sb.Finish()
	if err != nil {
		t.Fatal(err)
	}
	if out.Witnesses != nil || !out.Header.PrevRoot.IsZero() || !out.Header.NewRoot.IsZero() {
		t.Fatalf("finished soft batch: %d witnesses, roots %s %s", len(out.Witnesses), out.Header.PrevRoot.Text(16), out.Header.NewRoot.Text(16))
	}
	if out.Header.PriorityCount != 3 || out.Header.Family != types.FamilyPriority || len(out.Txs) != 3 {
		t.Fatalf("finished soft batch header %+v", out.Header)
	}
	checkFlat("after Finish")
	// a soft batch over the finished one's state sees its writes
	sb2, err := NewSoftBatch(w.p, w.d, ov, 2, w.ts+12)
	if err != nil {
		t.Fatal(err)
	}
	if sb2.header.FirstPriority != 3 {
		t.Fatalf("next soft batch starts at priority %d, want 3", sb2.header.FirstPriority)
	}
	tr := w.sign(2, &types.Transfer{From: w.acct[2], To: w.acct[1], Asset: types.ETH, Amount: u256(10), Fee: u256(1)})
	if _, err := sb2.Add(tr); err != nil {
		t.Fatal(err)
	}
	if _, err := sb2.Finish(); err != nil {
		t.Fatal(err)
	}
	st, err := New(w.p, w.d, ov)
	if err != nil {
		t.Fatal(err)
	}
	for acct, want := range map[uint32]uint64{0: 1, 1: 1010, 2: 1989} {
		if b, err := st.Balance(acct, 0); err != nil || b.Uint64() != want {
			t.Fatalf("account %d balance %v (%v), want %d", acct, b, err, want)
		}
	}
	softCheckFlat(t, ov)
}

// softCheckFlat fails if the overlay holds a node the soft state must
// never write: anything of the account, model and position trees (their
// leaves hash subtrees), or a balance or order node above the leaves.
func softCheckFlat(t testing.TB, ov *overlay) {
	t.Helper()
	for k := range ov.w {
		switch k[0] {
		case nsAccounts, nsModels, nsPositions:
			t.Fatalf("soft state wrote tree node %x", k)
		case nsBalances:
			if len(k) != 5+9 || k[5] != 0 {
				t.Fatalf("soft state wrote balance node %x above the leaves", k)
			}
		case nsOrders:
			if len(k) != 7+9 || k[7] != 0 {
				t.Fatalf("soft state wrote order node %x above the leaves", k)
			}
		case keyAccount, keyPosition, keyModel, keyIndex, keyGlobal:
		default:
			t.Fatalf("soft state wrote unexpected key %x", k)
		}
	}
}

type softStats struct {
	ok, rejected map[string]int
	ends         map[string]int
	batches      int
}

func newSoftStats() *softStats {
	return &softStats{ok: map[string]int{}, rejected: map[string]int{}, ends: map[string]int{}}
}

func (s *softStats) merge(o *softStats) {
	for k, v := range o.ok {
		s.ok[k] += v
	}
	for k, v := range o.rejected {
		s.rejected[k] += v
	}
	for k, v := range o.ends {
		s.ends[k] += v
	}
	s.batches += o.batches
}

// softRun is the property test's generator (prop, whose world holds the tree
// DB and its open tree batch) with a soft batch beside the tree batch.
type softRun struct {
	*prop
	ov    *overlay // the soft state: genesis snapshot + every soft batch's writes
	soft  *Batch
	count *softStats
}

func newSoftRun(t *testing.T, seed uint64) *softRun {
	p := newProp(t, seed)
	snap, err := p.w.db.store.View(0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(snap.Discard) // before the DB closes (cleanups run last first)
	h := &softRun{prop: p, ov: &overlay{base: readOnly{snap}, w: map[string][]byte{}}, count: newSoftStats()}
	h.openSoft()
	return h
}

// openSoft starts the soft batch of the open tree batch's number and timestamp.
func (h *softRun) openSoft() {
	h.t.Helper()
	tb := h.w.batch
	b, err := NewSoftBatch(h.w.p, h.w.d, h.ov, tb.Number(), tb.header.Timestamp)
	if err != nil {
		h.fatalf("NewSoftBatch: %v", err)
	}
	if b.header != softRootless(tb.header) {
		h.fatalf("soft batch opens with header %+v, tree batch with %+v", b.header, tb.header)
	}
	h.soft = b
}

func (h *softRun) run(steps int) {
	p := h.prop
	h.apply(p.genDepositFor(0, 0, 0))
	for u := 1; u <= 6; u++ {
		for tok := uint16(0); tok < propTokens; tok++ {
			h.apply(p.genDepositFor(u, tok, p.between(1_000_000, 20_000_000)))
		}
	}
	type gen struct {
		w int
		f func(invalid bool) (step, bool)
	}
	gens := []gen{
		{8, p.genDeposit}, {2, p.genForcedWithdraw}, {9, p.genTransferBase}, {6, p.genTransferPosition}, {5, p.genWithdraw},
		{4, p.genCreateModel}, {3, p.genMint}, {3, p.genSetParams}, {16, p.genTrade}, {4, p.genCancel},
		{10, p.genBuyCredits}, {4, p.genRedeem}, {7, p.genClaim},
	}
	totalW := 0
	for _, g := range gens {
		totalW += g.w
	}
	// runs of one generator, so that batches of one family fill up
	for n := 0; n < steps; {
		x := p.rng.IntN(totalW)
		var g gen
		for _, g = range gens {
			if x < g.w {
				break
			}
			x -= g.w
		}
		for run := 1 + p.rng.IntN(10); run > 0 && n < steps; run-- {
			s, ok := g.f(p.rng.IntN(100) < 30)
			if !ok {
				break
			}
			n++
			h.apply(s)
			if h.soft.Len() > 0 && p.rng.IntN(12) == 0 {
				h.endBatch("early")
			}
		}
	}
	if h.w.batch.Len() > 0 {
		h.endBatch("last")
	} else if h.soft.Len() != 0 {
		h.fatalf("tree batch empty, soft batch holds %d", h.soft.Len())
	}
	p.checkInvariants()
}

// softBatchEnd reports an error that makes the sequencer (and w.add) seal the
// open batch and retry the transaction in the next.
func softBatchEnd(err error) string {
	switch {
	case errors.Is(err, ErrBatchFull):
		return "full"
	case errors.Is(err, types.ErrFeeAssetsFull):
		return "fees"
	case errors.Is(err, ErrFamily):
		return "family"
	}
	return ""
}

// softCloneTx copies a transaction (they hold no references), so that what Apply
// writes into it (a deposit's Refused, a forced withdrawal's Amount) is
// decided by each side on its own.
func softCloneTx(tx types.Tx) types.Tx {
	v := reflect.ValueOf(tx).Elem()
	c := reflect.New(v.Type())
	c.Elem().Set(v)
	return c.Interface().(types.Tx)
}

// softErrs are the sentinels an outcome is compared on, beyond its message.
var softErrs = append([]error{ErrWriteFailed, ErrBatchFull, ErrBatchBroken, ErrFamily, ErrEmptyBatch,
	ErrFlatState, ErrSoftBatch, ErrReadOnlyState}, allTypeErrs...)

func softSameErr(a, b error) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	if a.Error() != b.Error() {
		return false
	}
	for _, e := range softErrs {
		if errors.Is(a, e) != errors.Is(b, e) {
			return false
		}
	}
	return true
}

func softSameOverlay(a, b map[string][]byte) bool {
	return maps.EqualFunc(a, b, func(x, y []byte) bool { return (x == nil) == (y == nil) && bytes.Equal(x, y) })
}

// add applies s to the soft batch, then to the tree batch; a transaction
// with a valid signature goes to the soft batch through AddVerified half the
// time, as the sequencer's does.
func (h *softRun) add(s step, stx types.Tx) (rs, rt *Receipt, errS, errT error, before map[string][]byte) {
	before = maps.Clone(h.ov.w)
	if s.mustFail == "" && h.rng.IntN(2) == 0 {
		rs, errS = h.soft.AddVerified(stx)
	} else {
		rs, errS = h.soft.Add(stx)
	}
	rt, errT = h.w.batch.Add(s.tx)
	return
}

func (h *softRun) apply(s step) {
	h.t.Helper()
	p := h.prop
	p.step++
	stx := softCloneTx(s.tx)
	rs, rt, errS, errT, before := h.add(s, stx)
	if why := softBatchEnd(errT); why != "" || softBatchEnd(errS) != "" {
		if !softSameErr(errS, errT) {
			h.fatalf("%s: soft %v, tree %v", s.label, errS, errT)
		}
		if !softSameOverlay(before, h.ov.w) {
			h.fatalf("%s refused for the batch (%v) changed the soft state", s.label, errS)
		}
		h.endBatch(why)
		stx = softCloneTx(s.tx)
		rs, rt, errS, errT, before = h.add(s, stx)
	}
	if !softSameErr(errS, errT) {
		h.fatalf("%s (%+v): soft %v, tree %v", s.label, s.tx, errS, errT)
	}
	if errT != nil {
		h.count.rejected[s.label]++
		if !isTypesErr(errT) || errors.Is(errT, ErrWriteFailed) {
			h.fatalf("%s rejected without a protocol error: %v", s.label, errT)
		}
		if rs != nil || rt != nil {
			h.fatalf("%s rejected with a receipt", s.label)
		}
		if !softSameOverlay(before, h.ov.w) {
			h.fatalf("rejected %s (%v) changed the soft state: %d keys before, %d after", s.label, errS, len(before), len(h.ov.w))
		}
		if root, err := h.w.st().Root(); err != nil || root != p.root {
			h.fatalf("rejected %s changed the tree state (%v)", s.label, err)
		}
		h.compareBatches(s.label)
		return
	}
	if s.mustFail != "" {
		h.fatalf("invalid %s (%s) accepted: %+v", s.label, s.mustFail, s.tx)
	}
	h.count.ok[s.label]++
	if rs.Witness != nil || rt.Witness == nil {
		h.fatalf("%s: soft receipt with a witness, or tree receipt without", s.label)
	}
	if !bytes.Equal(rs.Pubdata, rt.Pubdata) || rs.FeeToken != rt.FeeToken || rs.Fee != rt.Fee ||
		!reflect.DeepEqual(rs.Withdrawal, rt.Withdrawal) || !softSameErr(rs.Refusal, rt.Refusal) {
		h.fatalf("%s: soft receipt %+v, tree receipt %+v", s.label, rs, rt)
	}
	if !reflect.DeepEqual(stx, s.tx) {
		h.fatalf("%s: soft outcome %+v, tree outcome %+v", s.label, stx, s.tx)
	}
	h.compareBatches(s.label)
	p.root = rt.Witness.RootAfter
	if s.ok != nil {
		s.ok(rt)
	}
}

// softRootless is a tree batch's header as its soft batch has it: without
// roots and pubdata commitment (the tree batch computes them).
func softRootless(h Header) Header {
	h.PrevRoot, h.NewRoot, h.PubdataCommitment = fr.Element{}, fr.Element{}, fr.Element{}
	return h
}

// compareBatches checks what the two open batches have so far.
func (h *softRun) compareBatches(label string) {
	h.t.Helper()
	s, tb := h.soft, h.w.batch
	if s.Len() != tb.Len() || s.Family() != tb.Family() || !bytes.Equal(s.Pubdata(), tb.Pubdata()) || s.header != softRootless(tb.header) {
		h.fatalf("after %s: soft batch (%d txs, %v, header %+v) differs from tree batch (%d txs, %v, header %+v), or its pubdata",
			label, s.Len(), s.Family(), s.header, tb.Len(), tb.Family(), tb.header)
	}
	sf, tf := s.State().Fees(), tb.State().Fees()
	if !reflect.DeepEqual(sf.Tokens(), tf.Tokens()) {
		h.fatalf("after %s: fee book tokens soft %v, tree %v", label, sf.Tokens(), tf.Tokens())
	}
	for _, tok := range tf.Tokens() {
		if !sf.Amount(tok).Eq(tf.Amount(tok)) {
			h.fatalf("after %s: fee book token %d soft %s, tree %s", label, tok, sf.Amount(tok).Dec(), tf.Amount(tok).Dec())
		}
	}
}

// endBatch finishes the soft batch and seals the tree batch, compares them
// and the states they leave, and opens the next pair.
func (h *softRun) endBatch(why string) {
	h.t.Helper()
	p := h.prop
	h.count.ends[why]++
	h.count.batches++
	st := h.soft.State()
	if _, err := st.Root(); !errors.Is(err, ErrFlatState) {
		h.fatalf("soft Root: %v, want ErrFlatState", err)
	}
	if _, _, err := st.Roots(); !errors.Is(err, ErrFlatState) {
		h.fatalf("soft Roots: %v, want ErrFlatState", err)
	}
	if _, err := h.soft.Seal(); !errors.Is(err, ErrSoftBatch) {
		h.fatalf("soft Seal: %v, want ErrSoftBatch", err)
	}
	if _, err := h.w.batch.Finish(); !errors.Is(err, ErrSoftBatch) {
		h.fatalf("tree Finish: %v, want ErrSoftBatch", err)
	}
	ss, err := h.soft.Finish()
	if err != nil {
		h.fatalf("Finish: %v", err)
	}
	rootBefore := p.root
	ts := h.w.seal()
	p.onSeal(ts, rootBefore)
	if _, err := st.Root(); !errors.Is(err, ErrFlatState) {
		h.fatalf("soft Root after Finish: %v, want ErrFlatState", err)
	}
	if ss.Witnesses != nil {
		h.fatalf("finished soft batch has %d witnesses", len(ss.Witnesses))
	}
	if !ss.Header.PrevRoot.IsZero() || !ss.Header.NewRoot.IsZero() {
		h.fatalf("finished soft batch has roots %s, %s", ss.Header.PrevRoot.Text(16), ss.Header.NewRoot.Text(16))
	}
	want := softRootless(ts.Header)
	if ss.Header != want {
		h.fatalf("batch %d: soft header %+v, tree header %+v", want.Number, ss.Header, ts.Header)
	}
	if !bytes.Equal(ss.Pubdata, ts.Pubdata) {
		h.fatalf("batch %d: Finish's pubdata differs from Seal's", want.Number)
	}
	if !reflect.DeepEqual(ss.Withdrawals, ts.Withdrawals) {
		h.fatalf("batch %d: withdrawals soft %+v, tree %+v", want.Number, ss.Withdrawals, ts.Withdrawals)
	}
	if !reflect.DeepEqual(ss.Txs, ts.Txs) {
		h.fatalf("batch %d: transactions differ", want.Number)
	}
	h.compareStates(want.Number)
	h.openSoft()
}

// compareStates reads everything the test parameters allow through a State
// over the soft overlay and through the tree DB's head, and checks every key
// of the overlay against the tree DB.
func (h *softRun) compareStates(n uint64) {
	h.t.Helper()
	w := h.w
	if head := w.db.Head(); head != n {
		h.fatalf("tree DB head %d after sealing batch %d", head, n)
	}
	tv, release, err := w.db.View(n)
	if err != nil {
		h.fatalf("view: %v", err)
	}
	defer release()
	sv, err := New(w.p, w.d, h.ov)
	if err != nil {
		h.fatalf("soft state: %v", err)
	}
	softCheckFlat(h.t, h.ov)
	for k, v := range h.ov.w {
		got, err := tv.kv.Get([]byte(k))
		if err != nil || !bytes.Equal(got, v) || (got == nil) != (v == nil) {
			h.fatalf("batch %d: key %x is %x in the soft state, %x in the tree DB (%v)", n, k, v, got, err)
		}
	}
	same := func(what string, a, b any, ea, eb error) {
		h.t.Helper()
		if !softSameErr(ea, eb) || !reflect.DeepEqual(a, b) {
			h.fatalf("batch %d: %s: soft %+v (%v), tree %+v (%v)", n, what, a, ea, b, eb)
		}
	}
	for id := uint32(0); id < 1<<w.p.AccountDepth; id++ {
		a1, e1 := sv.Account(id)
		a2, e2 := tv.Account(id)
		same(fmt.Sprintf("account %d", id), a1, a2, e1, e2)
		for tok := uint16(0); tok < 1<<w.p.BalanceDepth; tok++ {
			b1, e1 := sv.Balance(id, tok)
			b2, e2 := tv.Balance(id, tok)
			same(fmt.Sprintf("balance %d/%d", id, tok), b1, b2, e1, e2)
		}
		for m := uint16(0); m < 1<<w.p.ModelDepth; m++ {
			p1, e1 := sv.Position(id, m)
			p2, e2 := tv.Position(id, m)
			same(fmt.Sprintf("position %d/%d", id, m), p1, p2, e1, e2)
			for slot := uint64(0); slot < 1<<w.p.OrderDepth; slot++ {
				o1, e1 := sv.Slot(id, m, slot)
				o2, e2 := tv.Slot(id, m, slot)
				same(fmt.Sprintf("slot %d/%d/%d", id, m, slot), o1, o2, e1, e2)
			}
		}
	}
	for m := uint16(0); m < 1<<w.p.ModelDepth; m++ {
		m1, e1 := sv.Model(m)
		m2, e2 := tv.Model(m)
		same(fmt.Sprintf("model %d", m), m1, m2, e1, e2)
	}
	n1, e1 := sv.NextPriority()
	n2, e2 := tv.NextPriority()
	same("next priority", n1, n2, e1, e2)
	for u := range w.keys {
		a := &Account{PubKey: types.PublicKeyOf(w.keys[u]), L1Address: userAddr(u)}
		id1, ok1, e1 := sv.AccountByKey(a)
		id2, ok2, e2 := tv.AccountByKey(a)
		same(fmt.Sprintf("index of user %d", u), [2]any{id1, ok1}, [2]any{id2, ok2}, e1, e2)
	}
}
