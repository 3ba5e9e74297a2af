package circuits

import (
	"fmt"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark/frontend"
	"github.com/holiman/uint256"

	"github.com/modex/modex/state"
	"github.com/modex/modex/state/smt"
	"github.com/modex/modex/types"
)

// Model-admin kinds (docs/protocol.md §5.5–5.7): CreateModel, MintShares,
// SetModelParams. Each is one model update followed by the signer's account
// update (state.Shape), the fee paid in the model's quote token.

// ---- helpers shared by the model and credit kinds (md prefix: this file's owner) ----

// mdField names a model-leaf field, for "every other field unchanged" rules.
type mdField int

const (
	mdDAO mdField = iota
	mdQuote
	mdBps
	mdSupply
	mdMaxSupply
	mdAcc
	mdCarry
	mdPrice
	mdTreasury
	mdWeights
	mdMetadata
	mdFieldCount
)

func mdFieldsOf(m *ModelVars) [mdFieldCount]frontend.Variable {
	return [mdFieldCount]frontend.Variable{m.DAO, m.QuoteToken, m.HolderBps, m.Supply, m.MaxSupply,
		m.Acc, m.Carry, m.CreditPrice, m.Treasury, m.Weights, m.Metadata}
}

// mdAssertModelKept asserts every model field but the listed ones is unchanged.
func mdAssertModelKept(api frontend.API, o, n ModelVars, changed ...mdField) {
	of, nf := mdFieldsOf(&o), mdFieldsOf(&n)
	skip := map[mdField]bool{}
	for _, c := range changed {
		skip[c] = true
	}
	for i := mdField(0); i < mdFieldCount; i++ {
		if !skip[i] {
			api.AssertIsEqual(nf[i], of[i])
		}
	}
}

// mdAssertModelExists asserts the model slot holds a model (supply > 0,
// docs/protocol.md §3.5): ErrModelNotFound.
func mdAssertModelExists(api frontend.API, m ModelVars) { api.AssertIsDifferent(m.Supply, 0) }

// mdBindLeaves binds the account's sub-updates to the model: its position
// update (if any) is the model's, its balance update is the quote token.
func mdBindLeaves(api frontend.API, m *ModelUpdate, a *AccountUpdate, quote frontend.Variable) {
	for i := range a.Positions {
		api.AssertIsEqual(a.Positions[i].Model, m.ID)
	}
	for i := range a.Balances {
		api.AssertIsEqual(a.Balances[i].Token, quote)
	}
}

// mdAssertBpsValid asserts bps <= 10,000 (ErrBadBps) for bps already
// range-checked to 14 bits by its model leaf.
func mdAssertBpsValid(api frontend.API, bps frontend.Variable) {
	AssertLessOrEqual(api, bps, types.BpsDenominator, types.BpsBits)
}

// mdModelTxShape is the account shape of the model kinds that touch a
// position: one balance (the quote token) and one position without slots.
var mdModelTxShape = AccountShape{Balances: 1, Slots: []int{0}}

// mdAssignModelTx splits a native witness of shape (model, account...) into
// its model update and its single account update, and decodes fee and signature.
func mdAssignModelTx(w *state.TxWitness, fee *uint256.Int, sig types.Signature, positions int) (ModelUpdate, AccountUpdate, uint64, SigVars, error) {
	m, accts, err := Assign(w)
	if err != nil {
		return ModelUpdate{}, AccountUpdate{}, 0, SigVars{}, err
	}
	if m == nil || len(accts) != 1 {
		return ModelUpdate{}, AccountUpdate{}, 0, SigVars{}, fmt.Errorf("circuits: %s witness without one model and one account", w.Tx.Kind())
	}
	if len(accts[0].Balances) != 1 || len(accts[0].Positions) != positions {
		return ModelUpdate{}, AccountUpdate{}, 0, SigVars{}, fmt.Errorf("circuits: %s witness of another shape", w.Tx.Kind())
	}
	raw, err := types.Fee16.Encode(fee)
	if err != nil {
		return ModelUpdate{}, AccountUpdate{}, 0, SigVars{}, err
	}
	s, err := AssignSignature(sig)
	if err != nil {
		return ModelUpdate{}, AccountUpdate{}, 0, SigVars{}, err
	}
	return *m, accts[0], raw, s, nil
}

