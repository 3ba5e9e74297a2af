package circuits

import (
	"fmt"
	"math/big"

	"github.com/consensys/gnark/frontend"

	"github.com/modex/modex/state"
	"github.com/modex/modex/types"
)

// Withdraw is a signed withdrawal of a base token to an L1 address
// (docs/protocol.md §5.3); the fee is in the same token. Updates: Acct with
// one balance (Token).
//
// Rules: amount > 0 (ErrZeroAmount); amount and fee below 2^96 (the message
// fields range-check them); the fee Fee16-canonical; balance New = Old −
// amount − fee, whose 96-bit range check refuses a debit past zero
// (ErrInsufficientFunds); the signature over the Withdraw message (which
// binds `to`) and the nonce step. The fee-book capacity and the fee
// account's headroom (§7, state.checkFeeRoom) are batch-level: the batch
// circuit checks them on Out.Fee / Out.FeeToken.
type Withdraw struct {
	Acct   AccountUpdate
	Token  frontend.Variable
	Amount frontend.Variable // 96 bits, as in pubdata
	FeeRaw frontend.Variable // Fee16
	To     frontend.Variable // L1 address, 160 bits
	Sig    SigVars
}

// NewWithdraw allocates the gadget's shape.
func NewWithdraw(p types.Params) Withdraw {
	return Withdraw{Acct: NewAccountUpdate(p, AccountShape{Balances: 1})}
}

// AssignWithdraw fills the gadget from a native withdrawal and its witness.
func AssignWithdraw(tx *types.Withdraw, w *state.TxWitness) (Withdraw, error) {
	var g Withdraw
	_, accts, err := Assign(w)
	if err != nil {
		return g, err
	}
	if len(accts) != 1 || len(accts[0].Balances) != 1 || len(accts[0].Positions) != 0 {
		return g, fmt.Errorf("circuits: withdraw witness of shape %v", dwShapeOf(accts))
	}
	fee, err := types.Fee16.Encode(&tx.Fee)
	if err != nil {
		return g, err
	}
	sig, err := AssignSignature(tx.Signature)
	if err != nil {
		return g, err
	}
	return Withdraw{Acct: accts[0], Token: tx.Token, Amount: tx.Amount.ToBig(), FeeRaw: fee,
		To: new(big.Int).SetBytes(tx.To[:]), Sig: sig}, nil
}

// Apply constrains the withdrawal and returns the new roots.
func (g *Withdraw) Apply(e Env, r Roots) (Roots, Out, error) {
	api := e.API
	u := &g.Acct
	bal := &u.Balances[0]
	fee := DecodeFloat(api, g.FeeRaw, types.Fee16)
	api.AssertIsDifferent(g.Amount, 0) // ErrZeroAmount
	api.AssertIsEqual(bal.Token, g.Token)
	// the message words range-check amount and fee to 96 bits, so old −
	// amount − fee > −2^97 and a debit past zero is a field wrap that the
	// new leaf's 96-bit range check refuses
	api.AssertIsEqual(bal.New, api.Sub(bal.Old, g.Amount, fee)) // ErrInsufficientFunds

	words := MessageWords(api, Field{int(types.KindWithdraw), 8}, Field{u.ID, types.AccountBits},
		Field{g.Token, types.BaseAssetBits}, Field{u.Old.Nonce, types.NonceBits},
		Field{g.Amount, types.AmountBits}, Field{fee, types.AmountBits}, Field{g.To, types.AddressBits})
	if err := signedBy(e, u, g.Sig, MessageHash(e.H, e.Domain, words)); err != nil {
		return r, Out{}, err
	}
	r.Account = u.Apply(api, e.H, r.Account)

	pd := newPubdata(api, types.KindWithdraw)
	pd.field(u.ID, types.AccountBits)
	pd.field(g.Token, types.BaseAssetBits)
	pd.field(g.Amount, types.AmountBits)
	pd.field(g.FeeRaw, int(types.Fee16.Bits()))
	pd.field(g.To, types.AddressBits)
	return r, Out{Pubdata: pd.done(), FeeToken: g.Token, Fee: fee}, nil
}

