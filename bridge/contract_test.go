package bridge

import (
	"math/big"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/modex/modex/contracts/bindings"
	"github.com/modex/modex/types"
)

func sleepMs(n int) { time.Sleep(time.Duration(n) * time.Millisecond) }

// TestHappyPath: deposits of ETH and of a token are proven into L2, two L2
// withdrawals are proven, and both are claimed on L1 (one by its owner, one
// by a third party for its owner). Every L1 balance is exact, gas included,
// and the bridge holds exactly the L2 supply plus what is pending.
func TestHappyPath(t *testing.T) {
	if testing.Short() {
		t.Skip("real proofs: skipped under -short")
	}
	e := newEnv(t, envOpts{families: []types.Family{types.FamilyWithdraw}})
	alice, bob, carol := e.users[0], e.users[1], e.users[2]
	tokenAddr, tokenID := e.deployToken("USD")
	tt := bindings.NewTestToken()
	eth := common.Address{}

	aliceETH0 := e.balance(eth, alice.addr)
	bobETH0 := e.balance(eth, bob.addr)
	spent := new(big.Int)
	spent.Add(spent, gasCost(e.must(e.send(alice, &tokenAddr, nil, tt.PackMint(alice.addr, big.NewInt(1000))))))
	r := e.depositETH(alice, big.NewInt(5e18))
	spent.Add(spent, gasCost(r))
	spent.Add(spent, gasCost(e.must(e.send(alice, &tokenAddr, nil, tt.PackApprove(e.c.Address, big.NewInt(1000))))))
	spent.Add(spent, gasCost(e.must(e.call(alice, nil, ABI.PackDepositERC20(tokenAddr, big.NewInt(1000), elemBig(alice.pk.X), elemBig(alice.pk.Y))))))
	bobSpent := gasCost(e.depositETH(bob, big.NewInt(1e18)))
	e.flush()
	if alice.account == 0 || bob.account == 0 || alice.account == bob.account {
		t.Fatalf("account ids: alice %d, bob %d", alice.account, bob.account)
	}
	if got := e.l2Balance(alice.account, 0); got.Uint64() != 5e18 {
		t.Fatalf("alice's L2 ETH: %v", got)
	}
	if got := e.l2Balance(alice.account, tokenID); got.Uint64() != 1000 {
		t.Fatalf("alice's L2 token: %v", got)
	}

	e.commit(e.withdrawTx(alice, 0, big.NewInt(2e18), alice.addr), e.withdrawTx(alice, tokenID, big.NewInt(300), carol.addr))
	if got := e.l2Balance(alice.account, 0); got.Uint64() != 3e18 {
		t.Fatalf("alice's L2 ETH after the withdrawal: %v", got)
	}
	p, err := e.c.Pending(e.ctx, alice.addr, 0)
	if err != nil || p.Cmp(big.NewInt(2e18)) != 0 {
		t.Fatalf("alice's pending ETH %v, %v", p, err)
	}
	if p, _ = e.c.Pending(e.ctx, carol.addr, tokenID); p.Cmp(big.NewInt(300)) != 0 {
		t.Fatalf("carol's pending token %v", p)
	}
	// alice pulls 2 ETH in two parts; bob claims carol's tokens for her
	spent.Add(spent, gasCost(e.must(e.call(alice, nil, ABI.PackWithdraw(0, big.NewInt(15e17), alice.addr)))))
	_, err = e.call(alice, nil, ABI.PackWithdraw(0, big.NewInt(6e17), alice.addr))
	wantRevert(t, err, "InsufficientPending")
	spent.Add(spent, gasCost(e.must(e.call(alice, nil, ABI.PackWithdraw(0, big.NewInt(5e17), alice.addr)))))
	bobSpent.Add(bobSpent, gasCost(e.must(e.call(bob, nil, ABI.PackClaim(carol.addr, tokenID)))))
	_, err = e.call(bob, nil, ABI.PackClaim(carol.addr, tokenID))
	wantRevert(t, err, "InsufficientPending")

	want := new(big.Int).Sub(aliceETH0, big.NewInt(3e18))
	want.Sub(want, spent)
	if got := e.balance(eth, alice.addr); got.Cmp(want) != 0 {
		t.Fatalf("alice's L1 ETH %v, want %v", got, want)
	}
	want = new(big.Int).Sub(bobETH0, big.NewInt(1e18))
	want.Sub(want, bobSpent)
	if got := e.balance(eth, bob.addr); got.Cmp(want) != 0 {
		t.Fatalf("bob's L1 ETH %v, want %v", got, want)
	}
	if got := e.balance(tokenAddr, carol.addr); got.Int64() != 300 {
		t.Fatalf("carol's tokens %v", got)
	}
	if got := e.balance(tokenAddr, alice.addr); got.Int64() != 0 {
		t.Fatalf("alice's tokens %v", got)
	}
	// the bridge holds the L2 supply: 3 + 1 ETH, 700 tokens (nothing pending)
	if got := e.balance(eth, e.c.Address); got.Cmp(big.NewInt(4e18)) != 0 {
		t.Fatalf("bridge ETH %v", got)
	}
	if got := e.balance(tokenAddr, e.c.Address); got.Int64() != 700 {
		t.Fatalf("bridge tokens %v", got)
	}
	last, _ := e.c.LastBatch(e.ctx)
	root, _ := e.c.StateRoot(e.ctx)
	head, _ := e.db.Root(e.db.Head())
	if last != e.db.Head() || root != head {
		t.Fatalf("L1 at batch %d root %s; native %d root %s", last, root.String(), e.db.Head(), head.String())
	}
}
