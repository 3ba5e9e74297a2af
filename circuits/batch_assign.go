package circuits

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"

	"github.com/ethereum/go-ethereum/common"
	"github.com/holiman/uint256"

	"github.com/modex/modex/state"
	"github.com/modex/modex/state/store"
	"github.com/modex/modex/types"
)

// dummy is a valid transaction of one member, applied to a state of its own,
// with its witness: what a slot's unselected gadgets are fed.
type dummy struct {
	tx types.Tx
	w  *state.TxWitness
}

// Dummies are one dummy per member and a dummy fee settlement, for one
// parameter set and signing domain (dummy signatures are over the batch's
// domain, since the gadgets check them against it).
type Dummies struct {
	p      types.Params
	d      types.Domain
	tx     map[Member]dummy
	settle *state.TxWitness
}

type dummyKey struct {
	p types.Params
	d types.Domain
}

var dummyCache sync.Map // dummyKey -> *Dummies

// DummiesFor returns the dummies of the parameters and domain, built once
// per process: a small in-memory rollup runs one transaction of each kind.
func DummiesFor(p types.Params, d types.Domain) (*Dummies, error) {
	k := dummyKey{p, d}
	if v, ok := dummyCache.Load(k); ok {
		return v.(*Dummies), nil
	}
	ds, err := makeDummies(p, d)
	if err != nil {
		return nil, fmt.Errorf("circuits: dummies: %w", err)
	}
	v, _ := dummyCache.LoadOrStore(k, ds)
	return v.(*Dummies), nil
}

// dummyAccountKey is dummy account i's EdDSA key: a ChaCha8 stream seeded with i
// (little-endian in the seed's first two bytes) feeds types.GenerateKey. The
// dummies' own in-memory rollup is their only use; fixed keys make the
// padding, and so every witness and proof, reproducible run to run.
func dummyAccountKey(i int) (*types.PrivateKey, error) {
	var seed [32]byte
	seed[0], seed[1] = byte(i), byte(i>>8)
	return types.GenerateKey(chachaStream{rand.NewChaCha8(seed)})
}

type chachaStream struct{ r *rand.ChaCha8 }

func (s chachaStream) Read(p []byte) (int, error) { return s.r.Read(p) }

// dummyAddr is dummy account i's L1 address: 0xAA, then i+1 in the low 8
// bytes.
func dummyAddr(i int) common.Address {
	var a common.Address
	a[0] = 0xAA
	binary.BigEndian.PutUint64(a[12:], uint64(i)+1)
	return a
}

