package state

import (
	"errors"
	"fmt"
	"math"
	"reflect"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/ethereum/go-ethereum/common"
	"github.com/holiman/uint256"

	"github.com/modex/modex/types"
)

// ErrWriteFailed marks a storage failure after validation passed: the state
// transaction is then inconsistent and the whole batch must be discarded.
var ErrWriteFailed = errors.New("state: write failed after validation; discard the batch")

// Withdrawal is an L1 payout a proven batch makes pending on the bridge.
type Withdrawal struct {
	To     common.Address
	Token  uint16
	Amount uint256.Int
}

// Receipt is the result of one applied transaction.
type Receipt struct {
	Pubdata    []byte
	Witness    *TxWitness
	FeeToken   uint16
	Fee        uint256.Int
	Withdrawal *Withdrawal // Withdraw and ForcedWithdraw with a non-zero amount
	Refusal    error       // why a Deposit was refused (refunded on L1), else nil
}

type commitFn func() error

// Apply validates tx against the state and applies it. A rejected transaction
// returns a typed error (errors.Is against types.ErrX) and changes nothing:
// every check runs before the first write. Priority operations (Deposit,
// ForcedWithdraw) are never rejected for their content, only for their order;
// a deposit that cannot be credited is marked Refused and refunded on L1.
func (s *State) Apply(tx types.Tx) (*Receipt, error) {
	if tx == nil || reflect.ValueOf(tx).IsNil() {
		return nil, fmt.Errorf("%w: nil transaction", types.ErrMalformed)
	}
	rcpt := &Receipt{}
	// a replayed or skipped priority operation is out of order whatever it holds
	if op, ok := tx.(types.PriorityOp); ok {
		if err := s.checkPriority(op.Priority()); err != nil {
			return nil, fmt.Errorf("%s: %w", tx.Kind(), err)
		}
	}
	if err := precheck(s.p, tx); err != nil {
		return nil, fmt.Errorf("%s: %w", tx.Kind(), err)
	}
	rule, err := ruleOf(tx)
	if err != nil {
		return nil, err
	}
	commit, err := rule.apply(s, tx, rcpt) // state/kind_<name>.go
	if err != nil {
		return nil, fmt.Errorf("%s: %w", tx.Kind(), err)
	}
	if rcpt.Pubdata, err = types.Pubdata(tx); err != nil {
		return nil, fmt.Errorf("%s: %w", tx.Kind(), err)
	}
	if !s.flat {
		if err := s.startWitness(tx); err != nil {
			return nil, err
		}
		defer func() { s.wit = nil }()
	}
	// From the first write on, any failure leaves the store transaction
	// half-written: it is ErrWriteFailed (the batch must be discarded), still
	// wrapping the cause, so store.ErrBatchTooLarge stays visible to errors.Is.
	if err := commit(); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrWriteFailed, tx.Kind(), err)
	}
	s.fees.add(rcpt.FeeToken, &rcpt.Fee)
	if s.flat {
		return rcpt, nil
	}
	if s.wit.RootAfter, err = s.Root(); err != nil {
		return nil, fmt.Errorf("%w: %s: root: %w", ErrWriteFailed, tx.Kind(), err)
	}
	rcpt.Witness = s.wit
	return rcpt, nil
}

// ---- shared checks ----

// signer loads the signing account and checks signature and nonce.
func (s *State) signer(tx types.SignedTx) (*Account, error) {
	a, err := s.Account(tx.Signer())
	if err != nil {
		return nil, err
	}
	if !s.replay { // replay: no signature in pubdata (state/replay.go)
		if err := types.VerifyTx(a.PubKey, s.domain, tx); err != nil {
			return nil, err
		}
	}
	if a.Nonce != tx.GetNonce() {
		return nil, fmt.Errorf("%w: got %d, account at %d", types.ErrNonce, tx.GetNonce(), a.Nonce)
	}
	if a.Nonce == math.MaxUint32 {
		return nil, types.ErrNonceOverflow
	}
	a.Nonce++ // the caller writes it back
	return a, nil
}

// signerAndModel loads the signer and the model of a kind that acts on one
// model, in that order (so the errors are those of the two loads).
func (s *State) signerAndModel(tx types.SignedTx, model uint16) (*Account, *Model, error) {
	a, err := s.signer(tx)
	if err != nil {
		return nil, nil, err
	}
	m, err := s.Model(model)
	if err != nil {
		return nil, nil, err
	}
	return a, m, nil
}

func checkFee(fee *uint256.Int) error {
	if !types.Fits(fee, types.AmountBits) {
		return fmt.Errorf("%w: fee", types.ErrAmountTooLarge)
	}
	if !types.Fee16.Packable(fee) {
		return fmt.Errorf("%w: fee %s", types.ErrNotPackable, fee.Dec())
	}
	return nil
}

func (s *State) checkToken(token uint16) error {
	return types.BaseAsset(token).Check(s.p)
}

// debit returns bal − amount, or ErrInsufficientFunds.
func debit(bal, amount *uint256.Int) (*uint256.Int, error) {
	if bal.Lt(amount) {
		return nil, fmt.Errorf("%w: have %s, need %s", types.ErrInsufficientFunds, bal.Dec(), amount.Dec())
	}
	return new(uint256.Int).Sub(bal, amount), nil
}

// credit returns bal + amount, or ErrBalanceOverflow past 2^96.
func credit(bal, amount *uint256.Int) (*uint256.Int, error) {
	v := new(uint256.Int).Add(bal, amount)
	if !types.Fits(v, types.AmountBits) {
		return nil, fmt.Errorf("%w: %s", types.ErrBalanceOverflow, v.Dec())
	}
	return v, nil
}

