package state

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"reflect"
	"strings"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark-crypto/ecc/bn254/twistededwards"
	"github.com/ethereum/go-ethereum/common"
	"github.com/holiman/uint256"

	"github.com/modex/modex/types"
)

// Users of the standard test world (index into world.keys). uGhost has a key
// but never an account.
const (
	uOp = iota
	uDao
	uAlice
	uBob
	uCarol
	uDave
	uWhale
	uGhost
	nUsers
)

// m1 is the standard world's model: DAO uDao, quote token 0, supply 1000 of
// max 2000, credit price 100, 60% to holders.
const m1 uint16 = 1

var (
	two96  = *types.Bound(types.AmountBits)                                 // 2^96
	max96  = *new(uint256.Int).Sub(types.Bound(types.AmountBits), u256p(1)) // 2^96 − 1
	bigFee = *new(uint256.Int).Mul(uint256.NewInt(2047), new(uint256.Int).Exp(uint256.NewInt(10), uint256.NewInt(20)))
	scaleB = new(big.Int).SetUint64(types.RevenueScale)

	otherChain  = types.Domain{ChainID: 1, Bridge: testDomain.Bridge}
	otherBridge = types.Domain{ChainID: testDomain.ChainID, Bridge: common.HexToAddress("0x00000000000000000000000000000000000b1d6f")}
)

func u256p(v uint64) *uint256.Int { return uint256.NewInt(v) }

func pow10(e uint64) uint256.Int {
	return *new(uint256.Int).Exp(uint256.NewInt(10), uint256.NewInt(e))
}

// applyParams are the test depths with a larger batch, so the rejection
// tables rarely seal.
func applyParams() types.Params {
	p := types.TestParams()
	p.BatchCapacity = 64
	return p
}

// depositBig is world.deposit for amounts above 2^64.
func (w *world) depositBig(user int, token uint16, amount uint256.Int) {
	w.t.Helper()
	d := w.depositTx(user, token, 0)
	d.Amount = amount
	w.mustAdd(d)
	w.prio++
	if d.Refused {
		w.t.Fatalf("deposit refused")
	}
	w.acct[user] = d.Account
}

// transfer builds a signed transfer at the sender's current nonce.
func (w *world) transfer(from, to int, asset types.AssetID, amount, fee uint64) *types.Transfer {
	return w.sign(from, &types.Transfer{From: w.acct[from], To: w.acct[to], Asset: asset, Amount: u256(amount),
		Fee: u256(fee), Nonce: w.nonce(from)}).(*types.Transfer)
}

func (w *world) balanceU(user int, token uint16) uint256.Int {
	w.t.Helper()
	b, err := w.st().Balance(w.acct[user], token)
	if err != nil {
		w.t.Fatal(err)
	}
	return *b
}

func (w *world) model(id uint16) *Model {
	w.t.Helper()
	m, err := w.st().Model(id)
	if err != nil {
		w.t.Fatal(err)
	}
	return m
}

func (w *world) slot(user int, model uint16, orderID uint32) OrderSlot {
	w.t.Helper()
	s, err := w.st().Slot(w.acct[user], model, uint64(orderID)&(1<<w.p.OrderDepth-1))
	if err != nil {
		w.t.Fatal(err)
	}
	return s
}

// stdWorld: op, dao, alice, bob, carol, dave and a whale funded; model m1
// created by dao; bob bought 10 credits (600 to holders, 400 to the treasury);
// alice and carol have made one transfer each. The setup batch is sealed, so
// the open batch has an empty fee book.
//
// Accounts: op 0, dao 1, alice 2, bob 3, carol 4, dave 5, whale 6.
func stdWorld(t *testing.T) *world {
	t.Helper()
	w := newWorld(t, applyParams(), nUsers)
	w.deposit(uOp, 0, 1_000_000)
	w.deposit(uDao, 0, 1_000_000)
	w.deposit(uDao, 1, 500_000)
	w.deposit(uAlice, 0, 5_000_000)
	w.deposit(uAlice, 1, 1_000_000)
	w.deposit(uAlice, 3, 10)
	w.deposit(uBob, 0, 5_000_000)
	w.deposit(uCarol, 0, 5_000_000)
	w.deposit(uCarol, 2, 1_000_000)
	w.deposit(uDave, 0, 0)
	w.depositBig(uWhale, 3, max96)
	w.mustAdd(w.sign(uDao, &types.CreateModel{Account: w.acct[uDao], Model: m1, QuoteToken: 0, Supply: 1000, MaxSupply: 2000,
		CreditPrice: u256(100), HolderBps: 6000, Weights: elem(11), Metadata: elem(12), Fee: u256(10), Nonce: 0}))
	w.mustAdd(w.sign(uBob, &types.BuyCredits{Account: w.acct[uBob], Model: m1, Credits: 10, MaxPrice: u256(100), Nonce: 0}))
	w.mustAdd(w.transfer(uAlice, uDave, types.ETH, 1, 0))
	w.mustAdd(w.transfer(uCarol, uDave, types.ETH, 1, 0))
	w.seal()
	for u, id := range map[int]uint32{uOp: 0, uDao: 1, uAlice: 2, uBob: 3, uCarol: 4, uDave: 5, uWhale: 6} {
		if w.acct[u] != id {
			t.Fatalf("user %d has account %d, want %d", u, w.acct[u], id)
		}
	}
	return w
}

// ---- snapshots: "a rejected transaction changes nothing" ----

type snapshot struct {
	Root                    fr.Element
	NextPriority            uint64
	Accounts                map[uint32]Account
	Balances                map[string]string
	Positions               map[string]Position
	Slots                   map[string]OrderSlot
	Models                  map[uint16]Model
	Fees                    map[uint16]string
	Txs, Pubdata, Wits, Wds int
	PriorityCount           uint32
}

// snap reads everything a transaction could touch: every existing account
// (any id of the tree: the bridge assigns them), its balances, positions and
// order slots, every model, the priority counter, the fee book and the
// batch's bookkeeping.
func (w *world) snap() snapshot {
	w.t.Helper()
	st := w.st()
	s := snapshot{Accounts: map[uint32]Account{}, Balances: map[string]string{}, Positions: map[string]Position{},
		Slots: map[string]OrderSlot{}, Models: map[uint16]Model{}, Fees: map[uint16]string{}}
	var err error
	must := func(e error) {
		if e != nil {
			w.t.Fatal(e)
		}
	}
	s.Root, err = st.Root()
	must(err)
	s.NextPriority, err = st.NextPriority()
	must(err)
	limit := uint64(1) << w.p.AccountDepth
	if limit > 1<<12 {
		limit = 1 << 12
	}
	for id := uint32(0); uint64(id) < limit; id++ {
		a, err := st.Account(id)
		if errors.Is(err, types.ErrAccountNotFound) {
			continue
		}
		must(err)
		s.Accounts[id] = *a
		for tok := uint16(0); tok < 1<<w.p.BalanceDepth; tok++ {
			b, err := st.Balance(id, tok)
			must(err)
			if !b.IsZero() {
				s.Balances[fmt.Sprintf("%d/%d", id, tok)] = b.Dec()
			}
		}
		for m := uint16(0); m < 1<<w.p.ModelDepth; m++ {
			p, err := st.Position(id, m)
			must(err)
			if *p != (Position{}) {
				s.Positions[fmt.Sprintf("%d/%d", id, m)] = *p
			}
			for sl := uint64(0); sl < 1<<w.p.OrderDepth; sl++ {
				o, err := st.Slot(id, m, sl)
				must(err)
				if o != (OrderSlot{}) {
					s.Slots[fmt.Sprintf("%d/%d/%d", id, m, sl)] = o
				}
			}
		}
	}
	for m := uint16(0); m < 1<<w.p.ModelDepth; m++ {
		md, err := st.Model(m)
		if errors.Is(err, types.ErrModelNotFound) {
			continue
		}
		must(err)
		s.Models[m] = *md
	}
	for _, tok := range st.Fees().Tokens() {
		s.Fees[tok] = st.Fees().Amount(tok).Dec()
	}
	b := w.batch
	s.Txs, s.Pubdata, s.Wits, s.Wds, s.PriorityCount = len(b.txs), len(b.pubdata), len(b.wits), len(b.wds), b.header.PriorityCount
	return s
}

// same fails the test if two snapshots differ, naming the differing parts.
func (s snapshot) same(t testing.TB, o snapshot) {
	t.Helper()
	if reflect.DeepEqual(s, o) {
		return
	}
	va, vb := reflect.ValueOf(s), reflect.ValueOf(o)
	var diffs []string
	for i := 0; i < va.NumField(); i++ {
		if !reflect.DeepEqual(va.Field(i).Interface(), vb.Field(i).Interface()) {
			diffs = append(diffs, fmt.Sprintf("%s: %+v -> %+v", va.Type().Field(i).Name, va.Field(i).Interface(), vb.Field(i).Interface()))
		}
	}
	t.Fatalf("state changed:\n%s", strings.Join(diffs, "\n"))
}

// allTypedErrors lists every rejection sentinel of package types.
var allTypedErrors = []error{types.ErrMalformed, types.ErrUnknownKind, types.ErrFieldElement, types.ErrNotPackable,
	types.ErrAmountTooLarge, types.ErrBadSignature, types.ErrSignatureMalleable, types.ErrBadPublicKey, types.ErrNonce,
	types.ErrNonceOverflow, types.ErrAccountRange, types.ErrAccountNotFound, types.ErrAccountMismatch,
	types.ErrInsufficientFunds, types.ErrBalanceOverflow, types.ErrSelfTransfer, types.ErrZeroAmount, types.ErrAssetRange,
	types.ErrAssetNotWithdrawable, types.ErrFeeAssetsFull, types.ErrModelRange, types.ErrModelExists,
	types.ErrModelNotFound, types.ErrNotModelDAO, types.ErrSupplyCap, types.ErrBadBps, types.ErrCreditPrice,
	types.ErrInsufficientCredits, types.ErrInsufficientShares, types.ErrRevenueOverflow, types.ErrNothingToClaim,
	types.ErrZeroSupply, types.ErrOrderSide, types.ErrOrderExpired, types.ErrOrderPrice, types.ErrOrderOverfill,
	types.ErrOrderSlotTaken, types.ErrOrderClosed, types.ErrOrderFee, types.ErrSelfTrade, types.ErrPriorityOrder}

// wantErr checks err is the wanted typed error and no other.
func wantErr(t testing.TB, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("error %v, want %v", err, want)
	}
	for _, e := range allTypedErrors {
		if e != want && errors.Is(err, e) {
			t.Fatalf("error %v matches %v as well as %v", err, e, want)
		}
	}
}

// followUp applies a valid signed transaction (op pays dave 1 wei, no fee):
// the batch still works after a rejection.
func (w *world) followUp() {
	w.t.Helper()
	before := w.balance(uDave, 0)
	w.mustAdd(w.transfer(uOp, uDave, types.ETH, 1, 0))
	if got := w.balance(uDave, 0); got != before+1 {
		w.t.Fatalf("follow-up transfer: dave %d, want %d", got, before+1)
	}
}

// rcase is one rejection: prep runs first (it may apply valid transactions),
// then tx must fail with want and change nothing; after runs before the
// follow-up transaction (e.g. to undo a prep that wrote state directly).
type rcase struct {
	name  string
	want  error
	tx    func() types.Tx
	prep  func()
	after func()
}

func (w *world) rejects(t *testing.T, cases []rcase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			parent := w.t
			w.t = t
			defer func() { w.t = parent }()
			if w.batch.Len() >= w.p.BatchCapacity-4 {
				w.seal()
			}
			// the case runs in a batch of its transaction's family (§8), so
			// that it meets its own rule and not ErrFamily; the probe is
			// built before prep, which may write into the batch
			w.fit(c.tx())
			if c.prep != nil {
				c.prep()
			}
			tx := c.tx()
			w.fit(tx)
			before := w.snap()
			r, err := w.batch.Add(tx)
			wantErr(t, err, c.want)
			if r != nil {
				t.Fatalf("receipt for a rejected transaction")
			}
			before.same(t, w.snap())
			if c.after != nil {
				c.after()
			}
			w.followUp()
		})
	}
}

// setNonce writes an account's nonce directly (outside any transaction).
func (w *world) setNonce(user int, n uint32) {
	w.t.Helper()
	a, err := w.st().Account(w.acct[user])
	if err != nil {
		w.t.Fatal(err)
	}
	a.Nonce = n
	if err := w.st().setAccount(w.acct[user], a); err != nil {
		w.t.Fatal(err)
	}
}

// malleate adds the subgroup order ℓ to the big-endian S of a signature.
func malleate(sig *types.Signature) {
	var s big.Int
	s.SetBytes(sig[32:])
	ord := twistededwards.GetEdwardsCurve().Order
	s.Add(&s, &ord)
	s.FillBytes(sig[32:])
}

func signAs(t testing.TB, k *types.PrivateKey, d types.Domain, tx types.SignedTx) types.SignedTx {
	t.Helper()
	if err := types.SignTx(k, d, tx); err != nil && tx.CheckWidths() == nil { // a too-wide field has no message: unsigned
		t.Fatal(err)
	}
	return tx
}

// Models of fillFeeBook: alice's quoted in token 1, carol's in token 2.
const (
	mFee1 uint16 = 6
	mFee2 uint16 = 7
)

// fillFeeBook opens a fresh batch of family f and collects fees in tokens 1
// and 2 (MaxFeeAssets = 2) with transactions of f, so any fee of f in token 0
// hits ErrFeeAssetsFull. A batch holds one family (§8), so the fees must come
// from that family: for the kinds whose fee is in a model's quote token,
// alice and carol first create models mFee1 (quote token 1) and mFee2 (quote
// token 2) in batches of their own, with the credits, revenue and token-2
// balance the fee-paying transactions need.
func (w *world) fillFeeBook(f types.Family) {
	w.t.Helper()
	if w.batch.Len() > 0 {
		w.seal()
	}
	type payer struct {
		user  int
		token uint16
		model uint16
	}
	payers := []payer{{uAlice, 1, mFee1}, {uCarol, 2, mFee2}}
	create := func(p payer, fee uint64) types.Tx {
		return w.sign(p.user, &types.CreateModel{Account: w.acct[p.user], Model: p.model, QuoteToken: p.token, Supply: 100, MaxSupply: 200,
			CreditPrice: u256(10), HolderBps: 5000, Fee: u256(fee), Nonce: w.nonce(p.user)})
	}
	buy := func(p payer, fee uint64) types.Tx {
		return w.sign(p.user, &types.BuyCredits{Account: w.acct[p.user], Model: p.model, Credits: 2, MaxPrice: u256(10), Fee: u256(fee),
			Nonce: w.nonce(p.user)})
	}
	// setup, in batches of other families
	switch f {
	case types.FamilyTransfer, types.FamilyWithdraw, types.FamilyModelAdmin:
	default:
		for _, p := range payers {
			w.mustAdd(create(p, 0))
		}
		switch f {
		case types.FamilyRedeemCredits, types.FamilyClaimRevenue:
			for _, p := range payers {
				w.mustAdd(buy(p, 0))
			}
		case types.FamilyTrade: // dave will buy carol's shares: give him token 2
			w.mustAdd(w.transfer(uCarol, uDave, types.BaseAsset(2), 10_000, 0))
		}
		w.seal()
	}
	// the fee-paying transactions of family f, fee 1 in tokens 1 and 2
	for _, p := range payers {
		var tx types.Tx
		switch f {
		case types.FamilyTransfer:
			tx = w.transfer(p.user, uBob, types.BaseAsset(p.token), 1, 1)
		case types.FamilyWithdraw:
			tx = w.sign(p.user, &types.Withdraw{Account: w.acct[p.user], Token: p.token, Amount: u256(1), Fee: u256(1),
				To: userAddr(p.user), Nonce: w.nonce(p.user)})
		case types.FamilyModelAdmin:
			tx = create(p, 1)
		case types.FamilyAssetTransfer:
			tx = w.transfer(p.user, uBob, types.ShareAsset(p.model), 1, 1)
		case types.FamilyCancel:
			tx = w.sign(p.user, &types.CancelOrder{Account: w.acct[p.user], Model: p.model, OrderID: 1, Fee: u256(1), Nonce: w.nonce(p.user)})
		case types.FamilyBuyCredits:
			tx = buy(p, 1)
		case types.FamilyRedeemCredits:
			tx = w.sign(p.user, &types.RedeemCredits{Account: w.acct[p.user], Model: p.model, Credits: 1, Request: elem(1), Fee: u256(1),
				Nonce: w.nonce(p.user)})
		case types.FamilyClaimRevenue:
			tx = w.sign(p.user, &types.ClaimRevenue{Account: w.acct[p.user], Model: p.model, Fee: u256(1), Nonce: w.nonce(p.user)})
		case types.FamilyTrade: // the seller sells 10 shares at 100 to dao (token 1) or dave (token 2): fee 1 on 1,000
			buyer := uDao
			if p.token == 2 {
				buyer = uDave
			}
			b := w.orderWith(buyer, types.Buy, 1, 10, 100, func(o *types.Order) { o.Model = p.model })
			s := w.orderWith(p.user, types.Sell, 1, 10, 100, func(o *types.Order) { o.Model = p.model })
			tx = &types.Trade{Buy: b, Sell: s, Fill: 10, Price: u256(100), BuyFeeBips: 10}
		default:
			w.t.Fatalf("no fees in a %v batch", f)
		}
		if r := w.mustAdd(tx); r.FeeToken != p.token || r.Fee.Uint64() != 1 {
			w.t.Fatalf("%s: fee %s in token %d", tx.Kind(), r.Fee.Dec(), r.FeeToken)
		}
	}
	if w.batch.header.Family != f {
		w.t.Fatalf("fee book filled in a %v batch, want %v", w.batch.header.Family, f)
	}
	if got := w.st().Fees().Tokens(); !reflect.DeepEqual(got, []uint16{1, 2}) {
		w.t.Fatalf("fee book %v", got)
	}
}