func makeDummies(p types.Params, d types.Domain) (*Dummies, error) {
	p.BatchCapacity = 16 // the dummies' own rollup; any capacity will do
	db, err := state.Open(p, d, store.Options{InMemory: true, KeepBatches: 4, NoSync: true})
	if err != nil {
		return nil, err
	}
	defer db.Close()
	ds := &Dummies{p: p, d: d, tx: map[Member]dummy{}}
	var keys []*types.PrivateKey
	for i := 0; i < 3; i++ {
		k, err := dummyAccountKey(i)
		if err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	ts := uint64(1_700_000_000)
	b, err := db.NewBatch(ts)
	if err != nil {
		return nil, err
	}
	defer func() { b.Discard() }()
	seal := func() (*state.SealedBatch, error) {
		sb, err := b.Seal()
		if err != nil {
			return nil, err
		}
		ts += 12
		b, err = db.NewBatch(ts)
		return sb, err
	}
	add := func(tx types.Tx) (*state.Receipt, error) {
		r, err := b.Add(tx)
		if errors.Is(err, state.ErrFamily) || errors.Is(err, state.ErrBatchFull) {
			if _, err := seal(); err != nil {
				return nil, err
			}
			r, err = b.Add(tx)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", tx.Kind(), err)
		}
		return r, nil
	}
	nonces := map[uint32]uint32{}
	signed := func(u uint32, tx types.SignedTx) (*state.Receipt, error) {
		tx.SetNonce(nonces[u])
		nonces[u]++
		if err := types.SignTx(keys[u], d, tx); err != nil {
			return nil, err
		}
		return add(tx)
	}
	keep := func(m Member, r *state.Receipt, err error) error {
		if err != nil {
			return fmt.Errorf("%v: %w", m, err)
		}
		ds.tx[m] = dummy{tx: r.Witness.Tx, w: r.Witness}
		return nil
	}
	amt := func(x uint64) uint256.Int { return *uint256.NewInt(x) }
	var prio uint64
	deposit := func(u uint32, token uint16, amount uint64) (*state.Receipt, error) {
		pk := types.PublicKeyOf(keys[u])
		dep := &types.Deposit{PriorityID: prio, Account: u, L1Address: dummyAddr(int(u)), PubKey: pk, Token: token, Amount: amt(amount)}
		prio++
		return add(dep)
	}
	// accounts 0 (the fee account), 1 (a model DAO), 2 (a trader)
	for _, s := range []struct {
		u     uint32
		token uint16
		x     uint64
	}{{0, 0, 1}, {1, 0, 1 << 40}, {2, 0, 1 << 40}, {1, 1, 1000}} {
		r, err := deposit(s.u, s.token, s.x)
		if err := keep(MemberDeposit, r, err); err != nil {
			return nil, err
		}
	}
	r, err := add(&types.ForcedWithdraw{PriorityID: prio, Requester: dummyAddr(1), Account: 1, Token: 1})
	prio++
	if err := keep(MemberForcedWithdraw, r, err); err != nil {
		return nil, err
	}
	if outsideExists(p) {
		fw := &types.ForcedWithdraw{PriorityID: prio, Requester: dummyAddr(1), Account: 1, Token: 1}
		if p.AccountDepth < types.AccountBits {
			fw.Account = 1 << p.AccountDepth
		} else {
			fw.Token = 1 << p.BalanceDepth
		}
		r, err := add(fw)
		prio++
		if err := keep(MemberForcedWithdrawOutside, r, err); err != nil {
			return nil, err
		}
	}
	steps := []struct {
		m  Member
		u  uint32
		tx types.SignedTx
	}{
		{MemberCreateModel, 1, &types.CreateModel{Account: 1, Model: 1, QuoteToken: 0, Supply: 1_000_000, MaxSupply: 1 << 40,
			CreditPrice: amt(100), HolderBps: 5000, Fee: amt(1)}},
		{MemberMintShares, 1, &types.MintShares{Account: 1, Model: 1, Amount: 1000, Fee: amt(1)}},
		{MemberSetModelParams, 1, &types.SetModelParams{Account: 1, Model: 1, CreditPrice: amt(100), HolderBps: 5000, Fee: amt(1)}},
		{MemberTransferPosition, 1, &types.Transfer{From: 1, To: 2, Asset: types.ShareAsset(1), Amount: amt(1000), Fee: amt(1)}},
		{MemberBuyCredits, 2, &types.BuyCredits{Account: 2, Model: 1, Credits: 10, MaxPrice: amt(100), Fee: amt(1)}},
		{MemberRedeemCredits, 2, &types.RedeemCredits{Account: 2, Model: 1, Credits: 1, Request: types.FromUint64(7), Fee: amt(1)}},
		{MemberClaimRevenue, 1, &types.ClaimRevenue{Account: 1, Model: 1, Fee: amt(1)}},
		{MemberCancelOrder, 2, &types.CancelOrder{Account: 2, Model: 1, OrderID: 2, Fee: amt(1)}},
		{MemberWithdraw, 2, &types.Withdraw{Account: 2, Token: 0, Amount: amt(10), Fee: amt(1), To: dummyAddr(2)}},
		{MemberTransferBase, 1, &types.Transfer{From: 1, To: 2, Asset: types.ETH, Amount: amt(10), Fee: amt(1)}},
	}
	for _, s := range steps {
		r, err := signed(s.u, s.tx)
		if err := keep(s.m, r, err); err != nil {
			return nil, err
		}
	}
	// the settlement of the transfer's batch (one fee token)
	sb, err := seal()
	if err != nil {
		return nil, err
	}
	ds.settle = sb.Witnesses[len(sb.Witnesses)-1]
	// a trade of orders that never expire (the batch timestamp is free)
	order := func(u uint32, side types.Side, price uint64) (types.Order, error) {
		o := types.Order{Account: u, Model: 1, Side: side, OrderID: 1, Amount: 10, MaxFeeBips: 50, ValidUntil: math.MaxUint32}
		o.Price.SetUint64(price)
		return o, types.SignOrder(keys[u], d, &o)
	}
	buy, err := order(1, types.Buy, 20)
	if err != nil {
		return nil, err
	}
	sell, err := order(2, types.Sell, 10)
	if err != nil {
		return nil, err
	}
	r, err = add(&types.Trade{Buy: buy, Sell: sell, Fill: 10, Price: amt(15), BuyFeeBips: 10, SellFeeBips: 10})
	if err := keep(MemberTrade, r, err); err != nil {
		return nil, err
	}
	return ds, nil
}

// memberOf is the member that runs a transaction: the column whose kind
// file claims it.
func memberOf(p types.Params, tx types.Tx) (Member, error) {
	for m := range columns {
		if col := &columns[m]; col.runs != nil && col.runs(p, tx) {
			return Member(m), nil
		}
	}
	return 0, fmt.Errorf("circuits: no gadget for %T", tx)
}

// setMember assigns slot i's gadget of member m from a transaction and its witness.
func (c *Batch) setMember(m Member, i int, tx types.Tx, w *state.TxWitness) error {
	return columnOf(m).assign(c, i, tx, w)
}

// AssignBatch fills the family's batch circuit from a sealed batch: each
// transaction in its slot's member, dummies everywhere else, the fee book
// and settlement from the settlement witness, and the header.
func AssignBatch(p types.Params, d types.Domain, sb *state.SealedBatch) (*Batch, error) {
	h := &sb.Header
	c, err := NewBatch(h.Family, p)
	if err != nil {
		return nil, err
	}
	if len(sb.Txs) > p.BatchCapacity || len(sb.Witnesses) != len(sb.Txs)+1 {
		return nil, fmt.Errorf("circuits: batch %d: %d transactions, %d witnesses at capacity %d", h.Number, len(sb.Txs), len(sb.Witnesses), p.BatchCapacity)
	}
	ds, err := DummiesFor(p, d)
	if err != nil {
		return nil, err
	}
	ms := Members(h.Family, p)
	for i := 0; i < p.BatchCapacity; i++ {
		var want Member
		if i < len(sb.Txs) {
			if want, err = memberOf(p, sb.Txs[i]); err != nil {
				return nil, err
			}
		}
		found := want == 0
		for mi, m := range ms {
			c.Sel[i][mi], c.FreeAccount[i][mi], c.FreeModel[i][mi] = 0, 0, 0
			if m == want {
				found = true
				c.Sel[i][mi] = 1
				w := sb.Witnesses[i]
				if err := c.setMember(m, i, w.Tx, w); err != nil {
					return nil, fmt.Errorf("slot %d: %w", i, err)
				}
				continue
			}
			dm := ds.tx[m]
			if err := c.setMember(m, i, dm.tx, dm.w); err != nil {
				return nil, fmt.Errorf("slot %d, dummy %v: %w", i, m, err)
			}
			c.FreeAccount[i][mi], c.FreeModel[i][mi] = dm.w.AccountRoot, dm.w.ModelRoot
		}
		if !found {
			return nil, fmt.Errorf("circuits: slot %d: %v is not of family %v", i, want, h.Family)
		}
	}
	if err := c.assignSettlement(sb.Witnesses[len(sb.Witnesses)-1], ds); err != nil {
		return nil, err
	}
	acct, model := sb.Witnesses[0].AccountRoot, sb.Witnesses[0].ModelRoot
	c.Domain, c.Number, c.Timestamp, c.FirstPriority = d.Element(), h.Number, h.Timestamp, h.FirstPriority
	c.PrevAccountRoot, c.PrevModelRoot = acct, model
	c.PublicInput = h.PublicInput(d)
	return c, nil
}

// assignSettlement fills the fee book and the settlement gadget: the native
// settlement's balance updates, padded to MaxFeeAssets with reads of the
// last one; with an empty book, the dummy settlement.
func (c *Batch) assignSettlement(w *state.TxWitness, ds *Dummies) error {
	c.SettleFree = 0
	src := w
	var tokens []uint64
	for _, u := range w.Updates {
		if u.Tree == state.TreeBalances {
			tokens = append(tokens, u.Index)
		}
	}
	if len(tokens) > c.p.MaxFeeAssets {
		return fmt.Errorf("circuits: settlement of %d tokens, at most %d", len(tokens), c.p.MaxFeeAssets)
	}
	for j := range c.FeeTokens {
		c.FeeTokens[j], c.FeeActive[j] = 0, 0
		if j < len(tokens) {
			c.FeeTokens[j], c.FeeActive[j] = tokens[j], 1
		}
	}
	if len(tokens) == 0 {
		src = ds.settle
		c.SettleFree = src.AccountRoot
	}
	padded, err := padSettlement(src, c.p.MaxFeeAssets)
	if err != nil {
		return err
	}
	_, accts, err := Assign(padded)
	if err != nil {
		return err
	}
	if len(accts) != 1 || len(accts[0].Balances) != c.p.MaxFeeAssets {
		return fmt.Errorf("circuits: settlement witness of %d accounts", len(accts))
	}
	c.Settle = accts[0]
	return nil
}

// padSettlement pads a settlement witness (balance updates, then the account
// leaf) to n balance entries with reads of the last balance after its update.
func padSettlement(w *state.TxWitness, n int) (*state.TxWitness, error) {
	var bals []state.LeafUpdate
	var acct *state.LeafUpdate
	for i := range w.Updates {
		switch u := w.Updates[i]; u.Tree {
		case state.TreeBalances:
			bals = append(bals, u)
		case state.TreeAccounts:
			acct = &w.Updates[i]
		default:
			return nil, fmt.Errorf("circuits: settlement touches tree %v", u.Tree)
		}
	}
	if acct == nil || len(bals) == 0 {
		return nil, errors.New("circuits: settlement witness without a balance and the account")
	}
	for len(bals) < n {
		last := bals[len(bals)-1]
		last.Old, last.OldData = last.New, last.NewData
		bals = append(bals, last)
	}
	out := *w
	out.Updates = append(bals, *acct)
	return &out, nil
}