// ForcedWithdraw is an L1 forced withdrawal (docs/protocol.md §5.4) whose
// account and token lie inside the trees. Updates: Acct with one balance
// (Token): written when the amount is positive, reads otherwise.
//
// The amount is not the prover's choice: Amount = match · balance, where
// match is 1 exactly when the leaf holds an account (key ≠ (0, 0)) whose
// l1Address is Requester. So an operator cannot answer 0 to the owner of a
// positive balance, nor pay anything to another requester. The balance
// becomes Old − Amount (0 or unchanged) and the account leaf never changes.
//
// A request outside the trees (account ≥ 2^AccountDepth or token ≥
// 2^BalanceDepth) has no witness: it is the separate, update-free gadget
// ForcedWithdrawOutside. The batch circuit picks one of the two per step the
// way it picks a kind; ForcedWithdrawInTrees says which one a request takes.
type ForcedWithdraw struct {
	Acct      AccountUpdate
	Token     frontend.Variable
	Requester frontend.Variable // L1 address, 160 bits
	Amount    frontend.Variable // 96 bits, as in pubdata
}

// ForcedWithdrawInTrees reports whether a request names an account and a
// token inside the trees (gadget ForcedWithdraw) or not (gadget
// ForcedWithdrawOutside), as state.Shape decides.
func ForcedWithdrawInTrees(p types.Params, tx *types.ForcedWithdraw) bool {
	return uint64(tx.Account) < 1<<p.AccountDepth && uint64(tx.Token) < 1<<p.BalanceDepth
}

// NewForcedWithdraw allocates the gadget's shape.
func NewForcedWithdraw(p types.Params) ForcedWithdraw {
	return ForcedWithdraw{Acct: NewAccountUpdate(p, AccountShape{Balances: 1})}
}

// AssignForcedWithdraw fills the gadget from a native in-tree forced
// withdrawal (after Apply set Amount) and its witness.
func AssignForcedWithdraw(tx *types.ForcedWithdraw, w *state.TxWitness) (ForcedWithdraw, error) {
	var g ForcedWithdraw
	_, accts, err := Assign(w)
	if err != nil {
		return g, err
	}
	if len(accts) != 1 || len(accts[0].Balances) != 1 || len(accts[0].Positions) != 0 {
		return g, fmt.Errorf("circuits: forced-withdraw witness of shape %v (outside the trees? use ForcedWithdrawOutside)", dwShapeOf(accts))
	}
	return ForcedWithdraw{Acct: accts[0], Token: tx.Token, Requester: new(big.Int).SetBytes(tx.Requester[:]),
		Amount: tx.Amount.ToBig()}, nil
}

// Apply constrains the forced withdrawal and returns the new roots.
func (g *ForcedWithdraw) Apply(e Env, r Roots) (Roots, Out, error) {
	api := e.API
	u := &g.Acct
	bal := &u.Balances[0]
	api.AssertIsEqual(bal.Token, g.Token)

	pd := newPubdata(api, types.KindForcedWithdraw)
	pd.field(u.ID, types.AccountBits)
	pd.field(g.Token, types.BaseAssetBits)
	pd.field(g.Requester, types.AddressBits)
	pd.field(g.Amount, types.AmountBits)

	exists := api.Sub(1, api.Mul(api.IsZero(u.Old.PkX), api.IsZero(u.Old.PkY)))
	match := api.Mul(exists, api.IsZero(api.Sub(u.Old.L1Address, g.Requester)))
	api.AssertIsEqual(g.Amount, api.Mul(match, bal.Old)) // the whole balance, or 0
	api.AssertIsEqual(bal.New, api.Sub(bal.Old, g.Amount))
	assertUnchangedAccount(api, u.Old, u.New)

	r.Account = u.Apply(api, e.H, r.Account)
	return r, Out{Pubdata: pd.done(), FeeToken: 0, Fee: 0}, nil
}

