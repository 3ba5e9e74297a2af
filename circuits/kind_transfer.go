package circuits

import (
	"fmt"

	"github.com/consensys/gnark/frontend"

	"github.com/modex/modex/state"
	"github.com/modex/modex/types"
)

// TransferBase is a Transfer of a base token (docs/protocol.md §5.2): the fee
// is in the same token. Updates: From (one balance), To (one balance).
type TransferBase struct {
	From, To  AccountUpdate
	Token     frontend.Variable
	AmountRaw frontend.Variable // Amount38, as in pubdata
	FeeRaw    frontend.Variable // Fee16
	Sig       SigVars
}

// NewTransferBase allocates the gadget's shape.
func NewTransferBase(p types.Params) TransferBase {
	s := AccountShape{Balances: 1}
	return TransferBase{From: NewAccountUpdate(p, s), To: NewAccountUpdate(p, s)}
}

// AssignTransferBase fills the gadget from a native transfer and its witness.
func AssignTransferBase(tx *types.Transfer, w *state.TxWitness) (TransferBase, error) {
	var g TransferBase
	if tx.Asset.Kind() != types.AssetBase {
		return g, fmt.Errorf("circuits: transfer of %v is not a base-token transfer", tx.Asset)
	}
	_, accts, err := Assign(w)
	if err != nil {
		return g, err
	}
	if len(accts) != 2 {
		return g, fmt.Errorf("circuits: base transfer witness with %d accounts", len(accts))
	}
	amt, fee, sig, err := assignTransferFields(tx)
	if err != nil {
		return g, err
	}
	return TransferBase{From: accts[0], To: accts[1], Token: tx.Asset.Index(), AmountRaw: amt, FeeRaw: fee, Sig: sig}, nil
}

// assignTransferFields gives a transfer's packed amount and fee (as in
// pubdata) and its signature, for both transfer gadgets.
func assignTransferFields(tx *types.Transfer) (amount, fee uint64, sig SigVars, err error) {
	if amount, err = types.Amount38.Encode(&tx.Amount); err != nil {
		return
	}
	if fee, err = types.Fee16.Encode(&tx.Fee); err != nil {
		return
	}
	sig, err = AssignSignature(tx.Signature)
	return
}

// Apply constrains the transfer and returns the new roots.
func (g *TransferBase) Apply(e Env, r Roots) (Roots, Out, error) {
	api := e.API
	amount := DecodeFloat(api, g.AmountRaw, types.Amount38)
	fee := DecodeFloat(api, g.FeeRaw, types.Fee16)
	api.AssertIsDifferent(amount, 0)          // ErrZeroAmount
	api.AssertIsDifferent(g.From.ID, g.To.ID) // ErrSelfTransfer
	from, to := &g.From.Balances[0], &g.To.Balances[0]
	api.AssertIsEqual(from.Token, g.Token)
	api.AssertIsEqual(to.Token, g.Token)
	// balances: the new leaves are range-checked to 96 bits, so a debit past
	// zero (a field wrap-around) or a credit past 2^96 cannot be proven
	api.AssertIsEqual(from.New, api.Sub(from.Old, amount, fee)) // ErrInsufficientFunds
	api.AssertIsEqual(to.New, api.Add(to.Old, amount))          // ErrBalanceOverflow
	assertUnchangedAccount(api, g.To.Old, g.To.New)
	assertExists(api, g.To.Old) // ErrAccountNotFound: transfers never create accounts

	words := MessageWords(api, Field{int(types.KindTransfer), 8}, Field{g.From.ID, types.AccountBits},
		Field{g.To.ID, types.AccountBits}, Field{g.Token, types.AssetBits}, Field{g.From.Old.Nonce, types.NonceBits},
		Field{amount, types.AmountBits}, Field{fee, types.AmountBits})
	if err := signedBy(e, &g.From, g.Sig, MessageHash(e.H, e.Domain, words)); err != nil {
		return r, Out{}, err
	}
	r.Account = g.From.Apply(api, e.H, r.Account)
	r.Account = g.To.Apply(api, e.H, r.Account)

	pd := newPubdata(api, types.KindTransfer)
	pd.field(g.From.ID, types.AccountBits)
	pd.field(g.To.ID, types.AccountBits)
	pd.field(g.Token, types.AssetBits) // kind 0 (base) in the top bits
	pd.field(g.AmountRaw, int(types.Amount38.Bits()))
	pd.field(g.FeeRaw, int(types.Fee16.Bits()))
	return r, Out{Pubdata: pd.done(), FeeToken: g.Token, Fee: fee}, nil
}

// transferOfBase reports whether a transfer moves a base token (gadget
// TransferBase) rather than a position (gadget TransferPosition).
func transferOfBase(_ types.Params, tx *types.Transfer) bool {
	return tx.Asset.Kind() == types.AssetBase
}

// transferBaseColumn is the TransferBase member's column in Batch: the
// transfers of base tokens.
var transferBaseColumn = column("TransferBase", func(c *Batch) *[]TransferBase { return &c.TransferBase }, NewTransferBase,
	transferOfBase, paramless(AssignTransferBase))
