package state

import (
	"fmt"
	"strings"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/holiman/uint256"

	"github.com/modex/modex/state/smt"
	"github.com/modex/modex/types"
)

// cloneWitness deep-copies a witness: paths, subtree roots and preimages.
func cloneWitness(w *TxWitness) *TxWitness {
	c := *w
	c.Updates = make([]LeafUpdate, len(w.Updates))
	for i, u := range w.Updates {
		u.Siblings = append([]fr.Element(nil), u.Siblings...)
		u.OldSub = append([]fr.Element(nil), u.OldSub...)
		u.NewSub = append([]fr.Element(nil), u.NewSub...)
		u.OldData, u.NewData = clonePreimage(u.OldData), clonePreimage(u.NewData)
		c.Updates[i] = u
	}
	return &c
}

func clonePreimage(d any) any {
	switch v := d.(type) {
	case *Account:
		c := *v
		return &c
	case *Position:
		c := *v
		return &c
	case *Model:
		c := *v
		return &c
	case *uint256.Int:
		return new(uint256.Int).Set(v)
	case OrderSlot:
		return v
	}
	panic(fmt.Sprintf("preimage %T", d))
}

// bump changes one field of a leaf preimage by one (balance+1, nonce+1,
// shares+1, supply+1, filled+1) and returns it.
func bump(d any) any {
	switch v := d.(type) {
	case *Account:
		v.Nonce++
	case *Position:
		v.Shares++
	case *Model:
		v.Supply++
	case *uint256.Int:
		v.AddUint64(v, 1)
	case OrderSlot:
		v.Filled++
		return v
	}
	return d
}

func inc(e *fr.Element) {
	var one fr.Element
	one.SetOne()
	e.Add(e, &one)
}

// realWitnesses returns witnesses of real transactions: base, share and
// credit transfers, a trade, a model creation, a credit purchase and
// redemption, a cancel, deposits (new account, existing account, refused for
// a bad key, refused for overflow), forced withdrawals (paid, and amount 0 for
// another owner, an empty balance or a missing account) and a fee settlement.
// Every entry Shape marks as a read comes out unchanged.
func realWitnesses(t *testing.T) (types.Params, map[string]*TxWitness) {
	w := stdWorld(t)
	out := map[string]*TxWitness{}
	out["Transfer/base"] = w.mustAdd(w.transfer(uAlice, uBob, types.ETH, 1000, 5)).Witness
	out["Transfer/shares"] = w.mustAdd(w.transfer(uDao, uAlice, types.ShareAsset(m1), 100, 2)).Witness
	out["Trade"] = w.mustAdd(&types.Trade{Buy: w.order(uBob, m1, types.Buy, 1, 100, 60, 30),
		Sell: w.order(uDao, m1, types.Sell, 1, 100, 50, 30), Fill: 40, Price: u256(55), BuyFeeBips: 10, SellFeeBips: 20}).Witness
	out["CreateModel"] = w.mustAdd(w.sign(uCarol, &types.CreateModel{Account: w.acct[uCarol], Model: 2, Supply: 50, MaxSupply: 80,
		CreditPrice: u256(3), HolderBps: 100, Weights: elem(5), Metadata: elem(6), Fee: u256(1), Nonce: w.nonce(uCarol)})).Witness
	out["BuyCredits"] = w.mustAdd(w.sign(uBob, &types.BuyCredits{Account: w.acct[uBob], Model: m1, Credits: 7, MaxPrice: u256(100),
		Fee: u256(1), Nonce: w.nonce(uBob)})).Witness
	out["CancelOrder"] = w.mustAdd(w.sign(uAlice, &types.CancelOrder{Account: w.acct[uAlice], Model: m1, OrderID: 2, Nonce: w.nonce(uAlice)})).Witness
	out["Transfer/credits"] = w.mustAdd(w.transfer(uBob, uAlice, types.CreditAsset(m1), 2, 1)).Witness
	out["RedeemCredits"] = w.mustAdd(w.sign(uBob, &types.RedeemCredits{Account: w.acct[uBob], Model: m1, Credits: 1, Request: elem(3),
		Fee: u256(1), Nonce: w.nonce(uBob)})).Witness
	// the RedeemCredits batch collected a fee: its settlement credits account 0
	sb := w.seal()
	out["fee settlement"] = sb.Witnesses[len(sb.Witnesses)-1]
	priority := func(name string, tx types.Tx) *Receipt {
		r := w.mustAdd(tx)
		w.prio++
		out[name] = r.Witness
		return r
	}
	priority("Deposit/new account", w.depositTx(uGhost, 1, 9))
	priority("Deposit/existing account", w.depositTx(uAlice, 2, 9))
	bad := &types.Deposit{PriorityID: w.prio, Account: w.accountFor(userAddr(99), types.PubKey{}), L1Address: userAddr(99), Token: 1, Amount: u256(9)}
	if priority("Deposit/refused (bad key)", bad); !bad.Refused {
		t.Fatal("deposit with an empty key credited")
	}
	over := w.depositTx(uWhale, 3, 1)
	if priority("Deposit/refused (overflow)", over); !over.Refused {
		t.Fatal("overflowing deposit credited")
	}
	priority("ForcedWithdraw/paid", &types.ForcedWithdraw{PriorityID: w.prio, Requester: userAddr(uCarol), Account: w.acct[uCarol], Token: 2})
	priority("ForcedWithdraw/zero (another owner)", &types.ForcedWithdraw{PriorityID: w.prio, Requester: userAddr(uBob), Account: w.acct[uCarol], Token: 0})
	priority("ForcedWithdraw/zero (empty balance)", &types.ForcedWithdraw{PriorityID: w.prio, Requester: userAddr(uCarol), Account: w.acct[uCarol], Token: 2})
	priority("ForcedWithdraw/zero (no account)", &types.ForcedWithdraw{PriorityID: w.prio, Requester: userAddr(uCarol), Account: bad.Account, Token: 1})
	w.seal()
	for name, wit := range out {
		if err := VerifyWitness(w.p, wit); err != nil {
			t.Fatalf("%s: untampered witness fails: %v", name, err)
		}
		if len(wit.Updates) == 0 {
			t.Fatalf("%s: no updates", name)
		}
		// the reads are exactly where Shape puts them
		if wit.Tx != nil {
			for i, st := range Shape(w.p, wit.Tx) {
				if u := wit.Updates[i]; st.read && u.Old != u.New {
					t.Fatalf("%s: update %d is a read that changes its leaf", name, i)
				}
			}
		}
	}
	for _, name := range []string{"Deposit/refused (bad key)", "Deposit/refused (overflow)", "ForcedWithdraw/zero (another owner)",
		"ForcedWithdraw/zero (empty balance)", "ForcedWithdraw/zero (no account)"} {
		if got := out[name]; len(got.Updates) != 2 || got.RootBefore != got.RootAfter {
			t.Fatalf("%s: %d updates, root changed %v", name, len(got.Updates), got.RootBefore != got.RootAfter)
		}
	}
	return w.p, out
}