// mdEmptyOrderRoot is the root of an empty order tree (docs/protocol.md §3.6).
func mdEmptyOrderRoot(p types.Params) fr.Element {
	return smt.New([]byte("md-empty-orders"), p.OrderDepth, fr.Element{}).EmptyRoot()
}

// ---- CreateModel (§5.5) ----

// CreateModel registers a model: the slot must be the empty model, the new
// model's fields come from the transaction (all signed and published), the
// signer becomes the DAO and its empty position receives the initial supply.
// The transaction's fields are the new model leaf's: no separate inputs.
type CreateModel struct {
	Model  ModelUpdate
	Acct   AccountUpdate
	FeeRaw frontend.Variable // Fee16
	Sig    SigVars
}

// NewCreateModel allocates the gadget's shape.
func NewCreateModel(p types.Params) CreateModel {
	return CreateModel{Model: NewModelUpdate(p), Acct: NewAccountUpdate(p, mdModelTxShape)}
}

// AssignCreateModel fills the gadget from a native CreateModel and its witness.
func AssignCreateModel(tx *types.CreateModel, w *state.TxWitness) (CreateModel, error) {
	m, a, fee, sig, err := mdAssignModelTx(w, &tx.Fee, tx.Signature, 1)
	if err != nil {
		return CreateModel{}, err
	}
	return CreateModel{Model: m, Acct: a, FeeRaw: fee, Sig: sig}, nil
}

// Apply constrains the model creation and returns the new roots.
func (g *CreateModel) Apply(e Env, r Roots) (Roots, Out, error) {
	api := e.API
	o, n := g.Model.Old, g.Model.New
	fee := DecodeFloat(api, g.FeeRaw, types.Fee16)
	// ErrModelExists: the slot holds the empty model, every field zero (a model
	// exists iff supply > 0, and models are never deleted, so a free slot is all zero)
	for _, f := range mdFieldsOf(&o) {
		api.AssertIsEqual(f, 0)
	}
	// the new model: DAO = signer, no revenue yet
	api.AssertIsEqual(n.DAO, g.Acct.ID)
	api.AssertIsEqual(n.Acc, 0)
	api.AssertIsEqual(n.Carry, 0)
	api.AssertIsEqual(n.Treasury, 0)
	api.AssertIsDifferent(n.Supply, 0)                             // ErrZeroSupply
	AssertLessOrEqual(api, n.Supply, n.MaxSupply, types.ShareBits) // ErrSupplyCap (both 64-bit leaf fields)
	mdAssertBpsValid(api, n.HolderBps)                             // ErrBadBps; price < 2^96 by the leaf
	mdBindLeaves(api, &g.Model, &g.Acct, n.QuoteToken)             // quote token in range: the balance path's index bits

	// the DAO's position: empty before, the initial supply after
	pos := &g.Acct.Positions[0]
	for _, f := range []frontend.Variable{pos.Old.Shares, pos.Old.Credits, pos.Old.LastAcc, pos.Old.Pending} {
		api.AssertIsEqual(f, 0)
	}
	api.AssertIsEqual(pos.OldOrderRoot, mdEmptyOrderRoot(e.P))
	api.AssertIsEqual(pos.New.Shares, n.Supply)
	api.AssertIsEqual(pos.New.Credits, 0)
	api.AssertIsEqual(pos.New.LastAcc, 0)
	api.AssertIsEqual(pos.New.Pending, 0)

	bal := &g.Acct.Balances[0]
	api.AssertIsEqual(bal.New, api.Sub(bal.Old, fee)) // ErrInsufficientFunds: the new leaf is 96-bit

	words := MessageWords(api, Field{int(types.KindCreateModel), 8}, Field{g.Acct.ID, types.AccountBits},
		Field{g.Model.ID, types.ModelBits}, Field{n.QuoteToken, types.BaseAssetBits}, Field{g.Acct.Old.Nonce, types.NonceBits},
		Field{n.HolderBps, types.BpsBits}, Field{n.Supply, types.ShareBits}, Field{n.MaxSupply, types.ShareBits},
		Field{n.CreditPrice, types.AmountBits}, Field{fee, types.AmountBits}, Field{n.Weights, 0}, Field{n.Metadata, 0})
	if err := signedBy(e, &g.Acct, g.Sig, MessageHash(e.H, e.Domain, words)); err != nil {
		return r, Out{}, err
	}
	r.Model = g.Model.Apply(api, e.H, r.Model)
	r.Account = g.Acct.Apply(api, e.H, r.Account)

	pd := newPubdata(api, types.KindCreateModel)
	pd.field(g.Acct.ID, types.AccountBits)
	pd.field(g.Model.ID, types.ModelBits)
	pd.field(n.QuoteToken, types.BaseAssetBits)
	pd.field(n.HolderBps, types.BpsBits)
	pd.field(n.Supply, types.ShareBits)
	pd.field(n.MaxSupply, types.ShareBits)
	pd.field(n.CreditPrice, types.AmountBits)
	pd.field(g.FeeRaw, int(types.Fee16.Bits()))
	pd.field(n.Weights, 256)
	pd.field(n.Metadata, 256)
	return r, Out{Pubdata: pd.done(), FeeToken: n.QuoteToken, Fee: fee}, nil
}

