package circuits

import (
	"math/big"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/twistededwards"
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/frontend/cs/r1cs"
	"github.com/ethereum/go-ethereum/common"

	"github.com/modex/modex/bench/workload"
	"github.com/modex/modex/types"
)

type withdrawHarness = harness[Withdraw, *Withdraw]

// TestWithdraw: a native withdrawal is proven with the native roots, pubdata
// and fee; tampered witnesses are refused. The one account update is the
// last, so every tamper runs without the root check, and tampers that change
// a published field re-encode the expected pubdata: only the rule named in
// the case can refuse them.
func TestWithdraw(t *testing.T) {
	b := kindWorld(t)
	st, err := b.Next(types.KindWithdraw, 0)
	if err != nil {
		t.Fatal(err)
	}
	tx := st.Tx.(*types.Withdraw)
	r, err := b.Add(tx)
	if err != nil {
		t.Fatal(err)
	}
	g, err := AssignWithdraw(tx, r.Witness)
	if err != nil {
		t.Fatal(err)
	}
	shape, full := newHarness[Withdraw](b.P, b.D, b.TS, NewWithdraw(b.P), g, r)
	if err := solved(t, shape, full); err != nil {
		t.Fatalf("native withdrawal refused: %v", err)
	}
	user := 1 // Next(KindWithdraw, 0) is user 1's
	if b.Acct[user] != tx.Account {
		t.Fatal("bench numbering changed")
	}
	order := twistededwards.GetEdwardsCurve().Order
	// resign replaces the signed transaction by a variant signed with key
	resign := func(h *withdrawHarness, w *types.Withdraw, signer int) {
		if err := types.SignTx(b.Keys[signer], b.D, w); err != nil {
			t.Fatal(err)
		}
		sig, err := AssignSignature(w.Signature)
		if err != nil {
			t.Fatal(err)
		}
		h.G.Sig, h.G.Amount, h.G.To = sig, w.Amount.ToBig(), new(big.Int).SetBytes(w.To[:])
		fee, err := types.Fee16.Encode(&w.Fee)
		if err != nil {
			t.Fatal(err)
		}
		h.G.FeeRaw = fee
	}
	bal := &g.Acct.Balances[0]
	cases := []struct {
		name   string
		tamper func(h *withdrawHarness, w *types.Withdraw) // w: the published withdrawal
	}{
		{"amount above the balance (signed), balance wraps", func(h *withdrawHarness, w *types.Withdraw) {
			w.Amount.SetFromBig(addBig(bal.Old, 1))
			resign(h, w, user)
			h.G.Acct.Balances[0].New = new(big.Int).Sub(field, big.NewInt(2)) // old − (old+1) − fee 1 = −2

		}},
		{"balance wraps negative", func(h *withdrawHarness, w *types.Withdraw) {
			h.G.Acct.Balances[0].New = new(big.Int).Sub(field, big.NewInt(1))
		}},
		{"fee not charged", func(h *withdrawHarness, w *types.Withdraw) {
			h.G.Acct.Balances[0].New = addBig(bal.New, 1)
		}},
		{"zero amount (signed)", func(h *withdrawHarness, w *types.Withdraw) {
			w.Amount.Clear()
			resign(h, w, user)
			h.G.Acct.Balances[0].New = addBig(bal.Old, -1)
		}},
		{"to altered after signing", func(h *withdrawHarness, w *types.Withdraw) {
			w.To = common.Address{0x42}
			h.G.To = new(big.Int).SetBytes(w.To[:])
		}},
		{"amount altered after signing", func(h *withdrawHarness, w *types.Withdraw) {
			w.Amount.AddUint64(&w.Amount, 1)
			h.G.Amount = w.Amount.ToBig()
			h.G.Acct.Balances[0].New = addBig(bal.New, -1)
		}},
		{"nonce reused", func(h *withdrawHarness, w *types.Withdraw) { h.G.Acct.New.Nonce = h.G.Acct.Old.Nonce }},
		{"S+l", func(h *withdrawHarness, w *types.Withdraw) {
			h.G.Sig.S = new(big.Int).Add(toBigBytes(h.G.Sig.S), &order)
		}},
		{"signed by another key", func(h *withdrawHarness, w *types.Withdraw) { resign(h, w, 2) }},
		{"token differs from the balance leaf", func(h *withdrawHarness, w *types.Withdraw) {
			w.Token++
			h.G.Token = w.Token
		}},
		{"address changed", func(h *withdrawHarness, w *types.Withdraw) {
			h.G.Acct.New.L1Address = addBig(h.G.Acct.New.L1Address, 1)
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, bad := newHarness[Withdraw](b.P, b.D, b.TS, NewWithdraw(b.P), g, r)
			bad.G.Acct = cloneAccount(g.Acct)
			bad.noRoots = true
			sh := *shape
			sh.noRoots = true
			if err := solved(t, &sh, bad); err != nil {
				t.Fatalf("untampered witness refused: %v", err)
			}
			w := *tx
			c.tamper(bad, &w)
			bad.Pubdata = dwPubdataBits(t, &w)
			if err := solved(t, &sh, bad); err == nil {
				t.Fatal("tampered witness accepted")
			}
		})
	}
}

