package state

import (
	"bytes"
	"errors"
	"fmt"
	"math/big"
	"math/rand/v2"
	"os"
	"reflect"
	"sort"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark-crypto/ecc/bn254/twistededwards"
	"github.com/ethereum/go-ethereum/common"
	"github.com/holiman/uint256"

	"github.com/modex/modex/types"
)

// TestPropertyRandomSequences drives long seeded random sequences of every
// transaction kind, about 30% of them deliberately invalid, over a handful of
// users, base tokens and models, sealing batches as they fill. After every
// transaction it checks, against sums the test keeps itself from the
// transactions it sent:
//
//	(a) per base token: Σ balances + Σ treasuries + Σ unclaimed revenue
//	    (exact, in 1/10^18) + open fee book = deposits − withdrawals;
//	(b) per model: Σ shares = supply = initial + minted; Σ credits = bought − redeemed;
//	(c) per model: claims paid + still claimable + treasury = revenue received;
//	(d) every witness replays (VerifyWitness) and chains the roots; a rejected
//	    transaction fails with a types.Err* and changes nothing.
//
// MODEX_LONG=1 runs ten times as many sequences.
func TestPropertyRandomSequences(t *testing.T) {
	seeds, steps := 20, 300
	if os.Getenv("MODEX_LONG") == "1" {
		seeds *= 10
	}
	if testing.Short() {
		seeds = 3
	}
	total := newPropStats()
	for seed := 0; seed < seeds; seed++ {
		t.Run(fmt.Sprintf("seed%d", seed), func(t *testing.T) {
			p := newProp(t, uint64(seed))
			p.run(steps)
			total.merge(p.stats)
		})
		if t.Failed() {
			return
		}
	}
	// every kind was both accepted and rejected somewhere
	var kinds []string
	for k := range total.ok {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	for _, k := range kinds {
		t.Logf("%-16s accepted %4d  rejected %4d (deliberately invalid %4d)", k, total.ok[k], total.rejected[k], total.invalid[k])
	}
	for _, k := range []string{"Deposit", "DepositRefused", "DepositRefusedKey", "ForcedWithdraw", "ForcedWithdrawZero", "TransferBase", "TransferShares",
		"TransferCredits", "Withdraw", "CreateModel", "MintShares", "SetModelParams", "Trade", "CancelOrder", "BuyCredits",
		"RedeemCredits", "ClaimRevenue"} {
		if total.ok[k] == 0 {
			t.Errorf("%s never accepted", k)
		}
	}
	for _, k := range []string{"Deposit", "ForcedWithdraw", "TransferBase", "TransferShares", "TransferCredits", "Withdraw", "CreateModel",
		"MintShares", "SetModelParams", "Trade", "CancelOrder", "BuyCredits", "RedeemCredits", "ClaimRevenue"} {
		if total.invalid[k] == 0 {
			t.Errorf("%s never deliberately invalid", k)
		}
	}
	if total.seals == 0 || total.feeFullSeals == 0 {
		t.Errorf("seals %d, of which on ErrFeeAssetsFull %d", total.seals, total.feeFullSeals)
	}
}

const (
	propUsers  = 9 // user 0 is the operator (account 0, passive)
	propTokens = 3 // base tokens 0..2 in use
)

var propModels = []uint16{1, 2, 3}

var scaleBig = new(big.Int).SetUint64(types.RevenueScale)

// allTypeErrs are the protocol's rejection reasons.
var allTypeErrs = []error{
	types.ErrMalformed, types.ErrUnknownKind, types.ErrFieldElement, types.ErrNotPackable, types.ErrAmountTooLarge,
	types.ErrBadSignature, types.ErrSignatureMalleable, types.ErrBadPublicKey, types.ErrNonce, types.ErrNonceOverflow,
	types.ErrAccountRange, types.ErrAccountNotFound, types.ErrAccountMismatch, types.ErrInsufficientFunds, types.ErrBalanceOverflow,
	types.ErrSelfTransfer, types.ErrZeroAmount, types.ErrAssetRange, types.ErrAssetNotWithdrawable,
	types.ErrFeeAssetsFull, types.ErrModelRange, types.ErrModelExists, types.ErrModelNotFound, types.ErrNotModelDAO,
	types.ErrSupplyCap, types.ErrBadBps, types.ErrCreditPrice, types.ErrInsufficientCredits, types.ErrInsufficientShares,
	types.ErrRevenueOverflow, types.ErrNothingToClaim, types.ErrZeroSupply, types.ErrOrderSide, types.ErrOrderExpired,
	types.ErrOrderPrice, types.ErrOrderOverfill, types.ErrOrderSlotTaken, types.ErrOrderClosed, types.ErrOrderFee,
	types.ErrSelfTrade, types.ErrPriorityOrder,
}

func isTypesErr(err error) bool {
	for _, e := range allTypeErrs {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

type propStats struct {
	ok, rejected, invalid map[string]int
	seals, feeFullSeals   int
}

func newPropStats() *propStats {
	return &propStats{ok: map[string]int{}, rejected: map[string]int{}, invalid: map[string]int{}}
}

func (s *propStats) merge(o *propStats) {
	for k, v := range o.ok {
		s.ok[k] += v
	}
	for k, v := range o.rejected {
		s.rejected[k] += v
	}
	for k, v := range o.invalid {
		s.invalid[k] += v
	}
	s.seals += o.seals
	s.feeFullSeals += o.feeFullSeals
}

// shadowModel is what the test knows about a model from the transactions it sent.
type shadowModel struct {
	dao       uint32
	quote     uint16
	bps       uint16
	price     uint64
	maxSupply uint64
	treasury  big.Int
}

// ledger holds the expected sums, kept from transactions and receipts only.
type ledger struct {
	dep, wd, fees [8]big.Int // per base token; fees: the open batch's book
	// per model
	minted, bought, redeemed [8]big.Int
	costIn, holdersIn        [8]big.Int // Σ cost of credits bought; Σ holders' part
	holderPaid, treasuryPaid [8]big.Int // claims paid out of revenue, of the treasury
	models                   map[uint16]*shadowModel
}

// openOrder is a signed order the test may fill again or cancel.
type openOrder struct {
	o         types.Order
	filled    uint64
	cancelled bool
}

type prop struct {
	t     *testing.T
	w     *world
	rng   *rand.Rand
	stats *propStats
	L     ledger
	root  fr.Element
	// accounts the test created: user -> account id
	exists  map[int]bool
	orders  []*openOrder
	nextOID map[[2]uint32]uint32
	step    int
}

func newProp(t *testing.T, seed uint64) *prop {
	p := types.TestParams()
	p.MaxFeeAssets = 2 // 3 tokens in use: the fee book fills and batches seal on ErrFeeAssetsFull
	w := newWorld(t, p, propUsers)
	pr := &prop{t: t, w: w, rng: rand.New(rand.NewPCG(seed, 0x5eed)), stats: newPropStats(), exists: map[int]bool{},
		nextOID: map[[2]uint32]uint32{}, root: EmptyRoot(p)}
	pr.L.models = map[uint16]*shadowModel{}
	return pr
}

func (p *prop) fatalf(format string, args ...any) {
	p.t.Helper()
	p.t.Fatalf("step %d: %s", p.step, fmt.Sprintf(format, args...))
}

// ---- state reads (for generating transactions and for the invariants) ----

func (p *prop) st() *State { return p.w.st() }

func (p *prop) balU(acct uint32, token uint16) *uint256.Int {
	b, err := p.st().Balance(acct, token)
	if err != nil {
		p.fatalf("balance: %v", err)
	}
	return b
}

func (p *prop) bal(u int, token uint16) uint64 {
	b := p.balU(p.w.acct[u], token)
	if !b.IsUint64() {
		p.fatalf("balance of user %d beyond 64 bits", u)
	}
	return b.Uint64()
}

func (p *prop) pos(u int, m uint16) *Position {
	pos, err := p.st().Position(p.w.acct[u], m)
	if err != nil {
		p.fatalf("position: %v", err)
	}
	return pos
}

func (p *prop) model(m uint16) *Model {
	md, err := p.st().Model(m)
	if err != nil {
		p.fatalf("model %d: %v", m, err)
	}
	return md
}

func (p *prop) nonceOf(u int) uint32 {
	a, err := p.st().Account(p.w.acct[u])
	if err != nil {
		p.fatalf("account of user %d: %v", u, err)
	}
	return a.Nonce
}

// users returns the users with accounts, operator excluded.
func (p *prop) users() []int {
	var us []int
	for u := 1; u < propUsers; u++ {
		if p.exists[u] {
			us = append(us, u)
		}
	}
	return us
}

func (p *prop) pickUser() (int, bool) {
	us := p.users()
	if len(us) == 0 {
		return 0, false
	}
	return us[p.rng.IntN(len(us))], true
}

func (p *prop) pickOther(not int) (int, bool) {
	var us []int
	for _, u := range p.users() {
		if u != not {
			us = append(us, u)
		}
	}
	if len(us) == 0 {
		return 0, false
	}
	return us[p.rng.IntN(len(us))], true
}

func (p *prop) existingModels() []uint16 {
	var ms []uint16
	for _, m := range propModels {
		if _, ok := p.L.models[m]; ok {
			ms = append(ms, m)
		}
	}
	return ms
}

func (p *prop) pickModel() (uint16, *shadowModel, bool) {
	ms := p.existingModels()
	if len(ms) == 0 {
		return 0, nil, false
	}
	m := ms[p.rng.IntN(len(ms))]
	return m, p.L.models[m], true
}

func (p *prop) fee() uint64 {
	return []uint64{0, 0, 0, 1, 2, 5, 10, 25, 100, 2040}[p.rng.IntN(10)]
}

func (p *prop) between(lo, hi uint64) uint64 {
	if hi <= lo {
		return lo
	}
	return lo + p.rng.Uint64N(hi-lo+1)
}

// ---- signing, with the generic ways to make a signed transaction invalid ----

func setField(tx any, name string, v uint64) {
	reflect.ValueOf(tx).Elem().FieldByName(name).SetUint(v)
}

func signerField(tx types.SignedTx) string {
	if _, ok := tx.(*types.Transfer); ok {
		return "From"
	}
	return "Account"
}

// sign sets the nonce and signs as user u; corrupt makes it invalid in one of
// the generic ways (nonce, key, malleable S, missing or out-of-range signer).
func (p *prop) sign(u int, tx types.SignedTx, corrupt bool) (string, types.SignedTx) {
	nonce := p.nonceOf(u)
	key := p.w.keys[u]
	what := ""
	var after func()
	if corrupt {
		switch p.rng.IntN(6) {
		case 0:
			what, nonce = "nonce+1", nonce+1
		case 1:
			if nonce == 0 {
				what, nonce = "nonce+2", nonce+2
			} else {
				what, nonce = "nonce-1", nonce-1
			}
		case 2:
			what, key = "wrong key", p.w.keys[(u%(propUsers-1))+1]
			if key == p.w.keys[u] {
				key = p.w.keys[0]
			}
		case 3:
			what = "S+l"
			after = func() { malleable(tx.Sig()) }
		case 4:
			what = "signer missing"
			setField(tx, signerField(tx), uint64(p.w.nextID)) // no pair has it yet; < 2^AccountDepth here
		case 5:
			what = "signer out of range"
			setField(tx, signerField(tx), 1<<p.w.p.AccountDepth)
		}
	}
	setField(tx, "Nonce", uint64(nonce))
	if err := types.SignTx(key, p.w.d, tx); err != nil && tx.CheckWidths() == nil { // a too-wide field has no message: unsigned
		p.fatalf("sign: %v", err)
	}
	if after != nil {
		after()
	}
	return what, tx
}

func malleable(sig *types.Signature) {
	order := twistededwards.GetEdwardsCurve().Order
	var s big.Int
	s.SetBytes(sig[32:])
	s.Add(&s, &order)
	s.FillBytes(sig[32:])
}

// ---- applying ----

// step is one generated transaction: its kind label, whether it must be
// rejected, and what the ledger learns if it is accepted.
type step struct {
	label    string
	tx       types.Tx
	mustFail string // non-empty: why it must be rejected
	ok       func(r *Receipt)
}

func (p *prop) feeBook() [8]uint256.Int {
	var f [8]uint256.Int
	for tok := uint16(0); tok < 8; tok++ {
		f[tok] = *p.st().Fees().Amount(tok)
	}
	return f
}

func (p *prop) apply(s step) *Receipt {
	p.t.Helper()
	p.step++
	sealed := len(p.w.sealed)
	rootBefore := p.root
	prioBefore, _ := p.st().NextPriority()
	acctsBefore := p.accounts()
	r, err := p.w.add(s.tx)
	if len(p.w.sealed) != sealed {
		if len(p.w.sealed) != sealed+1 {
			p.fatalf("%d seals at once", len(p.w.sealed)-sealed)
		}
		p.onSeal(p.w.sealed[len(p.w.sealed)-1], rootBefore)
		rootBefore = p.root
	}
	if s.mustFail != "" {
		p.stats.invalid[s.label]++
	}
	if err != nil {
		p.stats.rejected[s.label]++
		if !isTypesErr(err) {
			p.fatalf("%s rejected without a protocol error: %v", s.label, err)
		}
		if errors.Is(err, ErrWriteFailed) {
			p.fatalf("%s: %v", s.label, err)
		}
		root, rerr := p.st().Root()
		if rerr != nil {
			p.fatalf("root: %v", rerr)
		}
		if root != rootBefore {
			p.fatalf("rejected %s (%v) changed the root", s.label, err)
		}
		if prio, _ := p.st().NextPriority(); prio != prioBefore {
			p.fatalf("rejected %s moved the priority queue", s.label)
		}
		if !reflect.DeepEqual(p.accounts(), acctsBefore) {
			p.fatalf("rejected %s created or changed an account", s.label)
		}
		p.checkFeeBook()
		return nil
	}
	if s.mustFail != "" {
		p.fatalf("invalid %s (%s) accepted: %+v", s.label, s.mustFail, s.tx)
	}
	p.stats.ok[s.label]++
	if r.Witness == nil || r.Witness.RootBefore != rootBefore {
		p.fatalf("%s: witness does not start at the previous root", s.label)
	}
	if err := VerifyWitness(p.w.p, r.Witness); err != nil {
		p.fatalf("%s: witness: %v", s.label, err)
	}
	root, err := p.st().Root()
	if err != nil {
		p.fatalf("root: %v", err)
	}
	if r.Witness.RootAfter != root {
		p.fatalf("%s: witness root after differs from the state root", s.label)
	}
	p.root = root
	// the receipt's pubdata is the transaction's and decodes back
	if want, err := types.Pubdata(s.tx); err != nil || !bytes.Equal(want, r.Pubdata) {
		p.fatalf("%s: receipt pubdata differs (%v)", s.label, err)
	}
	ops, err := types.DecodePubdata(r.Pubdata)
	if err != nil || len(ops) != 1 || ops[0].Kind() != s.tx.Kind() {
		p.fatalf("%s: pubdata does not decode: %v", s.label, err)
	}
	if s.ok != nil {
		s.ok(r)
	}
	return r
}

// onSeal checks a batch sealed by w.add and moves the fee book to account 0.
func (p *prop) onSeal(sb *SealedBatch, rootBefore fr.Element) {
	p.stats.seals++
	full := 0
	for tok := range p.L.fees {
		if p.L.fees[tok].Sign() != 0 {
			full++
		}
	}
	if full == p.w.p.MaxFeeAssets {
		p.stats.feeFullSeals++ // (or at capacity with a full book)
	}
	fw := sb.Witnesses[len(sb.Witnesses)-1]
	if fw.Tx != nil || fw.RootBefore != rootBefore || fw.RootAfter != sb.Header.NewRoot {
		p.fatalf("fee settlement witness does not chain")
	}
	if err := VerifyWitness(p.w.p, fw); err != nil {
		p.fatalf("fee settlement witness: %v", err)
	}
	for i := range p.L.fees {
		p.L.fees[i].SetInt64(0)
	}
	p.root = sb.Header.NewRoot
	p.checkSealed(sb)
}

func (p *prop) checkSealed(sb *SealedBatch) {
	p.t.Helper()
	// one family, its slots, zero padding and the commitment (§6, §8);
	// the priority count and the stored pubdata
	checkPubdata(p.t, p.w.db, sb)
	if len(sb.Witnesses) != len(sb.Txs)+1 {
		p.fatalf("batch %d: %d witnesses for %d txs", sb.Header.Number, len(sb.Witnesses), len(sb.Txs))
	}
}

func (p *prop) checkFeeBook() {
	book := p.feeBook()
	for tok := range book {
		if book[tok].ToBig().Cmp(&p.L.fees[tok]) != 0 {
			p.fatalf("fee book token %d: state %s, expected %s", tok, book[tok].Dec(), p.L.fees[tok].String())
		}
	}
}

// ---- invariants ----

// accounts reads every account of the tree the bridge may have assigned
// (ids below w.nextID) that exists.
func (p *prop) accounts() map[uint32]Account {
	out := map[uint32]Account{}
	for id := uint32(0); id < p.w.nextID; id++ {
		a, err := p.st().Account(id)
		if errors.Is(err, types.ErrAccountNotFound) {
			continue
		}
		if err != nil {
			p.fatalf("account %d: %v", id, err)
		}
		out[id] = *a
	}
	return out
}

func (p *prop) checkInvariants() {
	st := p.st()
	// every id in the state was assigned by the bridge, accounts exist
	// exactly for the pairs the test saw credited, and their keys can sign
	next := uint64(p.w.nextID)
	if next > 1<<p.w.p.AccountDepth {
		p.fatalf("the bridge assigned %d ids, the tree holds %d", next, 1<<p.w.p.AccountDepth)
	}
	if _, err := st.Account(uint32(next)); uint64(next) < 1<<p.w.p.AccountDepth && !errors.Is(err, types.ErrAccountNotFound) {
		p.fatalf("account %d beyond the bridge's ids: %v", next, err)
	}
	accts := p.accounts()
	for u := 0; u < propUsers; u++ {
		if p.exists[u] {
			a, ok := accts[p.w.acct[u]]
			if !ok || a.L1Address != userAddr(u) || !a.PubKey.Equal(types.PublicKeyOf(p.w.keys[u])) {
				p.fatalf("user %d: account %d is %+v", u, p.w.acct[u], a)
			}
		}
	}
	if len(accts) != len(p.users())+1 { // + the operator
		p.fatalf("%d accounts, the test created %d", len(accts), len(p.users())+1)
	}
	for id, a := range accts {
		if err := types.CheckPublicKey(a.PubKey); err != nil {
			p.fatalf("account %d holds a bad key: %v", id, err)
		}
	}
	var base [8]big.Int  // Σ balances + treasuries + fee book, per token
	var owedT [8]big.Int // unclaimed revenue × SCALE, per token
	for a := uint32(0); uint64(a) < next; a++ {
		for tok := uint16(0); tok < 1<<p.w.p.BalanceDepth; tok++ {
			base[tok].Add(&base[tok], p.balU(a, tok).ToBig())
		}
	}
	p.checkFeeBook()
	for tok := range base {
		base[tok].Add(&base[tok], &p.L.fees[tok])
	}
	for m := uint16(0); m < 1<<p.w.p.ModelDepth; m++ {
		md, err := st.Model(m)
		sm, known := p.L.models[m]
		if errors.Is(err, types.ErrModelNotFound) {
			if known {
				p.fatalf("model %d missing", m)
			}
			continue
		}
		if err != nil {
			p.fatalf("model %d: %v", m, err)
		}
		if !known {
			p.fatalf("model %d exists, the test never created it", m)
		}
		if md.DAO != sm.dao || md.QuoteToken != sm.quote || md.HolderBps != sm.bps || md.MaxSupply != sm.maxSupply ||
			!md.CreditPrice.Eq(uint256.NewInt(sm.price)) {
			p.fatalf("model %d: %+v, expected %+v", m, md, sm)
		}
		if md.Treasury.ToBig().Cmp(&sm.treasury) != 0 {
			p.fatalf("model %d: treasury %s, expected %s", m, md.Treasury.Dec(), sm.treasury.String())
		}
		if !md.Carry.Lt(uint256.NewInt(md.Supply)) {
			p.fatalf("model %d: carry %s ≥ supply %d", m, md.Carry.Dec(), md.Supply)
		}
		// owed = carry + Σ pending + shares·(acc − lastAcc)
		owed := md.Carry.ToBig()
		var shares, credits big.Int
		acc := md.Acc.ToBig()
		for a := uint32(0); uint64(a) < next; a++ {
			pos, err := st.Position(a, m)
			if err != nil {
				p.fatalf("position: %v", err)
			}
			if pos.LastAcc.Gt(&md.Acc) {
				p.fatalf("model %d account %d: lastAcc beyond acc", m, a)
			}
			d := new(big.Int).Sub(acc, pos.LastAcc.ToBig())
			d.Mul(d, bu64(pos.Shares))
			owed.Add(owed, d)
			owed.Add(owed, pos.Pending.ToBig())
			shares.Add(&shares, bu64(pos.Shares))
			credits.Add(&credits, bu64(pos.Credits))
		}
		// (b)
		if shares.Cmp(bu64(md.Supply)) != 0 || shares.Cmp(&p.L.minted[m]) != 0 {
			p.fatalf("model %d: Σ shares %s, supply %d, minted %s", m, shares.String(), md.Supply, p.L.minted[m].String())
		}
		wantCredits := new(big.Int).Sub(&p.L.bought[m], &p.L.redeemed[m])
		if credits.Cmp(wantCredits) != 0 {
			p.fatalf("model %d: Σ credits %s, bought − redeemed %s", m, credits.String(), wantCredits)
		}
		// (c) holders: SCALE·paid + owed = SCALE·received; DAO: treasury = rest − paid
		lhs := new(big.Int).Mul(&p.L.holderPaid[m], scaleBig)
		lhs.Add(lhs, owed)
		if rhs := new(big.Int).Mul(&p.L.holdersIn[m], scaleBig); lhs.Cmp(rhs) != 0 {
			p.fatalf("model %d revenue: SCALE·paid + owed = %s, SCALE·received = %s", m, lhs, rhs)
		}
		tr := new(big.Int).Sub(&p.L.costIn[m], &p.L.holdersIn[m])
		tr.Sub(tr, &p.L.treasuryPaid[m])
		if tr.Cmp(md.Treasury.ToBig()) != 0 {
			p.fatalf("model %d: treasury %s, received − paid %s", m, md.Treasury.Dec(), tr)
		}
		base[md.QuoteToken].Add(&base[md.QuoteToken], md.Treasury.ToBig())
		owedT[md.QuoteToken].Add(&owedT[md.QuoteToken], owed)
	}
	// (a) SCALE·(balances + treasuries + fees) + owed = SCALE·(deposits − withdrawals)
	for tok := range base {
		lhs := new(big.Int).Mul(&base[tok], scaleBig)
		lhs.Add(lhs, &owedT[tok])
		rhs := new(big.Int).Sub(&p.L.dep[tok], &p.L.wd[tok])
		rhs.Mul(rhs, scaleBig)
		if lhs.Cmp(rhs) != 0 {
			p.fatalf("token %d: SCALE·(balances+treasuries+fees) + owed = %s, SCALE·(deposits − withdrawals) = %s", tok, lhs, rhs)
		}
	}
	// (d) the state root is the one the last witness ended at
	if root, err := st.Root(); err != nil || root != p.root {
		p.fatalf("state root is not the last witness's root (%v)", err)
	}
}

func bu64(v uint64) *big.Int { return new(big.Int).SetUint64(v) }

// ---- the run ----

func (p *prop) run(steps int) {
	// the operator's zero deposit creates account 0, then some users fund up
	p.apply(p.genDepositFor(0, 0, 0))
	for u := 1; u <= 6; u++ {
		for tok := uint16(0); tok < propTokens; tok++ {
			p.apply(p.genDepositFor(u, tok, p.between(1_000_000, 20_000_000)))
		}
	}
	p.checkInvariants()
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
	for i := 0; i < steps; i++ {
		invalid := p.rng.IntN(100) < 30
		var s step
		for {
			x := p.rng.IntN(totalW)
			var g gen
			for _, g = range gens {
				if x < g.w {
					break
				}
				x -= g.w
			}
			var ok bool
			if s, ok = g.f(invalid); ok {
				break
			}
		}
		p.apply(s)
		p.checkInvariants()
	}
	// seal the last batch: all fees land in account 0 (a batch left empty,
	// after a seal whose retried transaction was rejected, cannot be sealed)
	if p.w.batch.Len() > 0 {
		rootBefore := p.root
		sb := p.w.seal()
		p.onSeal(sb, rootBefore)
	} else if len(p.st().Fees().Tokens()) != 0 {
		p.fatalf("an empty batch with fees")
	}
	p.checkInvariants()
	// the batches chain from genesis, every witness replays
	prev := EmptyRoot(p.w.p)
	for _, b := range p.w.sealed {
		if b.Header.PrevRoot != prev {
			p.fatalf("batch %d does not chain", b.Header.Number)
		}
		cur := prev
		for _, wit := range b.Witnesses {
			if wit.RootBefore != cur {
				p.fatalf("batch %d: witnesses do not chain", b.Header.Number)
			}
			if err := VerifyWitness(p.w.p, wit); err != nil {
				p.fatalf("batch %d: %v", b.Header.Number, err)
			}
			cur = wit.RootAfter
		}
		if cur != b.Header.NewRoot {
			p.fatalf("batch %d: last witness does not end at the new root", b.Header.Number)
		}
		prev = b.Header.NewRoot
	}
}

// ---- generators: each returns a step, or false if it cannot make one now ----

func (p *prop) genDepositFor(u int, tok uint16, amount uint64) step {
	d := p.w.depositTx(u, tok, amount)
	return p.depositStep(d, u, nil)
}

// depositStep expects d (of user u, or of a bad-key pair when u < 0) to be
// credited, or refused for wantRefused.
func (p *prop) depositStep(d *types.Deposit, u int, wantRefused error) step {
	// the bridge's id: an existing user's account, else the pair's new id
	id := d.Account
	if u >= 0 && p.exists[u] && p.w.acct[u] != id {
		p.fatalf("the bridge gave user %d id %d, its account is %d", u, id, p.w.acct[u])
	}
	label := "Deposit"
	switch {
	case errors.Is(wantRefused, types.ErrBadPublicKey):
		label = "DepositRefusedKey"
	case wantRefused != nil:
		label = "DepositRefused"
	}
	return step{label: label, tx: d, ok: func(r *Receipt) {
		p.w.prio++
		if d.Refused != (wantRefused != nil) || (wantRefused != nil && !errors.Is(r.Refusal, wantRefused)) {
			p.fatalf("deposit refused=%v (%v), expected %v", d.Refused, r.Refusal, wantRefused)
		}
		if r.Withdrawal != nil || !r.Fee.IsZero() || d.Account != id {
			p.fatalf("deposit with a fee or withdrawal, or its account id changed")
		}
		if wantRefused != nil {
			if r.Witness.RootBefore != r.Witness.RootAfter {
				p.fatalf("refused deposit changed the root")
			}
			return
		}
		p.w.acct[u], p.exists[u] = id, true
		p.L.dep[d.Token].Add(&p.L.dep[d.Token], d.Amount.ToBig())
	}}
}

// propBadKeys are a few invalid keys, each deposited from its own address.
func propBadKeys() []types.PubKey {
	var one, minusOne fr.Element
	one.SetOne()
	minusOne.Neg(&one)
	return []types.PubKey{{}, {Y: one}, {Y: minusOne}, {X: fr.NewElement(1), Y: fr.NewElement(2)}}
}

func (p *prop) genDeposit(invalid bool) (step, bool) {
	u := 1 + p.rng.IntN(propUsers-1)
	tok := uint16(p.rng.IntN(propTokens))
	if !invalid {
		return p.genDepositFor(u, tok, p.between(0, 5_000_000)), true
	}
	switch p.rng.IntN(6) {
	case 0: // out of order
		d := p.w.depositTx(u, tok, 1000)
		d.PriorityID += 1 + uint64(p.rng.IntN(2))
		if d.PriorityID == p.w.prio+2 && p.w.prio > 0 && p.rng.IntN(2) == 0 {
			d.PriorityID = p.w.prio - 1
		}
		return step{label: "Deposit", tx: d, mustFail: "priority out of order"}, true
	case 1: // token outside the balance tree: the bridge never queues it
		d := p.w.depositTx(u, tok, 1000)
		d.Token = uint16(1<<p.w.p.BalanceDepth + p.rng.IntN(5))
		return step{label: "Deposit", tx: d, mustFail: "token out of range"}, true
	case 2: // a new pair with a key that cannot sign: refused, refunded on L1
		keys := propBadKeys()
		k := p.rng.IntN(len(keys))
		addr := userAddr(200 + k)
		d := &types.Deposit{PriorityID: p.w.prio, Account: p.w.accountFor(addr, keys[k]), L1Address: addr, PubKey: keys[k], Token: tok}
		d.Amount.SetUint64(p.between(0, 5_000_000))
		return p.depositStep(d, -1, types.ErrBadPublicKey), true
	case 3: // an id the bridge did not give this pair, or outside the tree
		d := p.w.depositTx(u, tok, 1000)
		switch p.rng.IntN(3) {
		case 0:
			d.Account = 1<<p.w.p.AccountDepth + uint32(p.rng.IntN(3))
			return step{label: "Deposit", tx: d, mustFail: "account id outside the tree"}, true
		case 1:
			d.L1Address = common.Address{}
			return step{label: "Deposit", tx: d, mustFail: "zero L1 address"}, true
		default:
			o, ok := p.pickOther(u)
			if !ok {
				return step{}, false
			}
			d.Account = p.w.acct[o]
			return step{label: "Deposit", tx: d, mustFail: "another pair's account"}, true
		}
	default: // balance would pass 2^96: refused
		if !p.exists[u] || p.bal(u, tok) == 0 {
			return step{}, false
		}
		d := p.w.depositTx(u, tok, 0)
		d.Amount.Sub(types.Bound(types.AmountBits), uint256.NewInt(1+uint64(p.rng.IntN(3))))
		return p.depositStep(d, u, types.ErrBalanceOverflow), true
	}
}

func (p *prop) genForcedWithdraw(invalid bool) (step, bool) {
	u, ok := p.pickUser()
	if !ok {
		return step{}, false
	}
	tok := uint16(p.rng.IntN(propTokens))
	fw := &types.ForcedWithdraw{PriorityID: p.w.prio, Requester: userAddr(u), Account: p.w.acct[u], Token: tok}
	if invalid {
		if p.rng.IntN(3) == 0 {
			fw.Account = 1<<types.AccountBits + uint32(p.rng.IntN(3)) // the bridge takes a uint24
			return step{label: "ForcedWithdraw", tx: fw, mustFail: "account id beyond 24 bits"}, true
		}
		fw.PriorityID++
		return step{label: "ForcedWithdraw", tx: fw, mustFail: "priority out of order"}, true
	}
	want := p.bal(u, tok)
	label := "ForcedWithdraw"
	reads := true // amount 0 inside the trees: proven by two unchanged leaves
	switch p.rng.IntN(6) {
	case 0:
		fw.Requester = userAddr(u + 1) // not the account's L1 address
		want = 0
	case 1:
		fw.Account = 1<<p.w.p.AccountDepth + uint32(p.rng.IntN(3)) // outside the tree
		want, reads = 0, false
	case 2:
		fw.Token = 1 << p.w.p.BalanceDepth
		want, reads = 0, false
	case 3:
		fw.Account = p.w.nextID // no account there
		want = 0
	}
	if want == 0 {
		label = "ForcedWithdrawZero"
	}
	return step{label: label, tx: fw, ok: func(r *Receipt) {
		p.w.prio++
		if !fw.Amount.Eq(uint256.NewInt(want)) {
			p.fatalf("forced withdraw of %d, expected %d", fw.Amount.Uint64(), want)
		}
		n := len(r.Witness.Updates)
		switch {
		case want > 0 && n != 2, want == 0 && reads && n != 2, want == 0 && !reads && n != 0:
			p.fatalf("forced withdraw of %d with %d witness updates", want, n)
		}
		if want == 0 && r.Witness.RootBefore != r.Witness.RootAfter {
			p.fatalf("zero forced withdrawal changed the root")
		}
		if (want == 0) != (r.Withdrawal == nil) || (r.Withdrawal != nil && (r.Withdrawal.To != fw.Requester ||
			r.Withdrawal.Token != tok || r.Withdrawal.Amount.Uint64() != want)) {
			p.fatalf("forced withdraw receipt %+v", r.Withdrawal)
		}
		p.L.wd[tok].Add(&p.L.wd[tok], bu64(want))
	}}, true
}

// feeOK returns the ledger update of a plain fee.
func (p *prop) feeOK(tok uint16, fee uint64, more func(r *Receipt)) func(r *Receipt) {
	return func(r *Receipt) {
		if r.Fee.Uint64() != fee || (fee != 0 && r.FeeToken != tok) {
			p.fatalf("receipt fee %s in %d, expected %d in %d", r.Fee.Dec(), r.FeeToken, fee, tok)
		}
		p.L.fees[tok].Add(&p.L.fees[tok], bu64(fee))
		if more != nil {
			more(r)
		}
	}
}

// signedStep signs tx for u and, if corrupt, marks it as a must-fail.
func (p *prop) signedStep(label string, u int, tx types.SignedTx, corrupt bool, whyInvalid string, ok func(r *Receipt)) step {
	what, stx := p.sign(u, tx, corrupt)
	if whyInvalid == "" {
		whyInvalid = what
	}
	return step{label: label, tx: stx, mustFail: whyInvalid, ok: ok}
}

// pickInvalid says whether an invalid step uses the generic signature/nonce
// corruption (true) or a kind-specific invalid field (false).
func (p *prop) pickInvalid(invalid bool) (generic, specific bool) {
	if !invalid {
		return false, false
	}
	if p.rng.IntN(2) == 0 {
		return true, false
	}
	return false, true
}

func (p *prop) genTransferBase(invalid bool) (step, bool) {
	u, ok := p.pickUser()
	if !ok {
		return step{}, false
	}
	to, ok := p.pickOther(u)
	if !ok {
		return step{}, false
	}
	if p.rng.IntN(8) == 0 {
		to = 0 // the operator receives too
	}
	tok := uint16(p.rng.IntN(propTokens))
	fee := p.fee()
	bal := p.bal(u, tok)
	generic, specific := p.pickInvalid(invalid)
	if !invalid && bal <= fee {
		return step{}, false
	}
	amount := p.between(1, bal-fee)
	if bal <= fee {
		amount = 1
	}
	tx := &types.Transfer{From: p.w.acct[u], To: p.w.acct[to], Asset: types.BaseAsset(tok), Fee: u256(fee)}
	why := ""
	if specific {
		switch p.rng.IntN(7) {
		case 0:
			amount, why = bal-fee+1+p.rng.Uint64N(10), "over balance"
			if bal < fee {
				amount = 1
			}
		case 1:
			tx.To, why = tx.From, "self transfer"
		case 2:
			tx.To, why = p.w.nextID, "receiver missing"
		case 3:
			amount, why = 0, "zero amount"
		case 4:
			amount, why = 1<<33+1, "amount not packable"
		case 5:
			tx.Fee, why = u256(2049), "fee not packable"
		case 6:
			tx.Asset, why = types.AssetID(3<<16|uint32(tok)), "asset kind 3"
		}
	}
	tx.Amount = u256(amount)
	return p.signedStep("TransferBase", u, tx, generic, why, p.feeOK(tok, fee, nil)), true
}

func (p *prop) genTransferPosition(invalid bool) (step, bool) {
	m, sm, ok := p.pickModel()
	if !ok {
		return step{}, false
	}
	credits := p.rng.IntN(2) == 0
	var holders []int
	for _, u := range p.users() {
		pos := p.pos(u, m)
		if (credits && pos.Credits > 0) || (!credits && pos.Shares > 0) {
			holders = append(holders, u)
		}
	}
	if len(holders) == 0 {
		return step{}, false
	}
	u := holders[p.rng.IntN(len(holders))]
	to, ok := p.pickOther(u)
	if !ok {
		return step{}, false
	}
	have := p.pos(u, m).Shares
	asset, label := types.ShareAsset(m), "TransferShares"
	if credits {
		have, asset, label = p.pos(u, m).Credits, types.CreditAsset(m), "TransferCredits"
	}
	fee := p.fee()
	if !invalid && p.bal(u, sm.quote) < fee {
		fee = 0
	}
	amount := p.between(1, have)
	if !types.Amount38.Packable(uint256.NewInt(amount)) {
		amount = types.Amount38.RoundDown(uint256.NewInt(amount)).Uint64()
	}
	tx := &types.Transfer{From: p.w.acct[u], To: p.w.acct[to], Asset: asset, Fee: u256(fee)}
	generic, specific := p.pickInvalid(invalid)
	why := ""
	if specific {
		switch p.rng.IntN(3) {
		case 0:
			amount, why = have+1, "more than held"
		case 1:
			tx.Asset, why = asset&^0xffff|types.AssetID(7), "model 7 does not exist"
			if _, exists := p.L.models[7]; exists {
				amount = have + 1
			}
		case 2:
			tx.Asset, why = asset&^0xffff|types.AssetID(1<<p.w.p.ModelDepth), "model out of range"
		}
	}
	tx.Amount = u256(amount)
	return p.signedStep(label, u, tx, generic, why, p.feeOK(sm.quote, fee, nil)), true
}

func (p *prop) genWithdraw(invalid bool) (step, bool) {
	u, ok := p.pickUser()
	if !ok {
		return step{}, false
	}
	tok := uint16(p.rng.IntN(propTokens))
	fee := p.fee()
	bal := p.bal(u, tok)
	generic, specific := p.pickInvalid(invalid)
	if !invalid && bal <= fee {
		return step{}, false
	}
	amount := p.between(1, (bal-fee+1)/2+1)
	if amount > bal-fee {
		amount = bal - fee
	}
	var to common.Address
	to[0], to[19] = 0x77, byte(p.rng.IntN(256))
	tx := &types.Withdraw{Account: p.w.acct[u], Token: tok, Fee: u256(fee), To: to}
	why := ""
	if specific {
		switch p.rng.IntN(3) {
		case 0:
			amount, why = bal+1, "over balance"
		case 1:
			tx.Token, why = 1<<p.w.p.BalanceDepth, "token out of range"
		case 2:
			amount, why = 0, "zero amount"
		}
	}
	tx.Amount = u256(amount)
	return p.signedStep("Withdraw", u, tx, generic, why, p.feeOK(tok, fee, func(r *Receipt) {
		if r.Withdrawal == nil || r.Withdrawal.Amount.Uint64() != amount || r.Withdrawal.To != to || r.Withdrawal.Token != tok {
			p.fatalf("withdraw receipt %+v", r.Withdrawal)
		}
		p.L.wd[tok].Add(&p.L.wd[tok], bu64(amount))
	})), true
}

func (p *prop) genCreateModel(invalid bool) (step, bool) {
	u, ok := p.pickUser()
	if !ok {
		return step{}, false
	}
	var free []uint16
	for _, m := range propModels {
		if _, ok := p.L.models[m]; !ok {
			free = append(free, m)
		}
	}
	if len(free) == 0 && !invalid {
		return step{}, false
	}
	quote := uint16(p.rng.IntN(propTokens))
	fee := p.fee()
	if !invalid && p.bal(u, quote) < fee {
		fee = 0
	}
	supply := []uint64{1, 7, 333, 1000, 1_000_000, 123_457}[p.rng.IntN(6)]
	tx := &types.CreateModel{Account: p.w.acct[u], QuoteToken: quote, Supply: supply,
		MaxSupply: supply + []uint64{0, 500, 1_000_000}[p.rng.IntN(3)], CreditPrice: u256(p.between(0, 500)),
		HolderBps: uint16(p.rng.IntN(10_001)), Weights: elem(p.rng.Uint64()), Metadata: elem(p.rng.Uint64()), Fee: u256(fee)}
	if p.rng.IntN(5) == 0 {
		tx.HolderBps = []uint16{0, 10_000}[p.rng.IntN(2)]
	}
	generic, specific := p.pickInvalid(invalid)
	why := ""
	if len(free) > 0 {
		tx.Model = free[p.rng.IntN(len(free))]
	}
	if specific || (invalid && len(free) == 0) {
		generic = false
		switch p.rng.IntN(6) {
		case 0:
			ms := p.existingModels()
			if len(ms) == 0 {
				return step{}, false
			}
			tx.Model, why = ms[p.rng.IntN(len(ms))], "model exists"
		case 1:
			tx.Model, why = 1<<p.w.p.ModelDepth, "model out of range"
		case 2:
			tx.Supply, why = 0, "zero supply"
		case 3:
			tx.MaxSupply, why = tx.Supply-1, "cap below supply"
		case 4:
			tx.HolderBps, why = 10_001+uint16(p.rng.IntN(100)), "bps above 10,000"
		case 5:
			tx.QuoteToken, why = 1<<p.w.p.BalanceDepth, "quote token out of range"
		}
		if len(free) == 0 && why != "model exists" {
			ms := p.existingModels()
			tx.Model = ms[p.rng.IntN(len(ms))] // still invalid: exists
		}
	}
	return p.signedStep("CreateModel", u, tx, generic, why, p.feeOK(quote, fee, func(*Receipt) {
		p.L.models[tx.Model] = &shadowModel{dao: tx.Account, quote: quote, bps: tx.HolderBps, price: tx.CreditPrice.Uint64(),
			maxSupply: tx.MaxSupply}
		p.L.minted[tx.Model].SetUint64(tx.Supply)
	})), true
}

func (p *prop) userOf(acct uint32) int {
	for u, a := range p.w.acct {
		if a == acct && p.exists[u] {
			return u
		}
	}
	return -1
}

func (p *prop) genMint(invalid bool) (step, bool) {
	m, sm, ok := p.pickModel()
	if !ok {
		return step{}, false
	}
	dao := p.userOf(sm.dao)
	supply := p.model(m).Supply
	room := sm.maxSupply - supply
	if room == 0 && !invalid {
		return step{}, false
	}
	fee := p.fee()
	if !invalid && p.bal(dao, sm.quote) < fee {
		fee = 0
	}
	tx := &types.MintShares{Account: sm.dao, Model: m, Amount: p.between(1, room), Fee: u256(fee)}
	generic, specific := p.pickInvalid(invalid)
	if room == 0 && invalid {
		generic, specific = false, true
	}
	why, signer := "", dao
	if specific {
		switch p.rng.IntN(3) {
		case 0:
			other, ok := p.pickOther(dao)
			if !ok {
				return step{}, false
			}
			signer, tx.Account, why = other, p.w.acct[other], "not the DAO"
		case 1:
			tx.Amount, why = room+1, "beyond the cap"
		case 2:
			tx.Amount, why = 0, "zero amount"
		}
	}
	return p.signedStep("MintShares", signer, tx, generic, why, p.feeOK(sm.quote, fee, func(*Receipt) {
		p.L.minted[m].Add(&p.L.minted[m], bu64(tx.Amount))
	})), true
}

func (p *prop) genSetParams(invalid bool) (step, bool) {
	m, sm, ok := p.pickModel()
	if !ok {
		return step{}, false
	}
	dao := p.userOf(sm.dao)
	fee := p.fee()
	if !invalid && p.bal(dao, sm.quote) < fee {
		fee = 0
	}
	tx := &types.SetModelParams{Account: sm.dao, Model: m, CreditPrice: u256(p.between(0, 1000)), HolderBps: uint16(p.rng.IntN(10_001)),
		Fee: u256(fee)}
	generic, specific := p.pickInvalid(invalid)
	why, signer := "", dao
	if specific {
		switch p.rng.IntN(3) {
		case 0:
			other, ok := p.pickOther(dao)
			if !ok {
				return step{}, false
			}
			signer, tx.Account, why = other, p.w.acct[other], "not the DAO"
		case 1:
			tx.HolderBps, why = 10_001, "bps above 10,000"
		case 2:
			tx.Model, why = 1<<p.w.p.ModelDepth, "model out of range"
		}
	}
	return p.signedStep("SetModelParams", signer, tx, generic, why, p.feeOK(sm.quote, fee, func(*Receipt) {
		sm.price, sm.bps = tx.CreditPrice.Uint64(), tx.HolderBps
	})), true
}

// newOrder signs a fresh order with the account's next order id.
func (p *prop) newOrder(u int, m uint16, side types.Side, amount, price uint64, maxFee uint8) *openOrder {
	k := [2]uint32{p.w.acct[u], uint32(m)}
	p.nextOID[k]++
	o := types.Order{Account: p.w.acct[u], Model: m, Side: side, OrderID: p.nextOID[k], Amount: amount,
		MaxFeeBips: maxFee, ValidUntil: uint32(p.w.ts + 3600)}
	o.Price.SetUint64(price)
	if err := types.SignOrder(p.w.keys[u], p.w.d, &o); err != nil && o.CheckWidths() == nil {
		p.fatalf("sign order: %v", err)
	}
	return &openOrder{o: o}
}

// findOrder returns a reusable open order of (account, model, side).
func (p *prop) findOrder(acct uint32, m uint16, side types.Side) *openOrder {
	var c []*openOrder
	for _, o := range p.orders {
		if o.o.Account == acct && o.o.Model == m && o.o.Side == side && !o.cancelled && o.filled < o.o.Amount {
			c = append(c, o)
		}
	}
	if len(c) == 0 {
		return nil
	}
	return c[p.rng.IntN(len(c))]
}

// slotWritten records that an order id now holds its slot: older orders on
// that slot become stale and leave the pool.
func (p *prop) slotWritten(o *openOrder) {
	mask := uint32(1<<p.w.p.OrderDepth - 1)
	keep := p.orders[:0]
	for _, x := range p.orders {
		if x.o.Account == o.o.Account && x.o.Model == o.o.Model && x.o.OrderID&mask == o.o.OrderID&mask && x.o.OrderID < o.o.OrderID {
			continue
		}
		keep = append(keep, x)
	}
	p.orders = keep
	for _, x := range p.orders {
		if x == o {
			return
		}
	}
	p.orders = append(p.orders, o)
}

func (p *prop) genTrade(invalid bool) (step, bool) {
	m, sm, ok := p.pickModel()
	if !ok {
		return step{}, false
	}
	var sellers []int
	for _, u := range p.users() {
		if p.pos(u, m).Shares > 0 {
			sellers = append(sellers, u)
		}
	}
	if len(sellers) == 0 {
		return step{}, false
	}
	seller := sellers[p.rng.IntN(len(sellers))]
	buyer, ok := p.pickOther(seller)
	if !ok {
		return step{}, false
	}
	shares := p.pos(seller, m).Shares
	bbal := p.bal(buyer, sm.quote)
	// reuse open orders now and then (partial fills), else sign fresh ones
	var so, bo *openOrder
	if p.rng.IntN(5) < 2 {
		so = p.findOrder(p.w.acct[seller], m, types.Sell)
		bo = p.findOrder(p.w.acct[buyer], m, types.Buy)
		if so != nil && bo != nil && so.o.Price.Gt(&bo.o.Price) {
			so = nil
		}
	}
	sellLim := p.between(1, 200)
	if bo != nil {
		sellLim = p.between(1, bo.o.Price.Uint64())
	}
	if so != nil {
		sellLim = so.o.Price.Uint64()
	}
	buyLim := sellLim + p.between(0, 100)
	if bo != nil {
		buyLim = bo.o.Price.Uint64()
	}
	price := p.between(sellLim, buyLim)
	bb, sb := uint8(p.rng.IntN(31)), uint8(p.rng.IntN(31))
	maxFill := shares
	if afford := bbal * 10_000 / (price * (10_000 + uint64(bb))); afford < maxFill {
		maxFill = afford
	}
	if so != nil && so.o.Amount-so.filled < maxFill {
		maxFill = so.o.Amount - so.filled
	}
	if bo != nil && bo.o.Amount-bo.filled < maxFill {
		maxFill = bo.o.Amount - bo.filled
	}
	if maxFill == 0 && !invalid {
		return step{}, false
	}
	fill := p.between(1, maxFill)
	if so == nil {
		so = p.newOrder(seller, m, types.Sell, fill+p.between(0, 1)*p.between(0, 500), sellLim, uint8(30+p.rng.IntN(20)))
	}
	if bo == nil {
		bo = p.newOrder(buyer, m, types.Buy, fill+p.between(0, 1)*p.between(0, 500), buyLim, uint8(30+p.rng.IntN(20)))
	}
	if bb > bo.o.MaxFeeBips {
		bb = bo.o.MaxFeeBips
	}
	if sb > so.o.MaxFeeBips {
		sb = so.o.MaxFeeBips
	}
	tr := &types.Trade{Buy: bo.o, Sell: so.o, Fill: fill, Price: u256(price), BuyFeeBips: bb, SellFeeBips: sb}
	why := ""
	if invalid {
		switch p.rng.IntN(10) {
		case 0:
			o := p.newOrder(buyer, m, types.Buy, fill, buyLim, 50)
			o.o.ValidUntil = uint32(p.w.ts - 1)
			_ = types.SignOrder(p.w.keys[buyer], p.w.d, &o.o)
			tr.Buy, why = o.o, "buy order expired"
		case 1:
			tr.Price, why = u256(buyLim+1+p.rng.Uint64N(5)), "price above the buy limit"
		case 2:
			if sellLim <= 1 {
				tr.Price, why = u256(0), "zero price"
			} else {
				tr.Price, why = u256(sellLim-1), "price below the sell limit"
			}
		case 3:
			tr.BuyFeeBips, why = bo.o.MaxFeeBips+1, "buy fee above the order's cap"
		case 4:
			o := p.newOrder(seller, m, types.Buy, fill, buyLim, 50)
			tr.Buy, why = o.o, "self trade"
		case 5:
			o := p.newOrder(buyer, m, types.Sell, fill, sellLim, 50)
			tr.Buy, why = o.o, "two sell orders"
		case 6:
			tr.Fill, why = so.o.Amount-so.filled+1+p.rng.Uint64N(3), "overfill"
			if !types.Amount38.Packable(uint256.NewInt(tr.Fill)) {
				tr.Fill = types.Amount38.RoundDown(uint256.NewInt(tr.Fill + 10_000_000_000)).Uint64()
			}
		case 7:
			tr.Buy.Amount++ // not what the buyer signed
			why = "buy order altered"
		case 8:
			tr.Fill, why = 0, "zero fill"
		case 9:
			var closed *openOrder
			for _, o := range p.orders {
				if o.cancelled && o.o.Account == p.w.acct[buyer] && o.o.Model == m && o.o.Side == types.Buy {
					closed = o
				}
			}
			if closed == nil {
				tr.Sell.Signature[40] ^= 1
				why = "sell signature altered"
			} else {
				tr.Buy, why = closed.o, "buy order cancelled"
			}
		}
	}
	quote := new(big.Int).Mul(bu64(tr.Fill), tr.Price.ToBig())
	bFee := new(big.Int).Div(new(big.Int).Mul(quote, bu64(uint64(tr.BuyFeeBips))), big.NewInt(10_000))
	sFee := new(big.Int).Div(new(big.Int).Mul(quote, bu64(uint64(tr.SellFeeBips))), big.NewInt(10_000))
	fee := new(big.Int).Add(bFee, sFee)
	return step{label: "Trade", tx: tr, mustFail: why, ok: func(r *Receipt) {
		if r.Fee.ToBig().Cmp(fee) != 0 || (fee.Sign() != 0 && r.FeeToken != sm.quote) {
			p.fatalf("trade fee %s, expected %s", r.Fee.Dec(), fee)
		}
		p.L.fees[sm.quote].Add(&p.L.fees[sm.quote], fee)
		bo.filled += fill
		so.filled += fill
		p.slotWritten(bo)
		p.slotWritten(so)
	}}, true
}

func (p *prop) genCancel(invalid bool) (step, bool) {
	m, sm, ok := p.pickModel()
	if !ok {
		return step{}, false
	}
	u, ok := p.pickUser()
	if !ok {
		return step{}, false
	}
	fee := p.fee()
	if !invalid && p.bal(u, sm.quote) < fee {
		fee = 0
	}
	acct := p.w.acct[u]
	var target *openOrder
	for _, o := range p.orders {
		if o.o.Account == acct && o.o.Model == m && !o.cancelled && p.rng.IntN(2) == 0 {
			target = o
		}
	}
	if target == nil { // a fresh id: cancelling before use
		k := [2]uint32{acct, uint32(m)}
		p.nextOID[k]++
		target = &openOrder{o: types.Order{Account: acct, Model: m, OrderID: p.nextOID[k]}}
	}
	tx := &types.CancelOrder{Account: acct, Model: m, OrderID: target.o.OrderID, Fee: u256(fee)}
	generic, specific := p.pickInvalid(invalid)
	why := ""
	if specific {
		mask := uint64(1<<p.w.p.OrderDepth - 1)
		var closed *openOrder
		for _, o := range p.orders {
			if o.o.Account == acct && o.o.Model == m && o.cancelled {
				closed = o
			}
		}
		slot, err := p.st().Slot(acct, m, uint64(tx.OrderID)&mask)
		if err != nil {
			p.fatalf("slot: %v", err)
		}
		switch {
		case closed != nil && p.rng.IntN(2) == 0:
			tx.OrderID, why = closed.o.OrderID, "already cancelled"
		case slot.OrderID > 0 && p.rng.IntN(2) == 0:
			tx.OrderID, why = slot.OrderID-(1<<p.w.p.OrderDepth), "older than the slot's order"
			if slot.OrderID < 1<<p.w.p.OrderDepth {
				tx.Model, why = 7, "model 7 does not exist"
				if _, exists := p.L.models[7]; exists {
					tx.Model = 1 << p.w.p.ModelDepth
				}
			}
		default:
			tx.OrderID, why = 1<<types.OrderIDBits, "order id beyond 24 bits"
		}
	}
	return p.signedStep("CancelOrder", u, tx, generic, why, p.feeOK(sm.quote, fee, func(*Receipt) {
		target.cancelled = true
		p.slotWritten(target)
	})), true
}

func (p *prop) genBuyCredits(invalid bool) (step, bool) {
	m, sm, ok := p.pickModel()
	if !ok {
		return step{}, false
	}
	u, ok := p.pickUser()
	if !ok {
		return step{}, false
	}
	fee := p.fee()
	bal := p.bal(u, sm.quote)
	if bal < fee {
		fee = 0
	}
	maxCredits := uint64(1000)
	if sm.price > 0 && (bal-fee)/sm.price < maxCredits {
		maxCredits = (bal - fee) / sm.price
	}
	if maxCredits == 0 && !invalid {
		return step{}, false
	}
	tx := &types.BuyCredits{Account: p.w.acct[u], Model: m, Credits: p.between(1, maxCredits), MaxPrice: u256(sm.price + p.between(0, 1)*p.between(0, 50)),
		Fee: u256(fee)}
	generic, specific := p.pickInvalid(invalid)
	why := ""
	if specific {
		switch p.rng.IntN(3) {
		case 0:
			if sm.price == 0 {
				tx.Credits, why = 0, "zero credits"
			} else {
				tx.MaxPrice, why = u256(sm.price-1), "price above the limit"
			}
		case 1:
			tx.Credits, why = 0, "zero credits"
		case 2:
			if sm.price == 0 {
				tx.Model, why = 1<<p.w.p.ModelDepth, "model out of range"
			} else {
				tx.Credits, why = (bal-fee)/sm.price+1, "cost above the balance"
			}
		}
	}
	price := sm.price
	return p.signedStep("BuyCredits", u, tx, generic, why, p.feeOK(sm.quote, fee, func(*Receipt) {
		cost := new(big.Int).Mul(bu64(tx.Credits), bu64(price))
		holders := new(big.Int).Div(new(big.Int).Mul(cost, bu64(uint64(sm.bps))), big.NewInt(10_000))
		p.L.bought[m].Add(&p.L.bought[m], bu64(tx.Credits))
		p.L.costIn[m].Add(&p.L.costIn[m], cost)
		p.L.holdersIn[m].Add(&p.L.holdersIn[m], holders)
		sm.treasury.Add(&sm.treasury, new(big.Int).Sub(cost, holders))
	})), true
}

func (p *prop) genRedeem(invalid bool) (step, bool) {
	m, sm, ok := p.pickModel()
	if !ok {
		return step{}, false
	}
	var holders []int
	for _, u := range p.users() {
		if p.pos(u, m).Credits > 0 {
			holders = append(holders, u)
		}
	}
	if len(holders) == 0 {
		return step{}, false
	}
	u := holders[p.rng.IntN(len(holders))]
	have := p.pos(u, m).Credits
	fee := p.fee()
	if !invalid && p.bal(u, sm.quote) < fee {
		fee = 0
	}
	tx := &types.RedeemCredits{Account: p.w.acct[u], Model: m, Credits: p.between(1, have), Request: elem(p.rng.Uint64()), Fee: u256(fee)}
	generic, specific := p.pickInvalid(invalid)
	why := ""
	if specific {
		if p.rng.IntN(2) == 0 {
			tx.Credits, why = have+1+p.rng.Uint64N(5), "more than held"
		} else {
			tx.Credits, why = 0, "zero credits"
		}
	}
	return p.signedStep("RedeemCredits", u, tx, generic, why, p.feeOK(sm.quote, fee, func(*Receipt) {
		p.L.redeemed[m].Add(&p.L.redeemed[m], bu64(tx.Credits))
	})), true
}

func (p *prop) genClaim(invalid bool) (step, bool) {
	m, sm, ok := p.pickModel()
	if !ok {
		return step{}, false
	}
	u, ok := p.pickUser()
	if !ok {
		return step{}, false
	}
	if p.rng.IntN(3) == 0 {
		u = p.userOf(sm.dao)
	}
	// expected payout, from the position and model before the claim
	md := p.model(m)
	pos := p.pos(u, m)
	owed := new(big.Int).Sub(md.Acc.ToBig(), pos.LastAcc.ToBig())
	owed.Mul(owed, bu64(pos.Shares))
	owed.Add(owed, pos.Pending.ToBig())
	holderPay := new(big.Int).Div(owed, scaleBig)
	treasuryPay := new(big.Int)
	if p.w.acct[u] == sm.dao {
		treasuryPay.Set(&sm.treasury)
	}
	payout := new(big.Int).Add(holderPay, treasuryPay)
	bal := p.bal(u, sm.quote)
	fee := p.fee()
	if new(big.Int).Add(bu64(bal), payout).Cmp(bu64(fee)) < 0 {
		fee = 0
	}
	tx := &types.ClaimRevenue{Account: p.w.acct[u], Model: m, Fee: u256(fee)}
	generic, specific := p.pickInvalid(invalid)
	why := ""
	if payout.Sign() == 0 {
		why = "nothing to claim"
	}
	if specific {
		switch p.rng.IntN(2) {
		case 0:
			tx.Model, why = 1<<p.w.p.ModelDepth, "model out of range"
		case 1:
			tx.Fee, why = u256(2049), "fee not packable"
		}
	}
	return p.signedStep("ClaimRevenue", u, tx, generic, why, p.feeOK(sm.quote, fee, func(*Receipt) {
		got := new(big.Int).Sub(bu64(p.bal(u, sm.quote)), bu64(bal))
		if want := new(big.Int).Sub(payout, bu64(fee)); got.Cmp(want) != 0 {
			p.fatalf("claim paid %s net, expected %s (payout %s − fee %d)", got, want, payout, fee)
		}
		p.L.holderPaid[m].Add(&p.L.holderPaid[m], holderPay)
		p.L.treasuryPaid[m].Add(&p.L.treasuryPaid[m], treasuryPay)
		if treasuryPay.Sign() != 0 {
			sm.treasury.SetInt64(0)
		}
	})), true
}