// ---- MintShares (§5.6) ----

// MintShares issues Amount new shares to the model's DAO, up to the cap; the
// DAO's position settles first.
type MintShares struct {
	Model  ModelUpdate
	Acct   AccountUpdate
	Amount frontend.Variable // 64 bits
	FeeRaw frontend.Variable // Fee16
	Sig    SigVars
}

// NewMintShares allocates the gadget's shape.
func NewMintShares(p types.Params) MintShares {
	return MintShares{Model: NewModelUpdate(p), Acct: NewAccountUpdate(p, mdModelTxShape)}
}

// AssignMintShares fills the gadget from a native MintShares and its witness.
func AssignMintShares(tx *types.MintShares, w *state.TxWitness) (MintShares, error) {
	m, a, fee, sig, err := mdAssignModelTx(w, &tx.Fee, tx.Signature, 1)
	if err != nil {
		return MintShares{}, err
	}
	return MintShares{Model: m, Acct: a, Amount: tx.Amount, FeeRaw: fee, Sig: sig}, nil
}

// Apply constrains the mint and returns the new roots.
func (g *MintShares) Apply(e Env, r Roots) (Roots, Out, error) {
	api := e.API
	o, n := g.Model.Old, g.Model.New
	fee := DecodeFloat(api, g.FeeRaw, types.Fee16)
	mdAssertModelExists(api, o)
	api.AssertIsEqual(o.DAO, g.Acct.ID) // ErrNotModelDAO
	api.AssertIsDifferent(g.Amount, 0)  // ErrZeroAmount
	// supply + amount <= maxSupply (ErrSupplyCap): amount is 64-bit (message),
	// the new supply and the cap are 64-bit leaf fields
	api.AssertIsEqual(n.Supply, api.Add(o.Supply, g.Amount))
	AssertLessOrEqual(api, n.Supply, o.MaxSupply, types.ShareBits)
	mdAssertModelKept(api, o, n, mdSupply)
	mdBindLeaves(api, &g.Model, &g.Acct, o.QuoteToken)

	pos := &g.Acct.Positions[0]
	owed := Settle(api, pos.Old.Shares, pos.Old.LastAcc, pos.Old.Pending, o.Acc) // before the share count changes
	api.AssertIsEqual(pos.New.Pending, owed)
	api.AssertIsEqual(pos.New.LastAcc, o.Acc)
	api.AssertIsEqual(pos.New.Shares, api.Add(pos.Old.Shares, g.Amount))
	api.AssertIsEqual(pos.New.Credits, pos.Old.Credits)

	bal := &g.Acct.Balances[0]
	api.AssertIsEqual(bal.New, api.Sub(bal.Old, fee)) // ErrInsufficientFunds

	words := MessageWords(api, Field{int(types.KindMintShares), 8}, Field{g.Acct.ID, types.AccountBits},
		Field{g.Model.ID, types.ModelBits}, Field{g.Acct.Old.Nonce, types.NonceBits}, Field{g.Amount, types.ShareBits},
		Field{fee, types.AmountBits})
	if err := signedBy(e, &g.Acct, g.Sig, MessageHash(e.H, e.Domain, words)); err != nil {
		return r, Out{}, err
	}
	r.Model = g.Model.Apply(api, e.H, r.Model)
	r.Account = g.Acct.Apply(api, e.H, r.Account)

	pd := newPubdata(api, types.KindMintShares)
	pd.field(g.Model.ID, types.ModelBits)
	pd.field(g.Amount, types.ShareBits)
	pd.field(g.FeeRaw, int(types.Fee16.Bits()))
	return r, Out{Pubdata: pd.done(), FeeToken: o.QuoteToken, Fee: fee}, nil
}