// credit adds amount to account id's balance bal of token. The fee account
// also has the batch's collected fees still to come (§7) plus txFee, the fee
// in token this transaction adds to the book, so its headroom counts them:
// the fee settlement can then never overflow.
func (s *State) credit(id uint32, token uint16, bal, amount, txFee *uint256.Int) (*uint256.Int, error) {
	v, err := credit(bal, amount)
	if err != nil || id != types.FeeAccount {
		return v, err
	}
	pending := s.fees.Amount(token)
	if txFee != nil {
		pending.Add(pending, txFee)
	}
	if _, err := credit(v, pending); err != nil {
		return nil, fmt.Errorf("fee account with this batch's fees: %w", err)
	}
	return v, nil
}

// checkFeeRoom checks the fee account can still take fee in token at the
// batch's fee settlement.
func (s *State) checkFeeRoom(token uint16, fee *uint256.Int) error {
	if fee.IsZero() {
		return nil
	}
	// no fee before the fee account exists, or the settlement could not land
	if _, err := s.Account(types.FeeAccount); err != nil {
		return fmt.Errorf("fee account: %w", err)
	}
	bal, err := s.Balance(types.FeeAccount, token)
	if err != nil {
		return err
	}
	pending := new(uint256.Int).Add(s.fees.Amount(token), fee)
	if _, err := credit(bal, pending); err != nil {
		return fmt.Errorf("fee account would overflow at settlement: %w", err)
	}
	return nil
}

// feeFrom charges a fee in token to account id: it checks the batch's
// fee-token capacity, the fee account's headroom and the balance, and returns
// the new balance.
func (s *State) feeFrom(id uint32, token uint16, fee *uint256.Int, rcpt *Receipt) (*uint256.Int, error) {
	// the fee's format was checked by precheck
	if err := s.fees.check(token, fee); err != nil {
		return nil, err
	}
	if err := s.checkFeeRoom(token, fee); err != nil {
		return nil, err
	}
	bal, err := s.Balance(id, token)
	if err != nil {
		return nil, err
	}
	rcpt.FeeToken = token
	rcpt.Fee.Set(fee)
	return debit(bal, fee)
}

func (s *State) checkPriority(id uint64) error {
	next, err := s.NextPriority()
	if err != nil {
		return err
	}
	if id != next {
		return fmt.Errorf("%w: got %d, next is %d", types.ErrPriorityOrder, id, next)
	}
	return nil
}

func (s *State) bumpPriority() error {
	next, err := s.NextPriority()
	if err != nil {
		return err
	}
	return s.setCounter(keyNextPriority, next+1)
}

// ---- priority operations ----

// ---- L2 transactions ----

func (s *State) startWitness(tx types.Tx) error {
	a, err := s.accounts.Root(s.kv)
	if err != nil {
		return err
	}
	m, err := s.models.Root(s.kv)
	if err != nil {
		return err
	}
	s.wit = &TxWitness{Tx: tx, RootBefore: types.Compress(a, m), AccountRoot: a, ModelRoot: m}
	s.subOld = map[subKey]fr.Element{}
	return nil
}

// writes runs write steps in order, stopping at the first error.
func (s *State) writes(steps ...func() error) error {
	for _, f := range steps {
		if err := f(); err != nil {
			return err
		}
	}
	return nil
}

// SettleFees credits the batch's collected fees to the fee account, in
// ascending token order, and empties the book (docs/protocol.md §7).
func (s *State) SettleFees() (*TxWitness, error) {
	if !s.flat {
		if err := s.startWitness(nil); err != nil {
			return nil, err
		}
		defer func() { s.wit = nil }()
	}
	tokens := s.fees.Tokens()
	var err error
	if len(tokens) > 0 {
		a, err := s.Account(types.FeeAccount)
		if err != nil {
			return nil, fmt.Errorf("fee account: %w", err)
		}
		for _, tok := range tokens {
			bal, err := s.Balance(types.FeeAccount, tok)
			if err != nil {
				return nil, err
			}
			if bal, err = credit(bal, s.fees.Amount(tok)); err != nil {
				return nil, fmt.Errorf("fee account: %w", err)
			}
			if err := s.setBalance(types.FeeAccount, tok, bal); err != nil {
				return nil, err
			}
		}
		if err := s.setAccount(types.FeeAccount, a); err != nil {
			return nil, err
		}
	}
	s.fees.Reset()
	if s.flat {
		return nil, nil
	}
	if s.wit.RootAfter, err = s.Root(); err != nil {
		return nil, err
	}
	return s.wit, nil
}

func be32(v uint32) []byte { return []byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)} }

// How a transaction touches its model's leaf: a write, or a read (an update
// with an unchanged leaf) when it only uses the accumulator or quote token.
type modelAccess bool

const (
	writesModel modelAccess = false
	readsModel  modelAccess = true
)

// modelAccountWrites is the commit of a one-account model transaction, in
// its §5 witness order: the model (written, or read), the signer's position,
// its balance in the model's quote token, its account leaf.
func (s *State) modelAccountWrites(id uint32, model uint16, m *Model, access modelAccess, pos *Position, bal *uint256.Int, a *Account) commitFn {
	return func() error {
		return s.writes(
			func() error {
				if access == readsModel {
					return s.readModel(model, m)
				}
				return s.setModel(model, m)
			},
			func() error { return s.setPosition(id, model, pos) },
			func() error { return s.setBalance(id, m.QuoteToken, bal) },
			func() error { return s.setAccount(id, a) })
	}
}

// readBalanceAndAccount consumes a priority operation that changes nothing,
// witnessing the balance and account leaves it was decided on.
func (s *State) readBalanceAndAccount(id uint32, token uint16) commitFn {
	return func() error {
		return s.writes(
			func() error { return s.readBalance(id, token) },
			func() error { return s.readAccount(id) },
			s.bumpPriority)
	}
}