// tmpl builds a valid signed transaction of one kind for a user at an
// account id, nonce and fee (paid in token 0); it is not signed yet.
type tmpl struct {
	kind string
	user int
	mk   func(w *world, acct, nonce uint32, fee uint256.Int) types.SignedTx
}

func signedTemplates() []tmpl {
	return []tmpl{
		{"Transfer/base", uAlice, func(w *world, a, n uint32, fee uint256.Int) types.SignedTx {
			return &types.Transfer{From: a, To: w.acct[uBob], Asset: types.ETH, Amount: u256(1000), Fee: fee, Nonce: n}
		}},
		{"Transfer/shares", uDao, func(w *world, a, n uint32, fee uint256.Int) types.SignedTx {
			return &types.Transfer{From: a, To: w.acct[uAlice], Asset: types.ShareAsset(m1), Amount: u256(10), Fee: fee, Nonce: n}
		}},
		{"Transfer/credits", uBob, func(w *world, a, n uint32, fee uint256.Int) types.SignedTx {
			return &types.Transfer{From: a, To: w.acct[uAlice], Asset: types.CreditAsset(m1), Amount: u256(1), Fee: fee, Nonce: n}
		}},
		{"Withdraw", uAlice, func(w *world, a, n uint32, fee uint256.Int) types.SignedTx {
			return &types.Withdraw{Account: a, Token: 0, Amount: u256(100), Fee: fee, To: userAddr(uAlice), Nonce: n}
		}},
		{"CreateModel", uCarol, func(w *world, a, n uint32, fee uint256.Int) types.SignedTx {
			return &types.CreateModel{Account: a, Model: 2, QuoteToken: 0, Supply: 100, MaxSupply: 100, CreditPrice: u256(5),
				HolderBps: 5000, Weights: elem(1), Metadata: elem(2), Fee: fee, Nonce: n}
		}},
		{"MintShares", uDao, func(w *world, a, n uint32, fee uint256.Int) types.SignedTx {
			return &types.MintShares{Account: a, Model: m1, Amount: 10, Fee: fee, Nonce: n}
		}},
		{"SetModelParams", uDao, func(w *world, a, n uint32, fee uint256.Int) types.SignedTx {
			return &types.SetModelParams{Account: a, Model: m1, CreditPrice: u256(120), HolderBps: 7000, Fee: fee, Nonce: n}
		}},
		{"CancelOrder", uAlice, func(w *world, a, n uint32, fee uint256.Int) types.SignedTx {
			return &types.CancelOrder{Account: a, Model: m1, OrderID: 3, Fee: fee, Nonce: n}
		}},
		{"BuyCredits", uBob, func(w *world, a, n uint32, fee uint256.Int) types.SignedTx {
			return &types.BuyCredits{Account: a, Model: m1, Credits: 2, MaxPrice: u256(100), Fee: fee, Nonce: n}
		}},
		{"RedeemCredits", uBob, func(w *world, a, n uint32, fee uint256.Int) types.SignedTx {
			return &types.RedeemCredits{Account: a, Model: m1, Credits: 1, Request: elem(7), Fee: fee, Nonce: n}
		}},
		{"ClaimRevenue", uDao, func(w *world, a, n uint32, fee uint256.Int) types.SignedTx {
			return &types.ClaimRevenue{Account: a, Model: m1, Fee: fee, Nonce: n}
		}},
	}
}

// commonCases are the §5 rules shared by every signed kind: signer range
// and existence, signature (altered, wrong key, malleated, other domain),
// nonce, and the fee (bound, format, affordability, fee-book capacity).
func commonCases(w *world, tp tmpl) []rcase {
	acct := func() uint32 { return w.acct[tp.user] }
	valid := func(fee uint64) types.SignedTx { return tp.mk(w, acct(), w.nonce(tp.user), u256(fee)) }
	other := uBob
	if tp.user == uBob {
		other = uAlice
	}
	var savedRoot fr.Element
	var savedNonce uint32
	return []rcase{
		{name: "bad signature (message altered after signing)", want: types.ErrBadSignature, tx: func() types.Tx {
			good := w.sign(tp.user, valid(0))
			bad := valid(1)
			*bad.Sig() = *good.Sig()
			return bad
		}},
		{name: "signed by another account's key", want: types.ErrBadSignature, tx: func() types.Tx {
			return signAs(w.t, w.keys[other], w.d, valid(0))
		}},
		{name: "signed by an unregistered key", want: types.ErrBadSignature, tx: func() types.Tx {
			return signAs(w.t, w.keys[uGhost], w.d, valid(0))
		}},
		{name: "S+l malleated signature", want: types.ErrSignatureMalleable, tx: func() types.Tx {
			tx := w.sign(tp.user, valid(0))
			malleate(tx.Sig())
			return tx
		}},
		{name: "signature for another chain id", want: types.ErrBadSignature, tx: func() types.Tx {
			return signAs(w.t, w.keys[tp.user], otherChain, valid(0))
		}},
		{name: "signature for another bridge address", want: types.ErrBadSignature, tx: func() types.Tx {
			return signAs(w.t, w.keys[tp.user], otherBridge, valid(0))
		}},
		{name: "nonce reused", want: types.ErrNonce, tx: func() types.Tx {
			n := w.nonce(tp.user)
			if n == 0 {
				w.t.Fatal("template user has nonce 0")
			}
			return w.sign(tp.user, tp.mk(w, acct(), n-1, u256(0)))
		}},
		{name: "nonce skipped", want: types.ErrNonce, tx: func() types.Tx {
			return w.sign(tp.user, tp.mk(w, acct(), w.nonce(tp.user)+1, u256(0)))
		}},
		{name: "nonce exhausted", want: types.ErrNonceOverflow,
			prep: func() {
				savedRoot, _ = w.st().Root()
				savedNonce = w.nonce(tp.user)
				w.setNonce(tp.user, math.MaxUint32)
			},
			tx: func() types.Tx { return w.sign(tp.user, tp.mk(w, acct(), math.MaxUint32, u256(0))) },
			after: func() {
				w.setNonce(tp.user, savedNonce)
				if r, _ := w.st().Root(); r != savedRoot {
					w.t.Fatal("nonce restore did not restore the root")
				}
			}},
		{name: "signer account out of range", want: types.ErrAccountRange, tx: func() types.Tx {
			return w.sign(tp.user, tp.mk(w, 1<<w.p.AccountDepth, 0, u256(0)))
		}},
		{name: "signer account not found", want: types.ErrAccountNotFound, tx: func() types.Tx {
			return w.sign(tp.user, tp.mk(w, w.nextID, 0, u256(0))) // no pair has this id yet
		}},
		{name: "fee 2^96", want: types.ErrAmountTooLarge, tx: func() types.Tx {
			return w.sign(tp.user, tp.mk(w, acct(), w.nonce(tp.user), two96))
		}},
		{name: "fee not Fee16-exact", want: types.ErrNotPackable, tx: func() types.Tx { return w.sign(tp.user, valid(2049)) }},
		// the stateless range checks run before the signature, nonce and state
		{name: "fee 2^96, signed by another account's key", want: types.ErrAmountTooLarge, tx: func() types.Tx {
			return signAs(w.t, w.keys[other], w.d, tp.mk(w, acct(), w.nonce(tp.user), two96))
		}},
		{name: "fee not Fee16-exact, S+l malleated", want: types.ErrNotPackable, tx: func() types.Tx {
			tx := w.sign(tp.user, valid(2049))
			malleate(tx.Sig())
			return tx
		}},
		{name: "fee not Fee16-exact, nonce skipped", want: types.ErrNotPackable, tx: func() types.Tx {
			return w.sign(tp.user, tp.mk(w, acct(), w.nonce(tp.user)+1, u256(2049)))
		}},
		{name: "fee 2^96, signer account not found", want: types.ErrAmountTooLarge, tx: func() types.Tx {
			return w.sign(tp.user, tp.mk(w, w.nextID, 0, two96))
		}},
		{name: "fee unaffordable", want: types.ErrInsufficientFunds, tx: func() types.Tx {
			return w.sign(tp.user, tp.mk(w, acct(), w.nonce(tp.user), bigFee))
		}},
		{name: "fee token beyond MaxFeeAssets", want: types.ErrFeeAssetsFull,
			prep: func() { w.fillFeeBook(types.FamilyOf(valid(1))) },
			tx:   func() types.Tx { return w.sign(tp.user, valid(1)) }},
	}
}

// TestRejectCommon runs the shared signed-transaction rules against every
// signed kind, then shows the valid version of each is accepted.
func TestRejectCommon(t *testing.T) {
	for _, tp := range signedTemplates() {
		t.Run(tp.kind, func(t *testing.T) {
			w := stdWorld(t)
			w.rejects(t, commonCases(w, tp))
			// the valid transaction, paying a fee, goes through
			w.seal()
			before := w.nonce(tp.user)
			r := w.mustAdd(w.sign(tp.user, tp.mk(w, w.acct[tp.user], before, u256(1))))
			if r.Fee.Uint64() != 1 || r.FeeToken != 0 {
				t.Fatalf("fee %s in token %d", r.Fee.Dec(), r.FeeToken)
			}
			if got := w.nonce(tp.user); got != before+1 {
				t.Fatalf("nonce %d, want %d", got, before+1)
			}
		})
	}
}

// ---- kind-specific rejections (§5) ----

// zeroPriceModel has carol create a model with credit price 0 and buy the
// maximum number of credits: one more credit overflows 64 bits.
func (w *world) zeroPriceModel(model uint16) {
	w.t.Helper()
	w.mustAdd(w.sign(uCarol, &types.CreateModel{Account: w.acct[uCarol], Model: model, Supply: 10, MaxSupply: 10,
		Nonce: w.nonce(uCarol)}))
	w.mustAdd(w.sign(uCarol, &types.BuyCredits{Account: w.acct[uCarol], Model: model, Credits: math.MaxUint64,
		Nonce: w.nonce(uCarol)}))
}

func TestRejectTransfer(t *testing.T) {
	w := stdWorld(t)
	alice, bob := w.acct[uAlice], w.acct[uBob]
	tr := func(from int, to uint32, asset types.AssetID, amount, fee uint256.Int) func() types.Tx {
		return func() types.Tx {
			return w.sign(from, &types.Transfer{From: w.acct[from], To: to, Asset: asset, Amount: amount, Fee: fee, Nonce: w.nonce(from)})
		}
	}
	w.rejects(t, []rcase{
		{name: "self transfer", want: types.ErrSelfTransfer, tx: tr(uAlice, alice, types.ETH, u256(1), u256(0))},
		{name: "receiver not found", want: types.ErrAccountNotFound, tx: tr(uAlice, 9, types.ETH, u256(1), u256(0))},
		{name: "receiver out of range", want: types.ErrAccountRange, tx: tr(uAlice, 1<<w.p.AccountDepth, types.ETH, u256(1), u256(0))},
		{name: "base token out of range", want: types.ErrAssetRange, tx: tr(uAlice, bob, types.BaseAsset(1<<w.p.BalanceDepth), u256(1), u256(0))},
		{name: "asset kind 3", want: types.ErrAssetRange, tx: tr(uAlice, bob, types.AssetID(3<<16), u256(1), u256(0))},
		{name: "shares of a model out of range", want: types.ErrAssetRange, tx: tr(uDao, alice, types.ShareAsset(1<<w.p.ModelDepth), u256(1), u256(0))},
		{name: "credits of a model out of range", want: types.ErrAssetRange, tx: tr(uBob, alice, types.CreditAsset(1<<w.p.ModelDepth), u256(1), u256(0))},
		{name: "zero amount", want: types.ErrZeroAmount, tx: tr(uAlice, bob, types.ETH, u256(0), u256(0))},
		{name: "amount 2^96", want: types.ErrAmountTooLarge, tx: tr(uAlice, bob, types.ETH, two96, u256(0))},
		{name: "amount not Amount38-exact", want: types.ErrNotPackable, tx: tr(uAlice, bob, types.ETH, u256(1<<33+1), u256(0))},
		{name: "amount above balance", want: types.ErrInsufficientFunds, tx: tr(uAlice, bob, types.ETH, u256(10_000_000), u256(0))},
		{name: "amount + fee one above balance", want: types.ErrInsufficientFunds, tx: tr(uAlice, bob, types.BaseAsset(3), u256(10), u256(1))},
		{name: "amount one above balance", want: types.ErrInsufficientFunds, tx: tr(uAlice, bob, types.BaseAsset(3), u256(11), u256(0))},
		{name: "receiver balance past 2^96", want: types.ErrBalanceOverflow, tx: tr(uAlice, w.acct[uWhale], types.BaseAsset(3), u256(1), u256(0))},
		{name: "shares of a missing model", want: types.ErrModelNotFound, tx: tr(uDao, alice, types.ShareAsset(5), u256(1), u256(0))},
		{name: "credits of a missing model", want: types.ErrModelNotFound, tx: tr(uBob, alice, types.CreditAsset(5), u256(1), u256(0))},
		{name: "share amount above 2^64", want: types.ErrAmountTooLarge, tx: tr(uDao, alice, types.ShareAsset(m1), pow10(20), u256(0))},
		{name: "insufficient shares (none)", want: types.ErrInsufficientShares, tx: tr(uAlice, bob, types.ShareAsset(m1), u256(1), u256(0))},
		{name: "insufficient shares (one more than held)", want: types.ErrInsufficientShares, tx: tr(uDao, alice, types.ShareAsset(m1), u256(1001), u256(0))},
		{name: "insufficient credits", want: types.ErrInsufficientCredits, tx: tr(uBob, alice, types.CreditAsset(m1), u256(11), u256(0))},
		{name: "share fee in the quote token unaffordable", want: types.ErrInsufficientFunds, tx: tr(uDao, alice, types.ShareAsset(m1), u256(1), bigFee)},
		{name: "receiver credits past 2^64", want: types.ErrBalanceOverflow,
			prep: func() {
				w.zeroPriceModel(3)
				w.mustAdd(w.sign(uBob, &types.BuyCredits{Account: bob, Model: 3, Credits: 1, Nonce: w.nonce(uBob)}))
			},
			tx: tr(uBob, w.acct[uCarol], types.CreditAsset(3), u256(1), u256(0))},
	})
}

func TestRejectWithdraw(t *testing.T) {
	w := stdWorld(t)
	wd := func(token uint16, amount, fee uint256.Int) func() types.Tx {
		return func() types.Tx {
			return w.sign(uAlice, &types.Withdraw{Account: w.acct[uAlice], Token: token, Amount: amount, Fee: fee,
				To: userAddr(uAlice), Nonce: w.nonce(uAlice)})
		}
	}
	w.rejects(t, []rcase{
		{name: "token out of range (not a base token)", want: types.ErrAssetNotWithdrawable, tx: wd(1<<w.p.BalanceDepth, u256(1), u256(0))},
		{name: "token 0xffff", want: types.ErrAssetNotWithdrawable, tx: wd(0xffff, u256(1), u256(0))},
		{name: "zero amount", want: types.ErrZeroAmount, tx: wd(0, u256(0), u256(0))},
		{name: "amount 2^96", want: types.ErrAmountTooLarge, tx: wd(0, two96, u256(0))},
		{name: "amount + fee one above balance", want: types.ErrInsufficientFunds, tx: wd(3, u256(10), u256(1))},
		{name: "amount one above balance", want: types.ErrInsufficientFunds, tx: wd(3, u256(11), u256(0))},
		{name: "fee alone above balance", want: types.ErrInsufficientFunds, tx: wd(3, u256(1), u256(20))},
	})
	// the boundary: amount + fee == balance empties it
	r := w.mustAdd(wd(3, u256(9), u256(1))())
	if got := w.balance(uAlice, 3); got != 0 {
		t.Fatalf("balance %d after withdrawing all", got)
	}
	if r.Withdrawal == nil || r.Withdrawal.Amount.Uint64() != 9 || r.Withdrawal.Token != 3 || r.Withdrawal.To != userAddr(uAlice) {
		t.Fatalf("withdrawal %+v", r.Withdrawal)
	}
}

