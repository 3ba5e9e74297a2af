package circuits

import (
	"github.com/consensys/gnark/frontend"

	"github.com/modex/modex/state"
	"github.com/modex/modex/types"
)

// Credit and revenue kinds (docs/protocol.md §5.11–5.13): BuyCredits,
// RedeemCredits, ClaimRevenue. Each is the model update (a read for
// RedeemCredits) followed by the signer's account update with its position
// and quote-token balance (state.Shape); the fee is in the quote token.

// ---- BuyCredits (§5.11) ----

// BuyCredits mints credits to the buyer at the model's price; the cost is
// split (§4): holders' part distributed into acc/carry, the rest to the treasury.
type BuyCredits struct {
	Model    ModelUpdate
	Acct     AccountUpdate
	Credits  frontend.Variable // 64 bits
	MaxPrice frontend.Variable // 96 bits
	FeeRaw   frontend.Variable // Fee16
	Sig      SigVars
}

// NewBuyCredits allocates the gadget's shape.
func NewBuyCredits(p types.Params) BuyCredits {
	return BuyCredits{Model: NewModelUpdate(p), Acct: NewAccountUpdate(p, mdModelTxShape)}
}

// AssignBuyCredits fills the gadget from a native BuyCredits and its witness.
func AssignBuyCredits(tx *types.BuyCredits, w *state.TxWitness) (BuyCredits, error) {
	m, a, fee, sig, err := mdAssignModelTx(w, &tx.Fee, tx.Signature, 1)
	if err != nil {
		return BuyCredits{}, err
	}
	return BuyCredits{Model: m, Acct: a, Credits: tx.Credits, MaxPrice: tx.MaxPrice.ToBig(), FeeRaw: fee, Sig: sig}, nil
}

// Apply constrains the purchase and returns the new roots.
func (g *BuyCredits) Apply(e Env, r Roots) (Roots, Out, error) {
	api := e.API
	o, n := g.Model.Old, g.Model.New
	fee := DecodeFloat(api, g.FeeRaw, types.Fee16)
	mdAssertModelExists(api, o)
	api.AssertIsDifferent(g.Credits, 0) // ErrZeroAmount
	// the message words range-check Credits (64) and MaxPrice (96); the
	// price is a 96-bit leaf field, so the comparison's precondition holds
	AssertLessOrEqual(api, o.CreditPrice, g.MaxPrice, types.AmountBits) // ErrCreditPrice
	cost := api.Mul(g.Credits, o.CreditPrice)                           // < 2^160: no wrap
	RangeCheck(api, cost, types.AmountBits)                             // ErrAmountTooLarge: credits × price
	holders := BipsOf(api, cost, o.HolderBps)
	dao := api.Sub(cost, holders) // holders <= cost: bps <= 10,000 in every model leaf
	acc, carry := Distribute(api, o.Acc, o.Carry, o.Supply, holders)
	api.AssertIsEqual(n.Acc, acc)
	api.AssertIsEqual(n.Carry, carry)
	api.AssertIsEqual(n.Treasury, api.Add(o.Treasury, dao)) // ErrBalanceOverflow: the new leaf's 96-bit treasury
	mdAssertModelKept(api, o, n, mdAcc, mdCarry, mdTreasury)
	mdBindLeaves(api, &g.Model, &g.Acct, o.QuoteToken)

	pos := &g.Acct.Positions[0]
	api.AssertIsEqual(pos.New.Credits, api.Add(pos.Old.Credits, g.Credits)) // ErrBalanceOverflow: 64-bit leaf field
	api.AssertIsEqual(pos.New.Shares, pos.Old.Shares)
	api.AssertIsEqual(pos.New.LastAcc, pos.Old.LastAcc)
	api.AssertIsEqual(pos.New.Pending, pos.Old.Pending)

	bal := &g.Acct.Balances[0]
	api.AssertIsEqual(bal.New, api.Sub(bal.Old, cost, fee)) // ErrInsufficientFunds

	words := MessageWords(api, Field{int(types.KindBuyCredits), 8}, Field{g.Acct.ID, types.AccountBits},
		Field{g.Model.ID, types.ModelBits}, Field{g.Acct.Old.Nonce, types.NonceBits}, Field{g.Credits, types.CreditBits},
		Field{g.MaxPrice, types.AmountBits}, Field{fee, types.AmountBits})
	if err := signedBy(e, &g.Acct, g.Sig, MessageHash(e.H, e.Domain, words)); err != nil {
		return r, Out{}, err
	}
	r.Model = g.Model.Apply(api, e.H, r.Model)
	r.Account = g.Acct.Apply(api, e.H, r.Account)

	pd := newPubdata(api, types.KindBuyCredits)
	pd.field(g.Acct.ID, types.AccountBits)
	pd.field(g.Model.ID, types.ModelBits)
	pd.field(g.Credits, types.CreditBits)
	pd.field(g.FeeRaw, int(types.Fee16.Bits()))
	return r, Out{Pubdata: pd.done(), FeeToken: o.QuoteToken, Fee: fee}, nil
}

