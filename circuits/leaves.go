package circuits

import (
	"math/big"

	"github.com/consensys/gnark/frontend"
	"github.com/holiman/uint256"

	"github.com/modex/modex/state"
	"github.com/modex/modex/types"
)

// The leaf gadgets are the circuit twins of state/leaves.go (docs/protocol.md
// §3). Each takes a mode: a leaf the circuit writes (Write) has every field
// range-checked to its width; a leaf it reads from the state (Read, the old
// leaf of an update) has only its packed words checked. An unpacked field is
// a hash input of its own, so the leaf hash binds it to the value of the
// leaf's last write, which the circuit range-checked (by induction from the
// genesis state, whose leaves are all-zero preimages). A packed word binds its
// fields only when they are bounded (else bits move between fields, e.g.
// shares + 2^64 against credits − 1, while the word stays the same), so
// packed fields are checked on every read and write.

// Mode says whether a leaf gadget reads a stored leaf or writes a new one.
type Mode bool

const (
	Read  Mode = false // an old leaf: fields bound by the hash, packed words checked
	Write Mode = true  // a new leaf: every field range-checked
)

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

func checkIf(api frontend.API, m Mode, v frontend.Variable, bits int) {
	if m == Write {
		RangeCheck(api, v, bits)
	}
}

// AccountLeaf = C4(C4(pkX, pkY, nonce, l1Address), balanceRoot, positionRoot, 0).
func AccountLeaf(api frontend.API, h *Hasher, m Mode, a AccountVars, balanceRoot, positionRoot frontend.Variable) frontend.Variable {
	checkIf(api, m, a.Nonce, types.NonceBits)
	checkIf(api, m, a.L1Address, types.AddressBits)
	return h.Compress4(h.Compress4(a.PkX, a.PkY, a.Nonce, a.L1Address), balanceRoot, positionRoot, 0)
}

// PositionLeaf = C4(shares + credits·2^64, lastAcc, pending, orderRoot).
func PositionLeaf(api frontend.API, h *Hasher, m Mode, p PositionVars, orderRoot frontend.Variable) frontend.Variable {
	p1 := Pack(api, Field{p.Shares, types.ShareBits}, Field{p.Credits, types.CreditBits})
	checkIf(api, m, p.LastAcc, types.AccBits)
	checkIf(api, m, p.Pending, types.PendingBits)
	return h.Compress4(p1, p.LastAcc, p.Pending, orderRoot)
}

// ModelLeaf = C4(C4(m1, acc, carry, creditPrice), treasury, weights, metadata).
func ModelLeaf(api frontend.API, h *Hasher, m Mode, v ModelVars) frontend.Variable {
	m1 := Pack(api, Field{v.DAO, types.AccountBits}, Field{v.QuoteToken, types.BaseAssetBits}, Field{v.HolderBps, types.BpsBits},
		Field{v.Supply, types.ShareBits}, Field{v.MaxSupply, types.ShareBits})
	checkIf(api, m, v.Acc, types.AccBits)
	checkIf(api, m, v.Carry, types.ShareBits)
	checkIf(api, m, v.CreditPrice, types.AmountBits)
	checkIf(api, m, v.Treasury, types.AmountBits)
	return h.Compress4(h.Compress4(m1, v.Acc, v.Carry, v.CreditPrice), v.Treasury, v.Weights, v.Metadata)
}

// SlotLeaf = orderId + filled·2^24 (packed: checked on read and write).
func SlotLeaf(api frontend.API, s SlotVars) frontend.Variable {
	return Pack(api, Field{s.OrderID, types.OrderIDBits}, Field{s.Filled, types.ShareBits})
}

// BalanceLeaf is the balance, range-checked to 96 bits when written.
func BalanceLeaf(api frontend.API, m Mode, balance frontend.Variable) frontend.Variable {
	checkIf(api, m, balance, types.AmountBits)
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
