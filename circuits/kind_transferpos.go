package circuits

import (
	"fmt"

	"github.com/consensys/gnark/frontend"

	"github.com/modex/modex/state"
	"github.com/modex/modex/types"
)

// TransferPosition is a Transfer of a model's shares or credits
// (docs/protocol.md §5.2). Updates, in state.Shape's order: Model (a read:
// New = Old, every field), From with one position (no order slots) and one
// balance (the model's quote token, for the fee), To with one position.
//
// Asset is the 18-bit asset id kind·2^16 + model as signed and published;
// its kind must be 1 (shares) or 2 (credits), and its index the model.
// Shares: both positions settle with the model's acc (Settle) before the
// shares move; credits: no settlement, the positions' lastAcc and pending
// stay. The new counts are range-checked to 64 bits by the position leaves,
// so moving more than the sender holds (ErrInsufficientShares /
// ErrInsufficientCredits, a wrap below zero) or past 2^64 at the receiver
// (ErrBalanceOverflow) cannot be proven; an amount of 2^64 or more is refused
// the same way (the native precheck's ErrAmountTooLarge). The model must
// exist (supply > 0, ErrModelNotFound); the fee is paid in its quote token
// from From's balance. The fee book's rules (§7) are batch-level.
type TransferPosition struct {
	Model     ModelUpdate
	From, To  AccountUpdate
	Asset     frontend.Variable // kind·2^16 + model, 18 bits
	AmountRaw frontend.Variable // Amount38
	FeeRaw    frontend.Variable // Fee16
	Sig       SigVars
}

// NewTransferPosition allocates the gadget's shape.
func NewTransferPosition(p types.Params) TransferPosition {
	return TransferPosition{Model: NewModelUpdate(p),
		From: NewAccountUpdate(p, AccountShape{Balances: 1, Slots: []int{0}}),
		To:   NewAccountUpdate(p, AccountShape{Slots: []int{0}})}
}

// AssignTransferPosition fills the gadget from a native share or credit
// transfer and its witness.
func AssignTransferPosition(tx *types.Transfer, w *state.TxWitness) (TransferPosition, error) {
	var g TransferPosition
	if k := tx.Asset.Kind(); k != types.AssetShare && k != types.AssetCredit {
		return g, fmt.Errorf("circuits: transfer of %v is not a share or credit transfer", tx.Asset)
	}
	m, accts, err := Assign(w)
	if err != nil {
		return g, err
	}
	if m == nil || len(accts) != 2 || len(accts[0].Balances) != 1 || len(accts[0].Positions) != 1 ||
		len(accts[1].Balances) != 0 || len(accts[1].Positions) != 1 ||
		len(accts[0].Positions[0].Slots) != 0 || len(accts[1].Positions[0].Slots) != 0 {
		return g, fmt.Errorf("circuits: position transfer witness of shape %v", dwShapeOf(accts))
	}
	amt, fee, sig, err := assignTransferFields(tx)
	if err != nil {
		return g, err
	}
	return TransferPosition{Model: *m, From: accts[0], To: accts[1], Asset: uint32(tx.Asset),
		AmountRaw: amt, FeeRaw: fee, Sig: sig}, nil
}

// dwAssertModelRead asserts a model update is a read: every field unchanged.
func dwAssertModelRead(api frontend.API, o, n ModelVars) {
	api.AssertIsEqual(n.DAO, o.DAO)
	api.AssertIsEqual(n.QuoteToken, o.QuoteToken)
	api.AssertIsEqual(n.HolderBps, o.HolderBps)
	api.AssertIsEqual(n.Supply, o.Supply)
	api.AssertIsEqual(n.MaxSupply, o.MaxSupply)
	api.AssertIsEqual(n.Acc, o.Acc)
	api.AssertIsEqual(n.Carry, o.Carry)
	api.AssertIsEqual(n.CreditPrice, o.CreditPrice)
	api.AssertIsEqual(n.Treasury, o.Treasury)
	api.AssertIsEqual(n.Weights, o.Weights)
	api.AssertIsEqual(n.Metadata, o.Metadata)
}

