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

// The update gadgets are the circuit twin of state.VerifyWitness: they replay
// a transaction's leaf updates, grouped per account, recomputing every leaf
// from its fields and chaining every old path to the running root. A
// transaction's circuit is a ModelUpdate (when its kind touches a model) and
// one AccountUpdate per account it touches, in the order of state.Shape.
// Kind logic (balances, fees, signatures) constrains the fields on top.

// BalanceUpdate moves one balance leaf.
type BalanceUpdate struct {
	Token    frontend.Variable
	Old, New frontend.Variable
	Siblings []frontend.Variable
	Depth    int `gnark:"-"` // tree depth in bits; set by the shape (NewAccountUpdate)
}

// SlotUpdate moves one order-slot leaf.
type SlotUpdate struct {
	Slot     frontend.Variable
	Old, New SlotVars
	Siblings []frontend.Variable
	Depth    int `gnark:"-"`
}

// PositionUpdate moves one position leaf, after its order slots.
type PositionUpdate struct {
	Model        frontend.Variable
	Old, New     PositionVars
	OldOrderRoot frontend.Variable
	Siblings     []frontend.Variable
	Slots        []SlotUpdate
	Depth        int `gnark:"-"`
}

// AccountUpdate moves one account leaf after its balance and position
// sub-updates; an account read is an AccountUpdate with New = Old and no
// sub-updates.
type AccountUpdate struct {
	ID                              frontend.Variable
	Old, New                        AccountVars
	OldBalanceRoot, OldPositionRoot frontend.Variable
	Siblings                        []frontend.Variable
	Balances                        []BalanceUpdate
	Positions                       []PositionUpdate
	Depth                           int `gnark:"-"`
}

// ModelUpdate moves (or, with New = Old, reads) one model leaf.
type ModelUpdate struct {
	ID       frontend.Variable
	Old, New ModelVars
	Siblings []frontend.Variable
	Depth    int `gnark:"-"`
}

// Apply checks the update against accountRoot and returns the new root.
func (u *AccountUpdate) Apply(api frontend.API, h *Hasher, accountRoot frontend.Variable) frontend.Variable {
	bal := u.OldBalanceRoot
	for i := range u.Balances {
		b := &u.Balances[i]
		o, n := PathUpdate(api, h, b.Token, b.Depth, b.Siblings, BalanceLeaf(api, Read, b.Old), BalanceLeaf(api, Write, b.New))
		api.AssertIsEqual(o, bal)
		bal = n
	}
	pos := u.OldPositionRoot
	for i := range u.Positions {
		p := &u.Positions[i]
		orders := p.OldOrderRoot
		for j := range p.Slots {
			s := &p.Slots[j]
			o, n := PathUpdate(api, h, s.Slot, s.Depth, s.Siblings, SlotLeaf(api, s.Old), SlotLeaf(api, s.New))
			api.AssertIsEqual(o, orders)
			orders = n
		}
		o, n := PathUpdate(api, h, p.Model, p.Depth, p.Siblings, PositionLeaf(api, h, Read, p.Old, p.OldOrderRoot), PositionLeaf(api, h, Write, p.New, orders))
		api.AssertIsEqual(o, pos)
		pos = n
	}
	o, n := PathUpdate(api, h, u.ID, u.Depth, u.Siblings,
		AccountLeaf(api, h, Read, u.Old, u.OldBalanceRoot, u.OldPositionRoot), AccountLeaf(api, h, Write, u.New, bal, pos))
	api.AssertIsEqual(o, accountRoot)
	return n
}

// Apply checks the update against modelRoot and returns the new root.
func (u *ModelUpdate) Apply(api frontend.API, h *Hasher, modelRoot frontend.Variable) frontend.Variable {
	o, n := PathUpdate(api, h, u.ID, u.Depth, u.Siblings, ModelLeaf(api, h, Read, u.Old), ModelLeaf(api, h, Write, u.New))
	api.AssertIsEqual(o, modelRoot)
	return n
}

// ---- shapes and assignment from native witnesses ----

// AccountShape is the static shape of an AccountUpdate: how many balance
// updates, and the slot count of each position update.
type AccountShape struct {
	Balances int
	Slots    []int // one entry per position update
}

// NewAccountUpdate allocates an AccountUpdate of a shape (for circuit definitions).
func NewAccountUpdate(p types.Params, s AccountShape) AccountUpdate {
	u := AccountUpdate{Siblings: path(p.AccountDepth), Depth: p.AccountDepth}
	for i := 0; i < s.Balances; i++ {
		u.Balances = append(u.Balances, BalanceUpdate{Siblings: path(p.BalanceDepth), Depth: p.BalanceDepth})
	}
	for _, n := range s.Slots {
		pu := PositionUpdate{Siblings: path(p.ModelDepth), Depth: p.ModelDepth}
		for j := 0; j < n; j++ {
			pu.Slots = append(pu.Slots, SlotUpdate{Siblings: path(p.OrderDepth), Depth: p.OrderDepth})
		}
		u.Positions = append(u.Positions, pu)
	}
	return u
}

