package circuits

import (
	"math/big"

	"github.com/consensys/gnark/frontend"
	"github.com/holiman/uint256"

	"github.com/modex/modex/state"
	"github.com/modex/modex/types"
)

// The leaf gadgets are the circuit twins of state/leaves.go (docs/protocol.md
// §3). Every small field is range-checked to its width inside the packing, so
// a leaf hash binds each field separately: no bits can move between fields
// (e.g. creditPrice + 2^96 against treasury − 1) while the hash stays the same.

// AccountVars are an account leaf's fields.
type AccountVars struct{ PkX, PkY, Nonce, L1Address frontend.Variable }

// PositionVars are a position leaf's fields.
type PositionVars struct{ Shares, Credits, LastAcc, Pending frontend.Variable }

// ModelVars are a model leaf's fields.
type ModelVars struct {
	DAO, QuoteToken, HolderBps, Supply, MaxSupply frontend.Variable
	Acc, Carry, CreditPrice, Treasury             frontend.Variable
	Weights, Metadata                             frontend.Variable
}

// SlotVars are an order-slot leaf's fields.
type SlotVars struct{ OrderID, Filled frontend.Variable }

// AccountLeaf = C(C(pkX, pkY), C(nonce + l1Address·2^32, C(balanceRoot, positionRoot))).
func AccountLeaf(api frontend.API, h *Hasher, a AccountVars, balanceRoot, positionRoot frontend.Variable) frontend.Variable {
	meta := Pack(api, Field{a.Nonce, types.NonceBits}, Field{a.L1Address, types.AddressBits})
	return h.Compress(h.Compress(a.PkX, a.PkY), h.Compress(meta, h.Compress(balanceRoot, positionRoot)))
}

// PositionLeaf = C(C(shares + credits·2^64, lastAcc), C(pending, orderRoot)).
func PositionLeaf(api frontend.API, h *Hasher, p PositionVars, orderRoot frontend.Variable) frontend.Variable {
	p1 := Pack(api, Field{p.Shares, types.ShareBits}, Field{p.Credits, types.CreditBits})
	RangeCheck(api, p.LastAcc, types.AccBits)
	RangeCheck(api, p.Pending, types.PendingBits)
	return h.Compress(h.Compress(p1, p.LastAcc), h.Compress(p.Pending, orderRoot))
}

// ModelLeaf = C(C(m1, m2), C(m3, C(weights, metadata))).
func ModelLeaf(api frontend.API, h *Hasher, m ModelVars) frontend.Variable {
	m1 := Pack(api, Field{m.DAO, types.AccountBits}, Field{m.QuoteToken, types.BaseAssetBits}, Field{m.HolderBps, types.BpsBits},
		Field{m.Supply, types.ShareBits}, Field{m.MaxSupply, types.ShareBits})
	m2 := Pack(api, Field{m.Acc, types.AccBits}, Field{m.Carry, types.ShareBits})
	m3 := Pack(api, Field{m.CreditPrice, types.AmountBits}, Field{m.Treasury, types.AmountBits})
	return h.Compress(h.Compress(m1, m2), h.Compress(m3, h.Compress(m.Weights, m.Metadata)))
}

// SlotLeaf = orderId + filled·2^24.
func SlotLeaf(api frontend.API, s SlotVars) frontend.Variable {
	return Pack(api, Field{s.OrderID, types.OrderIDBits}, Field{s.Filled, types.ShareBits})
}

// BalanceLeaf is the balance, range-checked to 96 bits.
func BalanceLeaf(api frontend.API, balance frontend.Variable) frontend.Variable {
	RangeCheck(api, balance, types.AmountBits)
	return balance
}

// ---- assignment from native values ----

func big256(x *uint256.Int) *big.Int { return x.ToBig() }

// AssignAccount gives the circuit fields of a native account.
func AssignAccount(a *state.Account) AccountVars {
	return AccountVars{PkX: a.PubKey.X, PkY: a.PubKey.Y, Nonce: a.Nonce, L1Address: new(big.Int).SetBytes(a.L1Address[:])}
}

// AssignPosition gives the circuit fields of a native position.
func AssignPosition(p *state.Position) PositionVars {
	return PositionVars{Shares: p.Shares, Credits: p.Credits, LastAcc: big256(&p.LastAcc), Pending: big256(&p.Pending)}
}

// AssignModel gives the circuit fields of a native model.
func AssignModel(m *state.Model) ModelVars {
	return ModelVars{DAO: m.DAO, QuoteToken: m.QuoteToken, HolderBps: m.HolderBps, Supply: m.Supply, MaxSupply: m.MaxSupply,
		Acc: big256(&m.Acc), Carry: big256(&m.Carry), CreditPrice: big256(&m.CreditPrice), Treasury: big256(&m.Treasury),
		Weights: m.Weights, Metadata: m.Metadata}
}

// AssignSlot gives the circuit fields of a native order slot.
func AssignSlot(s state.OrderSlot) SlotVars { return SlotVars{OrderID: s.OrderID, Filled: s.Filled} }