type tamper struct {
	name string
	f    func(w *TxWitness) bool // false: not applicable to this witness
}

// tampers lists the modifications of one witness that VerifyWitness must
// reject: every update's path, index, preimages and subtree roots, dropping
// and reordering updates, and the roots.
func tampers(wit *TxWitness) []tamper {
	var ts []tamper
	add := func(name string, f func(w *TxWitness) bool) { ts = append(ts, tamper{name: name, f: f}) }
	for i := range wit.Updates {
		u := wit.Updates[i]
		p := fmt.Sprintf("update %d (%s)", i, shape(&TxWitness{Updates: []LeafUpdate{u}}))
		last := len(u.Siblings) - 1
		add(p+": sibling 0 changed", func(w *TxWitness) bool { inc(&w.Updates[i].Siblings[0]); return true })
		add(p+": top sibling changed", func(w *TxWitness) bool { inc(&w.Updates[i].Siblings[last]); return true })
		add(p+": siblings 0 and 1 swapped", func(w *TxWitness) bool {
			s := w.Updates[i].Siblings
			if len(s) < 2 || s[0] == s[1] {
				return false
			}
			s[0], s[1] = s[1], s[0]
			return true
		})
		add(p+": index flipped", func(w *TxWitness) bool { w.Updates[i].Index ^= 1; return true })
		add(p+": index moved to the top half", func(w *TxWitness) bool { w.Updates[i].Index ^= 1 << last; return true })
		switch u.Tree {
		case TreeAccounts:
			add(p+": account id disagrees with the index", func(w *TxWitness) bool { w.Updates[i].Account ^= 1; return true })
		case TreeModels:
			add(p+": model id disagrees with the index", func(w *TxWitness) bool { w.Updates[i].Model ^= 1; return true })
		case TreePositions:
			add(p+": position model disagrees with the index", func(w *TxWitness) bool { w.Updates[i].Model ^= 1; return true })
		}
		if u.Tree != TreeAccounts && u.Tree != TreeModels {
			add(p+": moved to another account's subtree", func(w *TxWitness) bool { w.Updates[i].Account ^= 1; return true })
		}
		add(p+": new preimage +1, leaf hash kept", func(w *TxWitness) bool {
			w.Updates[i].NewData = bump(w.Updates[i].NewData)
			return true
		})
		add(p+": old preimage +1, leaf hash kept", func(w *TxWitness) bool {
			w.Updates[i].OldData = bump(w.Updates[i].OldData)
			return true
		})
		add(p+": new leaf forged consistently (preimage +1 and its hash)", func(w *TxWitness) bool {
			v := &w.Updates[i]
			v.NewData = bump(v.NewData)
			h, err := leafHash(v.Tree, v.NewData, v.NewSub)
			if err != nil {
				panic(err)
			}
			v.New = h
			return true
		})
		add(p+": old leaf hash changed", func(w *TxWitness) bool { inc(&w.Updates[i].Old); return true })
		add(p+": new leaf hash changed", func(w *TxWitness) bool { inc(&w.Updates[i].New); return true })
		for k := range u.OldSub {
			add(fmt.Sprintf("%s: OldSub[%d] changed", p, k), func(w *TxWitness) bool { inc(&w.Updates[i].OldSub[k]); return true })
			add(fmt.Sprintf("%s: NewSub[%d] changed", p, k), func(w *TxWitness) bool { inc(&w.Updates[i].NewSub[k]); return true })
			add(fmt.Sprintf("%s: NewSub[%d] := OldSub[%d]", p, k, k), func(w *TxWitness) bool {
				v := &w.Updates[i]
				if v.NewSub[k] == v.OldSub[k] {
					return false
				}
				v.NewSub[k] = v.OldSub[k]
				return true
			})
		}
		if len(u.OldSub) > 0 {
			add(p+": subtree roots dropped", func(w *TxWitness) bool { w.Updates[i].OldSub, w.Updates[i].NewSub = nil, nil; return true })
		}
		add(p+": path truncated", func(w *TxWitness) bool { w.Updates[i].Siblings = w.Updates[i].Siblings[:last]; return true })
		// the witness is bound to its §5 sequence (Shape): reads, and
		// updates of unrelated trees, may not be dropped, repeated or reordered
		add(p+": dropped", func(w *TxWitness) bool {
			w.Updates = append(w.Updates[:i:i], w.Updates[i+1:]...)
			return true
		})
		if i+1 < len(wit.Updates) {
			add(p+": swapped with the next update", func(w *TxWitness) bool {
				a, b := w.Updates[i], w.Updates[i+1]
				if a.Tree == b.Tree && a.Account == b.Account && a.Model == b.Model && a.Index == b.Index {
					return false // the same leaf twice: nothing to reorder
				}
				w.Updates[i], w.Updates[i+1] = b, a
				return true
			})
		}
		add(p+": duplicated", func(w *TxWitness) bool {
			w.Updates = append(w.Updates[:i+1:i+1], w.Updates[i:]...)
			return true
		})
		if u.Old == u.New {
			// a read turned into a write: a consistent new leaf (preimage and
			// hash), and RootAfter recomputed when this is the last update of
			// its top-level tree, so that only the read rule can catch it
			add(p+": read's New changed with matching NewData", func(w *TxWitness) bool {
				forgeRead(w, i)
				return true
			})
		}
	}
	add("RootAfter changed", func(w *TxWitness) bool { inc(&w.RootAfter); return true })
	add("RootAfter := RootBefore", func(w *TxWitness) bool {
		if w.RootAfter == w.RootBefore {
			return false
		}
		w.RootAfter = w.RootBefore
		return true
	})
	add("RootBefore changed", func(w *TxWitness) bool { inc(&w.RootBefore); return true })
	add("AccountRoot changed", func(w *TxWitness) bool { inc(&w.AccountRoot); return true })
	add("ModelRoot changed", func(w *TxWitness) bool { inc(&w.ModelRoot); return true })
	add("all updates dropped", func(w *TxWitness) bool { w.Updates = nil; return true })
	return ts
}

