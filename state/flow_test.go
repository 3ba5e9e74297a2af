package state

import (
	"errors"
	"testing"

	"github.com/modex/modex/types"
)

// TestFlow walks the product's main path once: deposits, a model, a trade,
// credits bought and redeemed, revenue claimed, a withdrawal; every witness
// replays and every batch's root chains.
func TestFlow(t *testing.T) {
	w := newWorld(t, types.TestParams(), 4)
	const op, dao, alice, bob = 0, 1, 2, 3
	w.deposit(op, 0, 0)
	w.deposit(dao, 0, 1_000_000)
	w.deposit(alice, 0, 5_000_000)
	w.deposit(bob, 0, 5_000_000)

	w.mustAdd(w.sign(dao, &types.CreateModel{Account: w.acct[dao], Model: 1, QuoteToken: 0, Supply: 1000, MaxSupply: 2000,
		CreditPrice: u256(100), HolderBps: 6000, Weights: elem(11), Metadata: elem(12), Fee: u256(10), Nonce: 0}))
	// dao sells 400 shares at 50, alice buys 300 (partial fill of the sell order)
	sell := w.order(dao, 1, types.Sell, 1, 400, 50, 30)
	buy := w.order(alice, 1, types.Buy, 1, 300, 60, 30)
	w.mustAdd(&types.Trade{Buy: buy, Sell: sell, Fill: 300, Price: u256(50), BuyFeeBips: 10, SellFeeBips: 20})
	if got := w.position(alice, 1).Shares; got != 300 {
		t.Fatalf("alice shares %d", got)
	}
	// 15,000 quote: buyer pays 15,000 + 15 fee; seller gets 15,000 − 30
	if got := w.balance(alice, 0); got != 5_000_000-15_015 {
		t.Fatalf("alice balance %d", got)
	}
	if got := w.balance(dao, 0); got != 1_000_000-10+15_000-30 {
		t.Fatalf("dao balance %d", got)
	}
	// bob buys 10 credits at 100: 1,000, 60% to holders
	w.mustAdd(w.sign(bob, &types.BuyCredits{Account: w.acct[bob], Model: 1, Credits: 10, MaxPrice: u256(100), Fee: u256(1), Nonce: 0}))
	w.mustAdd(w.sign(bob, &types.RedeemCredits{Account: w.acct[bob], Model: 1, Credits: 4, Request: elem(99), Fee: u256(1), Nonce: 1}))
	w.seal()
	// alice holds 300 of 1000 shares: 30% of 600 = 180
	before := w.balance(alice, 0)
	w.mustAdd(w.sign(alice, &types.ClaimRevenue{Account: w.acct[alice], Model: 1, Fee: u256(0), Nonce: 0}))
	if got := w.balance(alice, 0) - before; got != 180 {
		t.Fatalf("alice revenue %d, want 180", got)
	}
	r := w.mustAdd(w.sign(alice, &types.Withdraw{Account: w.acct[alice], Token: 0, Amount: u256(1000), Fee: u256(5), To: userAddr(alice), Nonce: 1}))
	if r.Withdrawal == nil || r.Withdrawal.Amount.Uint64() != 1000 {
		t.Fatalf("withdrawal %+v", r.Withdrawal)
	}
	w.seal()
	// roots chain from genesis
	prev := EmptyRoot(w.p)
	for _, sb := range w.sealed {
		if sb.Header.PrevRoot != prev {
			t.Fatalf("batch %d does not chain", sb.Header.Number)
		}
		for _, wit := range sb.Witnesses {
			if err := VerifyWitness(w.p, wit); err != nil {
				t.Fatalf("batch %d: %v", sb.Header.Number, err)
			}
		}
		prev = sb.Header.NewRoot
	}
	// fee account got every fee: 10 + 15 + 30 + 1 + 1 + 0 + 5
	if got := w.balance(op, 0); got != 62 {
		t.Fatalf("fee account %d, want 62", got)
	}
}

