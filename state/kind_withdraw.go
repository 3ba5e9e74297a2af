package state

import (
	"errors"
	"fmt"

	"github.com/holiman/uint256"

	"github.com/modex/modex/types"
)

// Withdraw (docs/protocol.md §5.3) and ForcedWithdraw (§5.4); their gadgets
// are in circuits/kind_withdraw.go.
var withdrawRule = kindOf[*types.Withdraw]{
	precheck: func(p types.Params, t *types.Withdraw) error {
		if err := types.BaseAsset(t.Token).Check(p); err != nil {
			return fmt.Errorf("%w: %v", types.ErrAssetNotWithdrawable, err) // one typed error per rejection
		}
		if err := checkAmount(&t.Amount, types.AmountBits, "amount"); err != nil {
			return err
		}
		return checkFee(&t.Fee)
	},
	apply: (*State).withdraw,
	shape: func(_ types.Params, t *types.Withdraw) []shapeStep {
		return []shapeStep{balStep(t.Account, t.Token), acctStep(t.Account)}
	},
}

func (s *State) withdraw(t *types.Withdraw, rcpt *Receipt) (commitFn, error) {
	a, err := s.signer(t)
	if err != nil {
		return nil, err
	}
	bal, err := s.feeFrom(t.Account, t.Token, &t.Fee, rcpt)
	if err != nil {
		return nil, err
	}
	if bal, err = debit(bal, &t.Amount); err != nil {
		return nil, err
	}
	rcpt.Withdrawal = &Withdrawal{To: t.To, Token: t.Token, Amount: t.Amount}
	return func() error {
		return s.writes(
			func() error { return s.setBalance(t.Account, t.Token, bal) },
			func() error { return s.setAccount(t.Account, a) })
	}, nil
}

// ForcedWithdraw: the bridge's entry point takes a uint24 account id, so a
// wider one (refused by CheckWidths) is an impossible input.
var forcedWithdrawRule = kindOf[*types.ForcedWithdraw]{
	apply: (*State).forcedWithdraw,
	shape: func(p types.Params, t *types.ForcedWithdraw) []shapeStep {
		if uint64(t.Account) >= 1<<p.AccountDepth || uint64(t.Token) >= 1<<p.BalanceDepth {
			return nil // out of the trees: pubdata alone shows amount 0 is right
		}
		if t.Amount.IsZero() { // the two leaves prove why nothing is paid
			return reads(balStep(t.Account, t.Token), acctStep(t.Account))
		}
		return []shapeStep{balStep(t.Account, t.Token), acctStep(t.Account)}
	},
	outcome: forcedWithdrawOutcome,
	fill:    func(_ *State, t *types.ForcedWithdraw, prio uint64) { t.PriorityID = prio },
}

func (s *State) forcedWithdraw(t *types.ForcedWithdraw, rcpt *Receipt) (commitFn, error) {
	// (Apply checked the priority order.)
	t.Amount.Clear()
	if s.checkAccountID(t.Account) != nil || s.checkToken(t.Token) != nil {
		// out of the trees: amount 0, and the circuit sees why from pubdata alone
		return s.bumpPriority, nil
	}
	a, err := s.Account(t.Account)
	if err != nil && !errors.Is(err, types.ErrAccountNotFound) {
		return nil, err
	}
	if a != nil && a.L1Address == t.Requester {
		bal, err := s.Balance(t.Account, t.Token)
		if err != nil {
			return nil, err
		}
		t.Amount.Set(bal)
	}
	if t.Amount.IsZero() {
		// amount 0 must be proven too (no account, another owner, or an empty
		// balance), or an operator could answer every request with 0
		return s.readBalanceAndAccount(t.Account, t.Token), nil
	}
	rcpt.Withdrawal = &Withdrawal{To: t.Requester, Token: t.Token, Amount: t.Amount}
	return func() error {
		return s.writes(
			func() error { return s.setBalance(t.Account, t.Token, new(uint256.Int)) },
			func() error { return s.setAccount(t.Account, a) },
			s.bumpPriority)
	}, nil
}

// forcedWithdrawOutcome binds the published amount to the leaves: the whole
// balance if the requester owns the account, else 0.
func forcedWithdrawOutcome(t *types.ForcedWithdraw, w *TxWitness) error {
	if len(w.Updates) == 0 {
		return nil // outside the trees: amount 0, checked by Shape
	}
	bal, acct, err := balanceAndAccount(w)
	if err != nil {
		return err
	}
	oldBal := bal.OldData.(*uint256.Int)
	owner := acct.OldData.(*Account).L1Address == t.Requester
	want := new(uint256.Int)
	if owner {
		want.Set(oldBal)
	}
	if !t.Amount.Eq(want) {
		return fmt.Errorf("witness: forced withdrawal of %s, the leaves give %s", t.Amount.Dec(), want.Dec())
	}
	if !bal.NewData.(*uint256.Int).Eq(new(uint256.Int).Sub(oldBal, want)) {
		return fmt.Errorf("witness: forced withdrawal does not debit exactly its amount")
	}
	return nil
}