type forcedHarness = harness[ForcedWithdraw, *ForcedWithdraw]
type outsideHarness = harness[ForcedWithdrawOutside, *ForcedWithdrawOutside]

// TestForcedWithdraw: forced withdrawals inside the trees (the owner with a
// positive balance: written; another requester, no account, an empty
// balance: reads) and outside them (account or token past the depth: no
// updates) are proven with the native roots and pubdata; tampered witnesses
// are refused. The one account update is the last, so tampers run without
// the root check and re-encode the published amount: only the amount rule
// (or the rule named) can refuse them.
func TestForcedWithdraw(t *testing.T) {
	b := kindWorld(t)
	prio := func(tx types.Tx) {
		switch x := tx.(type) {
		case *types.Deposit:
			x.PriorityID = b.Prio
		case *types.ForcedWithdraw:
			x.PriorityID = b.Prio
		}
	}
	// user 2 holds token 1 (1e12 from the bench) and nothing of token 2
	owner := 2
	acct := b.Acct[owner]
	mk := func(requester common.Address, account uint32, token uint16) *types.ForcedWithdraw {
		return &types.ForcedWithdraw{Requester: requester, Account: account, Token: token}
	}
	natives := []struct {
		name   string
		fw     *types.ForcedWithdraw
		inTree bool
		paid   bool
	}{
		{"owner, positive balance", mk(workload.Addr(owner), acct, 1), true, true},
		{"another requester", mk(workload.Addr(3), b.Acct[4], 0), true, false},
		{"no account", mk(workload.Addr(3), 40, 0), true, false},
		{"owner, empty balance", mk(workload.Addr(owner), acct, 2), true, false},
		{"token outside the tree", mk(workload.Addr(owner), acct, 1<<b.P.BalanceDepth), false, false},
		{"account outside the tree", mk(workload.Addr(owner), 1<<b.P.AccountDepth, 0), false, false},
	}
	type built struct {
		fw *types.ForcedWithdraw
		g  ForcedWithdraw
		h  *forcedHarness
	}
	in := map[string]built{}
	for _, n := range natives {
		prio(n.fw)
		r, err := b.Add(n.fw)
		if err != nil {
			t.Fatalf("%s: %v", n.name, err)
		}
		b.Prio++
		if ForcedWithdrawInTrees(b.P, n.fw) != n.inTree || (r.Withdrawal != nil) != n.paid {
			t.Fatalf("%s: native in-tree %v, withdrawal %v", n.name, ForcedWithdrawInTrees(b.P, n.fw), r.Withdrawal)
		}
		t.Run(n.name, func(t *testing.T) {
			if !n.inTree {
				if len(r.Witness.Updates) != 0 {
					t.Fatal("outside request with a witness")
				}
				g, err := AssignForcedWithdrawOutside(b.P, n.fw)
				if err != nil {
					t.Fatal(err)
				}
				shape, full := newHarness[ForcedWithdrawOutside](b.P, b.D, b.TS, NewForcedWithdrawOutside(b.P), g, r)
				if err := solved(t, shape, full); err != nil {
					t.Fatalf("native outside request refused: %v", err)
				}
				return
			}
			g, err := AssignForcedWithdraw(n.fw, r.Witness)
			if err != nil {
				t.Fatal(err)
			}
			shape, full := newHarness[ForcedWithdraw](b.P, b.D, b.TS, NewForcedWithdraw(b.P), g, r)
			if err := solved(t, shape, full); err != nil {
				t.Fatalf("native forced withdrawal refused: %v", err)
			}
			in[n.name] = built{n.fw, g, full}
		})
	}
	if len(in) != 4 {
		t.Fatalf("%d in-tree cases built", len(in))
	}
	cases := []struct {
		name, base string
		tamper     func(h *forcedHarness, fw *types.ForcedWithdraw)
	}{
		{"amount 0 claimed for the owner with a positive balance", "owner, positive balance", func(h *forcedHarness, fw *types.ForcedWithdraw) {
			fw.Amount.Clear()
			h.G.Amount = 0
			h.G.Acct.Balances[0].New = h.G.Acct.Balances[0].Old
		}},
		{"part of the balance paid", "owner, positive balance", func(h *forcedHarness, fw *types.ForcedWithdraw) {
			fw.Amount.SubUint64(&fw.Amount, 1)
			h.G.Amount = fw.Amount.ToBig()
			h.G.Acct.Balances[0].New = 1
		}},
		{"balance burnt, nothing paid", "owner, positive balance", func(h *forcedHarness, fw *types.ForcedWithdraw) {
			fw.Amount.Clear()
			h.G.Amount = 0
		}},
		{"another requester paid", "another requester", func(h *forcedHarness, fw *types.ForcedWithdraw) {
			fw.Amount.SetFromBig(toBig(h.G.Acct.Balances[0].Old))
			h.G.Amount = fw.Amount.ToBig()
			h.G.Acct.Balances[0].New = 0
		}},
		{"requester swapped for the owner on a read", "another requester", func(h *forcedHarness, fw *types.ForcedWithdraw) {
			fw.Requester = common.BytesToAddress(toBig(h.G.Acct.Old.L1Address).Bytes())
			h.G.Requester = toBig(h.G.Acct.Old.L1Address)
		}},
		{"account leaf changed", "owner, positive balance", func(h *forcedHarness, fw *types.ForcedWithdraw) {
			h.G.Acct.New.L1Address = addBig(h.G.Acct.New.L1Address, 1)
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			base := in[c.base]
			bad := *base.h
			bad.G.Acct = cloneAccount(base.g.Acct)
			bad.noRoots = true
			shape := &forcedHarness{G: NewForcedWithdraw(b.P), p: b.P, Pubdata: make([]frontend.Variable, len(bad.Pubdata)), noRoots: true}
			if err := solved(t, shape, &bad); err != nil {
				t.Fatalf("untampered witness refused: %v", err)
			}
			fw := *base.fw
			c.tamper(&bad, &fw)
			bad.Pubdata = dwPubdataBits(t, &fw)
			if err := solved(t, shape, &bad); err == nil {
				t.Fatal("tampered witness accepted")
			}
		})
	}
	// at production depths no request lies outside the trees: the gadget
	// refuses to build rather than compile the constant assertion 0 = 1
	prod := types.DefaultParams()
	if _, err := frontend.Compile(field, r1cs.NewBuilder, &outsideHarness{p: prod, Pubdata: make([]frontend.Variable, 8*38)}); err == nil {
		t.Fatal("ForcedWithdrawOutside built at production depths")
	}
	// an in-tree request answered by the update-free gadget (amount 0, no reads)
	for _, name := range []string{"owner, positive balance", "another requester", "no account"} {
		t.Run("in-tree request as outside: "+name, func(t *testing.T) {
			fw := *in[name].fw
			fw.Amount.Clear()
			g := ForcedWithdrawOutside{Account: fw.Account, Token: fw.Token, Requester: new(big.Int).SetBytes(fw.Requester[:])}
			pd := dwPubdataBits(t, &fw)
			shape := &outsideHarness{p: b.P, Pubdata: make([]frontend.Variable, len(pd)), noRoots: true}
			bad := &outsideHarness{G: g, p: b.P, Pubdata: pd, noRoots: true, AccountRoot: 0, ModelRoot: 0,
				NewAccountRoot: 0, NewModelRoot: 0, Domain: 0, Timestamp: 0, Fee: 0, FeeToken: 0}
			if err := solved(t, shape, bad); err == nil {
				t.Fatal("in-tree request accepted as outside the trees")
			}
		})
	}
}