func TestRejectCreateModel(t *testing.T) {
	w := stdWorld(t)
	cm := func(f func(*types.CreateModel)) func() types.Tx {
		return func() types.Tx {
			tx := &types.CreateModel{Account: w.acct[uCarol], Model: 2, QuoteToken: 0, Supply: 100, MaxSupply: 200,
				CreditPrice: u256(5), HolderBps: 5000, Weights: elem(1), Metadata: elem(2), Nonce: w.nonce(uCarol)}
			f(tx)
			return w.sign(uCarol, tx)
		}
	}
	w.rejects(t, []rcase{
		{name: "model out of range", want: types.ErrModelRange, tx: cm(func(c *types.CreateModel) { c.Model = 1 << w.p.ModelDepth })},
		{name: "model 0xffff", want: types.ErrModelRange, tx: cm(func(c *types.CreateModel) { c.Model = 0xffff })},
		{name: "model exists", want: types.ErrModelExists, tx: cm(func(c *types.CreateModel) { c.Model = m1 })},
		{name: "quote token out of range", want: types.ErrAssetRange, tx: cm(func(c *types.CreateModel) { c.QuoteToken = 1 << w.p.BalanceDepth })},
		{name: "zero supply", want: types.ErrZeroSupply, tx: cm(func(c *types.CreateModel) { c.Supply, c.MaxSupply = 0, 0 })},
		{name: "max supply below supply", want: types.ErrSupplyCap, tx: cm(func(c *types.CreateModel) { c.MaxSupply = 99 })},
		{name: "holder bps 10001", want: types.ErrBadBps, tx: cm(func(c *types.CreateModel) { c.HolderBps = 10_001 })},
		{name: "credit price 2^96", want: types.ErrAmountTooLarge, tx: cm(func(c *types.CreateModel) { c.CreditPrice = two96 })},
		{name: "fee in a quote token not held", want: types.ErrInsufficientFunds, tx: cm(func(c *types.CreateModel) { c.QuoteToken, c.Fee = 1, u256(1) })},
	})
}

func TestRejectMintShares(t *testing.T) {
	w := stdWorld(t)
	mint := func(user int, model uint16, amount uint64) func() types.Tx {
		return func() types.Tx {
			return w.sign(user, &types.MintShares{Account: w.acct[user], Model: model, Amount: amount, Nonce: w.nonce(user)})
		}
	}
	w.rejects(t, []rcase{
		{name: "not the DAO", want: types.ErrNotModelDAO, tx: mint(uAlice, m1, 1)},
		{name: "model not found", want: types.ErrModelNotFound, tx: mint(uDao, 5, 1)},
		{name: "model out of range", want: types.ErrModelRange, tx: mint(uDao, 1<<w.p.ModelDepth, 1)},
		{name: "zero amount", want: types.ErrZeroAmount, tx: mint(uDao, m1, 0)},
		{name: "one above the cap", want: types.ErrSupplyCap, tx: mint(uDao, m1, 1001)},
		{name: "2^64-1 above the cap", want: types.ErrSupplyCap, tx: mint(uDao, m1, math.MaxUint64)},
	})
}

func TestRejectSetModelParams(t *testing.T) {
	w := stdWorld(t)
	set := func(user int, model uint16, price uint256.Int, bps uint16) func() types.Tx {
		return func() types.Tx {
			return w.sign(user, &types.SetModelParams{Account: w.acct[user], Model: model, CreditPrice: price, HolderBps: bps, Nonce: w.nonce(user)})
		}
	}
	w.rejects(t, []rcase{
		{name: "not the DAO", want: types.ErrNotModelDAO, tx: set(uAlice, m1, u256(1), 1)},
		{name: "model not found", want: types.ErrModelNotFound, tx: set(uDao, 5, u256(1), 1)},
		{name: "model out of range", want: types.ErrModelRange, tx: set(uDao, 1<<w.p.ModelDepth, u256(1), 1)},
		{name: "holder bps 10001", want: types.ErrBadBps, tx: set(uDao, m1, u256(1), 10_001)},
		{name: "credit price 2^96", want: types.ErrAmountTooLarge, tx: set(uDao, m1, two96, 1)},
	})
}

func TestRejectCancelOrder(t *testing.T) {
	w := stdWorld(t)
	cancel := func(model uint16, id uint32) func() types.Tx {
		return func() types.Tx {
			return w.sign(uAlice, &types.CancelOrder{Account: w.acct[uAlice], Model: model, OrderID: id, Nonce: w.nonce(uAlice)})
		}
	}
	w.rejects(t, []rcase{
		{name: "model not found", want: types.ErrModelNotFound, tx: cancel(5, 1)},
		{name: "model out of range", want: types.ErrModelRange, tx: cancel(1<<w.p.ModelDepth, 1)},
		{name: "order id 2^24", want: types.ErrAmountTooLarge, tx: cancel(m1, 1<<24)},
		{name: "slot holds a newer order", want: types.ErrOrderSlotTaken,
			prep: func() { w.mustAdd(cancel(m1, 5)()) }, // slot 1 := (5, cancelled)
			tx:   cancel(m1, 1)},
		{name: "already cancelled", want: types.ErrOrderClosed, tx: cancel(m1, 5)},
	})
}

func TestRejectBuyCredits(t *testing.T) {
	w := stdWorld(t)
	buy := func(user int, model uint16, credits uint64, maxPrice, fee uint256.Int) func() types.Tx {
		return func() types.Tx {
			return w.sign(user, &types.BuyCredits{Account: w.acct[user], Model: model, Credits: credits, MaxPrice: maxPrice,
				Fee: fee, Nonce: w.nonce(user)})
		}
	}
	half96 := *types.Bound(95)
	w.rejects(t, []rcase{
		{name: "model not found", want: types.ErrModelNotFound, tx: buy(uBob, 5, 1, u256(100), u256(0))},
		{name: "model out of range", want: types.ErrModelRange, tx: buy(uBob, 1<<w.p.ModelDepth, 1, u256(100), u256(0))},
		{name: "zero credits", want: types.ErrZeroAmount, tx: buy(uBob, m1, 0, u256(100), u256(0))},
		{name: "price above the buyer's max", want: types.ErrCreditPrice, tx: buy(uBob, m1, 1, u256(99), u256(0))},
		{name: "cost above balance", want: types.ErrInsufficientFunds, tx: buy(uBob, m1, 1_000_000, u256(100), u256(0))},
		{name: "cost + fee one above balance", want: types.ErrInsufficientFunds, tx: func() types.Tx {
			bal := w.balance(uBob, 0)
			return buy(uBob, m1, bal/100, u256(100), u256(bal%100+1))()
		}},
		{name: "cost 2^96", want: types.ErrAmountTooLarge,
			prep: func() {
				w.mustAdd(w.sign(uCarol, &types.CreateModel{Account: w.acct[uCarol], Model: 2, Supply: 1, MaxSupply: 1,
					CreditPrice: half96, Nonce: w.nonce(uCarol)}))
			},
			tx: buy(uBob, 2, 2, half96, u256(0))},
		{name: "credits past 2^64", want: types.ErrBalanceOverflow, prep: func() { w.zeroPriceModel(3) },
			tx: buy(uCarol, 3, 1, u256(0), u256(0))},
	})
}

func TestRejectRedeemCredits(t *testing.T) {
	w := stdWorld(t)
	redeem := func(user int, model uint16, credits uint64) func() types.Tx {
		return func() types.Tx {
			return w.sign(user, &types.RedeemCredits{Account: w.acct[user], Model: model, Credits: credits, Request: elem(1), Nonce: w.nonce(user)})
		}
	}
	w.rejects(t, []rcase{
		{name: "model not found", want: types.ErrModelNotFound, tx: redeem(uBob, 5, 1)},
		{name: "model out of range", want: types.ErrModelRange, tx: redeem(uBob, 1<<w.p.ModelDepth, 1)},
		{name: "zero credits", want: types.ErrZeroAmount, tx: redeem(uBob, m1, 0)},
		{name: "one more than held", want: types.ErrInsufficientCredits, tx: redeem(uBob, m1, 11)},
		{name: "none held", want: types.ErrInsufficientCredits, tx: redeem(uAlice, m1, 1)},
	})
}

func TestRejectClaimRevenue(t *testing.T) {
	w := stdWorld(t)
	claim := func(user int, model uint16, fee uint256.Int) func() types.Tx {
		return func() types.Tx {
			return w.sign(user, &types.ClaimRevenue{Account: w.acct[user], Model: model, Fee: fee, Nonce: w.nonce(user)})
		}
	}
	w.rejects(t, []rcase{
		{name: "model not found", want: types.ErrModelNotFound, tx: claim(uDao, 5, u256(0))},
		{name: "model out of range", want: types.ErrModelRange, tx: claim(uDao, 1<<w.p.ModelDepth, u256(0))},
		{name: "no shares, nothing to claim", want: types.ErrNothingToClaim, tx: claim(uAlice, m1, u256(0))},
		{name: "fee above payout + balance", want: types.ErrInsufficientFunds, tx: func() types.Tx {
			// dao would get 600 + 400 of treasury; fee = balance + 1000 + 1 rounded up to Fee16
			return claim(uDao, m1, pow10(7))()
		}},
		{name: "claimed twice", want: types.ErrNothingToClaim,
			prep: func() { w.mustAdd(claim(uDao, m1, u256(0))()) },
			tx:   claim(uDao, m1, u256(0))},
	})
}

// orderWith builds an order of a user, lets f change it, then signs it.
func (w *world) orderWith(user int, side types.Side, id uint32, amount, price uint64, f func(*types.Order)) types.Order {
	w.t.Helper()
	o := types.Order{Account: w.acct[user], Model: m1, Side: side, OrderID: id, Amount: amount, Price: u256(price),
		MaxFeeBips: 30, ValidUntil: uint32(w.ts + 3600)}
	if f != nil {
		f(&o)
	}
	if err := types.SignOrder(w.keys[user], w.d, &o); err != nil && o.CheckWidths() == nil { // a too-wide field has no message: unsigned
		w.t.Fatal(err)
	}
	return o
}

func TestRejectTrade(t *testing.T) {
	w := stdWorld(t)
	// dao sells, alice buys, on m1
	type ord = func() types.Order
	buyO := func(id uint32, amount, price uint64, f func(*types.Order)) ord {
		return func() types.Order { return w.orderWith(uAlice, types.Buy, id, amount, price, f) }
	}
	sellO := func(id uint32, amount, price uint64, f func(*types.Order)) ord {
		return func() types.Order { return w.orderWith(uDao, types.Sell, id, amount, price, f) }
	}
	trade := func(b, s ord, fill uint64, price uint256.Int, bb, sb uint8) func() types.Tx {
		return func() types.Tx {
			return &types.Trade{Buy: b(), Sell: s(), Fill: fill, Price: price, BuyFeeBips: bb, SellFeeBips: sb}
		}
	}
	std := func(b, s ord) func() types.Tx { return trade(b, s, 10, u256(55), 10, 20) }
	b1, s1 := buyO(1, 100, 60, nil), sellO(1, 100, 50, nil)
	after := func(f func(*types.Order)) func() types.Order { // alter a signed order
		return func() types.Order { o := b1(); f(&o); return o }
	}
	w.rejects(t, []rcase{
		{name: "buy order is a sell", want: types.ErrOrderSide, tx: std(func() types.Order { return w.orderWith(uAlice, types.Sell, 1, 100, 60, nil) }, s1)},
		{name: "sell order is a buy", want: types.ErrOrderSide, tx: std(b1, func() types.Order { return w.orderWith(uDao, types.Buy, 1, 100, 50, nil) })},
		{name: "orders of different models", want: types.ErrOrderSide, tx: std(buyO(1, 100, 60, func(o *types.Order) { o.Model = 2 }), s1)},
		{name: "self trade", want: types.ErrSelfTrade, tx: std(b1, func() types.Order { return w.orderWith(uAlice, types.Sell, 2, 100, 50, nil) })},
		{name: "model not found", want: types.ErrModelNotFound, tx: std(buyO(1, 100, 60, func(o *types.Order) { o.Model = 5 }), sellO(1, 100, 50, func(o *types.Order) { o.Model = 5 }))},
		{name: "model out of range", want: types.ErrModelRange, tx: std(buyO(1, 100, 60, func(o *types.Order) { o.Model = 8 }), sellO(1, 100, 50, func(o *types.Order) { o.Model = 8 }))},
		{name: "buyer account out of range", want: types.ErrAccountRange, tx: std(buyO(1, 100, 60, func(o *types.Order) { o.Account = 1 << w.p.AccountDepth }), s1)},
		{name: "buyer account not found", want: types.ErrAccountNotFound, tx: std(buyO(1, 100, 60, func(o *types.Order) { o.Account = 9 }), s1)},
		{name: "seller account not found", want: types.ErrAccountNotFound, tx: std(b1, sellO(1, 100, 50, func(o *types.Order) { o.Account = 9 }))},
		{name: "buy order altered after signing", want: types.ErrBadSignature, tx: std(after(func(o *types.Order) { o.Amount = 1000 }), s1)},
		{name: "buy price raised after signing", want: types.ErrBadSignature, tx: std(after(func(o *types.Order) { o.Price = u256(1000) }), s1)},
		{name: "sell price lowered after signing", want: types.ErrBadSignature, tx: std(b1, func() types.Order { o := s1(); o.Price = u256(1); return o })},
		{name: "buy order signed by another key", want: types.ErrBadSignature, tx: std(func() types.Order {
			o := b1()
			if err := types.SignOrder(w.keys[uBob], w.d, &o); err != nil {
				t.Fatal(err)
			}
			return o
		}, s1)},
		{name: "sell order S+l malleated", want: types.ErrSignatureMalleable, tx: std(b1, func() types.Order { o := s1(); malleate(&o.Signature); return o })},
		{name: "buy order for another chain", want: types.ErrBadSignature, tx: std(func() types.Order {
			o := b1()
			if err := types.SignOrder(w.keys[uAlice], otherChain, &o); err != nil {
				t.Fatal(err)
			}
			return o
		}, s1)},
		{name: "sell order for another bridge", want: types.ErrBadSignature, tx: std(b1, func() types.Order {
			o := s1()
			if err := types.SignOrder(w.keys[uDao], otherBridge, &o); err != nil {
				t.Fatal(err)
			}
			return o
		})},
		{name: "buy order expired", want: types.ErrOrderExpired, tx: std(buyO(1, 100, 60, func(o *types.Order) { o.ValidUntil = uint32(w.ts - 1) }), s1)},
		{name: "sell order expired", want: types.ErrOrderExpired, tx: std(b1, sellO(1, 100, 50, func(o *types.Order) { o.ValidUntil = uint32(w.ts - 1) }))},
		{name: "price above the buy limit", want: types.ErrOrderPrice, tx: trade(b1, s1, 10, u256(61), 10, 20)},
		{name: "price below the sell limit", want: types.ErrOrderPrice, tx: trade(b1, s1, 10, u256(49), 10, 20)},
		{name: "buy fee above its max", want: types.ErrOrderFee, tx: trade(b1, s1, 10, u256(55), 31, 20)},
		{name: "sell fee above its max", want: types.ErrOrderFee, tx: trade(b1, s1, 10, u256(55), 10, 31)},
		{name: "zero fill", want: types.ErrZeroAmount, tx: trade(b1, s1, 0, u256(55), 10, 20)},
		{name: "zero price", want: types.ErrZeroAmount, tx: trade(buyO(1, 100, 60, nil), sellO(1, 100, 0, nil), 10, u256(0), 10, 20)},
		{name: "fill not Amount38-exact", want: types.ErrNotPackable, tx: trade(buyO(1, 1<<40, 60, nil), sellO(1, 1<<40, 50, nil), 1<<33+1, u256(55), 0, 0)},
		{name: "price not Amount38-exact", want: types.ErrNotPackable, tx: trade(buyO(1, 100, 1e10, nil), sellO(1, 100, 1, nil), 1, u256(1<<33+1), 0, 0)},
		{name: "fill above the buy amount", want: types.ErrOrderOverfill, tx: trade(b1, sellO(1, 1000, 50, nil), 101, u256(55), 10, 20)},
		{name: "fill above the sell amount", want: types.ErrOrderOverfill, tx: trade(buyO(1, 1000, 60, nil), sellO(1, 5, 50, nil), 10, u256(55), 10, 20)},
		{name: "cumulative partial fills overfill", want: types.ErrOrderOverfill,
			prep: func() { w.mustAdd(trade(buyO(2, 100, 60, nil), sellO(2, 100, 50, nil), 60, u256(55), 10, 20)()) },
			tx:   trade(buyO(2, 100, 60, nil), sellO(2, 100, 50, nil), 50, u256(55), 10, 20)},
		{name: "cumulative overfill on the sell side only", want: types.ErrOrderOverfill,
			tx: trade(buyO(3, 100, 60, nil), sellO(2, 100, 50, nil), 41, u256(55), 10, 20)},
		{name: "fully filled order reused", want: types.ErrOrderOverfill,
			prep: func() { w.mustAdd(trade(buyO(2, 100, 60, nil), sellO(2, 100, 50, nil), 40, u256(55), 10, 20)()) },
			tx:   trade(buyO(2, 100, 60, nil), sellO(3, 100, 50, nil), 1, u256(55), 10, 20)},
		{name: "buyer cannot pay", want: types.ErrInsufficientFunds, tx: trade(buyO(1, 1e6, 60, nil), sellO(1, 1e6, 50, nil), 100_000, u256(55), 0, 0)},
		{name: "buyer cannot pay the fee", want: types.ErrInsufficientFunds, tx: func() types.Tx {
			// quote = whole balance (rounded to a packable fill), fee pushes it over
			bal := w.balance(uAlice, 0)
			return trade(buyO(1, 1e7, 1, nil), sellO(1, 1e7, 1, nil), bal, u256(1), 30, 0)()
		}},
		{name: "seller lacks shares", want: types.ErrInsufficientShares, tx: trade(buyO(1, 2000, 60, nil), sellO(1, 2000, 50, nil), 1500, u256(50), 0, 0)},
		{name: "quote 2^96 or more", want: types.ErrAmountTooLarge, tx: func() types.Tx {
			p := pow10(25)
			b := w.orderWith(uAlice, types.Buy, 1, 1e4, 0, func(o *types.Order) { o.Price = p })
			return &types.Trade{Buy: b, Sell: sellO(1, 1e4, 1, nil)(), Fill: 1e4, Price: p}
		}},
		{name: "buy order id 2^24", want: types.ErrAmountTooLarge, tx: std(buyO(1<<24, 100, 60, nil), s1)},
		{name: "sell order id 2^24", want: types.ErrAmountTooLarge, tx: std(b1, sellO(1<<24, 100, 50, nil))},
		{name: "seller balance past 2^96", want: types.ErrBalanceOverflow,
			prep: func() {
				w.mustAdd(w.sign(uWhale, &types.CreateModel{Account: w.acct[uWhale], Model: 4, QuoteToken: 3, Supply: 100,
					MaxSupply: 100, CreditPrice: u256(1), Nonce: w.nonce(uWhale)}))
			},
			tx: func() types.Tx {
				b := w.orderWith(uAlice, types.Buy, 1, 10, 1, func(o *types.Order) { o.Model = 4 })
				s := w.orderWith(uWhale, types.Sell, 1, 10, 1, func(o *types.Order) { o.Model = 4 })
				return &types.Trade{Buy: b, Sell: s, Fill: 1, Price: u256(1)}
			}},
		// slot 1 of alice holds order 5, cancelled
		{name: "stale order slot", want: types.ErrOrderSlotTaken,
			prep: func() {
				w.mustAdd(w.sign(uAlice, &types.CancelOrder{Account: w.acct[uAlice], Model: m1, OrderID: 5, Nonce: w.nonce(uAlice)}))
			},
			tx: std(b1, s1)},
		{name: "cancelled order", want: types.ErrOrderClosed, tx: std(buyO(5, 100, 60, nil), s1)},
		{name: "fee token beyond MaxFeeAssets", want: types.ErrFeeAssetsFull, prep: func() { w.fillFeeBook(types.FamilyTrade) },
			tx: trade(buyO(9, 100, 60, nil), sellO(9, 100, 50, nil), 100, u256(55), 10, 20)},
	})
}

