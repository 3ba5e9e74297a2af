package state

import (
	"fmt"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/holiman/uint256"

	"github.com/modex/modex/state/smt"
	"github.com/modex/modex/types"
)

// VerifyWitness replays a transaction's witness the way the batch circuit
// does: the updates follow the transaction's §5 sequence (Shape), every leaf hash is recomputed from its preimage and subtree roots,
// every old path must reproduce the running root of its tree, the new path
// (same siblings) gives the next root, a parent leaf must commit to exactly the
// subtree roots its children produced, and the final roots must give
// RootAfter. It is the native twin of the circuit's update gadget and the
// reference the differential tests hold the circuit to.
func VerifyWitness(p types.Params, w *TxWitness) error {
	if err := checkShape(p, w); err != nil {
		return err
	}
	if err := checkOutcome(w); err != nil {
		return err
	}
	if types.Compress(w.AccountRoot, w.ModelRoot) != w.RootBefore {
		return fmt.Errorf("witness: root halves do not hash to the root before")
	}
	roots := map[TreeKind]fr.Element{TreeAccounts: w.AccountRoot, TreeModels: w.ModelRoot}
	type subState struct{ first, cur fr.Element }
	subs := map[subKey]*subState{}
	depth := map[TreeKind]int{TreeAccounts: p.AccountDepth, TreeModels: p.ModelDepth, TreeBalances: p.BalanceDepth,
		TreePositions: p.ModelDepth, TreeOrders: p.OrderDepth}

	// parentCheck verifies a parent leaf's committed subtree roots against
	// the updates of that subtree, then forgets them.
	parentCheck := func(u *LeafUpdate, i int, k subKey) error {
		if len(u.OldSub) <= i || len(u.NewSub) <= i {
			return fmt.Errorf("witness: missing subtree root %d", i)
		}
		st, touched := subs[k]
		if !touched {
			if u.OldSub[i] != u.NewSub[i] {
				return fmt.Errorf("witness: subtree %v of account %d changed with no update", k.tree, k.account)
			}
			return nil
		}
		if u.OldSub[i] != st.first || u.NewSub[i] != st.cur {
			return fmt.Errorf("witness: parent leaf does not commit to subtree %v of account %d", k.tree, k.account)
		}
		delete(subs, k)
		return nil
	}

	for n := range w.Updates {
		u := &w.Updates[n]
		if len(u.Siblings) != smt.SiblingCount(depth[u.Tree]) || u.Index >= 1<<depth[u.Tree] {
			return fmt.Errorf("witness: update %d: path of %d siblings, index %d, depth %d", n, len(u.Siblings), u.Index, depth[u.Tree])
		}
		oldLeaf, err := leafHash(u.Tree, u.OldData, u.OldSub)
		if err != nil {
			return fmt.Errorf("witness: update %d: %w", n, err)
		}
		newLeaf, err := leafHash(u.Tree, u.NewData, u.NewSub)
		if err != nil {
			return fmt.Errorf("witness: update %d: %w", n, err)
		}
		if oldLeaf != u.Old || newLeaf != u.New {
			return fmt.Errorf("witness: update %d (%v): leaf not bound to its fields", n, u.Tree)
		}
		oldRoot := smt.Proof{Index: u.Index, Leaf: u.Old, Siblings: u.Siblings}.ComputeRoot()
		newRoot := smt.Proof{Index: u.Index, Leaf: u.New, Siblings: u.Siblings}.ComputeRoot()
		switch u.Tree {
		case TreeAccounts, TreeModels:
			if (u.Tree == TreeAccounts && u.Index != uint64(u.Account)) || (u.Tree == TreeModels && u.Index != uint64(u.Model)) {
				return fmt.Errorf("witness: update %d: index %d disagrees with its id", n, u.Index)
			}
			if oldRoot != roots[u.Tree] {
				return fmt.Errorf("witness: update %d (%v): old path does not reach the current root", n, u.Tree)
			}
			roots[u.Tree] = newRoot
			if u.Tree == TreeAccounts {
				if err := parentCheck(u, 0, subKey{TreeBalances, u.Account, 0}); err != nil {
					return err
				}
				if err := parentCheck(u, 1, subKey{TreePositions, u.Account, 0}); err != nil {
					return err
				}
			}
		default:
			k := subKey{u.Tree, u.Account, 0}
			if u.Tree == TreeOrders {
				k.model = u.Model
			}
			if u.Tree == TreePositions {
				if u.Index != uint64(u.Model) {
					return fmt.Errorf("witness: update %d: position index %d is not model %d", n, u.Index, u.Model)
				}
				if err := parentCheck(u, 0, subKey{TreeOrders, u.Account, u.Model}); err != nil {
					return err
				}
			}
			st, ok := subs[k]
			if !ok {
				st = &subState{first: oldRoot, cur: oldRoot}
				subs[k] = st
			}
			if oldRoot != st.cur {
				return fmt.Errorf("witness: update %d (%v): old path does not reach the subtree's running root", n, u.Tree)
			}
			st.cur = newRoot
		}
	}
	if len(subs) != 0 {
		return fmt.Errorf("witness: %d subtree updates never committed by a parent leaf", len(subs))
	}
	if types.Compress(roots[TreeAccounts], roots[TreeModels]) != w.RootAfter {
		return fmt.Errorf("witness: replay does not reach the root after")
	}
	return nil
}

