package bridge

import (
	"errors"
	"math/big"
	"testing"

	"github.com/ethereum/go-ethereum/common"

	"github.com/modex/modex/state"
	"github.com/modex/modex/state/store"
	"github.com/modex/modex/types"
)

// TestExitFromL1Data: the exit helper rebuilds the state from L1 alone (the
// BatchVerified events and the commitBatch calldata), equal to the
// operator's state after every batch, and its exit proof pays on L1 in
// exodus. A rebuild against a contract whose root differs is refused.
func TestExitFromL1Data(t *testing.T) {
	if testing.Short() {
		t.Skip("real proofs: skipped under -short")
	}
	e := newEnv(t, envOpts{families: []types.Family{types.FamilyWithdraw}, deadline: 5})
	alice, bob := e.users[0], e.users[1]
	e.depositETH(alice, big.NewInt(3e18))
	e.depositETH(bob, big.NewInt(2e18))
	e.flush()
	e.commit(e.withdrawTx(alice, 0, big.NewInt(1e18), alice.addr))

	db, err := state.Open(e.p, e.d, store.Options{InMemory: true, KeepBatches: 1 << 20, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var seen []uint64
	defer func(r uint64) { logRange = r }(logRange)
	logRange = 3 // the history in many eth_getLogs ranges
	if err := Rebuild(e.ctx, e.l1, e.c, 0, db, func(n, _ uint64) { seen = append(seen, n) }); err != nil {
		t.Fatal(err)
	}
	if db.Head() != e.db.Head() || len(seen) != int(e.db.Head()) {
		t.Fatalf("rebuilt %d batches (%v), the operator has %d", db.Head(), seen, e.db.Head())
	}
	for n := uint64(1); n <= db.Head(); n++ {
		a, _ := db.Root(n)
		b, _ := e.db.Root(n)
		if a != b {
			t.Fatalf("batch %d: rebuilt root %s, operator %s", n, a.String(), b.String())
		}
	}

	// the operator stops; bob's forced withdrawal is never processed
	e.must(e.call(bob, nil, ABI.PackRequestForcedWithdraw(bob.account, 0)))
	for i := 0; i < 5; i++ {
		e.sim.Commit()
	}
	e.must(e.call(alice, nil, ABI.PackActivateExodus()))
	// alice's exit from the rebuilt database, bob's through the whole helper
	p, err := ExitProof(db, alice.account, 0)
	if err != nil {
		t.Fatal(err)
	}
	before := e.balance(common.Address{}, alice.addr)
	r := e.must(e.call(e.users[2], nil, ABI.PackExit(ExitArg(p)))) // anyone may send it
	if got := new(big.Int).Sub(e.balance(common.Address{}, alice.addr), before); got.Cmp(big.NewInt(2e18)) != 0 {
		t.Fatalf("alice's exit paid %v", got)
	}
	t.Logf("exit at depths %d/%d: %d gas", e.p.AccountDepth, e.p.BalanceDepth, r.GasUsed)
	before = e.balance(common.Address{}, bob.addr)
	tx, proof, err := ExitFromL1(e.ctx, e.l1, e.c, types.TestParams(), 0, e.opts(e.users[2]), bob.account, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	e.sim.Commit()
	if _, err := WaitSuccess(e.ctx, e.l1, tx); err != nil {
		t.Fatal(err)
	}
	if got := new(big.Int).Sub(e.balance(common.Address{}, bob.addr), before); got.Cmp(big.NewInt(2e18)) != 0 || proof.L1Address != bob.addr {
		t.Fatalf("bob's exit paid %v to %s", got, proof.L1Address)
	}
	// the helper refuses a second exit before sending anything
	if _, _, err := ExitFromL1(e.ctx, e.l1, e.c, types.TestParams(), 0, e.opts(e.users[2]), bob.account, 0, nil); err == nil {
		t.Fatal("a second exit was sent")
	} else {
		wantRevert(t, err, "AlreadyExited")
	}

	// a state that is not the contract's is refused
	other, err := state.Open(e.p, e.d, store.Options{InMemory: true, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	b, err := other.NewBatch(1)
	if err != nil {
		t.Fatal(err)
	}
	d := &types.Deposit{PriorityID: 0, Account: 0, L1Address: e.op.addr, PubKey: e.op.pk}
	if _, err := b.Add(d); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Seal(); err != nil {
		t.Fatal(err)
	}
	if err := Rebuild(e.ctx, e.l1, e.c, 0, other, nil); !errors.Is(err, ErrRebuildMismatch) {
		t.Fatalf("want ErrRebuildMismatch, got %v", err)
	}
}