// dependent reports whether two updates touch the same running root: the
// same top-level tree, the same subtree, or a subtree and its parent leaf.
func dependent(a, b *LeafUpdate) bool {
	top := func(u *LeafUpdate) bool { return u.Tree == TreeAccounts || u.Tree == TreeModels }
	if top(a) && top(b) {
		return a.Tree == b.Tree
	}
	parentOf := func(p, c *LeafUpdate) bool {
		return (p.Tree == TreeAccounts && (c.Tree == TreeBalances || c.Tree == TreePositions) && p.Account == c.Account) ||
			(p.Tree == TreePositions && c.Tree == TreeOrders && p.Account == c.Account && p.Model == c.Model)
	}
	if parentOf(a, b) || parentOf(b, a) {
		return true
	}
	return !top(a) && !top(b) && a.Tree == b.Tree && a.Account == b.Account && (a.Tree != TreeOrders || a.Model == b.Model)
}

func TestWitnessTamper(t *testing.T) {
	p, wits := realWitnesses(t)
	for name, wit := range wits {
		t.Run(name, func(t *testing.T) {
			if err := VerifyWitness(p, wit); err != nil {
				t.Fatalf("untampered: %v", err)
			}
			for _, tp := range tampers(wit) {
				t.Run(tp.name, func(t *testing.T) {
					c := cloneWitness(wit)
					if !tp.f(c) {
						t.Skip("not applicable")
					}
					if err := VerifyWitness(p, c); err == nil {
						t.Fatal("tampered witness verifies")
					}
				})
			}
			// tampering worked on copies
			if err := VerifyWitness(p, wit); err != nil {
				t.Fatalf("original changed by tampering: %v", err)
			}
		})
	}
}

