package state

import (
	"testing"

	"github.com/modex/modex/types"
)

// TestProofsAtKeptBatches takes the exit path: at an old batch, an account's
// balance proof and account proof chain up to that batch's header root, and
// keep doing so after later batches change the same leaves.
func TestProofsAtKeptBatches(t *testing.T) {
	w := newWorld(t, types.TestParams(), 3)
	w.deposit(0, 0, 0)
	w.deposit(1, 0, 1000)
	w.deposit(2, 1, 500)
	w.seal() // batch 1
	w.mustAdd(w.sign(1, &types.Transfer{From: w.acct[1], To: w.acct[2], Asset: types.ETH, Amount: u256(300), Fee: u256(1), Nonce: 0}))
	w.seal() // batch 2
	w.mustAdd(w.sign(1, &types.Transfer{From: w.acct[1], To: w.acct[2], Asset: types.ETH, Amount: u256(200), Fee: u256(1), Nonce: 1}))
	w.seal() // batch 3

	for batch, want := range map[uint64]uint64{1: 1000, 2: 699, 3: 498} {
		st, release, err := w.db.View(batch)
		if err != nil {
			t.Fatal(err)
		}
		id := w.acct[1]
		bal, err := st.Balance(id, 0)
		if err != nil || bal.Uint64() != want {
			t.Fatalf("batch %d: balance %v (%v), want %d", batch, bal, err, want)
		}
		bp, err := st.ProveBalance(id, 0)
		if err != nil {
			t.Fatal(err)
		}
		acct, err := st.Account(id)
		if err != nil {
			t.Fatal(err)
		}
		_, posRoot, err := st.Subroots(id)
		if err != nil {
			t.Fatal(err)
		}
		// the balance proof gives the balance root the account leaf commits to
		if bp.Leaf != BalanceLeaf(bal) {
			t.Fatalf("batch %d: balance leaf not bound to the balance", batch)
		}
		ap, err := st.ProveAccount(id)
		if err != nil {
			t.Fatal(err)
		}
		if ap.Leaf != AccountLeaf(acct, bp.ComputeRoot(), posRoot) {
			t.Fatalf("batch %d: account leaf does not commit to the proven balance root", batch)
		}
		accRoot, modelRoot, err := st.Roots()
		if err != nil {
			t.Fatal(err)
		}
		if !ap.Verify(accRoot, st.Params().AccountDepth) {
			t.Fatalf("batch %d: account proof does not verify", batch)
		}
		h, err := w.db.Header(batch)
		if err != nil {
			t.Fatal(err)
		}
		if types.Compress(accRoot, modelRoot) != h.NewRoot {
			t.Fatalf("batch %d: roots do not give the header root", batch)
		}
		release()
	}
}