// ---- RedeemCredits (§5.12) ----

// RedeemCredits burns credits; the request commitment is signed and published.
type RedeemCredits struct {
	Model   ModelUpdate // a read
	Acct    AccountUpdate
	Credits frontend.Variable // 64 bits
	Request frontend.Variable // field element
	FeeRaw  frontend.Variable // Fee16
	Sig     SigVars
}

// NewRedeemCredits allocates the gadget's shape.
func NewRedeemCredits(p types.Params) RedeemCredits {
	return RedeemCredits{Model: NewModelUpdate(p), Acct: NewAccountUpdate(p, mdModelTxShape)}
}

// AssignRedeemCredits fills the gadget from a native RedeemCredits and its witness.
func AssignRedeemCredits(tx *types.RedeemCredits, w *state.TxWitness) (RedeemCredits, error) {
	m, a, fee, sig, err := mdAssignModelTx(w, &tx.Fee, tx.Signature, 1)
	if err != nil {
		return RedeemCredits{}, err
	}
	return RedeemCredits{Model: m, Acct: a, Credits: tx.Credits, Request: tx.Request, FeeRaw: fee, Sig: sig}, nil
}

// Apply constrains the redemption and returns the new roots.
func (g *RedeemCredits) Apply(e Env, r Roots) (Roots, Out, error) {
	api := e.API
	o, n := g.Model.Old, g.Model.New
	fee := DecodeFloat(api, g.FeeRaw, types.Fee16)
	mdAssertModelExists(api, o)
	mdAssertModelKept(api, o, n)        // a read: every field unchanged
	api.AssertIsDifferent(g.Credits, 0) // ErrZeroAmount
	mdBindLeaves(api, &g.Model, &g.Acct, o.QuoteToken)

	pos := &g.Acct.Positions[0]
	// ErrInsufficientCredits: credits >= amount, as the new leaf's 64-bit
	// range check refuses old − amount below zero (a field wrap-around)
	api.AssertIsEqual(pos.New.Credits, api.Sub(pos.Old.Credits, g.Credits))
	api.AssertIsEqual(pos.New.Shares, pos.Old.Shares)
	api.AssertIsEqual(pos.New.LastAcc, pos.Old.LastAcc)
	api.AssertIsEqual(pos.New.Pending, pos.Old.Pending)

	bal := &g.Acct.Balances[0]
	api.AssertIsEqual(bal.New, api.Sub(bal.Old, fee)) // ErrInsufficientFunds

	words := MessageWords(api, Field{int(types.KindRedeemCredits), 8}, Field{g.Acct.ID, types.AccountBits},
		Field{g.Model.ID, types.ModelBits}, Field{g.Acct.Old.Nonce, types.NonceBits}, Field{g.Credits, types.CreditBits},
		Field{fee, types.AmountBits}, Field{g.Request, 0})
	if err := signedBy(e, &g.Acct, g.Sig, MessageHash(e.H, e.Domain, words)); err != nil {
		return r, Out{}, err
	}
	r.Model = g.Model.Apply(api, e.H, r.Model)
	r.Account = g.Acct.Apply(api, e.H, r.Account)

	pd := newPubdata(api, types.KindRedeemCredits)
	pd.field(g.Acct.ID, types.AccountBits)
	pd.field(g.Model.ID, types.ModelBits)
	pd.field(g.Credits, types.CreditBits)
	pd.field(g.FeeRaw, int(types.Fee16.Bits()))
	pd.field(g.Request, 256)
	return r, Out{Pubdata: pd.done(), FeeToken: o.QuoteToken, Fee: fee}, nil
}

// ---- ClaimRevenue (§5.13) ----

