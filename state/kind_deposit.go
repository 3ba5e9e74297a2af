package state

import (
	"errors"
	"fmt"

	"github.com/ethereum/go-ethereum/common"
	"github.com/holiman/uint256"

	"github.com/modex/modex/types"
)

// Deposit (docs/protocol.md §5.1); its gadget is circuits/kind_deposit.go.
var depositRule = kindOf[*types.Deposit]{
	apply: (*State).deposit,
	shape: func(_ types.Params, t *types.Deposit) []shapeStep {
		if t.Refused { // the two leaves prove the refusal
			return reads(balStep(t.Account, t.Token), acctStep(t.Account))
		}
		return []shapeStep{balStep(t.Account, t.Token), acctStep(t.Account)}
	},
	outcome: depositOutcome,
	fill:    func(_ *State, t *types.Deposit, prio uint64) { t.PriorityID = prio },
}

func (s *State) deposit(t *types.Deposit, rcpt *Receipt) (commitFn, error) {
	// (Apply checked the priority order.) A Priority batch collects no fees
	// (§8), so a deposit never meets pending fees: account 0's overflow is
	// decided on its balance alone, exactly as the circuit decides it
	// (circuits/kind_deposit.go).
	if toks := s.fees.Tokens(); len(toks) != 0 {
		return nil, fmt.Errorf("%w: a deposit after fees in tokens %v", ErrFamily, toks)
	}
	// What the bridge guarantees for every queued deposit (the widths were
	// checked by CheckWidths); a violation is an impossible input, not a
	// refusal.
	if t.L1Address == (common.Address{}) {
		return nil, fmt.Errorf("%w: deposit from the zero address", types.ErrMalformed)
	}
	if err := s.checkAccountID(t.Account); err != nil {
		return nil, err
	}
	if err := s.checkToken(t.Token); err != nil {
		return nil, err
	}
	acct := &Account{PubKey: t.PubKey, L1Address: t.L1Address}
	existing, err := s.Account(t.Account)
	switch {
	case err == nil:
		if !existing.PubKey.Equal(t.PubKey) || existing.L1Address != t.L1Address {
			return nil, fmt.Errorf("%w: account %d", types.ErrAccountMismatch, t.Account)
		}
		acct = existing
	case errors.Is(err, types.ErrAccountNotFound):
		// the bridge binds a pair to one id; a second id for a bound pair is an
		// impossible input, refused like the other bridge guarantees
		if bound, ok, err := s.AccountByKey(acct); err != nil {
			return nil, err
		} else if ok && bound != t.Account {
			return nil, fmt.Errorf("%w: pair already bound to account %d, deposit names %d", types.ErrAccountMismatch, bound, t.Account)
		}
		// a new account: only a key that can sign may open one (docs/protocol.md §5.1)
		rcpt.Refusal = types.CheckPublicKey(t.PubKey)
	default:
		return nil, err
	}
	created := existing == nil && rcpt.Refusal == nil
	var newBal *uint256.Int
	if rcpt.Refusal == nil {
		bal, err := s.Balance(t.Account, t.Token)
		if err != nil {
			return nil, err
		}
		if newBal, err = credit(bal, &t.Amount); err != nil {
			rcpt.Refusal = err
		}
	}
	t.Refused = rcpt.Refusal != nil
	if t.Refused {
		return s.readBalanceAndAccount(t.Account, t.Token), nil // the circuit proves the refusal from these
	}
	return func() error {
		if created {
			if err := s.kv.Set(indexKey(acct), be32(t.Account)); err != nil {
				return err
			}
		}
		return s.writes(
			func() error { return s.setBalance(t.Account, t.Token, newBal) },
			func() error { return s.setAccount(t.Account, acct) },
			s.bumpPriority)
	}, nil
}

// depositOutcome binds a deposit's published refusal to its leaves, as the
// circuit does: refused exactly when a reason holds (a new account's key
// cannot sign, or the balance would reach 2^96), else credited exactly.
func depositOutcome(t *types.Deposit, w *TxWitness) error {
	bal, acct, err := balanceAndAccount(w)
	if err != nil {
		return err
	}
	oldBal := bal.OldData.(*uint256.Int)
	oldAcct, newAcct := acct.OldData.(*Account), acct.NewData.(*Account)
	isNew := oldAcct.PubKey.IsZero() && oldAcct.L1Address == (common.Address{})
	overflow := !types.Fits(new(uint256.Int).Add(oldBal, &t.Amount), types.AmountBits)
	badKey := isNew && types.CheckPublicKey(t.PubKey) != nil
	if t.Refused != (overflow || badKey) {
		if t.Refused {
			return fmt.Errorf("witness: deposit claimed refused without a reason")
		}
		return fmt.Errorf("witness: deposit credited despite a reason to refuse it")
	}
	if t.Refused {
		return nil
	}
	if want := new(uint256.Int).Add(oldBal, &t.Amount); !bal.NewData.(*uint256.Int).Eq(want) {
		return fmt.Errorf("witness: deposit does not credit exactly its amount")
	}
	if !newAcct.PubKey.Equal(t.PubKey) || newAcct.L1Address != t.L1Address || newAcct.Nonce != oldAcct.Nonce ||
		(!isNew && (!oldAcct.PubKey.Equal(t.PubKey) || oldAcct.L1Address != t.L1Address)) {
		return fmt.Errorf("witness: deposit account not bound to its (address, key)")
	}
	return nil
}