// ForcedWithdrawOutside is a forced withdrawal naming an account ≥
// 2^AccountDepth or a token ≥ 2^BalanceDepth (docs/protocol.md §5.4): no
// updates, the roots pass through, and the published amount is the constant
// 0. The circuit proves the request is outside the trees from the published
// ids: a bit at or above the depth is set in the account or the token. At
// production depths (AccountDepth = 24 = the account width, BalanceDepth = 16
// = the token width) no such request exists: Apply returns an error (the
// assertion would be the constant 0 = 1), and the batch circuit leaves the
// gadget out.
type ForcedWithdrawOutside struct {
	Account, Token frontend.Variable
	Requester      frontend.Variable
}

// NewForcedWithdrawOutside allocates the gadget's shape.
func NewForcedWithdrawOutside(types.Params) ForcedWithdrawOutside { return ForcedWithdrawOutside{} }

// AssignForcedWithdrawOutside fills the gadget from a native forced
// withdrawal outside the trees (its witness has no updates).
func AssignForcedWithdrawOutside(p types.Params, tx *types.ForcedWithdraw) (ForcedWithdrawOutside, error) {
	if ForcedWithdrawInTrees(p, tx) {
		return ForcedWithdrawOutside{}, fmt.Errorf("circuits: forced withdrawal of account %d token %d is inside the trees", tx.Account, tx.Token)
	}
	return ForcedWithdrawOutside{Account: tx.Account, Token: tx.Token, Requester: new(big.Int).SetBytes(tx.Requester[:])}, nil
}

// Apply constrains the request and passes the roots through.
func (g *ForcedWithdrawOutside) Apply(e Env, r Roots) (Roots, Out, error) {
	api := e.API
	if e.P.AccountDepth >= types.AccountBits && e.P.BalanceDepth >= types.BaseAssetBits {
		return r, Out{}, fmt.Errorf("circuits: at depths %d/%d no forced withdrawal lies outside the trees", e.P.AccountDepth, e.P.BalanceDepth)
	}
	acct := Bits(api, g.Account, types.AccountBits)
	tok := Bits(api, g.Token, types.BaseAssetBits)
	var high frontend.Variable = 0
	for _, b := range acct[e.P.AccountDepth:] {
		high = api.Add(high, b)
	}
	var highTok frontend.Variable = 0
	for _, b := range tok[e.P.BalanceDepth:] {
		highTok = api.Add(highTok, b)
	}
	// inside both trees exactly when both high parts are zero
	api.AssertIsEqual(api.Mul(api.IsZero(high), api.IsZero(highTok)), 0)

	pd := newPubdata(api, types.KindForcedWithdraw)
	pd.field(g.Account, types.AccountBits)
	pd.field(g.Token, types.BaseAssetBits)
	pd.field(g.Requester, types.AddressBits)
	pd.constant(0, types.AmountBits)
	return r, Out{Pubdata: pd.done(), FeeToken: 0, Fee: 0}, nil
}

// The Withdraw, ForcedWithdraw and ForcedWithdrawOutside members' columns in
// Batch; a forced withdrawal runs in ForcedWithdraw when it names an account
// and a token inside the trees, in ForcedWithdrawOutside otherwise.
var (
	withdrawColumn = column("Withdraw", func(c *Batch) *[]Withdraw { return &c.Withdraw }, NewWithdraw,
		nil, paramless(AssignWithdraw))
	forcedWithdrawColumn = column("ForcedWithdraw", func(c *Batch) *[]ForcedWithdraw { return &c.ForcedWithdraw },
		NewForcedWithdraw, ForcedWithdrawInTrees, paramless(AssignForcedWithdraw))
	forcedWithdrawOutsideColumn = column("ForcedWithdrawOutside",
		func(c *Batch) *[]ForcedWithdrawOutside { return &c.ForcedWithdrawOutside }, NewForcedWithdrawOutside,
		func(p types.Params, tx *types.ForcedWithdraw) bool { return !ForcedWithdrawInTrees(p, tx) },
		func(p types.Params, tx *types.ForcedWithdraw, _ *state.TxWitness) (ForcedWithdrawOutside, error) {
			return AssignForcedWithdrawOutside(p, tx)
		})
)