// ---- success paths (exact effects, witness shape, pubdata) ----

// shape renders a witness's update sequence: tree letter, account (or model
// for the model tree), then the index for subtrees, e.g. "B2:0 A2 M1".
func shape(wit *TxWitness) string {
	var parts []string
	for _, u := range wit.Updates {
		switch u.Tree {
		case TreeAccounts:
			parts = append(parts, fmt.Sprintf("A%d", u.Account))
		case TreeModels:
			parts = append(parts, fmt.Sprintf("M%d", u.Model))
		case TreeBalances:
			parts = append(parts, fmt.Sprintf("B%d:%d", u.Account, u.Index))
		case TreePositions:
			parts = append(parts, fmt.Sprintf("P%d:%d", u.Account, u.Index))
		case TreeOrders:
			parts = append(parts, fmt.Sprintf("O%d:%d:%d", u.Account, u.Model, u.Index))
		}
	}
	return strings.Join(parts, " ")
}

// pubdataSize6 is the table of docs/protocol.md §6.
var pubdataSize6 = map[types.Kind]int{types.KindNoop: 1, types.KindDeposit: 103, types.KindTransfer: 16, types.KindWithdraw: 40,
	types.KindForcedWithdraw: 38, types.KindCreateModel: 104, types.KindMintShares: 13, types.KindSetModelParams: 19,
	types.KindTrade: 27, types.KindCancelOrder: 11, types.KindBuyCredits: 16, types.KindRedeemCredits: 48, types.KindClaimRevenue: 8}

func TestPubdataSizes(t *testing.T) {
	for _, k := range types.AllKinds() {
		if types.PubdataSize[k] != pubdataSize6[k] {
			t.Errorf("%s: pubdata %d bytes, §6 says %d", k, types.PubdataSize[k], pubdataSize6[k])
		}
	}
}

// checkReceipt checks a success: the witness shape (§5 witness order), that
// the witness ends at the current root, and that the pubdata has the §6 size
// and decodes to exactly the published fields.
func (w *world) checkReceipt(r *Receipt, wantShape string, pub types.Tx) {
	w.t.Helper()
	if got := shape(r.Witness); got != wantShape {
		w.t.Fatalf("witness %q, want %q", got, wantShape)
	}
	if root, _ := w.st().Root(); r.Witness.RootAfter != root {
		w.t.Fatalf("witness RootAfter is not the state root")
	}
	if len(r.Pubdata) != pubdataSize6[pub.Kind()] {
		w.t.Fatalf("pubdata %d bytes, want %d", len(r.Pubdata), pubdataSize6[pub.Kind()])
	}
	ops, err := types.DecodePubdata(r.Pubdata)
	if err != nil {
		w.t.Fatal(err)
	}
	if len(ops) != 1 || !reflect.DeepEqual(ops[0], pub) {
		w.t.Fatalf("pubdata decodes to %+v, want %+v", ops, pub)
	}
}

func (w *world) wantBal(user int, token uint16, want uint64) {
	w.t.Helper()
	if got := w.balanceU(user, token); !got.Eq(u256p(want)) {
		w.t.Fatalf("user %d token %d: balance %s, want %d", user, token, got.Dec(), want)
	}
}

func (w *world) wantPos(user int, model uint16, want Position) {
	w.t.Helper()
	if got := *w.position(user, model); got != want {
		w.t.Fatalf("user %d model %d: position %+v, want %+v", user, model, got, want)
	}
}

func (w *world) wantNonce(user int, want uint32) {
	w.t.Helper()
	if got := w.nonce(user); got != want {
		w.t.Fatalf("user %d: nonce %d, want %d", user, got, want)
	}
}

func dec(s string) uint256.Int { return *uint256.MustFromDecimal(s) }

// TestApplySuccess walks every kind on one world; each step checks exact
// balances, positions, model fields, nonces, witness shape and pubdata.
func TestApplySuccess(t *testing.T) {
	w := stdWorld(t)
	run := func(name string, f func()) {
		t.Run(name, func(t *testing.T) {
			parent := w.t
			w.t = t
			defer func() { w.t = parent }()
			f()
		})
	}
	const acc0 = "600000000000000000" // 600 of revenue over 1000 shares, × 10^18
	run("Transfer/base", func() {
		r := w.mustAdd(w.transfer(uAlice, uBob, types.ETH, 1000, 5))
		w.checkReceipt(r, "B2:0 A2 B3:0 A3", &types.Transfer{From: 2, To: 3, Asset: types.ETH, Amount: u256(1000), Fee: u256(5)})
		w.wantBal(uAlice, 0, 4_999_999-1005)
		w.wantBal(uBob, 0, 4_999_000+1000)
		w.wantNonce(uAlice, 2)
		w.wantNonce(uBob, 1)
		if r.FeeToken != 0 || r.Fee.Uint64() != 5 || r.Withdrawal != nil {
			t.Fatalf("receipt fee %d/%s withdrawal %v", r.FeeToken, r.Fee.Dec(), r.Withdrawal)
		}
	})
	run("Transfer/base token 1, fee in token 1", func() {
		r := w.mustAdd(w.transfer(uAlice, uCarol, types.BaseAsset(1), 500_000, 20))
		w.checkReceipt(r, "B2:1 A2 B4:1 A4", &types.Transfer{From: 2, To: 4, Asset: 1, Amount: u256(500_000), Fee: u256(20)})
		w.wantBal(uAlice, 1, 499_980)
		w.wantBal(uCarol, 1, 500_000)
		if r.FeeToken != 1 {
			t.Fatalf("fee token %d", r.FeeToken)
		}
	})
	run("Transfer/shares", func() {
		r := w.mustAdd(w.transfer(uDao, uAlice, types.ShareAsset(m1), 100, 2))
		w.checkReceipt(r, "M1 P1:1 B1:0 A1 P2:1 A2", &types.Transfer{From: 1, To: 2, Asset: types.ShareAsset(m1), Amount: u256(100), Fee: u256(2)})
		// both positions settle first: dao banks 1000 shares × 6e17
		w.wantPos(uDao, m1, Position{Shares: 900, LastAcc: dec(acc0), Pending: dec("600000000000000000000")})
		w.wantPos(uAlice, m1, Position{Shares: 100, LastAcc: dec(acc0)})
		w.wantBal(uDao, 0, 999_990-2)
		if m := w.model(m1); m.Supply != 1000 || !m.Acc.Eq(u256p(6e17)) {
			t.Fatalf("model changed: %+v", m)
		}
	})
	run("Transfer/credits", func() {
		r := w.mustAdd(w.transfer(uBob, uAlice, types.CreditAsset(m1), 3, 1))
		w.checkReceipt(r, "M1 P3:1 B3:0 A3 P2:1 A2", &types.Transfer{From: 3, To: 2, Asset: types.CreditAsset(m1), Amount: u256(3), Fee: u256(1)})
		w.wantPos(uBob, m1, Position{Credits: 7})
		w.wantPos(uAlice, m1, Position{Shares: 100, Credits: 3, LastAcc: dec(acc0)})
		w.wantBal(uBob, 0, 5_000_000-1)
	})
	run("Withdraw", func() {
		to := common.HexToAddress("0x1234")
		r := w.mustAdd(w.sign(uAlice, &types.Withdraw{Account: 2, Token: 1, Amount: u256(1000), Fee: u256(3), To: to, Nonce: w.nonce(uAlice)}))
		w.checkReceipt(r, "B2:1 A2", &types.Withdraw{Account: 2, Token: 1, Amount: u256(1000), Fee: u256(3), To: to})
		w.wantBal(uAlice, 1, 499_980-1003)
		if r.Withdrawal == nil || *r.Withdrawal != (Withdrawal{To: to, Token: 1, Amount: u256(1000)}) || r.FeeToken != 1 {
			t.Fatalf("withdrawal %+v fee token %d", r.Withdrawal, r.FeeToken)
		}
	})
	run("CreateModel", func() {
		w.seal() // the Withdraw batch; the model goes in a ModelAdmin batch, its fee in token 2
		tx := &types.CreateModel{Account: 4, Model: 2, QuoteToken: 2, Supply: 500, MaxSupply: 500, CreditPrice: u256(7),
			HolderBps: 10_000, Weights: elem(21), Metadata: elem(22), Fee: u256(4), Nonce: w.nonce(uCarol)}
		r := w.mustAdd(w.sign(uCarol, tx))
		pub := *tx
		pub.Nonce, pub.Signature = 0, types.Signature{}
		w.checkReceipt(r, "M2 P4:2 B4:2 A4", &pub)
		want := Model{DAO: 4, QuoteToken: 2, HolderBps: 10_000, Supply: 500, MaxSupply: 500, CreditPrice: u256(7),
			Weights: elem(21), Metadata: elem(22)}
		if got := *w.model(2); got != want {
			t.Fatalf("model %+v, want %+v", got, want)
		}
		w.wantPos(uCarol, 2, Position{Shares: 500})
		w.wantBal(uCarol, 2, 1_000_000-4)
	})
	run("MintShares", func() {
		r := w.mustAdd(w.sign(uDao, &types.MintShares{Account: 1, Model: m1, Amount: 500, Fee: u256(1), Nonce: w.nonce(uDao)}))
		w.checkReceipt(r, "M1 P1:1 B1:0 A1", &types.MintShares{Model: m1, Amount: 500, Fee: u256(1)})
		if m := w.model(m1); m.Supply != 1500 || m.MaxSupply != 2000 {
			t.Fatalf("supply %d / %d", m.Supply, m.MaxSupply)
		}
		w.wantPos(uDao, m1, Position{Shares: 1400, LastAcc: dec(acc0), Pending: dec("600000000000000000000")})
		w.wantBal(uDao, 0, 999_988-1)
	})
	run("SetModelParams", func() {
		before := *w.model(m1)
		r := w.mustAdd(w.sign(uDao, &types.SetModelParams{Account: 1, Model: m1, CreditPrice: u256(150), HolderBps: 2500, Fee: u256(1), Nonce: w.nonce(uDao)}))
		w.checkReceipt(r, "M1 B1:0 A1", &types.SetModelParams{Model: m1, CreditPrice: u256(150), HolderBps: 2500, Fee: u256(1)})
		want := before
		want.CreditPrice, want.HolderBps = u256(150), 2500
		if got := *w.model(m1); got != want {
			t.Fatalf("model %+v, want %+v", got, want)
		}
		w.wantBal(uDao, 0, 999_987-1)
	})
	// cost 450: holders ⌊450·2500/10⁴⌋ = 112, treasury 400 + 338;
	// acc += ⌊112·10^18 / 1500⌋ = 74666666666666666, carry 1000
	const acc1 = "674666666666666666"
	run("BuyCredits", func() {
		r := w.mustAdd(w.sign(uBob, &types.BuyCredits{Account: 3, Model: m1, Credits: 3, MaxPrice: u256(150), Fee: u256(2), Nonce: w.nonce(uBob)}))
		w.checkReceipt(r, "M1 P3:1 B3:0 A3", &types.BuyCredits{Account: 3, Model: m1, Credits: 3, Fee: u256(2)})
		m := w.model(m1)
		if !m.Acc.Eq(u256p(674666666666666666)) || !m.Carry.Eq(u256p(1000)) || !m.Treasury.Eq(u256p(738)) {
			t.Fatalf("acc %s carry %s treasury %s", m.Acc.Dec(), m.Carry.Dec(), m.Treasury.Dec())
		}
		w.wantPos(uBob, m1, Position{Credits: 10})
		w.wantBal(uBob, 0, 4_999_999-452)
	})
	run("RedeemCredits", func() {
		before := *w.model(m1)
		r := w.mustAdd(w.sign(uBob, &types.RedeemCredits{Account: 3, Model: m1, Credits: 5, Request: elem(77), Fee: u256(1), Nonce: w.nonce(uBob)}))
		w.checkReceipt(r, "M1 P3:1 B3:0 A3", &types.RedeemCredits{Account: 3, Model: m1, Credits: 5, Request: elem(77), Fee: u256(1)})
		w.wantPos(uBob, m1, Position{Credits: 5})
		w.wantBal(uBob, 0, 4_999_547-1)
		if got := *w.model(m1); got != before {
			t.Fatal("redeem changed the model")
		}
		if u := r.Witness.Updates[0]; u.Old != u.New {
			t.Fatal("model entry of a redeem is not a read")
		}
	})
	run("CancelOrder", func() {
		r := w.mustAdd(w.sign(uAlice, &types.CancelOrder{Account: 2, Model: m1, OrderID: 6, Nonce: w.nonce(uAlice)}))
		w.checkReceipt(r, "M1 O2:1:2 P2:1 B2:0 A2", &types.CancelOrder{Account: 2, Model: m1, OrderID: 6})
		if got := w.slot(uAlice, m1, 6); got != (OrderSlot{OrderID: 6, Filled: SlotClosed}) {
			t.Fatalf("slot %+v", got)
		}
		w.wantPos(uAlice, m1, Position{Shares: 100, Credits: 3, LastAcc: dec(acc0)}) // not settled
		// a newer order id takes the slot over
		w.mustAdd(w.sign(uAlice, &types.CancelOrder{Account: 2, Model: m1, OrderID: 10, Nonce: w.nonce(uAlice)}))
		if got := w.slot(uAlice, m1, 10); got != (OrderSlot{OrderID: 10, Filled: SlotClosed}) {
			t.Fatalf("slot %+v", got)
		}
	})
	const dao1 = "704533333333333332400" // 6e20 + 1400 × 74666666666666666
	run("Trade", func() {
		daoN, bobN := w.nonce(uDao), w.nonce(uBob)
		sell := w.order(uDao, m1, types.Sell, 1, 100, 50, 30)
		buy := w.order(uBob, m1, types.Buy, 1, 100, 60, 30)
		r := w.mustAdd(&types.Trade{Buy: buy, Sell: sell, Fill: 40, Price: u256(55), BuyFeeBips: 10, SellFeeBips: 20})
		w.checkReceipt(r, "M1 B3:0 O3:1:1 P3:1 A3 B1:0 O1:1:1 P1:1 A1", &types.Trade{
			Buy:  types.Order{Account: 3, Model: m1, Side: types.Buy, OrderID: 1},
			Sell: types.Order{Account: 1, Model: m1, Side: types.Sell, OrderID: 1},
			Fill: 40, Price: u256(55), BuyFeeBips: 10, SellFeeBips: 20})
		// quote 2200; buyer pays 2200 + 2, seller gets 2200 − 4
		w.wantBal(uBob, 0, 4_999_546-2202)
		w.wantBal(uDao, 0, 999_986+2196)
		if r.Fee.Uint64() != 6 || r.FeeToken != 0 {
			t.Fatalf("trade fee %s", r.Fee.Dec())
		}
		w.wantPos(uDao, m1, Position{Shares: 1360, LastAcc: dec(acc1), Pending: dec(dao1)})
		w.wantPos(uBob, m1, Position{Shares: 40, Credits: 5, LastAcc: dec(acc1)})
		if w.slot(uBob, m1, 1) != (OrderSlot{1, 40}) || w.slot(uDao, m1, 1) != (OrderSlot{1, 40}) {
			t.Fatal("order slots")
		}
		w.wantNonce(uDao, daoN) // orders do not use nonces
		w.wantNonce(uBob, bobN)
		// the rest of both orders, expiring exactly at the batch timestamp
		sell.ValidUntil, buy.ValidUntil = uint32(w.ts), uint32(w.ts)
		if err := types.SignOrder(w.keys[uDao], w.d, &sell); err != nil {
			t.Fatal(err)
		}
		if err := types.SignOrder(w.keys[uBob], w.d, &buy); err != nil {
			t.Fatal(err)
		}
		w.mustAdd(&types.Trade{Buy: buy, Sell: sell, Fill: 60, Price: u256(50)})
		w.wantBal(uBob, 0, 4_999_546-2202-3000)
		w.wantBal(uDao, 0, 999_986+2196+3000)
		w.wantPos(uDao, m1, Position{Shares: 1300, LastAcc: dec(acc1), Pending: dec(dao1)})
		if w.slot(uBob, m1, 1) != (OrderSlot{1, 100}) || w.slot(uDao, m1, 1) != (OrderSlot{1, 100}) {
			t.Fatal("order slots after the second fill")
		}
	})
	run("ClaimRevenue/holder", func() {
		// alice: 100 × 74666666666666666 = 7466666666666666600 → 7, keeps the rest
		before := w.balance(uAlice, 0)
		r := w.mustAdd(w.sign(uAlice, &types.ClaimRevenue{Account: 2, Model: m1, Fee: u256(1), Nonce: w.nonce(uAlice)}))
		w.checkReceipt(r, "M1 P2:1 B2:0 A2", &types.ClaimRevenue{Account: 2, Model: m1, Fee: u256(1)})
		if got := w.balance(uAlice, 0); got != before+7-1 {
			t.Fatalf("alice got %d", int64(got)-int64(before))
		}
		w.wantPos(uAlice, m1, Position{Shares: 100, Credits: 3, LastAcc: dec(acc1), Pending: dec("466666666666666600")})
		if m := w.model(m1); !m.Treasury.Eq(u256p(738)) {
			t.Fatal("holder claim touched the treasury")
		}
	})
	run("ClaimRevenue/DAO with treasury", func() {
		before := w.balance(uDao, 0)
		r := w.mustAdd(w.sign(uDao, &types.ClaimRevenue{Account: 1, Model: m1, Nonce: w.nonce(uDao)}))
		w.checkReceipt(r, "M1 P1:1 B1:0 A1", &types.ClaimRevenue{Account: 1, Model: m1})
		if got := w.balance(uDao, 0); got != before+704+738 {
			t.Fatalf("dao got %d, want %d", got-before, 704+738)
		}
		w.wantPos(uDao, m1, Position{Shares: 1300, LastAcc: dec(acc1), Pending: dec("533333333333332400")})
		if m := w.model(m1); !m.Treasury.IsZero() {
			t.Fatal("treasury not paid out")
		}
	})
	run("Deposit/new account", func() {
		next := w.nextID // the id the bridge assigns to the new pair
		prio, _ := w.st().NextPriority()
		if _, err := w.st().Account(next); !errors.Is(err, types.ErrAccountNotFound) {
			t.Fatalf("account %d before the deposit: %v", next, err)
		}
		accounts := len(w.snap().Accounts)
		d := w.depositTx(uGhost, 1, 777)
		r := w.mustAdd(d)
		w.prio++
		w.acct[uGhost] = d.Account
		if d.Refused || d.Account != next || r.Refusal != nil {
			t.Fatalf("deposit refused=%v (%v) account %d, want %d", d.Refused, r.Refusal, d.Account, next)
		}
		w.checkReceipt(r, fmt.Sprintf("B%d:1 A%d", next, next), &types.Deposit{L1Address: userAddr(uGhost),
			PubKey: types.PublicKeyOf(w.keys[uGhost]), Token: 1, Amount: u256(777), Account: d.Account})
		a, err := w.st().Account(d.Account)
		if err != nil || *a != (Account{PubKey: types.PublicKeyOf(w.keys[uGhost]), L1Address: userAddr(uGhost)}) {
			t.Fatalf("account %+v %v", a, err)
		}
		w.wantBal(uGhost, 1, 777)
		if n := len(w.snap().Accounts); n != accounts+1 {
			t.Fatalf("%d accounts after creating one of %d", n, accounts)
		}
		if p, _ := w.st().NextPriority(); p != prio+1 {
			t.Fatalf("next priority %d", p)
		}
	})
	run("Deposit/existing account", func() {
		before, n := w.balance(uAlice, 0), w.nonce(uAlice)
		accounts := len(w.snap().Accounts)
		d := w.depositTx(uAlice, 0, 5)
		r := w.mustAdd(d)
		w.prio++
		if d.Account != 2 || d.Refused {
			t.Fatalf("account %d", d.Account)
		}
		w.checkReceipt(r, "B2:0 A2", &types.Deposit{L1Address: userAddr(uAlice), PubKey: types.PublicKeyOf(w.keys[uAlice]),
			Token: 0, Amount: u256(5), Account: 2})
		w.wantBal(uAlice, 0, before+5)
		w.wantNonce(uAlice, n)
		if m := len(w.snap().Accounts); m != accounts {
			t.Fatal("deposit to an existing account created one")
		}
	})
	run("Deposit/binds the (L1 address, key) pair", func() {
		// the bridge gives each new pair its own id; each opens its own account
		next := w.nextID
		whaleKey, aliceKey := types.PublicKeyOf(w.keys[uWhale]), types.PublicKeyOf(w.keys[uAlice])
		d1 := &types.Deposit{PriorityID: w.prio, Account: w.accountFor(userAddr(uAlice), whaleKey), // alice's address, another key
			L1Address: userAddr(uAlice), PubKey: whaleKey, Token: 0, Amount: u256(1)}
		w.mustAdd(d1)
		w.prio++
		d2 := &types.Deposit{PriorityID: w.prio, Account: w.accountFor(userAddr(uWhale), aliceKey), // alice's key, another address
			L1Address: userAddr(uWhale), PubKey: aliceKey, Token: 0, Amount: u256(1)}
		w.mustAdd(d2)
		w.prio++
		if d1.Account != next || d2.Account != next+1 || d1.Refused || d2.Refused {
			t.Fatalf("accounts %d %d, want %d %d", d1.Account, d2.Account, next, next+1)
		}
		for _, d := range []*types.Deposit{d1, d2} {
			a, err := w.st().Account(d.Account)
			if err != nil || a.L1Address != d.L1Address || !a.PubKey.Equal(d.PubKey) {
				t.Fatalf("account %d: %+v %v", d.Account, a, err)
			}
		}
		// alice's own account is untouched by either
		if a, _ := w.st().Account(w.acct[uAlice]); a.L1Address != userAddr(uAlice) || !a.PubKey.Equal(aliceKey) {
			t.Fatalf("alice's account %+v", a)
		}
	})
	run("ForcedWithdraw", func() {
		n := w.nonce(uAlice)
		fw := &types.ForcedWithdraw{PriorityID: w.prio, Requester: userAddr(uAlice), Account: 2, Token: 1}
		r := w.mustAdd(fw)
		w.prio++
		w.checkReceipt(r, "B2:1 A2", &types.ForcedWithdraw{Requester: userAddr(uAlice), Account: 2, Token: 1, Amount: u256(498_977)})
		if !fw.Amount.Eq(u256p(498_977)) || r.Withdrawal == nil || *r.Withdrawal != (Withdrawal{To: userAddr(uAlice), Token: 1, Amount: u256(498_977)}) {
			t.Fatalf("amount %s withdrawal %+v", fw.Amount.Dec(), r.Withdrawal)
		}
		w.wantBal(uAlice, 1, 0)
		w.wantNonce(uAlice, n)
	})
	run("Noop", func() {
		// a Noop is padding (an all-zero slot), not a transaction: a batch
		// refuses it, in whatever family, and nothing changes (§6, §8)
		if pd, err := types.Pubdata(&types.Noop{}); err != nil || !reflect.DeepEqual(pd, []byte{0}) {
			t.Fatalf("Noop pubdata %x (%v)", pd, err)
		}
		before := w.snap()
		r, err := w.batch.Add(&types.Noop{})
		if !errors.Is(err, ErrFamily) || r != nil {
			t.Fatalf("Noop: %v", err)
		}
		before.same(t, w.snap())
	})
}