// TestWitnessSharedSiblings: the old and new leaf of an update share one
// path. A witness whose new root was computed over different siblings (a
// second path) cannot be expressed; forging the sibling to make the new root
// come out right breaks the old root instead.
func TestWitnessSharedSiblings(t *testing.T) {
	p, wits := realWitnesses(t)
	wit := wits["Transfer/base"]
	// the last update is the receiver's account leaf: find siblings that
	// would carry its forged new leaf to the real new root
	c := cloneWitness(wit)
	u := &c.Updates[len(c.Updates)-1]
	if u.Tree != TreeAccounts {
		t.Fatalf("last update is %v", u.Tree)
	}
	u.NewData = bump(u.NewData)
	h, err := leafHash(u.Tree, u.NewData, u.NewSub)
	if err != nil {
		t.Fatal(err)
	}
	u.New = h
	if VerifyWitness(p, c) == nil {
		t.Fatal("forged new leaf verifies")
	}
	// and the untampered witness passes
	if err := VerifyWitness(p, wit); err != nil {
		t.Fatal(err)
	}
}

// forgeRead turns update i, a read, into a write: its new preimage changes
// (bump) and New is that preimage's hash. If no later update touches the same
// top-level tree, RootAfter is recomputed from the forged path, so the
// witness is consistent in everything but the read rule.
func forgeRead(w *TxWitness, i int) {
	v := &w.Updates[i]
	v.NewData = bump(v.NewData)
	h, err := leafHash(v.Tree, v.NewData, v.NewSub)
	if err != nil {
		panic(err)
	}
	v.New = h
	if v.Tree != TreeAccounts && v.Tree != TreeModels {
		return
	}
	for _, later := range w.Updates[i+1:] {
		if later.Tree == v.Tree {
			return
		}
	}
	root := smt.Proof{Index: v.Index, Leaf: v.New, Siblings: v.Siblings}.ComputeRoot()
	// the other tree's root after: replay its last update's new path
	other := w.ModelRoot
	if v.Tree == TreeModels {
		other = w.AccountRoot
	}
	for _, u := range w.Updates {
		if (v.Tree == TreeModels && u.Tree == TreeAccounts) || (v.Tree == TreeAccounts && u.Tree == TreeModels) {
			other = smt.Proof{Index: u.Index, Leaf: u.New, Siblings: u.Siblings}.ComputeRoot()
		}
	}
	if v.Tree == TreeAccounts {
		w.RootAfter = types.Compress(root, other)
	} else {
		w.RootAfter = types.Compress(other, root)
	}
}

// TestWitnessReadsBound: the entries Shape marks as reads (the model entry of
// share and credit transfers, trades, cancels and redemptions; both entries of
// a refused deposit and of a zero forced withdrawal) must come out unchanged.
// A read forged into a consistent write (new preimage, its hash, and the root
// after recomputed) fails on the read rule.
func TestWitnessReadsBound(t *testing.T) {
	p, wits := realWitnesses(t)
	forged := 0
	for name, wit := range wits {
		if wit.Tx == nil {
			continue
		}
		shape := Shape(p, wit.Tx)
		for i, st := range shape {
			if !st.read {
				continue
			}
			c := cloneWitness(wit)
			forgeRead(c, i)
			err := VerifyWitness(p, c)
			if err == nil {
				t.Fatalf("%s: read %d forged into a write verifies", name, i)
			}
			if !strings.Contains(err.Error(), "is a read") {
				t.Fatalf("%s: read %d forged: %v, want the read rule to catch it", name, i, err)
			}
			forged++
		}
	}
	if forged < 10 {
		t.Fatalf("only %d reads forged", forged)
	}
	// the forgery is otherwise consistent: VerifyWitness replays paths, not
	// the values a write puts (those are the circuit's per-kind constraints),
	// so the same forgery of a write entry (the receiver's account leaf, last
	// of the account tree) verifies; for a read, only the read rule stops it
	c := cloneWitness(wits["Transfer/base"])
	forgeRead(c, len(c.Updates)-1)
	if err := VerifyWitness(p, c); err != nil {
		t.Fatalf("control: a write forged consistently fails: %v", err)
	}
}