// TestNoFeesBeforeFeeAccount: until account 0 exists, a transaction with a
// fee is refused (its settlement could not land); fee-free ones go through
// and the batch seals.
func TestNoFeesBeforeFeeAccount(t *testing.T) {
	w := newWorld(t, types.TestParams(), 3)
	w.nextID = 1 // the operator's deposit never happened: account 0 stays empty
	w.deposit(1, 0, 1000)
	w.deposit(2, 0, 1000)
	before, _ := w.st().Root()
	_, err := w.add(w.sign(1, &types.Transfer{From: w.acct[1], To: w.acct[2], Asset: types.ETH, Amount: u256(10), Fee: u256(1), Nonce: 0}))
	if !errors.Is(err, types.ErrAccountNotFound) {
		t.Fatalf("fee before the fee account exists: %v, want ErrAccountNotFound", err)
	}
	if after, _ := w.st().Root(); after != before {
		t.Fatal("a refused transaction changed the state")
	}
	w.mustAdd(w.sign(1, &types.Transfer{From: w.acct[1], To: w.acct[2], Asset: types.ETH, Amount: u256(10), Nonce: 0}))
	w.seal()
}

// TestApplyNilAndRebinding: a typed-nil transaction is malformed, not a
// panic; a deposit naming a second id for a pair the bridge already bound is
// an impossible input (ErrAccountMismatch) and changes nothing.
func TestApplyNilAndRebinding(t *testing.T) {
	w := newWorld(t, types.TestParams(), 3)
	w.deposit(0, 0, 0)
	w.deposit(1, 0, 100)
	for _, tx := range []types.Tx{(*types.Transfer)(nil), (*types.Deposit)(nil), nil} {
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Errorf("%T: Batch.Add panics: %v", tx, r)
				}
			}()
			if _, err := w.batch.Add(tx); !errors.Is(err, types.ErrMalformed) {
				t.Errorf("%T: %v, want ErrMalformed", tx, err)
			}
		}()
	}
	before, _ := w.st().Root()
	d := w.depositTx(1, 0, 5)
	d.Account = 40 % (1 << w.p.AccountDepth)
	if _, err := w.batch.Add(d); !errors.Is(err, types.ErrAccountMismatch) {
		t.Fatalf("second id for a bound pair: %v, want ErrAccountMismatch", err)
	}
	if after, _ := w.st().Root(); after != before {
		t.Fatal("a refused deposit changed the state")
	}
}

// TestWitnessBindsPriorityOutcome: a priority operation's published outcome
// (refused or credited, the forced amount) must agree with its leaves.
func TestWitnessBindsPriorityOutcome(t *testing.T) {
	w := newWorld(t, types.TestParams(), 3)
	w.deposit(0, 0, 0)
	w.deposit(1, 0, 100)
	// credited deposit: claiming another amount fails
	d := w.depositTx(1, 0, 7)
	r := w.mustAdd(d)
	w.prio++
	d2 := *d
	d2.Amount.SetUint64(8)
	r.Witness.Tx = &d2
	if err := VerifyWitness(w.p, r.Witness); err == nil {
		t.Fatal("credited deposit with another amount verified")
	}
	d2 = *d
	d2.Refused = true
	if err := VerifyWitness(w.p, r.Witness); err == nil {
		t.Fatal("credited deposit claimed refused verified")
	}
	// refused deposit (a key that cannot sign): claiming it credited fails
	bad := &types.Deposit{PriorityID: w.prio, Account: w.nextID, L1Address: userAddr(2), Token: 0}
	bad.Amount.SetUint64(9)
	r = w.mustAdd(bad)
	w.prio++
	if !bad.Refused {
		t.Fatal("deposit with the empty key not refused")
	}
	flip := *bad
	flip.Refused = false
	r.Witness.Tx = &flip
	if err := VerifyWitness(w.p, r.Witness); err == nil {
		t.Fatal("refused deposit claimed credited verified")
	}
	// forced withdrawal by a stranger pays 0; claiming an amount fails
	fw := &types.ForcedWithdraw{PriorityID: w.prio, Requester: userAddr(2), Account: w.acct[1], Token: 0}
	r = w.mustAdd(fw)
	if !fw.Amount.IsZero() {
		t.Fatal("stranger paid")
	}
	claim := *fw
	claim.Amount.SetUint64(12345)
	r.Witness.Tx = &claim
	if err := VerifyWitness(w.p, r.Witness); err == nil {
		t.Fatal("forced withdrawal with an invented amount verified")
	}
}