// ---- SetModelParams (§5.7) ----

// SetModelParams changes a model's credit price and holders' share; only the
// DAO may, and every other model field stays. The new values are the new
// model leaf's fields (signed and published).
type SetModelParams struct {
	Model  ModelUpdate
	Acct   AccountUpdate
	FeeRaw frontend.Variable // Fee16
	Sig    SigVars
}

// NewSetModelParams allocates the gadget's shape.
func NewSetModelParams(p types.Params) SetModelParams {
	return SetModelParams{Model: NewModelUpdate(p), Acct: NewAccountUpdate(p, AccountShape{Balances: 1})}
}

// AssignSetModelParams fills the gadget from a native SetModelParams and its witness.
func AssignSetModelParams(tx *types.SetModelParams, w *state.TxWitness) (SetModelParams, error) {
	m, a, fee, sig, err := mdAssignModelTx(w, &tx.Fee, tx.Signature, 0)
	if err != nil {
		return SetModelParams{}, err
	}
	return SetModelParams{Model: m, Acct: a, FeeRaw: fee, Sig: sig}, nil
}

// Apply constrains the parameter change and returns the new roots.
func (g *SetModelParams) Apply(e Env, r Roots) (Roots, Out, error) {
	api := e.API
	o, n := g.Model.Old, g.Model.New
	fee := DecodeFloat(api, g.FeeRaw, types.Fee16)
	mdAssertModelExists(api, o)
	api.AssertIsEqual(o.DAO, g.Acct.ID)          // ErrNotModelDAO
	mdAssertBpsValid(api, n.HolderBps)           // ErrBadBps; price < 2^96 by the new leaf
	mdAssertModelKept(api, o, n, mdPrice, mdBps) // weights, quote token, cap … immutable
	mdBindLeaves(api, &g.Model, &g.Acct, o.QuoteToken)

	bal := &g.Acct.Balances[0]
	api.AssertIsEqual(bal.New, api.Sub(bal.Old, fee)) // ErrInsufficientFunds

	words := MessageWords(api, Field{int(types.KindSetModelParams), 8}, Field{g.Acct.ID, types.AccountBits},
		Field{g.Model.ID, types.ModelBits}, Field{g.Acct.Old.Nonce, types.NonceBits}, Field{n.HolderBps, types.BpsBits},
		Field{n.CreditPrice, types.AmountBits}, Field{fee, types.AmountBits})
	if err := signedBy(e, &g.Acct, g.Sig, MessageHash(e.H, e.Domain, words)); err != nil {
		return r, Out{}, err
	}
	r.Model = g.Model.Apply(api, e.H, r.Model)
	r.Account = g.Acct.Apply(api, e.H, r.Account)

	pd := newPubdata(api, types.KindSetModelParams)
	pd.field(g.Model.ID, types.ModelBits)
	pd.field(n.HolderBps, types.BpsBits)
	pd.field(n.CreditPrice, types.AmountBits)
	pd.field(g.FeeRaw, int(types.Fee16.Bits()))
	return r, Out{Pubdata: pd.done(), FeeToken: o.QuoteToken, Fee: fee}, nil
}

// The model-admin members' columns in Batch.
var (
	createModelColumn    = column("CreateModel", func(c *Batch) *[]CreateModel { return &c.CreateModel }, NewCreateModel, nil, paramless(AssignCreateModel))
	mintSharesColumn     = column("MintShares", func(c *Batch) *[]MintShares { return &c.MintShares }, NewMintShares, nil, paramless(AssignMintShares))
	setModelParamsColumn = column("SetModelParams", func(c *Batch) *[]SetModelParams { return &c.SetModelParams }, NewSetModelParams, nil, paramless(AssignSetModelParams))
)