// NewModelUpdate allocates a ModelUpdate.
func NewModelUpdate(p types.Params) ModelUpdate {
	return ModelUpdate{Siblings: path(p.ModelDepth), Depth: p.ModelDepth}
}

// path allocates the siblings of a tree of depth bits: three per 4-ary level.
func path(depth int) []frontend.Variable { return make([]frontend.Variable, smt.SiblingCount(depth)) }

// Shape returns the per-account shapes of a witness and whether it touches a model.
func Shape(w *state.TxWitness) (model bool, accounts []AccountShape) {
	cur := AccountShape{}
	slots := 0
	for _, u := range w.Updates {
		switch u.Tree {
		case state.TreeModels:
			model = true
		case state.TreeBalances:
			cur.Balances++
		case state.TreeOrders:
			slots++
		case state.TreePositions:
			cur.Slots = append(cur.Slots, slots)
			slots = 0
		case state.TreeAccounts:
			accounts = append(accounts, cur)
			cur = AccountShape{}
		}
	}
	return model, accounts
}

func vars(xs []fr.Element) []frontend.Variable {
	out := make([]frontend.Variable, len(xs))
	for i, x := range xs {
		out[i] = x
	}
	return out
}

// Assign fills model and account updates from a native witness whose shape
// matches (see Shape). It is how the prover turns a sealed batch into
// circuit inputs.
func Assign(w *state.TxWitness) (*ModelUpdate, []AccountUpdate, error) {
	var model *ModelUpdate
	var accounts []AccountUpdate
	cur := AccountUpdate{}
	var slots []SlotUpdate
	for i := range w.Updates {
		u := &w.Updates[i]
		switch u.Tree {
		case state.TreeModels:
			om, ok1 := u.OldData.(*state.Model)
			nm, ok2 := u.NewData.(*state.Model)
			if !ok1 || !ok2 {
				return nil, nil, fmt.Errorf("circuits: update %d: model preimage missing", i)
			}
			model = &ModelUpdate{ID: u.Index, Old: AssignModel(om), New: AssignModel(nm), Siblings: vars(u.Siblings)}
		case state.TreeBalances:
			ob, ok1 := u.OldData.(*uint256.Int)
			nb, ok2 := u.NewData.(*uint256.Int)
			if !ok1 || !ok2 {
				return nil, nil, fmt.Errorf("circuits: update %d: balance preimage missing", i)
			}
			cur.Balances = append(cur.Balances, BalanceUpdate{Token: u.Index, Old: ob.ToBig(), New: nb.ToBig(), Siblings: vars(u.Siblings)})
		case state.TreeOrders:
			os, ok1 := u.OldData.(state.OrderSlot)
			ns, ok2 := u.NewData.(state.OrderSlot)
			if !ok1 || !ok2 {
				return nil, nil, fmt.Errorf("circuits: update %d: slot preimage missing", i)
			}
			slots = append(slots, SlotUpdate{Slot: u.Index, Old: AssignSlot(os), New: AssignSlot(ns), Siblings: vars(u.Siblings)})
		case state.TreePositions:
			op, ok1 := u.OldData.(*state.Position)
			np, ok2 := u.NewData.(*state.Position)
			if !ok1 || !ok2 || len(u.OldSub) != 1 {
				return nil, nil, fmt.Errorf("circuits: update %d: position preimage missing", i)
			}
			cur.Positions = append(cur.Positions, PositionUpdate{Model: u.Index, Old: AssignPosition(op), New: AssignPosition(np),
				OldOrderRoot: u.OldSub[0], Siblings: vars(u.Siblings), Slots: slots})
			slots = nil
		case state.TreeAccounts:
			oa, ok1 := u.OldData.(*state.Account)
			na, ok2 := u.NewData.(*state.Account)
			if !ok1 || !ok2 || len(u.OldSub) != 2 {
				return nil, nil, fmt.Errorf("circuits: update %d: account preimage missing", i)
			}
			cur.ID, cur.Old, cur.New = u.Index, AssignAccount(oa), AssignAccount(na)
			cur.OldBalanceRoot, cur.OldPositionRoot, cur.Siblings = u.OldSub[0], u.OldSub[1], vars(u.Siblings)
			accounts = append(accounts, cur)
			cur = AccountUpdate{}
		}
	}
	return model, accounts, nil
}
