package circuits

import (
	"fmt"

	"github.com/consensys/gnark/frontend"

	"github.com/modex/modex/state"
	"github.com/modex/modex/types"
)

// CancelOrder closes an order slot (docs/protocol.md §5.10). Updates, in the
// order of state.Shape: Model (read), then Account with one order slot, its
// position (only the order root changes) and one balance (the quote token,
// which pays the fee).
type CancelOrder struct {
	Model   ModelUpdate
	Account AccountUpdate
	OrderID frontend.Variable // 24 bits
	FeeRaw  frontend.Variable // Fee16
	Sig     SigVars
}

// NewCancelOrder allocates the gadget's shape.
func NewCancelOrder(p types.Params) CancelOrder {
	return CancelOrder{Model: NewModelUpdate(p), Account: NewAccountUpdate(p, AccountShape{Balances: 1, Slots: []int{1}})}
}

// AssignCancelOrder fills the gadget from a native cancel and its witness.
func AssignCancelOrder(tx *types.CancelOrder, w *state.TxWitness) (CancelOrder, error) {
	var g CancelOrder
	m, accts, err := Assign(w)
	if err != nil {
		return g, err
	}
	if m == nil || len(accts) != 1 || len(accts[0].Balances) != 1 || len(accts[0].Positions) != 1 ||
		len(accts[0].Positions[0].Slots) != 1 {
		return g, fmt.Errorf("circuits: cancel-order witness of the wrong shape")
	}
	fee, err := types.Fee16.Encode(&tx.Fee)
	if err != nil {
		return g, err
	}
	sig, err := AssignSignature(tx.Signature)
	if err != nil {
		return g, err
	}
	return CancelOrder{Model: *m, Account: accts[0], OrderID: tx.OrderID, FeeRaw: fee, Sig: sig}, nil
}

// Apply constrains the cancel and returns the new roots.
func (g *CancelOrder) Apply(e Env, r Roots) (Roots, Out, error) {
	api := e.API
	if e.P.OrderDepth > types.OrderIDBits {
		return r, Out{}, fmt.Errorf("circuits: cancel: order depth %d exceeds the id width", e.P.OrderDepth)
	}
	m := trReadModel(api, e.H, &g.Model, r.Model) // ErrModelNotFound included
	fee, feeBits := DecodeFloatBits(api, g.FeeRaw, types.Fee16)
	idBits := Bits(api, g.OrderID, types.OrderIDBits)

	a := &g.Account
	pos := &a.Positions[0]
	s := &pos.Slots[0]
	api.AssertIsEqual(pos.Model, g.Model.ID)
	api.AssertIsEqual(s.Slot, api.FromBinary(idBits[:e.P.OrderDepth]...))
	// slot rule: a newer order is ErrOrderSlotTaken (both ids 24-bit, the
	// old one by its leaf); the same order already cancelled is ErrOrderClosed
	RangeCheck(api, api.Sub(g.OrderID, s.Old.OrderID), types.OrderIDBits)
	same := api.IsZero(api.Sub(g.OrderID, s.Old.OrderID))
	closed := api.IsZero(api.Sub(s.Old.Filled, trSlotClosed))
	api.AssertIsEqual(api.Mul(same, closed), 0)
	api.AssertIsEqual(s.New.OrderID, g.OrderID)
	api.AssertIsEqual(s.New.Filled, trSlotClosed)
	// the position keeps its fields: only its order root moves
	api.AssertIsEqual(pos.New.Shares, pos.Old.Shares)
	api.AssertIsEqual(pos.New.Credits, pos.Old.Credits)
	api.AssertIsEqual(pos.New.LastAcc, pos.Old.LastAcc)
	api.AssertIsEqual(pos.New.Pending, pos.Old.Pending)

	// the fee, in the model's quote token; the new balance's 96-bit range
	// check is ErrInsufficientFunds
	b := &a.Balances[0]
	api.AssertIsEqual(b.Token, m.QuoteToken)
	api.AssertIsEqual(b.New, api.Sub(b.Old, fee))

	words := MessageWords(api, Field{int(types.KindCancelOrder), 8}, Field{a.ID, types.AccountBits},
		Field{g.Model.ID, types.ModelBits}, Field{a.Old.Nonce, types.NonceBits}, Field{g.OrderID, types.OrderIDBits},
		Field{fee, types.AmountBits})
	if err := signedBy(e, a, g.Sig, MessageHash(e.H, e.Domain, words)); err != nil {
		return r, Out{}, err
	}
	r.Account = a.Apply(api, e.H, r.Account)

	pd := newPubdata(api, types.KindCancelOrder)
	pd.field(a.ID, types.AccountBits)
	pd.field(g.Model.ID, types.ModelBits)
	trAppendBits(pd, idBits)
	trAppendBits(pd, feeBits)
	return r, Out{Pubdata: pd.done(), FeeToken: m.QuoteToken, Fee: fee}, nil
}

// cancelOrderColumn is the CancelOrder member's column in Batch.
var cancelOrderColumn = column("CancelOrder", func(c *Batch) *[]CancelOrder { return &c.CancelOrder }, NewCancelOrder, nil, paramless(AssignCancelOrder))