// ---- priority operations ----

// refusedDeposit applies d, which must be refused for want: the deposit is
// consumed (priority counter, a batch slot, its pubdata with the refused flag)
// and refunded on L1, nothing else changes, and its witness proves the refusal
// from two unchanged leaves, the balance and then the account.
func (w *world) refusedDeposit(d *types.Deposit, want error) *Receipt {
	w.t.Helper()
	t := w.t
	w.fit(d)
	before := w.snap()
	acct := d.Account
	r, err := w.batch.Add(d)
	if err != nil {
		t.Fatal(err)
	}
	w.prio++
	if !d.Refused || d.Account != acct {
		t.Fatalf("refused=%v account %d (was %d)", d.Refused, d.Account, acct)
	}
	if !errors.Is(r.Refusal, want) {
		t.Fatalf("refusal %v, want %v", r.Refusal, want)
	}
	for _, e := range allTypedErrors {
		if e != want && errors.Is(r.Refusal, e) {
			t.Fatalf("refusal %v matches %v as well as %v", r.Refusal, e, want)
		}
	}
	if r.Witness.RootBefore != r.Witness.RootAfter || r.Withdrawal != nil || !r.Fee.IsZero() {
		t.Fatalf("refused deposit has effects: %+v", r)
	}
	for i, u := range r.Witness.Updates {
		if u.Old != u.New {
			t.Fatalf("update %d of a refused deposit changes its leaf", i)
		}
	}
	if err := VerifyWitness(w.p, r.Witness); err != nil {
		t.Fatal(err)
	}
	pub := *d
	pub.PriorityID = 0
	w.checkReceipt(r, fmt.Sprintf("B%d:%d A%d", acct, d.Token, acct), &pub)
	before.NextPriority++
	before.Txs, before.Wits, before.Pubdata, before.PriorityCount = before.Txs+1, before.Wits+1, before.Pubdata+103, before.PriorityCount+1
	before.same(t, w.snap())
	return r
}

// badKeys are public keys no signature verifies under: deposits refuse to open
// an account with them (types.CheckPublicKey).
func badKeys(t testing.TB) map[string]types.PubKey {
	var one, minusOne fr.Element
	one.SetOne()
	minusOne.Neg(&one)
	pk := types.PublicKeyOf(testKey(t, 99))
	offCurve := pk
	offCurve.Y.Add(&offCurve.Y, &one)
	// A + (0, −1): on the curve, not in the prime-order subgroup
	a := twistededwards.PointAffine{X: pk.X, Y: pk.Y}
	t2 := twistededwards.PointAffine{Y: minusOne}
	var mixed twistededwards.PointAffine
	mixed.Add(&a, &t2)
	return map[string]types.PubKey{
		"empty key (0, 0)":         {},
		"identity (0, 1)":          {Y: one},
		"order-2 point (0, -1)":    {Y: minusOne},
		"not on the curve (1, 2)":  {X: fr.NewElement(1), Y: fr.NewElement(2)},
		"a real key's Y + 1":       offCurve,
		"real key + order-2 point": {X: mixed.X, Y: mixed.Y},
	}
}

func TestDepositRules(t *testing.T) {
	w := stdWorld(t)
	sub := func(name string, f func()) {
		t.Run(name, func(t *testing.T) {
			parent := w.t
			w.t = t
			defer func() { w.t = parent }()
			f()
			w.followUp()
		})
	}
	// refusals: consumed, refunded on L1, the state unchanged
	sub("balance past 2^96", func() { w.refusedDeposit(w.depositTx(uWhale, 3, 1), types.ErrBalanceOverflow) })
	sub("balance past 2^96 by a max deposit", func() {
		d := w.depositTx(uAlice, 0, 0)
		d.Amount = max96
		w.refusedDeposit(d, types.ErrBalanceOverflow)
	})
	ghostKey := types.PublicKeyOf(w.keys[uGhost])
	i := 0
	for name, pk := range badKeys(t) {
		addr := userAddr(100 + i)
		i++
		sub("new account with a bad key: "+name, func() {
			d := &types.Deposit{PriorityID: w.prio, Account: w.accountFor(addr, pk), L1Address: addr, PubKey: pk, Token: 1, Amount: u256(100)}
			w.refusedDeposit(d, types.ErrBadPublicKey)
			// no account was opened: the id stays empty
			if _, err := w.st().Account(d.Account); !errors.Is(err, types.ErrAccountNotFound) {
				t.Fatalf("account %d: %v", d.Account, err)
			}
			// the pair keeps its id, and its next deposit is refused too (amount 0 as well)
			d2 := &types.Deposit{PriorityID: w.prio, Account: w.accountFor(addr, pk), L1Address: addr, PubKey: pk, Token: 0}
			if d2.Account != d.Account {
				t.Fatalf("the bridge gave the pair id %d, then %d", d.Account, d2.Account)
			}
			w.refusedDeposit(d2, types.ErrBadPublicKey)
			// a transfer to the empty id fails
			tr := w.transferTo(uAlice, d.Account, 1)
			w.fit(tr)
			_, err := w.batch.Add(tr)
			wantErr(t, err, types.ErrAccountNotFound)
		})
	}
	sub("a valid key at the same address opens its own account", func() {
		addr := userAddr(100)
		d := &types.Deposit{PriorityID: w.prio, Account: w.accountFor(addr, ghostKey), L1Address: addr, PubKey: ghostKey, Token: 1, Amount: u256(100)}
		w.mustAdd(d)
		w.prio++
		if d.Refused {
			t.Fatal("refused")
		}
		if b, _ := w.st().Balance(d.Account, 1); !b.Eq(u256p(100)) {
			t.Fatalf("balance %s", b.Dec())
		}
	})

	// impossible inputs (the bridge never queues them): rejected, the
	// priority operation not consumed
	ghost := func(f func(d *types.Deposit)) func() types.Tx {
		return func() types.Tx {
			d := &types.Deposit{PriorityID: w.prio, Account: w.nextID, L1Address: userAddr(uGhost), PubKey: ghostKey, Amount: u256(1)}
			f(d)
			return d
		}
	}
	alice := func(f func(d *types.Deposit)) func() types.Tx {
		return func() types.Tx { d := w.depositTx(uAlice, 0, 1); f(d); return d }
	}
	w.rejects(t, []rcase{
		{name: "priority id skipped", want: types.ErrPriorityOrder, tx: alice(func(d *types.Deposit) { d.PriorityID++ })},
		{name: "priority id replayed", want: types.ErrPriorityOrder, tx: alice(func(d *types.Deposit) { d.PriorityID-- })},
		{name: "priority checked first (replayed, amount 2^96, bad key)", want: types.ErrPriorityOrder,
			tx: ghost(func(d *types.Deposit) { d.PriorityID--; d.Amount = two96; d.PubKey = types.PubKey{} })},
		{name: "amount 2^96 (never enqueued)", want: types.ErrAmountTooLarge, tx: alice(func(d *types.Deposit) { d.Amount = two96 })},
		{name: "amount 2^96 to a new pair with a bad key", want: types.ErrAmountTooLarge,
			tx: ghost(func(d *types.Deposit) { d.Amount = two96; d.PubKey = types.PubKey{} })},
		{name: "zero L1 address", want: types.ErrMalformed, tx: ghost(func(d *types.Deposit) { d.L1Address = common.Address{} })},
		{name: "zero L1 address, existing account id", want: types.ErrMalformed, tx: alice(func(d *types.Deposit) { d.L1Address = common.Address{} })},
		{name: "account id 2^AccountDepth", want: types.ErrAccountRange, tx: ghost(func(d *types.Deposit) { d.Account = 1 << w.p.AccountDepth })},
		{name: "account id 2^24-1", want: types.ErrAccountRange, tx: ghost(func(d *types.Deposit) { d.Account = 1<<24 - 1 })},
		{name: "account id 2^32-1", want: types.ErrAccountRange, tx: alice(func(d *types.Deposit) { d.Account = math.MaxUint32 })},
		{name: "account id out of range, bad key", want: types.ErrAccountRange,
			tx: ghost(func(d *types.Deposit) { d.Account = 1 << w.p.AccountDepth; d.PubKey = types.PubKey{} })},
		{name: "token out of range", want: types.ErrAssetRange, tx: alice(func(d *types.Deposit) { d.Token = 1 << w.p.BalanceDepth })},
		{name: "token 0xffff", want: types.ErrAssetRange, tx: alice(func(d *types.Deposit) { d.Token = 0xffff })},
		{name: "new account, token out of range: no account created", want: types.ErrAssetRange,
			tx: ghost(func(d *types.Deposit) { d.Token = 1 << w.p.BalanceDepth })},
		{name: "new account, token out of range, bad key", want: types.ErrAssetRange,
			tx: ghost(func(d *types.Deposit) { d.Token = 1 << w.p.BalanceDepth; d.PubKey = types.PubKey{} })},
		{name: "existing account, another key", want: types.ErrAccountMismatch,
			tx: alice(func(d *types.Deposit) { d.PubKey = types.PublicKeyOf(w.keys[uBob]) })},
		{name: "existing account, another L1 address", want: types.ErrAccountMismatch,
			tx: alice(func(d *types.Deposit) { d.L1Address = userAddr(uBob) })},
		{name: "existing account, a bad key", want: types.ErrAccountMismatch, tx: alice(func(d *types.Deposit) { d.PubKey = types.PubKey{} })},
		{name: "another user's account id", want: types.ErrAccountMismatch, tx: alice(func(d *types.Deposit) { d.Account = w.acct[uBob] })},
		{name: "the fee account's id", want: types.ErrAccountMismatch, tx: alice(func(d *types.Deposit) { d.Account = types.FeeAccount })},
		{name: "another user's id, balance past 2^96", want: types.ErrAccountMismatch,
			tx: alice(func(d *types.Deposit) { d.Account, d.Token = w.acct[uWhale], 3 })},
		{name: "forced withdrawal out of order", want: types.ErrPriorityOrder, tx: func() types.Tx {
			return &types.ForcedWithdraw{PriorityID: w.prio + 1, Requester: userAddr(uAlice), Account: 2, Token: 0}
		}},
	})
	// the exact limit is accepted
	d := w.depositTx(uDave, 4, 0)
	d.Amount = max96
	w.mustAdd(d)
	w.prio++
	if b := w.balanceU(uDave, 4); !b.Eq(&max96) {
		t.Fatalf("balance %s", b.Dec())
	}
}