// dwMovePosition constrains one position's move by delta (shares when
// isShares, else credits), settling first when isShares. For credits the
// settlement is neutralised (no shares, lastAcc taken as acc), so it neither
// changes the position nor adds a condition state.transfer does not have.
func dwMovePosition(api frontend.API, p *PositionUpdate, isShares, delta, acc frontend.Variable) {
	isCredits := api.Sub(1, isShares)
	lastAcc := api.Select(isShares, p.Old.LastAcc, acc)
	owed := Settle(api, api.Mul(isShares, p.Old.Shares), lastAcc, p.Old.Pending, acc) // ErrRevenueOverflow
	api.AssertIsEqual(p.New.Pending, owed)
	api.AssertIsEqual(p.New.LastAcc, api.Select(isShares, acc, p.Old.LastAcc))
	api.AssertIsEqual(p.New.Shares, api.Add(p.Old.Shares, api.Mul(isShares, delta)))
	api.AssertIsEqual(p.New.Credits, api.Add(p.Old.Credits, api.Mul(isCredits, delta)))
}

// Apply constrains the transfer and returns the new roots.
func (g *TransferPosition) Apply(e Env, r Roots) (Roots, Out, error) {
	api := e.API
	amount := DecodeFloat(api, g.AmountRaw, types.Amount38)
	fee := DecodeFloat(api, g.FeeRaw, types.Fee16)
	api.AssertIsDifferent(amount, 0)          // ErrZeroAmount
	api.AssertIsDifferent(g.From.ID, g.To.ID) // ErrSelfTransfer

	// asset = kind·2^16 + model, kind 1 (shares) or 2 (credits)
	ab := Bits(api, g.Asset, types.AssetBits)
	isShares, isCredits := ab[16], ab[17]
	api.AssertIsEqual(api.Add(isShares, isCredits), 1) // ErrAssetRange: not a base token, not kind 3
	model := api.FromBinary(ab[:16]...)

	m := &g.Model
	api.AssertIsEqual(m.ID, model) // its path bounds it to ModelDepth (ErrModelRange)
	dwAssertModelRead(api, m.Old, m.New)
	api.AssertIsDifferent(m.Old.Supply, 0) // ErrModelNotFound

	fp, tp := &g.From.Positions[0], &g.To.Positions[0]
	api.AssertIsEqual(fp.Model, model)
	api.AssertIsEqual(tp.Model, model)
	dwMovePosition(api, fp, isShares, api.Neg(amount), m.Old.Acc) // ErrInsufficientShares / Credits
	dwMovePosition(api, tp, isShares, amount, m.Old.Acc)

	// the fee, in the model's quote token
	qb := &g.From.Balances[0]
	api.AssertIsEqual(qb.Token, m.Old.QuoteToken)
	api.AssertIsEqual(qb.New, api.Sub(qb.Old, fee)) // ErrInsufficientFunds (96-bit leaf range)

	assertUnchangedAccount(api, g.To.Old, g.To.New)
	assertExists(api, g.To.Old) // ErrAccountNotFound

	words := MessageWords(api, Field{int(types.KindTransfer), 8}, Field{g.From.ID, types.AccountBits},
		Field{g.To.ID, types.AccountBits}, Field{g.Asset, types.AssetBits}, Field{g.From.Old.Nonce, types.NonceBits},
		Field{amount, types.AmountBits}, Field{fee, types.AmountBits})
	if err := signedBy(e, &g.From, g.Sig, MessageHash(e.H, e.Domain, words)); err != nil {
		return r, Out{}, err
	}
	r.Model = m.Apply(api, e.H, r.Model)
	r.Account = g.From.Apply(api, e.H, r.Account)
	r.Account = g.To.Apply(api, e.H, r.Account)

	pd := newPubdata(api, types.KindTransfer)
	pd.field(g.From.ID, types.AccountBits)
	pd.field(g.To.ID, types.AccountBits)
	pd.field(g.Asset, types.AssetBits)
	pd.field(g.AmountRaw, int(types.Amount38.Bits()))
	pd.field(g.FeeRaw, int(types.Fee16.Bits()))
	return r, Out{Pubdata: pd.done(), FeeToken: m.Old.QuoteToken, Fee: fee}, nil
}

// transferPositionColumn is the TransferPosition member's column in Batch:
// the transfers of anything but base tokens.
var transferPositionColumn = column("TransferPosition", func(c *Batch) *[]TransferPosition { return &c.TransferPosition },
	NewTransferPosition, func(p types.Params, tx *types.Transfer) bool { return !transferOfBase(p, tx) },
	paramless(AssignTransferPosition))
