package state

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/holiman/uint256"

	"github.com/modex/modex/state/smt"
	"github.com/modex/modex/types"
)

// TestExitProof: in a state built by a random run of every kind, the exit
// proof of random (account, token) pairs, empty balances included, recomputes
// the state root the way the contract does (§11.5); changing any field or
// any sibling changes the root; and an account that does not exist, an id
// outside the tree or a token outside the balance tree is a typed error.
func TestExitProof(t *testing.T) {
	pr := newProp(t, 11)
	pr.run(200)
	w := pr.w
	p := w.p
	head := w.db.Head()
	st, release, err := w.db.View(head)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	h, err := w.db.Header(head)
	if err != nil {
		t.Fatal(err)
	}
	root := h.NewRoot

	var ids []uint32 // existing accounts
	for id := uint32(0); id < w.nextID; id++ {
		if _, err := st.Account(id); err == nil {
			ids = append(ids, id)
		}
	}
	if len(ids) < 5 {
		t.Fatalf("%d accounts", len(ids))
	}
	rng := rand.New(rand.NewPCG(11, 0))
	nonZero, trials := 0, 60
	if testing.Short() {
		trials = 20
	}
	for i := 0; i < trials; i++ {
		id := ids[rng.IntN(len(ids))]
		tok := uint16(rng.IntN(1 << p.BalanceDepth))
		e, err := st.ExitProof(id, tok)
		if err != nil {
			t.Fatalf("exit proof %d/%d: %v", id, tok, err)
		}
		if e.Root() != root {
			t.Fatalf("exit proof %d/%d: root differs from the header's", id, tok)
		}
		if err := e.Verify(p, root); err != nil {
			t.Fatalf("exit proof %d/%d: %v", id, tok, err)
		}
		bal, err := st.Balance(id, tok)
		if err != nil || !bal.Eq(&e.Balance) {
			t.Fatalf("exit proof %d/%d: balance %s, state %v (%v)", id, tok, e.Balance.Dec(), bal, err)
		}
		a, _ := st.Account(id)
		if e.L1Address != a.L1Address || e.Nonce != a.Nonce || !e.PubKey.Equal(a.PubKey) {
			t.Fatalf("exit proof %d/%d: account fields differ", id, tok)
		}
		if len(e.BalancePath) != smt.SiblingCount(p.BalanceDepth) || len(e.AccountPath) != smt.SiblingCount(p.AccountDepth) {
			t.Fatalf("exit proof %d/%d: paths of %d and %d", id, tok, len(e.BalancePath), len(e.AccountPath))
		}
		if !e.Balance.IsZero() {
			nonZero++
		}
		checkExitMutations(t, p, e, root)
	}
	if nonZero == 0 {
		t.Fatal("no non-zero balance proven")
	}

	// a proof at an older batch leads to that batch's root
	old := head / 2
	sto, releaseOld, err := w.db.View(old)
	if err != nil {
		t.Fatal(err)
	}
	defer releaseOld()
	ho, err := w.db.Header(old)
	if err != nil {
		t.Fatal(err)
	}
	if e, err := sto.ExitProof(ids[1], 0); err != nil || e.Root() != ho.NewRoot {
		t.Fatalf("exit proof at batch %d: %v", old, err)
	}

	// typed errors
	if _, err := st.ExitProof(w.nextID, 0); !errors.Is(err, types.ErrAccountNotFound) {
		t.Fatalf("missing account: %v", err)
	}
	if _, err := st.ExitProof(1<<p.AccountDepth, 0); !errors.Is(err, types.ErrAccountRange) {
		t.Fatalf("account outside the tree: %v", err)
	}
	if _, err := st.ExitProof(ids[0], 1<<p.BalanceDepth); !errors.Is(err, types.ErrAssetRange) {
		t.Fatalf("token outside the tree: %v", err)
	}
}

// checkExitMutations changes each field and sibling of a valid proof in turn:
// Root must change, and Verify must fail with ErrBadExitProof.
func checkExitMutations(t *testing.T, p types.Params, e *ExitProof, root fr.Element) {
	t.Helper()
	one := fr.NewElement(1)
	bump := func(x *fr.Element) { x.Add(x, &one) }
	clone := func() *ExitProof {
		c := *e
		c.BalancePath = append([]fr.Element(nil), e.BalancePath...)
		c.AccountPath = append([]fr.Element(nil), e.AccountPath...)
		return &c
	}
	muts := map[string]func(c *ExitProof){
		"balance":       func(c *ExitProof) { c.Balance.AddUint64(&c.Balance, 1) },
		"pkX":           func(c *ExitProof) { bump(&c.PubKey.X) },
		"pkY":           func(c *ExitProof) { bump(&c.PubKey.Y) },
		"nonce":         func(c *ExitProof) { c.Nonce++ },
		"l1Address":     func(c *ExitProof) { c.L1Address[19] ^= 1 },
		"l1Address msb": func(c *ExitProof) { c.L1Address[0] ^= 0x80 },
		"positionRoot":  func(c *ExitProof) { bump(&c.PositionRoot) },
		"modelRoot":     func(c *ExitProof) { bump(&c.ModelRoot) },
	}
	for i := range e.BalancePath {
		muts[fmt.Sprint("balance sibling ", i)] = func(c *ExitProof) { bump(&c.BalancePath[i]) }
	}
	for i := range e.AccountPath {
		muts[fmt.Sprint("account sibling ", i)] = func(c *ExitProof) { bump(&c.AccountPath[i]) }
	}
	// another index: the fold differs unless the node equals the sibling it
	// trades places with (two empty balances), where both orders hash alike;
	// flipping bit 0 swaps positions 0<->1 or 2<->3 of the bottom level
	partner := e.BalancePath[0]
	if e.Token&2 != 0 {
		partner = e.BalancePath[2]
	}
	if BalanceLeaf(&e.Balance) != partner {
		muts["token"] = func(c *ExitProof) { c.Token ^= 1 }
	}
	muts["account"] = func(c *ExitProof) { c.Account ^= 1 } // the sibling is another account's leaf or empty
	for name, m := range muts {
		c := clone()
		m(c)
		if c.Root() == root {
			t.Fatalf("account %d token %d: changing the %s keeps the root", e.Account, e.Token, name)
		}
		if err := c.Verify(p, root); !errors.Is(err, ErrBadExitProof) {
			t.Fatalf("changed %s verifies: %v", name, err)
		}
	}
	// what Root alone does not see, Verify does: an index past the path
	// folds like the index inside it, a short path or a balance over 96 bits
	for name, m := range map[string]func(c *ExitProof){
		"account + 2^depth": func(c *ExitProof) { c.Account += 1 << p.AccountDepth },
		"token + 2^depth":   func(c *ExitProof) { c.Token += 1 << p.BalanceDepth },
		"short path":        func(c *ExitProof) { c.AccountPath = c.AccountPath[:len(c.AccountPath)-1] },
		"long path":         func(c *ExitProof) { c.BalancePath = append(c.BalancePath, fr.Element{}) },
		"balance + r":       func(c *ExitProof) { c.Balance.Add(&c.Balance, uint256.MustFromBig(fr.Modulus())) },
	} {
		c := clone()
		m(c)
		if err := c.Verify(p, root); !errors.Is(err, ErrBadExitProof) {
			t.Fatalf("%s verifies: %v", name, err)
		}
	}
	if err := clone().Verify(p, root); err != nil {
		t.Fatalf("unchanged proof: %v", err)
	}
}