// transferTo builds a signed base-token transfer of token 0 to an account id.
func (w *world) transferTo(from int, to uint32, amount uint64) *types.Transfer {
	return w.sign(from, &types.Transfer{From: w.acct[from], To: to, Asset: types.ETH, Amount: u256(amount),
		Nonce: w.nonce(from)}).(*types.Transfer)
}

// TestDepositAccountRange: the bridge assigns ids inside the account tree, so
// a deposit naming an id outside it (what was the "tree full" refusal when the
// sequencer assigned ids) is an impossible input: rejected with
// ErrAccountRange, nothing changes, the priority operation is not consumed,
// and existing accounts still receive deposits.
func TestDepositAccountRange(t *testing.T) {
	p := types.TestParams()
	p.AccountDepth = 2 // 4 accounts
	w := newWorld(t, p, 6)
	for u := 0; u < 4; u++ {
		w.deposit(u, 0, 100)
	}
	before := w.snap()
	d := w.depositTx(4, 0, 100)
	if d.Account != 4 {
		t.Fatalf("fixture assigned id %d", d.Account)
	}
	r, err := w.batch.Add(d)
	wantErr(t, err, types.ErrAccountRange)
	if r != nil || d.Refused {
		t.Fatalf("receipt %+v refused=%v", r, d.Refused)
	}
	before.same(t, w.snap())
	// the same priority id is still next: existing accounts still receive deposits
	w.deposit(3, 0, 1)
	if got := w.balance(3, 0); got != 101 {
		t.Fatalf("balance %d", got)
	}
}

func TestForcedWithdrawNoop(t *testing.T) {
	w := stdWorld(t)
	cases := []struct {
		name  string
		fw    types.ForcedWithdraw
		shape string // the reads that prove amount 0; none outside the trees
	}{
		{"requester is not the account's L1 address", types.ForcedWithdraw{Requester: userAddr(uBob), Account: 2, Token: 0}, "B2:0 A2"},
		{"account not found", types.ForcedWithdraw{Requester: userAddr(uAlice), Account: 20, Token: 0}, "B20:0 A20"},
		{"account out of range", types.ForcedWithdraw{Requester: userAddr(uAlice), Account: 1 << w.p.AccountDepth, Token: 0}, ""},
		{"account 2^24-1", types.ForcedWithdraw{Requester: userAddr(uAlice), Account: 1<<24 - 1, Token: 0}, ""},
		{"token out of range", types.ForcedWithdraw{Requester: userAddr(uAlice), Account: 2, Token: 1 << w.p.BalanceDepth}, ""},
		{"zero balance", types.ForcedWithdraw{Requester: userAddr(uAlice), Account: 2, Token: 5}, "B2:5 A2"},
		{"zero requester, missing account", types.ForcedWithdraw{Account: 21, Token: 1}, "B21:1 A21"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fw := c.fw
			fw.PriorityID = w.prio
			fw.Amount = u256(99) // apply fills it in
			w.fit(&fw)
			before := w.snap()
			r, err := w.batch.Add(&fw)
			if err != nil {
				t.Fatal(err)
			}
			w.prio++
			if !fw.Amount.IsZero() || r.Withdrawal != nil {
				t.Fatalf("amount %s withdrawal %+v", fw.Amount.Dec(), r.Withdrawal)
			}
			if got := shape(r.Witness); got != c.shape {
				t.Fatalf("witness %q, want %q", got, c.shape)
			}
			for i, u := range r.Witness.Updates {
				if u.Old != u.New {
					t.Fatalf("update %d of a zero forced withdrawal changes its leaf", i)
				}
			}
			if r.Witness.RootBefore != r.Witness.RootAfter {
				t.Fatal("zero forced withdrawal changed the root")
			}
			if err := VerifyWitness(w.p, r.Witness); err != nil {
				t.Fatal(err)
			}
			ops, err := types.DecodePubdata(r.Pubdata)
			if err != nil || len(ops) != 1 || !reflect.DeepEqual(ops[0], &types.ForcedWithdraw{Requester: fw.Requester, Account: fw.Account, Token: fw.Token}) {
				t.Fatalf("pubdata %+v %v", ops, err)
			}
			// the batch's pubdata gains one Priority slot: the 38 bytes, zero-padded to 103
			slot := w.batch.pubdata[len(w.batch.pubdata)-103:]
			if len(r.Pubdata) != 38 || !reflect.DeepEqual(slot, append(append([]byte(nil), r.Pubdata...), make([]byte, 103-38)...)) {
				t.Fatalf("slot %x", slot)
			}
			before.NextPriority++
			before.Txs, before.Wits, before.Pubdata, before.PriorityCount = before.Txs+1, before.Wits+1, before.Pubdata+103, before.PriorityCount+1
			before.same(t, w.snap())
		})
	}
}

// ---- revenue (§4) ----

// revenueIdentity checks, in units of 10^-18:
// Σ_positions (pending + shares·(acc − lastAcc)) + carry + 10^18·claimed = 10^18·distributed,
// and Σ shares = supply.
func (w *world) revenueIdentity(model uint16, distributed, claimed *big.Int) {
	w.t.Helper()
	m := w.model(model)
	next := uint64(w.nextID) // every id the bridge assigned
	acc := m.Acc.ToBig()
	lhs := new(big.Int)
	var shares uint64
	for id := uint32(0); uint64(id) < next; id++ {
		p, err := w.st().Position(id, model)
		if err != nil {
			w.t.Fatal(err)
		}
		d := new(big.Int).Sub(acc, p.LastAcc.ToBig())
		if d.Sign() < 0 {
			w.t.Fatalf("account %d: lastAcc above acc", id)
		}
		lhs.Add(lhs, p.Pending.ToBig())
		lhs.Add(lhs, d.Mul(d, new(big.Int).SetUint64(p.Shares)))
		shares += p.Shares
	}
	lhs.Add(lhs, m.Carry.ToBig())
	lhs.Add(lhs, new(big.Int).Mul(claimed, scaleB))
	rhs := new(big.Int).Mul(distributed, scaleB)
	if lhs.Cmp(rhs) != 0 {
		w.t.Fatalf("revenue identity: %s != %s (diff %s)", lhs, rhs, new(big.Int).Sub(lhs, rhs))
	}
	if shares != m.Supply {
		w.t.Fatalf("Σ shares %d != supply %d", shares, m.Supply)
	}
	if m.Carry.Cmp(u256p(m.Supply)) >= 0 {
		w.t.Fatalf("carry %s not below supply %d", m.Carry.Dec(), m.Supply)
	}
}

// revWorld: dao creates model 1 (quote 0) with the given supply, price and bps.
func revWorld(t *testing.T, supply uint64, price uint64, bps uint16) *world {
	w := newWorld(t, applyParams(), nUsers)
	for _, u := range []int{uOp, uDao, uAlice, uBob, uCarol} {
		w.deposit(u, 0, 10_000_000)
	}
	w.mustAdd(w.sign(uDao, &types.CreateModel{Account: w.acct[uDao], Model: m1, Supply: supply, MaxSupply: supply,
		CreditPrice: u256(price), HolderBps: bps}))
	return w
}

// claim claims and returns the balance change plus the fee (the payout).
func (w *world) claim(user int, fee uint64) uint64 {
	w.t.Helper()
	before := w.balance(user, 0)
	w.mustAdd(w.sign(user, &types.ClaimRevenue{Account: w.acct[user], Model: m1, Fee: u256(fee), Nonce: w.nonce(user)}))
	return w.balance(user, 0) + fee - before
}

func (w *world) buyCredits(user int, credits, price uint64) {
	w.t.Helper()
	w.mustAdd(w.sign(user, &types.BuyCredits{Account: w.acct[user], Model: m1, Credits: credits, MaxPrice: u256(price), Nonce: w.nonce(user)}))
}

func (w *world) claimRejected(user int) {
	w.t.Helper()
	tx := w.sign(user, &types.ClaimRevenue{Account: w.acct[user], Model: m1, Nonce: w.nonce(user)})
	w.fit(tx)
	before := w.snap()
	_, err := w.batch.Add(tx)
	wantErr(w.t, err, types.ErrNothingToClaim)
	before.same(w.t, w.snap())
}

func TestRevenueProRata(t *testing.T) {
	w := revWorld(t, 1000, 100, 6000)
	w.mustAdd(w.transfer(uDao, uAlice, types.ShareAsset(m1), 300, 0))
	w.mustAdd(w.transfer(uDao, uBob, types.ShareAsset(m1), 200, 0))
	dist, claimed := big.NewInt(0), big.NewInt(0)
	w.revenueIdentity(m1, dist, claimed)
	w.buyCredits(uCarol, 100, 100) // 10,000: 6,000 to holders, 4,000 to the treasury
	dist.SetInt64(6000)
	w.revenueIdentity(m1, dist, claimed)
	if m := w.model(m1); !m.Acc.Eq(u256p(6e18)) || !m.Carry.IsZero() || !m.Treasury.Eq(u256p(4000)) {
		t.Fatalf("acc %s carry %s treasury %s", m.Acc.Dec(), m.Carry.Dec(), m.Treasury.Dec())
	}
	for _, c := range []struct {
		user int
		want uint64
	}{{uAlice, 1800}, {uBob, 1200}} {
		if got := w.claim(c.user, 3); got != c.want {
			t.Fatalf("user %d claimed %d, want %d", c.user, got, c.want)
		}
		claimed.Add(claimed, big.NewInt(int64(c.want)))
		w.revenueIdentity(m1, dist, claimed)
	}
	// the DAO: 500 shares → 3,000, plus the 4,000 treasury
	if got := w.claim(uDao, 0); got != 3000+4000 {
		t.Fatalf("dao claimed %d", got)
	}
	claimed.Add(claimed, big.NewInt(3000))
	w.revenueIdentity(m1, dist, claimed)
	// revenue claimed twice
	for _, u := range []int{uAlice, uBob, uDao, uCarol} {
		w.claimRejected(u)
	}
}

func TestRevenueTransferAndTradeBetweenEvents(t *testing.T) {
	w := revWorld(t, 1000, 100, 6000)
	w.mustAdd(w.transfer(uDao, uAlice, types.ShareAsset(m1), 300, 0))
	w.mustAdd(w.transfer(uDao, uBob, types.ShareAsset(m1), 200, 0))
	dist, claimed := big.NewInt(6000), big.NewInt(0)
	w.buyCredits(uCarol, 100, 100) // +6 per share
	w.revenueIdentity(m1, dist, claimed)
	// between the events: alice gives bob 100 shares, bob sells carol 50
	w.mustAdd(w.transfer(uAlice, uBob, types.ShareAsset(m1), 100, 1))
	w.revenueIdentity(m1, dist, claimed)
	sell := w.order(uBob, m1, types.Sell, 1, 50, 10, 0)
	buy := w.order(uCarol, m1, types.Buy, 1, 50, 10, 0)
	w.mustAdd(&types.Trade{Buy: buy, Sell: sell, Fill: 50, Price: u256(10)})
	w.revenueIdentity(m1, dist, claimed)
	w.buyCredits(uCarol, 50, 100) // 5,000: 3,000 to holders (+3 per share), 2,000 to the treasury
	dist.Add(dist, big.NewInt(3000))
	w.revenueIdentity(m1, dist, claimed)
	// alice 300·6 + 200·3; bob 200·6 + 250·3; carol 50·3; dao 500·6 + 500·3 (+ treasury 6,000)
	for _, c := range []struct {
		user       int
		want, hold uint64
	}{{uAlice, 2400, 2400}, {uBob, 1950, 1950}, {uCarol, 150, 150}, {uDao, 4500 + 6000, 4500}} {
		if got := w.claim(c.user, 0); got != c.want {
			t.Fatalf("user %d claimed %d, want %d", c.user, got, c.want)
		}
		claimed.Add(claimed, new(big.Int).SetUint64(c.hold))
		w.revenueIdentity(m1, dist, claimed)
	}
	if claimed.Cmp(dist) != 0 {
		t.Fatalf("claimed %s of %s distributed", claimed, dist)
	}
}

func TestRevenueDAOTreasury(t *testing.T) {
	w := revWorld(t, 1000, 10, 0) // everything to the treasury
	w.mustAdd(w.transfer(uDao, uAlice, types.ShareAsset(m1), 1000, 0))
	w.buyCredits(uBob, 100, 10)
	if m := w.model(m1); !m.Treasury.Eq(u256p(1000)) || !m.Acc.IsZero() {
		t.Fatalf("treasury %s acc %s", m.Treasury.Dec(), m.Acc.Dec())
	}
	w.claimRejected(uAlice) // holders get nothing at 0 bps
	// the DAO holds no shares and claims the treasury, paying the fee out of it
	if got := w.claim(uDao, 5); got != 1000 {
		t.Fatalf("dao claimed %d", got)
	}
	if m := w.model(m1); !m.Treasury.IsZero() {
		t.Fatal("treasury left")
	}
	w.claimRejected(uDao)
	// bps 10,000: everything to holders, the treasury stays empty
	w.mustAdd(w.sign(uDao, &types.SetModelParams{Account: w.acct[uDao], Model: m1, CreditPrice: u256(10), HolderBps: 10_000, Nonce: w.nonce(uDao)}))
	w.buyCredits(uBob, 10, 10)
	if m := w.model(m1); !m.Treasury.IsZero() || !m.Acc.Eq(u256p(1e17)) {
		t.Fatalf("treasury %s acc %s", m.Treasury.Dec(), m.Acc.Dec())
	}
	w.claimRejected(uDao)
	if got := w.claim(uAlice, 0); got != 100 {
		t.Fatalf("alice claimed %d", got)
	}
}