// ClaimRevenue settles the signer's position and pays ⌊pending/10^18⌋ (the
// rest kept), plus the whole treasury when the signer is the model's DAO.
type ClaimRevenue struct {
	Model  ModelUpdate
	Acct   AccountUpdate
	FeeRaw frontend.Variable // Fee16
	Sig    SigVars
}

// NewClaimRevenue allocates the gadget's shape.
func NewClaimRevenue(p types.Params) ClaimRevenue {
	return ClaimRevenue{Model: NewModelUpdate(p), Acct: NewAccountUpdate(p, mdModelTxShape)}
}

// AssignClaimRevenue fills the gadget from a native ClaimRevenue and its witness.
func AssignClaimRevenue(tx *types.ClaimRevenue, w *state.TxWitness) (ClaimRevenue, error) {
	m, a, fee, sig, err := mdAssignModelTx(w, &tx.Fee, tx.Signature, 1)
	if err != nil {
		return ClaimRevenue{}, err
	}
	return ClaimRevenue{Model: m, Acct: a, FeeRaw: fee, Sig: sig}, nil
}

// Apply constrains the claim and returns the new roots.
func (g *ClaimRevenue) Apply(e Env, r Roots) (Roots, Out, error) {
	api := e.API
	o, n := g.Model.Old, g.Model.New
	fee := DecodeFloat(api, g.FeeRaw, types.Fee16)
	mdAssertModelExists(api, o)
	mdBindLeaves(api, &g.Model, &g.Acct, o.QuoteToken)

	pos := &g.Acct.Positions[0]
	owed := Settle(api, pos.Old.Shares, pos.Old.LastAcc, pos.Old.Pending, o.Acc)
	payout, rest := Payout(api, owed) // the claim rule (§4): floor, remainder kept
	api.AssertIsEqual(pos.New.Pending, rest)
	api.AssertIsEqual(pos.New.LastAcc, o.Acc)
	api.AssertIsEqual(pos.New.Shares, pos.Old.Shares)
	api.AssertIsEqual(pos.New.Credits, pos.Old.Credits)

	// the DAO also takes the whole treasury
	isDAO := api.IsZero(api.Sub(o.DAO, g.Acct.ID))
	taken := api.Mul(isDAO, o.Treasury)
	api.AssertIsEqual(n.Treasury, api.Sub(o.Treasury, taken))
	mdAssertModelKept(api, o, n, mdTreasury)
	total := api.Add(payout, taken)
	api.AssertIsDifferent(total, 0) // ErrNothingToClaim

	// the payout is credited first (ErrBalanceOverflow at 2^96; total < 2^166:
	// no wrap), then the fee is charged (ErrInsufficientFunds: the new leaf is 96-bit)
	bal := &g.Acct.Balances[0]
	credited := api.Add(bal.Old, total)
	RangeCheck(api, credited, types.AmountBits)
	api.AssertIsEqual(bal.New, api.Sub(credited, fee))

	words := MessageWords(api, Field{int(types.KindClaimRevenue), 8}, Field{g.Acct.ID, types.AccountBits},
		Field{g.Model.ID, types.ModelBits}, Field{g.Acct.Old.Nonce, types.NonceBits}, Field{fee, types.AmountBits})
	if err := signedBy(e, &g.Acct, g.Sig, MessageHash(e.H, e.Domain, words)); err != nil {
		return r, Out{}, err
	}
	r.Model = g.Model.Apply(api, e.H, r.Model)
	r.Account = g.Acct.Apply(api, e.H, r.Account)

	pd := newPubdata(api, types.KindClaimRevenue)
	pd.field(g.Acct.ID, types.AccountBits)
	pd.field(g.Model.ID, types.ModelBits)
	pd.field(g.FeeRaw, int(types.Fee16.Bits()))
	return r, Out{Pubdata: pd.done(), FeeToken: o.QuoteToken, Fee: fee}, nil
}

// The credit and revenue members' columns in Batch.
var (
	buyCreditsColumn    = column("BuyCredits", func(c *Batch) *[]BuyCredits { return &c.BuyCredits }, NewBuyCredits, nil, paramless(AssignBuyCredits))
	redeemCreditsColumn = column("RedeemCredits", func(c *Batch) *[]RedeemCredits { return &c.RedeemCredits }, NewRedeemCredits, nil, paramless(AssignRedeemCredits))
	claimRevenueColumn  = column("ClaimRevenue", func(c *Batch) *[]ClaimRevenue { return &c.ClaimRevenue }, NewClaimRevenue, nil, paramless(AssignClaimRevenue))
)
