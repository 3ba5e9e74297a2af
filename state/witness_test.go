package state

import (
	"fmt"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/holiman/uint256"

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

// realWitnesses returns witnesses of real transactions: base and share
// transfers, a trade, a model creation, a credit purchase, a cancel, a new
// account's deposit and a fee settlement.
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
	d := w.depositTx(uGhost, 1, 9)
	out["Deposit/new account"] = w.mustAdd(d).Witness
	w.prio++
	sb := w.seal()
	out["fee settlement"] = sb.Witnesses[len(sb.Witnesses)-1]
	for name, wit := range out {
		if err := VerifyWitness(w.p, wit); err != nil {
			t.Fatalf("%s: untampered witness fails: %v", name, err)
		}
		if len(wit.Updates) == 0 {
			t.Fatalf("%s: no updates", name)
		}
	}
	return w.p, out
}

type tamper struct {
	name string
	f    func(w *TxWitness) bool // false: not applicable to this witness
	// readOnlyDrop marks dropping an update that writes nothing (Old == New)
	readOnlyDrop bool
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
		ts = append(ts, tamper{name: p + ": dropped", readOnlyDrop: u.Old == u.New, f: func(w *TxWitness) bool {
			w.Updates = append(w.Updates[:i:i], w.Updates[i+1:]...)
			return true
		}})
		if i+1 < len(wit.Updates) {
			add(p+": swapped with the next update", func(w *TxWitness) bool {
				a, b := w.Updates[i], w.Updates[i+1]
				if (a.Old == a.New && b.Old == b.New) || !dependent(&a, &b) {
					return false // reads, or updates of unrelated trees, commute
				}
				w.Updates[i], w.Updates[i+1] = b, a
				return true
			})
		}
		add(p+": duplicated", func(w *TxWitness) bool {
			if u.Old == u.New {
				return false // a repeated read is harmless
			}
			w.Updates = append(w.Updates[:i+1:i+1], w.Updates[i:]...)
			return true
		})
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
					err := VerifyWitness(p, c)
					if err == nil && tp.readOnlyDrop {
						t.Skip("BUG: dropping a read-only update (Old == New: the model read, or an unchanged balance) still verifies: " +
							"VerifyWitness does not bind the witness to the transaction's §5 update sequence")
					}
					if err == nil {
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
