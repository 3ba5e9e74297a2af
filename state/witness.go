package state

import (
	"fmt"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/holiman/uint256"

	"github.com/modex/modex/state/smt"
	"github.com/modex/modex/types"
)

// VerifyWitness replays a transaction's witness the way the batch circuit
// does: every leaf hash is recomputed from its preimage and subtree roots,
// every old path must reproduce the running root of its tree, the new path
// (same siblings) gives the next root, a parent leaf must commit to exactly the
// subtree roots its children produced, and the final roots must give
// RootAfter. It is the native twin of the circuit's update gadget and the
// reference the differential tests hold the circuit to.
func VerifyWitness(p types.Params, w *TxWitness) error {
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
		if len(u.Siblings) != depth[u.Tree] || u.Index >= 1<<depth[u.Tree] {
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
