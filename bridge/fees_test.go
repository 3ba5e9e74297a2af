package bridge

import (
	"math/big"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/modex/modex/contracts/bindings"
	"github.com/modex/modex/types"
)

// TestPriorityFee: every priority request pays the configured fee to the
// operator (flooding the queue to force exodus costs the flooder what
// processing it costs the operator); a deposit credits its value minus the
// fee on L2.
func TestPriorityFee(t *testing.T) {
	if testing.Short() {
		t.Skip("real proofs: skipped under -short")
	}
	fee := big.NewInt(1e15)
	e := newEnv(t, envOpts{fee: fee})
	alice, bob := e.users[0], e.users[1]
	pkX, pkY := elemBig(alice.pk.X), elemBig(alice.pk.Y)

	_, err := e.call(alice, new(big.Int).Sub(fee, big.NewInt(1)), ABI.PackDepositETH(pkX, pkY))
	wantRevert(t, err, "PriorityFeeTooLow")
	_, err = e.call(alice, fee, ABI.PackDepositETH(pkX, pkY))
	wantRevert(t, err, "AmountOutOfRange")
	e.must(e.call(alice, big.NewInt(1e18), ABI.PackDepositETH(pkX, pkY)))
	tokenAddr, _ := e.deployToken("USD")
	_, err = e.call(alice, nil, ABI.PackDepositERC20(tokenAddr, big.NewInt(1), pkX, pkY))
	wantRevert(t, err, "PriorityFeeTooLow")
	e.flush()
	want := new(big.Int).Sub(big.NewInt(1e18), fee)
	if got := e.l2Balance(alice.account, 0); got.ToBig().Cmp(want) != 0 {
		t.Fatalf("alice's L2 balance %v, want %v", got, want)
	}
	_, err = e.call(bob, nil, ABI.PackRequestForcedWithdraw(alice.account, 0))
	wantRevert(t, err, "PriorityFeeTooLow")
	_, err = e.call(bob, new(big.Int).Mul(fee, big.NewInt(2)), ABI.PackRequestForcedWithdraw(alice.account, 0))
	wantRevert(t, err, "PriorityFeeTooLow")
	e.must(e.call(bob, fee, ABI.PackRequestForcedWithdraw(alice.account, 0)))
	p, err := e.c.Pending(e.ctx, e.op.addr, 0)
	if err != nil {
		t.Fatal(err)
	}
	if want := new(big.Int).Mul(fee, big.NewInt(2)); p.Cmp(want) != 0 {
		t.Fatalf("operator's pending fees %v, want %v (two requests)", p, want)
	}
	// the bridge holds alice's L2 balance plus the operator's fees
	if got, want := e.balance(common.Address{}, e.c.Address), new(big.Int).Add(big.NewInt(1e18), fee); got.Cmp(want) != 0 {
		t.Fatalf("bridge holds %v, want %v", got, want)
	}
	_ = bindings.NewTestToken
}

// TestBatchLag: a batch whose timestamp trails the L1 block time by more than
// maxBatchLag is refused (an operator cannot keep time still to fill expired
// orders); sealed again with a current timestamp it is accepted.
func TestBatchLag(t *testing.T) {
	if testing.Short() {
		t.Skip("real proofs: skipped under -short")
	}
	e := newEnv(t, envOpts{})
	e.depositETH(e.users[0], big.NewInt(1e18))
	sb, reqs := e.sealQueued(0)
	data := e.commitData(sb, e.prove(sb))
	if err := e.sim.AdjustTime((DefaultMaxBatchLag + 60) * time.Second); err != nil {
		t.Fatal(err)
	}
	e.sim.Commit()
	_, err := e.call(e.op, nil, data)
	wantRevert(t, err, "BadTimestamp")
	e.rollback(0)
	e.commit(reqs...)
	if last, _ := e.c.LastBatch(e.ctx); last != 1 {
		t.Fatalf("last batch %d", last)
	}
	_ = types.FamilyPriority
}