func leafHash(tree TreeKind, data any, sub []fr.Element) (fr.Element, error) {
	switch tree {
	case TreeAccounts:
		a, ok := data.(*Account)
		if !ok || len(sub) != 2 {
			return fr.Element{}, fmt.Errorf("account preimage missing")
		}
		return AccountLeaf(a, sub[0], sub[1]), nil
	case TreePositions:
		p, ok := data.(*Position)
		if !ok || len(sub) != 1 {
			return fr.Element{}, fmt.Errorf("position preimage missing")
		}
		return PositionLeaf(p, sub[0]), nil
	case TreeModels:
		m, ok := data.(*Model)
		if !ok {
			return fr.Element{}, fmt.Errorf("model preimage missing")
		}
		return ModelLeaf(m), nil
	case TreeOrders:
		o, ok := data.(OrderSlot)
		if !ok {
			return fr.Element{}, fmt.Errorf("order slot preimage missing")
		}
		return o.Leaf(), nil
	case TreeBalances:
		b, ok := data.(*uint256.Int)
		if !ok {
			return fr.Element{}, fmt.Errorf("balance preimage missing")
		}
		return BalanceLeaf(b), nil
	}
	return fr.Element{}, fmt.Errorf("unknown tree %d", tree)
}

// slotOf is the order slot an order id uses.
func slotOf(p types.Params, orderID uint32) uint64 { return uint64(orderID) & (1<<p.OrderDepth - 1) }

// shapeStep is one expected witness entry: the tree, its owner and the leaf index.
// quote marks a balance leaf whose index is the model's quote token, read from
// the witness's own model entry.
type shapeStep struct {
	tree    TreeKind
	account uint32
	model   uint16
	index   uint64
	quote   bool
	read    bool // the leaf must come out unchanged
}

func reads(steps ...shapeStep) []shapeStep {
	for i := range steps {
		steps[i].read = true
	}
	return steps
}

func acctStep(id uint32) shapeStep {
	return shapeStep{tree: TreeAccounts, account: id, index: uint64(id)}
}
func balStep(id uint32, tok uint16) shapeStep {
	return shapeStep{tree: TreeBalances, account: id, index: uint64(tok)}
}
func quoteStep(id uint32) shapeStep { return shapeStep{tree: TreeBalances, account: id, quote: true} }
func modelStep(m uint16) shapeStep  { return shapeStep{tree: TreeModels, model: m, index: uint64(m)} }
func modelRead(m uint16) shapeStep {
	return shapeStep{tree: TreeModels, model: m, index: uint64(m), read: true}
}
func posStep(id uint32, m uint16) shapeStep {
	return shapeStep{tree: TreePositions, account: id, model: m, index: uint64(m)}
}
func slotStep(p types.Params, id uint32, m uint16, orderID uint32) shapeStep {
	return shapeStep{tree: TreeOrders, account: id, model: m, index: slotOf(p, orderID)}
}