func TestRevenueRemainder(t *testing.T) {
	w := revWorld(t, 7, 10, 10_000) // 7 shares never divide 10·10^18
	w.mustAdd(w.transfer(uDao, uAlice, types.ShareAsset(m1), 3, 0))
	w.mustAdd(w.transfer(uDao, uBob, types.ShareAsset(m1), 2, 0))
	dist, claimed := big.NewInt(0), big.NewInt(0)
	w.buyCredits(uCarol, 1, 10)
	dist.Add(dist, big.NewInt(10))
	m := w.model(m1)
	// 10·10^18 = 7·1428571428571428571 + 3
	if !m.Acc.Eq(u256p(1428571428571428571)) || !m.Carry.Eq(u256p(3)) {
		t.Fatalf("acc %s carry %s", m.Acc.Dec(), m.Carry.Dec())
	}
	w.revenueIdentity(m1, dist, claimed)
	// alice: 3·1428571428571428571 = 4285714285714285713 → 4
	if got := w.claim(uAlice, 0); got != 4 {
		t.Fatalf("alice claimed %d", got)
	}
	claimed.Add(claimed, big.NewInt(4))
	w.revenueIdentity(m1, dist, claimed)
	if p := w.position(uAlice, m1); !p.Pending.Eq(u256p(285714285714285713)) {
		t.Fatalf("alice keeps %s", p.Pending.Dec())
	}
	w.claimRejected(uAlice) // under one unit left
	// more events, a transfer and a trade in between, with the remainder carried
	w.buyCredits(uCarol, 1, 10)
	dist.Add(dist, big.NewInt(10))
	if m := w.model(m1); !m.Carry.Eq(u256p(6)) {
		t.Fatalf("carry %s, want 6", m.Carry.Dec())
	}
	w.revenueIdentity(m1, dist, claimed)
	w.mustAdd(w.transfer(uBob, uCarol, types.ShareAsset(m1), 1, 0))
	w.revenueIdentity(m1, dist, claimed)
	sell := w.order(uAlice, m1, types.Sell, 1, 1, 3, 0)
	buy := w.order(uCarol, m1, types.Buy, 1, 1, 3, 0)
	w.mustAdd(&types.Trade{Buy: buy, Sell: sell, Fill: 1, Price: u256(3)})
	w.revenueIdentity(m1, dist, claimed)
	w.mustAdd(w.sign(uDao, &types.SetModelParams{Account: w.acct[uDao], Model: m1, CreditPrice: u256(1), HolderBps: 10_000, Nonce: w.nonce(uDao)}))
	w.buyCredits(uBob, 1, 1) // 10^18 + 6 = 7·142857142857142858: carry back to 0
	dist.Add(dist, big.NewInt(1))
	if m := w.model(m1); !m.Carry.IsZero() {
		t.Fatalf("carry %s, want 0", m.Carry.Dec())
	}
	w.revenueIdentity(m1, dist, claimed)
	for _, u := range []int{uAlice, uBob, uCarol, uDao} {
		before := w.balance(u, 0)
		tx := w.sign(u, &types.ClaimRevenue{Account: w.acct[u], Model: m1, Nonce: w.nonce(u)})
		w.fit(tx)
		_, err := w.batch.Add(tx)
		if err != nil {
			wantErr(t, err, types.ErrNothingToClaim)
			continue
		}
		claimed.Add(claimed, new(big.Int).SetUint64(w.balance(u, 0)-before))
		w.revenueIdentity(m1, dist, claimed)
	}
	// acc ends at exactly 21·10^18 / 7 = 3·10^18 (carry 0); what is not yet
	// claimed is the holders' sub-unit remainders, under one unit each
	if m := w.model(m1); !m.Acc.Eq(u256p(3e18)) || !m.Carry.IsZero() {
		t.Fatalf("acc %s carry %s", m.Acc.Dec(), m.Carry.Dec())
	}
	left := new(big.Int).Sub(dist, claimed)
	if left.Sign() < 0 || left.Cmp(big.NewInt(4)) >= 0 {
		t.Fatalf("claimed %s of %s", claimed, dist)
	}
}

// TestRevenueOverflow drives acc to 2^160 with a single share: the purchase
// that would pass it is rejected and changes nothing.
func TestRevenueOverflow(t *testing.T) {
	w := newWorld(t, applyParams(), nUsers)
	w.deposit(uOp, 0, 0)
	w.deposit(uDao, 0, 0)
	w.mustAdd(w.sign(uDao, &types.CreateModel{Account: w.acct[uDao], Model: m1, QuoteToken: 4, Supply: 1, MaxSupply: 1,
		CreditPrice: max96, HolderBps: 10_000}))
	for i := 0; ; i++ {
		w.depositBig(uAlice, 4, max96)
		tx := w.sign(uAlice, &types.BuyCredits{Account: w.acct[uAlice], Model: m1, Credits: 1, MaxPrice: max96, Nonce: w.nonce(uAlice)})
		acc := w.model(m1).Acc
		next := new(uint256.Int).Add(&acc, new(uint256.Int).Mul(&max96, u256p(types.RevenueScale)))
		if types.Fits(next, types.AccBits) {
			w.mustAdd(tx)
			continue
		}
		w.fit(tx)
		before := w.snap()
		_, err := w.batch.Add(tx)
		wantErr(t, err, types.ErrRevenueOverflow)
		before.same(t, w.snap())
		if i < 10 {
			t.Fatalf("overflow after %d purchases", i)
		}
		return
	}
}

// ---- fees (§7) ----

func TestFeeSettlement(t *testing.T) {
	w := stdWorld(t)
	opBefore := map[uint16]uint64{0: w.balance(uOp, 0), 1: w.balance(uOp, 1)}
	sum := map[uint16]uint64{}
	add := func(tx types.Tx) *Receipt {
		r := w.mustAdd(tx)
		sum[r.FeeToken] += r.Fee.Uint64()
		return r
	}
	// settle seals the open batch and checks its fee settlement: the last
	// witness credits account 0 with exactly the batch's fee book, token by
	// token (the shape), and ends at the batch root
	settle := func(shape0 string) *SealedBatch {
		t.Helper()
		before := map[uint16]uint64{0: w.balance(uOp, 0), 1: w.balance(uOp, 1)}
		book := map[uint16]uint64{}
		for _, tok := range w.st().Fees().Tokens() {
			book[tok] = w.st().Fees().Amount(tok).Uint64()
		}
		sb := w.seal()
		fw := sb.Witnesses[len(sb.Witnesses)-1]
		if fw.Tx != nil || shape(fw) != shape0 {
			t.Fatalf("batch %d (%v): fee settlement witness %q, want %q", sb.Header.Number, sb.Header.Family, shape(fw), shape0)
		}
		if err := VerifyWitness(w.p, fw); err != nil {
			t.Fatal(err)
		}
		if fw.RootAfter != sb.Header.NewRoot {
			t.Fatal("fee settlement does not end at the batch root")
		}
		for tok := range before {
			if got := w.balance(uOp, tok); got != before[tok]+book[tok] {
				t.Fatalf("batch %d: fee account token %d: %d, want %d", sb.Header.Number, tok, got, before[tok]+book[tok])
			}
		}
		if len(w.st().Fees().Tokens()) != 0 {
			t.Fatal("fee book not reset")
		}
		return sb
	}
	// one Transfer batch collects fees in two tokens
	add(w.transfer(uAlice, uBob, types.ETH, 100, 7))
	add(w.transfer(uAlice, uBob, types.BaseAsset(1), 100, 3))
	add(w.transfer(uDao, uBob, types.BaseAsset(1), 100, 2000))
	add(w.transfer(uAlice, uBob, types.ETH, 1, 0))
	if got := w.st().Fees().Tokens(); !reflect.DeepEqual(got, []uint16{0, 1}) {
		t.Fatalf("fee tokens %v", got)
	}
	if got := w.st().Fees().Amount(1); !got.Eq(u256p(2003)) {
		t.Fatalf("fee book token 1: %s", got.Dec())
	}
	settle("B0:0 B0:1 A0")
	// every other family settles its own fees when its own batch seals
	for _, tx := range []func() types.Tx{
		func() types.Tx { return w.transfer(uDao, uAlice, types.ShareAsset(m1), 5, 9) },
		func() types.Tx {
			return w.sign(uCarol, &types.CreateModel{Account: w.acct[uCarol], Model: 2, Supply: 10, MaxSupply: 10, Fee: u256(10), Nonce: w.nonce(uCarol)})
		},
		func() types.Tx {
			return &types.Trade{Buy: w.order(uBob, m1, types.Buy, 1, 100, 60, 30), Sell: w.order(uDao, m1, types.Sell, 1, 100, 50, 30),
				Fill: 100, Price: u256(55), BuyFeeBips: 30, SellFeeBips: 17} // 5,500: 16 + 9
		},
		func() types.Tx {
			return w.sign(uBob, &types.BuyCredits{Account: w.acct[uBob], Model: m1, Credits: 1, MaxPrice: u256(100), Fee: u256(1), Nonce: w.nonce(uBob)})
		},
		func() types.Tx {
			return w.sign(uDao, &types.ClaimRevenue{Account: w.acct[uDao], Model: m1, Fee: u256(2), Nonce: w.nonce(uDao)})
		},
	} {
		r := add(tx())
		if r.FeeToken != 0 || r.Fee.IsZero() {
			t.Fatalf("fee %s in token %d", r.Fee.Dec(), r.FeeToken)
		}
		if got := w.st().Fees().Tokens(); !reflect.DeepEqual(got, []uint16{0}) || !w.st().Fees().Amount(0).Eq(&r.Fee) {
			t.Fatalf("fee book %v holds more than this batch's fee", got)
		}
		settle("B0:0 A0")
	}
	want := map[uint16]uint64{0: 7 + 9 + 10 + 16 + 9 + 1 + 2, 1: 3 + 2000}
	if !reflect.DeepEqual(sum, want) {
		t.Fatalf("receipts sum %v, want %v", sum, want)
	}
	for tok, fee := range want {
		if got := w.balance(uOp, tok); got != opBefore[tok]+fee {
			t.Fatalf("fee account token %d: %d, want %d", tok, got, opBefore[tok]+fee)
		}
	}
	// a batch without fees settles nothing
	w.mustAdd(w.transfer(uAlice, uBob, types.ETH, 1, 0))
	sb := w.seal()
	if fw := sb.Witnesses[len(sb.Witnesses)-1]; len(fw.Updates) != 0 || fw.RootBefore != fw.RootAfter {
		t.Fatal("empty fee settlement changed the state")
	}
}

// TestFeeAccountHeadroom: the fee account (account 0) receives the batch's
// fees at settlement (§7), so its headroom counts them: a fee is rejected with
// ErrBalanceOverflow if account 0's balance + the fees the batch already
// collected in that token + this fee would reach 2^96, and every credit to
// account 0 counts the pending fees the same way. The batch then always
// seals. A deposit is in a Priority batch (§8), which collects no fees: it
// meets the fees the earlier batches settled.
func TestFeeAccountHeadroom(t *testing.T) {
	w := stdWorld(t)
	near := *new(uint256.Int).Sub(&two96, u256p(10)) // 2^96 − 10
	w.depositBig(uOp, 1, near)
	if w.acct[uOp] != types.FeeAccount {
		t.Fatalf("operator at account %d", w.acct[uOp])
	}
	opBal := func(want *uint256.Int) {
		t.Helper()
		if got := w.balanceU(uOp, 1); !got.Eq(want) {
			t.Fatalf("fee account token 1: %s, want %s", got.Dec(), want.Dec())
		}
	}
	tr := func(from, to int, token uint16, amount, fee uint64) func() types.Tx {
		return func() types.Tx { return w.transfer(from, to, types.BaseAsset(token), amount, fee) }
	}
	// 2^96 − 10 + 20 would overflow at settlement
	w.rejects(t, []rcase{{name: "fee 20 in token 1", want: types.ErrBalanceOverflow, tx: tr(uAlice, uBob, 1, 1, 20)}})
	w.mustAdd(tr(uAlice, uBob, 1, 1, 5)()) // book: 5 in token 1
	w.rejects(t, []rcase{
		// 2^96 − 10 + 5 pending + 5 = 2^96
		{name: "fee 5 more in token 1", want: types.ErrBalanceOverflow, tx: tr(uAlice, uBob, 1, 1, 5)},
		// the amount alone fits (2^96 − 5), not with the pending fees
		{name: "transfer of 5 to the fee account", want: types.ErrBalanceOverflow, tx: tr(uAlice, uOp, 1, 5, 0)},
		// the fee room holds (2^96 − 3), not amount + pending + this fee
		{name: "transfer of 3 with fee 2 to the fee account", want: types.ErrBalanceOverflow, tx: tr(uAlice, uOp, 1, 3, 2)},
		{name: "fee 5 on a transfer to the fee account", want: types.ErrBalanceOverflow, tx: tr(uAlice, uOp, 1, 1, 5)},
	})
	// the headroom is per token: a fee in token 0 is fine
	w.mustAdd(tr(uAlice, uBob, 0, 1, 5)())
	// 2^96 − 10 + 3, with 5 + 1 pending: 2^96 − 1 at settlement
	w.mustAdd(tr(uAlice, uOp, 1, 3, 1)())
	opBal(new(uint256.Int).Sub(&two96, u256p(7)))
	if got := w.st().Fees().Amount(1); !got.Eq(u256p(6)) {
		t.Fatalf("fee book token 1: %s", got.Dec())
	}
	// the fee settlement does not overflow
	sb := w.seal()
	fw := sb.Witnesses[len(sb.Witnesses)-1]
	if err := VerifyWitness(w.p, fw); err != nil || fw.RootAfter != sb.Header.NewRoot {
		t.Fatalf("fee settlement witness: %v", err)
	}
	opBal(&max96)
	// full: no fee in token 1 fits now, a fee-free transfer still does
	w.rejects(t, []rcase{
		{name: "fee 1 with the fee account at 2^96 − 1", want: types.ErrBalanceOverflow, tx: tr(uAlice, uBob, 1, 1, 1)},
		{name: "transfer of 1 to the full fee account", want: types.ErrBalanceOverflow, tx: tr(uAlice, uOp, 1, 1, 0)},
	})
	w.mustAdd(tr(uAlice, uBob, 1, 1, 0)())
	// a deposit to the fee account meets the settled fees: refused in a
	// Priority batch, whose fee book stays empty
	t.Run("deposit to the fee account after the settled fees", func(t *testing.T) {
		parent := w.t
		w.t = t
		defer func() { w.t = parent }()
		w.refusedDeposit(w.depositTx(uOp, 1, 1), types.ErrBalanceOverflow)
		if w.batch.header.Family != types.FamilyPriority || len(w.st().Fees().Tokens()) != 0 {
			t.Fatalf("a %v batch with fee book %v", w.batch.header.Family, w.st().Fees().Tokens())
		}
	})
	w.seal()
	opBal(&max96)
	w.mustAdd(tr(uAlice, uBob, 1, 1, 0)())
	w.seal()
	opBal(&max96)
}

// TestDepositNeverMeetsPendingFees: the circuit decides a deposit to
// account 0 on its balance alone (circuits/kind_deposit.go), so the native
// rule must never see the batch's pending fees either: a Priority batch
// collects none (§8), and State.Apply refuses a deposit after fees
// (ErrFamily) rather than decide it on a basis the circuit cannot prove.
// The edge itself, native and circuit together: circuits'
// TestDepositFeeAccountOverflow.
func TestDepositNeverMeetsPendingFees(t *testing.T) {
	w := stdWorld(t)
	w.mustAdd(w.transfer(uAlice, uBob, types.BaseAsset(1), 1, 5)) // book: 5 in token 1
	if len(w.st().Fees().Tokens()) == 0 {
		t.Fatal("no pending fees")
	}
	before := w.snap()
	for _, d := range []*types.Deposit{w.depositTx(uOp, 1, 1), w.depositTx(uAlice, 0, 1)} {
		r, err := w.st().Apply(d)
		wantErr(t, err, ErrFamily)
		if r != nil {
			t.Fatal("receipt for a rejected deposit")
		}
	}
	before.same(t, w.snap())
}