// Shape is the update sequence docs/protocol.md §5 prescribes for a
// transaction (after apply filled in Deposit.Account/Refused and
// ForcedWithdraw.Amount). The circuit lays out the same sequence per kind.
func Shape(p types.Params, tx types.Tx) []shapeStep {
	rule, err := ruleOf(tx)
	if err != nil {
		return nil
	}
	return rule.shape(p, tx) // state/kind_<name>.go
}

// checkShape binds a witness to its transaction: exactly the §5 sequence of
// leaves, none dropped, added or reordered. For the fee settlement (Tx nil):
// account 0's balances in strictly ascending token order, then account 0.
func checkShape(p types.Params, w *TxWitness) error {
	if w.Tx == nil {
		n := len(w.Updates)
		if n == 0 {
			return nil
		}
		last := w.Updates[n-1]
		if n < 2 || last.Tree != TreeAccounts || last.Account != types.FeeAccount || last.Index != uint64(types.FeeAccount) {
			return fmt.Errorf("witness: fee settlement must end with the fee account's leaf")
		}
		for i, u := range w.Updates[:n-1] {
			if u.Tree != TreeBalances || u.Account != types.FeeAccount || (i > 0 && u.Index <= w.Updates[i-1].Index) {
				return fmt.Errorf("witness: fee settlement update %d is not a fee-account balance in ascending order", i)
			}
		}
		return nil
	}
	want := Shape(p, w.Tx)
	if len(w.Updates) != len(want) {
		return fmt.Errorf("witness: %s has %d updates, the spec prescribes %d", w.Tx.Kind(), len(w.Updates), len(want))
	}
	var quote uint64
	if len(w.Updates) > 0 && w.Updates[0].Tree == TreeModels {
		if m, ok := w.Updates[0].NewData.(*Model); ok {
			quote = uint64(m.QuoteToken)
		}
	}
	for i, s := range want {
		u := w.Updates[i]
		idx := s.index
		if s.quote {
			idx = quote
		}
		if u.Tree != s.tree || u.Account != s.account || u.Model != s.model || u.Index != idx {
			return fmt.Errorf("witness: %s update %d is (%v, account %d, model %d, index %d), the spec prescribes (%v, %d, %d, %d)",
				w.Tx.Kind(), i, u.Tree, u.Account, u.Model, u.Index, s.tree, s.account, s.model, idx)
		}
		if s.read && u.Old != u.New {
			return fmt.Errorf("witness: %s update %d is a read but changes its leaf", w.Tx.Kind(), i)
		}
	}
	return nil
}

// checkOutcome binds what a priority operation claims (a deposit's refusal,
// a forced withdrawal's amount: both published in pubdata) to the leaves of
// its witness, as the circuit does. The shape is already checked.
func checkOutcome(w *TxWitness) error {
	if w.Tx == nil {
		return nil
	}
	rule, err := ruleOf(w.Tx)
	if err != nil {
		return err
	}
	return rule.outcome(w)
}

func balanceAndAccount(w *TxWitness) (bal, acct *LeafUpdate, err error) {
	if len(w.Updates) != 2 {
		return nil, nil, fmt.Errorf("witness: %d updates, want balance and account", len(w.Updates))
	}
	bal, acct = &w.Updates[0], &w.Updates[1]
	_, ok1 := bal.OldData.(*uint256.Int)
	_, ok2 := bal.NewData.(*uint256.Int)
	_, ok3 := acct.OldData.(*Account)
	_, ok4 := acct.NewData.(*Account)
	if !ok1 || !ok2 || !ok3 || !ok4 {
		return nil, nil, fmt.Errorf("witness: balance or account preimage missing")
	}
	return bal, acct, nil
}