// TestFeeAccountHeadroomTrade: a trade in which the fee account sells
// credits it the proceeds; with the batch's pending fees and the trade's own
// fees they must stay below 2^96. The pending fees come from an earlier trade
// of the same Trade batch (§8).
func TestFeeAccountHeadroomTrade(t *testing.T) {
	w := stdWorld(t)
	w.depositBig(uOp, 1, *new(uint256.Int).Sub(&two96, u256p(100))) // 2^96 − 100
	const m2 uint16 = 2
	w.mustAdd(w.sign(uOp, &types.CreateModel{Account: types.FeeAccount, Model: m2, QuoteToken: 1, Supply: 200, MaxSupply: 200,
		Nonce: w.nonce(uOp)}))
	w.mustAdd(w.transfer(uOp, uDao, types.ShareAsset(m2), 100, 0))
	f := func(o *types.Order) { o.Model, o.MaxFeeBips = m2, 255 }
	// dao sells alice 40 shares at 100 (quote 4,000), 50 bips a side: book 40 in token 1
	r := w.mustAdd(&types.Trade{Buy: w.orderWith(uAlice, types.Buy, 4, 40, 100, f), Sell: w.orderWith(uDao, types.Sell, 4, 40, 100, f),
		Fill: 40, Price: u256(100), BuyFeeBips: 50, SellFeeBips: 50})
	if r.FeeToken != 1 || r.Fee.Uint64() != 40 || !w.st().Fees().Amount(1).Eq(u256p(40)) {
		t.Fatalf("fee %s in token %d", r.Fee.Dec(), r.FeeToken)
	}
	if got := w.balanceU(uOp, 1); !got.Eq(new(uint256.Int).Sub(&two96, u256p(100))) {
		t.Fatalf("fee account token 1: %s", got.Dec())
	}
	trade := func(id uint32, fill, price uint64, buyBips uint8) func() types.Tx {
		return func() types.Tx {
			b := w.orderWith(uAlice, types.Buy, id, fill, price, f)
			s := w.orderWith(uOp, types.Sell, id, fill, price, f)
			return &types.Trade{Buy: b, Sell: s, Fill: fill, Price: u256(price), BuyFeeBips: buyBips}
		}
	}
	sealed := len(w.sealed)
	rejects := []rcase{
		// 2^96 − 100 + 60 + 40 pending = 2^96
		{name: "fee account sells for 60", want: types.ErrBalanceOverflow, tx: trade(1, 10, 6, 0)},
		// 2^96 − 100 + 59 + 40 pending fits; the buyer's fee ⌊59·255/10⁴⌋ = 1 tips it over
		{name: "fee account sells, the trade's own fee tips it over", want: types.ErrBalanceOverflow, tx: trade(2, 59, 1, 255)},
	}
	for _, c := range rejects {
		t.Run(c.name, func(t *testing.T) {
			parent := w.t
			w.t = t
			defer func() { w.t = parent }()
			tx := c.tx()
			before := w.snap()
			r, err := w.batch.Add(tx)
			wantErr(t, err, c.want)
			if r != nil {
				t.Fatal("receipt for a rejected trade")
			}
			before.same(t, w.snap())
		})
	}
	w.mustAdd(trade(3, 59, 1, 0)())
	if len(w.sealed) != sealed || w.batch.Len() != 2 {
		t.Fatal("the trades did not share one batch")
	}
	w.seal() // 2^96 − 100 + 59 + 40 = 2^96 − 1
	if got := w.balanceU(uOp, 1); !got.Eq(&max96) {
		t.Fatalf("fee account token 1: %s", got.Dec())
	}
}

// TestPrecheckBeforeSignature: the stateless range checks (§1–§2, §5) run
// before the signature, the nonce and any state read, so a transaction with
// an out-of-range field fails with that field's error even when its signature,
// nonce or signer is also wrong.
func TestPrecheckBeforeSignature(t *testing.T) {
	w := stdWorld(t)
	alice, bob := w.acct[uAlice], w.acct[uBob]
	wrongKey := func(tx types.SignedTx) func() types.Tx {
		return func() types.Tx { return signAs(w.t, w.keys[uCarol], w.d, tx) }
	}
	n := func(u int) uint32 { return w.nonce(u) }
	w.rejects(t, []rcase{
		{name: "transfer amount 2^96, bad signature", want: types.ErrAmountTooLarge,
			tx: wrongKey(&types.Transfer{From: alice, To: bob, Asset: types.ETH, Amount: two96, Nonce: n(uAlice)})},
		{name: "transfer amount 2^96, no signature at all", want: types.ErrAmountTooLarge, tx: func() types.Tx {
			return &types.Transfer{From: alice, To: bob, Asset: types.ETH, Amount: two96, Nonce: n(uAlice)}
		}},
		{name: "transfer amount 2^96, signed correctly (control)", want: types.ErrAmountTooLarge, tx: func() types.Tx {
			return w.sign(uAlice, &types.Transfer{From: alice, To: bob, Asset: types.ETH, Amount: two96, Nonce: n(uAlice)})
		}},
		{name: "transfer zero amount, nonce reused", want: types.ErrZeroAmount, tx: func() types.Tx {
			return w.sign(uAlice, &types.Transfer{From: alice, To: bob, Asset: types.ETH, Nonce: n(uAlice) - 1})
		}},
		{name: "transfer amount not packable, S+l malleated", want: types.ErrNotPackable, tx: func() types.Tx {
			tx := w.sign(uAlice, &types.Transfer{From: alice, To: bob, Asset: types.ETH, Amount: u256(1<<33 + 1), Nonce: n(uAlice)})
			malleate(tx.Sig())
			return tx
		}},
		{name: "self transfer, bad signature", want: types.ErrSelfTransfer,
			tx: wrongKey(&types.Transfer{From: alice, To: alice, Asset: types.ETH, Amount: u256(1), Nonce: n(uAlice)})},
		{name: "asset kind 3, signer not found", want: types.ErrAssetRange, tx: func() types.Tx {
			return w.sign(uAlice, &types.Transfer{From: w.nextID, To: bob, Asset: types.AssetID(3 << 16), Amount: u256(1)})
		}},
		{name: "share amount above 2^64, signer out of range", want: types.ErrAmountTooLarge, tx: func() types.Tx {
			return w.sign(uDao, &types.Transfer{From: 1 << w.p.AccountDepth, To: alice, Asset: types.ShareAsset(m1), Amount: pow10(20)})
		}},
		{name: "withdraw token out of range, bad signature", want: types.ErrAssetNotWithdrawable,
			tx: wrongKey(&types.Withdraw{Account: alice, Token: 1 << w.p.BalanceDepth, Amount: u256(1), Nonce: n(uAlice)})},
		{name: "withdraw zero amount, signer out of range", want: types.ErrZeroAmount, tx: func() types.Tx {
			return w.sign(uAlice, &types.Withdraw{Account: 1 << w.p.AccountDepth, Token: 0})
		}},
		{name: "create model bps 10001, bad signature", want: types.ErrBadBps,
			tx: wrongKey(&types.CreateModel{Account: w.acct[uCarol] + 1, Model: 2, Supply: 1, MaxSupply: 1, HolderBps: 10_001})},
		{name: "create model zero supply, other chain", want: types.ErrZeroSupply, tx: func() types.Tx {
			return signAs(w.t, w.keys[uCarol], otherChain, &types.CreateModel{Account: w.acct[uCarol], Model: 2, Nonce: n(uCarol)})
		}},
		{name: "create model out of range, model exists check not reached", want: types.ErrModelRange,
			tx: wrongKey(&types.CreateModel{Account: w.acct[uCarol], Model: 1 << w.p.ModelDepth, Supply: 1, MaxSupply: 1})},
		{name: "create model quote token out of range, bad signature", want: types.ErrAssetRange,
			tx: wrongKey(&types.CreateModel{Account: w.acct[uCarol], Model: 2, QuoteToken: 1 << w.p.BalanceDepth, Supply: 1, MaxSupply: 1})},
		{name: "mint zero, bad signature", want: types.ErrZeroAmount,
			tx: wrongKey(&types.MintShares{Account: w.acct[uDao], Model: m1, Nonce: n(uDao)})},
		{name: "set params price 2^96, bad signature", want: types.ErrAmountTooLarge,
			tx: wrongKey(&types.SetModelParams{Account: w.acct[uDao], Model: m1, CreditPrice: two96, Nonce: n(uDao)})},
		{name: "set params bps 10001, not the DAO", want: types.ErrBadBps, tx: func() types.Tx {
			return w.sign(uAlice, &types.SetModelParams{Account: alice, Model: m1, HolderBps: 10_001, Nonce: n(uAlice)})
		}},
		{name: "cancel order id 2^24, bad signature", want: types.ErrAmountTooLarge,
			tx: wrongKey(&types.CancelOrder{Account: alice, Model: m1, OrderID: 1 << 24, Nonce: n(uAlice)})},
		{name: "buy zero credits, bad signature", want: types.ErrZeroAmount,
			tx: wrongKey(&types.BuyCredits{Account: bob, Model: m1, MaxPrice: u256(100), Nonce: n(uBob)})},
		{name: "buy credits max price 2^96, nonce skipped", want: types.ErrAmountTooLarge, tx: func() types.Tx {
			return w.sign(uBob, &types.BuyCredits{Account: bob, Model: m1, Credits: 1, MaxPrice: two96, Nonce: n(uBob) + 1})
		}},
		{name: "redeem zero credits, bad signature", want: types.ErrZeroAmount,
			tx: wrongKey(&types.RedeemCredits{Account: bob, Model: m1, Nonce: n(uBob)})},
		{name: "claim fee not packable, bad signature", want: types.ErrNotPackable,
			tx: wrongKey(&types.ClaimRevenue{Account: w.acct[uDao], Model: m1, Fee: u256(2049), Nonce: n(uDao)})},
		{name: "trade: buy order id 2^24, sell order signed by another key", want: types.ErrAmountTooLarge, tx: func() types.Tx {
			b := w.orderWith(uAlice, types.Buy, 1<<24, 100, 60, nil)
			s := w.orderWith(uDao, types.Sell, 1, 100, 50, nil)
			if err := types.SignOrder(w.keys[uBob], w.d, &s); err != nil && s.CheckWidths() == nil {
				t.Fatal(err)
			}
			return &types.Trade{Buy: b, Sell: s, Fill: 10, Price: u256(55)}
		}},
		{name: "trade: sell price 2^96, two buy orders", want: types.ErrAmountTooLarge, tx: func() types.Tx {
			b := w.orderWith(uAlice, types.Buy, 1, 100, 60, nil)
			s := w.orderWith(uDao, types.Buy, 1, 100, 0, func(o *types.Order) { o.Price = two96 })
			return &types.Trade{Buy: b, Sell: s, Fill: 10, Price: u256(55)}
		}},
	})
}

// TestTransferToWidthBeforeSignature: docs/protocol.md §1 says every signed
// field is range-checked to its width before the signature. A transfer's
// receiver is a 24-bit message field held in a uint32. The packer once kept
// only the low 24 bits, so the signature for `to` = bob also verified for
// bob + 2^24; now the message of a too-wide field does not exist (Packer
// refuses it). Apply rejects it either way (the id is outside the tree),
// so nothing moves; the check is that the width is reported first, before
// any signature is looked at.
func TestTransferToWidthBeforeSignature(t *testing.T) {
	w := stdWorld(t)
	good := w.transfer(uAlice, uBob, types.ETH, 1, 0)
	wide := *good
	wide.To += 1 << types.AccountBits
	before := w.snap()
	_, err := w.batch.Add(&wide)
	wantErr(t, err, types.ErrAccountRange) // widths come before the signature
	before.same(t, w.snap())
	bad := signAs(t, w.keys[uCarol], w.d, &types.Transfer{From: w.acct[uAlice], To: 1 << types.AccountBits, Asset: types.ETH,
		Amount: u256(1), Nonce: w.nonce(uAlice)})
	_, err = w.batch.Add(bad)
	before.same(t, w.snap())
	if errors.Is(err, types.ErrBadSignature) {
		t.Fatalf("transfer to account 2^24 with a bad signature fails with %v: the receiver's 24-bit width is "+
			"not range-checked before the signature, contrary to §1", err)
	}
	wantErr(t, err, types.ErrAccountRange)
}

// ---- signed 96-bit fields: range-checked before anything else ----

// TestUncheckedWideFields: an order's price and a credit purchase's maxPrice
// are 96-bit message fields (§2, §5.8, §5.11) that the wire encoding stored
// by Seal requires below 2^96. A transaction whose field is 2^96 must be
// rejected by Apply (ErrAmountTooLarge); if Apply accepts it, the batch must
// still seal.
func TestUncheckedWideFields(t *testing.T) {
	cases := []struct {
		name     string
		innocent func(w *world) types.Tx // a valid transaction of the same family
		tx       func(w *world) types.Tx
	}{
		{"Trade with a buy order priced 2^96", func(w *world) types.Tx {
			return &types.Trade{Buy: w.orderWith(uBob, types.Buy, 2, 10, 60, nil), Sell: w.orderWith(uDao, types.Sell, 2, 10, 50, nil),
				Fill: 10, Price: u256(55)}
		}, func(w *world) types.Tx {
			b := w.orderWith(uAlice, types.Buy, 1, 100, 0, func(o *types.Order) { o.Price = two96 })
			return &types.Trade{Buy: b, Sell: w.orderWith(uDao, types.Sell, 1, 100, 50, nil), Fill: 10, Price: u256(55)}
		}},
		{"BuyCredits with maxPrice 2^96", func(w *world) types.Tx {
			return w.sign(uCarol, &types.BuyCredits{Account: w.acct[uCarol], Model: m1, Credits: 1, MaxPrice: u256(100), Nonce: w.nonce(uCarol)})
		}, func(w *world) types.Tx {
			return w.sign(uBob, &types.BuyCredits{Account: w.acct[uBob], Model: m1, Credits: 1, MaxPrice: two96, Nonce: w.nonce(uBob)})
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := stdWorld(t)
			w.mustAdd(c.innocent(w)) // an innocent transaction in the same batch
			tx := c.tx(w)
			if types.FamilyOf(tx) != w.batch.header.Family {
				t.Fatalf("%v batch for a %v transaction", w.batch.header.Family, types.FamilyOf(tx))
			}
			before := w.snap()
			_, err := w.batch.Add(tx)
			if err != nil {
				wantErr(t, err, types.ErrAmountTooLarge)
				before.same(t, w.snap())
				return
			}
			if _, err := w.batch.Seal(); err != nil {
				t.Fatalf("Apply accepts the field at 2^96 but Seal fails (%v): the whole batch, "+
					"including every other transaction, is discarded", err)
			}
		})
	}
}

// TestOrderPriceMalleable: a buy order's price P and P + r (r the field
// modulus) would give the same signed message if the price went into the
// hash unchecked; the width check keeps a relayer from raising a buyer's
// limit after signing: the raised order is rejected as too wide, before its
// signature is looked at, and nothing moves.
func TestOrderPriceMalleable(t *testing.T) {
	w := stdWorld(t)
	b := w.orderWith(uAlice, types.Buy, 1, 100, 60, nil)
	var r uint256.Int
	r.SetFromBig(fr.Modulus())
	raised := b
	raised.Price.Add(&b.Price, &r)
	if _, err := raised.Message(w.d); !errors.Is(err, types.ErrAmountTooLarge) {
		t.Fatalf("message of an order priced P + r: err = %v, want ErrAmountTooLarge", err)
	}
	before := w.snap()
	_, err := w.batch.Add(&types.Trade{Buy: raised, Sell: w.orderWith(uDao, types.Sell, 1, 100, 50, nil), Fill: 10, Price: u256(1000)})
	if err == nil {
		t.Fatal("a buy order limited to 60 per share, its price field raised by r after signing, " +
			"still verifies and trades at 1000 per share")
	}
	wantErr(t, err, types.ErrAmountTooLarge)
	before.same(t, w.snap())
}

// TestForcedWithdrawWideAccount: §5.4 says a forced withdrawal is never
// rejected for its content; the wire format carries a 32-bit account id.
// An id ≥ 2^24 must be processed with amount 0 (or the priority queue stalls).
func TestForcedWithdrawWideAccount(t *testing.T) {
	// The bridge's forced-withdrawal entry point takes a uint24 account id
	// (docs/protocol.md §5.4), so a wider id can never be queued: Apply refuses
	// it as an impossible input and changes nothing.
	w := stdWorld(t)
	before := w.snap()
	fw := &types.ForcedWithdraw{PriorityID: w.prio, Requester: userAddr(uAlice), Account: 1 << 24, Token: 0}
	if _, err := w.batch.Add(fw); !errors.Is(err, types.ErrAccountRange) {
		t.Fatalf("err = %v, want ErrAccountRange", err)
	}
	before.same(t, w.snap())
	// an id inside 24 bits but outside the tree is consumed with amount 0
	fw = &types.ForcedWithdraw{PriorityID: w.prio, Requester: userAddr(uAlice), Account: 1<<24 - 1, Token: 0}
	r, err := w.batch.Add(fw)
	if err != nil {
		t.Fatal(err)
	}
	if !fw.Amount.IsZero() || r.Withdrawal != nil {
		t.Fatalf("amount %s", fw.Amount.Dec())
	}
}

// TestBadPublicKey: a key that is not a non-identity point of the
// prime-order subgroup can never sign, so a deposit refuses to open an account
// with it (the refusal wraps ErrBadPublicKey, §5.1): the id the bridge gave
// the pair stays empty, a transaction naming it finds no account, and every
// key in the state can verify signatures.
func TestBadPublicKey(t *testing.T) {
	w := stdWorld(t)
	i := 0
	for name, pk := range badKeys(t) {
		addr := userAddr(100 + i)
		i++
		t.Run(name, func(t *testing.T) {
			parent := w.t
			w.t = t
			defer func() { w.t = parent }()
			d := &types.Deposit{PriorityID: w.prio, Account: w.accountFor(addr, pk), L1Address: addr, PubKey: pk, Token: 0, Amount: u256(100)}
			w.refusedDeposit(d, types.ErrBadPublicKey)
			tx := signAs(t, w.keys[uDave], w.d, &types.Transfer{From: d.Account, To: w.acct[uBob], Asset: types.ETH, Amount: u256(1)})
			w.fit(tx)
			before := w.snap()
			_, err := w.batch.Add(tx)
			wantErr(t, err, types.ErrAccountNotFound)
			before.same(t, w.snap())
			w.followUp()
		})
	}
	for id, a := range w.snap().Accounts {
		if err := types.CheckPublicKey(a.PubKey); err != nil {
			t.Fatalf("account %d holds a bad key: %v", id, err)
		}
	}
}
