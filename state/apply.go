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
	if err := precheck(s.p, tx); err != nil {
		return nil, fmt.Errorf("%s: %w", tx.Kind(), err)
	}
	var (
		commit commitFn
		err    error
	)
	switch t := tx.(type) {
	case *types.Noop:
		commit = func() error { return nil }
	case *types.Deposit:
		commit, err = s.deposit(t, rcpt)
	case *types.ForcedWithdraw:
		commit, err = s.forcedWithdraw(t, rcpt)
	case *types.Transfer:
		commit, err = s.transfer(t, rcpt)
	case *types.Withdraw:
		commit, err = s.withdraw(t, rcpt)
	case *types.CreateModel:
		commit, err = s.createModel(t, rcpt)
	case *types.MintShares:
		commit, err = s.mintShares(t, rcpt)
	case *types.SetModelParams:
		commit, err = s.setModelParams(t, rcpt)
	case *types.Trade:
		commit, err = s.trade(t, rcpt)
	case *types.CancelOrder:
		commit, err = s.cancelOrder(t, rcpt)
	case *types.BuyCredits:
		commit, err = s.buyCredits(t, rcpt)
	case *types.RedeemCredits:
		commit, err = s.redeemCredits(t, rcpt)
	case *types.ClaimRevenue:
		commit, err = s.claimRevenue(t, rcpt)
	default:
		return nil, fmt.Errorf("%w: %T", types.ErrUnknownKind, tx)
	}
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
		if err := types.VerifySignature(a.PubKey, tx.Message(s.domain), *tx.Sig()); err != nil {
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

func (s *State) deposit(t *types.Deposit, rcpt *Receipt) (commitFn, error) {
	if err := s.checkPriority(t.PriorityID); err != nil {
		return nil, err
	}
	// What the bridge guarantees for every queued deposit; a violation is an
	// impossible input, not a refusal.
	if !types.Fits(&t.Amount, types.AmountBits) {
		return nil, fmt.Errorf("%w: deposit amount", types.ErrAmountTooLarge)
	}
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
		if newBal, err = s.credit(t.Account, t.Token, bal, &t.Amount, nil); err != nil {
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

func (s *State) forcedWithdraw(t *types.ForcedWithdraw, rcpt *Receipt) (commitFn, error) {
	if err := s.checkPriority(t.PriorityID); err != nil {
		return nil, err
	}
	if t.Account>>types.AccountBits != 0 {
		// the bridge takes a uint24 account id, so such a request never exists
		return nil, fmt.Errorf("%w: %d wider than %d bits", types.ErrAccountRange, t.Account, types.AccountBits)
	}
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

// ---- L2 transactions ----

func (s *State) transfer(t *types.Transfer, rcpt *Receipt) (commitFn, error) {
	from, err := s.signer(t)
	if err != nil {
		return nil, err
	}
	to, err := s.Account(t.To)
	if err != nil {
		return nil, err
	}

	if t.Asset.Kind() == types.AssetBase {
		token := t.Asset.Index()
		fromBal, err := s.feeFrom(t.From, token, &t.Fee, rcpt)
		if err != nil {
			return nil, err
		}
		if fromBal, err = debit(fromBal, &t.Amount); err != nil {
			return nil, err
		}
		toBal, err := s.Balance(t.To, token)
		if err != nil {
			return nil, err
		}
		if toBal, err = s.credit(t.To, token, toBal, &t.Amount, &t.Fee); err != nil {
			return nil, err
		}
		return func() error {
			return s.writes(
				func() error { return s.setBalance(t.From, token, fromBal) },
				func() error { return s.setAccount(t.From, from) },
				func() error { return s.setBalance(t.To, token, toBal) },
				func() error { return s.setAccount(t.To, to) })
		}, nil
	}

	// shares or credits: positions move, the fee is paid in the model's quote token
	model := t.Asset.Index()
	m, err := s.Model(model)
	if err != nil {
		return nil, err
	}
	amt := t.Amount.Uint64()
	fromQuote, err := s.feeFrom(t.From, m.QuoteToken, &t.Fee, rcpt)
	if err != nil {
		return nil, err
	}
	fp, err := s.Position(t.From, model)
	if err != nil {
		return nil, err
	}
	tp, err := s.Position(t.To, model)
	if err != nil {
		return nil, err
	}
	if t.Asset.Kind() == types.AssetShare {
		if err := Settle(fp, m); err != nil {
			return nil, err
		}
		if err := Settle(tp, m); err != nil {
			return nil, err
		}
		if fp.Shares < amt {
			return nil, fmt.Errorf("%w: have %d, need %d", types.ErrInsufficientShares, fp.Shares, amt)
		}
		fp.Shares -= amt
		tp.Shares += amt // Σ shares = supply < 2^64
	} else {
		if fp.Credits < amt {
			return nil, fmt.Errorf("%w: have %d, need %d", types.ErrInsufficientCredits, fp.Credits, amt)
		}
		if tp.Credits > math.MaxUint64-amt {
			return nil, fmt.Errorf("%w: credits", types.ErrBalanceOverflow)
		}
		fp.Credits -= amt
		tp.Credits += amt
	}
	return func() error {
		return s.writes(
			func() error { return s.readModel(model, m) },
			func() error { return s.setPosition(t.From, model, fp) },
			func() error { return s.setBalance(t.From, m.QuoteToken, fromQuote) },
			func() error { return s.setAccount(t.From, from) },
			func() error { return s.setPosition(t.To, model, tp) },
			func() error { return s.setAccount(t.To, to) })
	}, nil
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

func checkModelParams(price *uint256.Int, bps uint16) error {
	if bps > types.BpsDenominator {
		return fmt.Errorf("%w: %d", types.ErrBadBps, bps)
	}
	if !types.Fits(price, types.AmountBits) {
		return fmt.Errorf("%w: credit price", types.ErrAmountTooLarge)
	}
	return nil
}

func (s *State) createModel(t *types.CreateModel, rcpt *Receipt) (commitFn, error) {
	a, err := s.signer(t)
	if err != nil {
		return nil, err
	}
	if _, err := s.Model(t.Model); err == nil {
		return nil, fmt.Errorf("%w: %d", types.ErrModelExists, t.Model)
	} else if !errors.Is(err, types.ErrModelNotFound) {
		return nil, err
	}
	bal, err := s.feeFrom(t.Account, t.QuoteToken, &t.Fee, rcpt)
	if err != nil {
		return nil, err
	}
	m := &Model{DAO: t.Account, QuoteToken: t.QuoteToken, HolderBps: t.HolderBps, Supply: t.Supply,
		MaxSupply: t.MaxSupply, CreditPrice: t.CreditPrice, Weights: t.Weights, Metadata: t.Metadata}
	pos := &Position{Shares: t.Supply}
	return func() error {
		return s.writes(
			func() error { return s.setModel(t.Model, m) },
			func() error { return s.setPosition(t.Account, t.Model, pos) },
			func() error { return s.setBalance(t.Account, t.QuoteToken, bal) },
			func() error { return s.setAccount(t.Account, a) })
	}, nil
}

// daoModel loads a model and checks the signer is its DAO.
func (s *State) daoModel(signer uint32, model uint16) (*Model, error) {
	m, err := s.Model(model)
	if err != nil {
		return nil, err
	}
	if m.DAO != signer {
		return nil, fmt.Errorf("%w: model %d belongs to account %d", types.ErrNotModelDAO, model, m.DAO)
	}
	return m, nil
}

func (s *State) mintShares(t *types.MintShares, rcpt *Receipt) (commitFn, error) {
	a, err := s.signer(t)
	if err != nil {
		return nil, err
	}
	m, err := s.daoModel(t.Account, t.Model)
	if err != nil {
		return nil, err
	}
	if t.Amount > m.MaxSupply-m.Supply {
		return nil, fmt.Errorf("%w: supply %d + %d > cap %d", types.ErrSupplyCap, m.Supply, t.Amount, m.MaxSupply)
	}
	bal, err := s.feeFrom(t.Account, m.QuoteToken, &t.Fee, rcpt)
	if err != nil {
		return nil, err
	}
	pos, err := s.Position(t.Account, t.Model)
	if err != nil {
		return nil, err
	}
	if err := Settle(pos, m); err != nil { // before the share count changes
		return nil, err
	}
	pos.Shares += t.Amount
	m.Supply += t.Amount
	return func() error {
		return s.writes(
			func() error { return s.setModel(t.Model, m) },
			func() error { return s.setPosition(t.Account, t.Model, pos) },
			func() error { return s.setBalance(t.Account, m.QuoteToken, bal) },
			func() error { return s.setAccount(t.Account, a) })
	}, nil
}

func (s *State) setModelParams(t *types.SetModelParams, rcpt *Receipt) (commitFn, error) {
	a, err := s.signer(t)
	if err != nil {
		return nil, err
	}
	m, err := s.daoModel(t.Account, t.Model)
	if err != nil {
		return nil, err
	}
	bal, err := s.feeFrom(t.Account, m.QuoteToken, &t.Fee, rcpt)
	if err != nil {
		return nil, err
	}
	m.CreditPrice.Set(&t.CreditPrice)
	m.HolderBps = t.HolderBps
	return func() error {
		return s.writes(
			func() error { return s.setModel(t.Model, m) },
			func() error { return s.setBalance(t.Account, m.QuoteToken, bal) },
			func() error { return s.setAccount(t.Account, a) })
	}, nil
}

// nextSlot returns the order slot after filling `fill` more of o.
func nextSlot(cur OrderSlot, o *types.Order, fill uint64) (OrderSlot, error) {
	if cur.OrderID > o.OrderID {
		return cur, fmt.Errorf("%w: slot holds order %d, got %d", types.ErrOrderSlotTaken, cur.OrderID, o.OrderID)
	}
	var filled uint64
	if cur.OrderID == o.OrderID {
		if cur.Filled == SlotClosed {
			return cur, fmt.Errorf("%w: order %d", types.ErrOrderClosed, o.OrderID)
		}
		filled = cur.Filled
	}
	if filled > o.Amount || fill > o.Amount-filled {
		return cur, fmt.Errorf("%w: filled %d + %d > %d", types.ErrOrderOverfill, filled, fill, o.Amount)
	}
	return OrderSlot{OrderID: o.OrderID, Filled: filled + fill}, nil
}

func (s *State) slotIndex(orderID uint32) uint64 { return slotOf(s.p, orderID) }

// checkOrder verifies an order's signature, expiry and fee cap.
func (s *State) checkOrder(o *types.Order, feeBips uint8) (*Account, error) {
	a, err := s.Account(o.Account)
	if err != nil {
		return nil, err
	}
	if !s.replay { // replay: no signature in pubdata (state/replay.go)
		if err := types.VerifySignature(a.PubKey, o.Message(s.domain), o.Signature); err != nil {
			return nil, fmt.Errorf("order %d of account %d: %w", o.OrderID, o.Account, err)
		}
	}
	if s.timestamp > uint64(o.ValidUntil) {
		return nil, fmt.Errorf("%w: order %d valid until %d, batch at %d", types.ErrOrderExpired, o.OrderID, o.ValidUntil, s.timestamp)
	}
	if feeBips > o.MaxFeeBips {
		return nil, fmt.Errorf("%w: %d > %d bips", types.ErrOrderFee, feeBips, o.MaxFeeBips)
	}
	return a, nil
}

func (s *State) trade(t *types.Trade, rcpt *Receipt) (commitFn, error) {
	b, sl := &t.Buy, &t.Sell
	if b.Side != types.Buy || sl.Side != types.Sell || b.Model != sl.Model {
		return nil, types.ErrOrderSide
	}
	if b.Account == sl.Account {
		return nil, types.ErrSelfTrade
	}
	model := b.Model
	m, err := s.Model(model)
	if err != nil {
		return nil, err
	}
	buyer, err := s.checkOrder(b, t.BuyFeeBips)
	if err != nil {
		return nil, err
	}
	seller, err := s.checkOrder(sl, t.SellFeeBips)
	if err != nil {
		return nil, err
	}
	if t.Price.Gt(&b.Price) || t.Price.Lt(&sl.Price) {
		return nil, fmt.Errorf("%w: %s not in [%s, %s]", types.ErrOrderPrice, t.Price.Dec(), sl.Price.Dec(), b.Price.Dec())
	}
	bSlotIdx, sSlotIdx := s.slotIndex(b.OrderID), s.slotIndex(sl.OrderID)
	bCur, err := s.Slot(b.Account, model, bSlotIdx)
	if err != nil {
		return nil, err
	}
	sCur, err := s.Slot(sl.Account, model, sSlotIdx)
	if err != nil {
		return nil, err
	}
	bSlot, err := nextSlot(bCur, b, t.Fill)
	if err != nil {
		return nil, fmt.Errorf("buy order: %w", err)
	}
	sSlot, err := nextSlot(sCur, sl, t.Fill)
	if err != nil {
		return nil, fmt.Errorf("sell order: %w", err)
	}
	quote := new(uint256.Int).Mul(uint256.NewInt(t.Fill), &t.Price)
	if !types.Fits(quote, types.AmountBits) {
		return nil, fmt.Errorf("%w: fill × price", types.ErrAmountTooLarge)
	}
	bFee, sFee := BipsFee(quote, t.BuyFeeBips), BipsFee(quote, t.SellFeeBips)
	totalFee := new(uint256.Int).Add(bFee, sFee)
	if err := s.fees.check(m.QuoteToken, totalFee); err != nil {
		return nil, err
	}
	if err := s.checkFeeRoom(m.QuoteToken, totalFee); err != nil {
		return nil, err
	}
	rcpt.FeeToken = m.QuoteToken
	rcpt.Fee.Set(totalFee)

	bBal, err := s.Balance(b.Account, m.QuoteToken)
	if err != nil {
		return nil, err
	}
	if bBal, err = debit(bBal, new(uint256.Int).Add(quote, bFee)); err != nil {
		return nil, fmt.Errorf("buyer: %w", err)
	}
	sBal, err := s.Balance(sl.Account, m.QuoteToken)
	if err != nil {
		return nil, err
	}
	if sBal, err = s.credit(sl.Account, m.QuoteToken, sBal, new(uint256.Int).Sub(quote, sFee), totalFee); err != nil {
		return nil, fmt.Errorf("seller: %w", err)
	}
	bPos, err := s.Position(b.Account, model)
	if err != nil {
		return nil, err
	}
	sPos, err := s.Position(sl.Account, model)
	if err != nil {
		return nil, err
	}
	if err := Settle(bPos, m); err != nil {
		return nil, err
	}
	if err := Settle(sPos, m); err != nil {
		return nil, err
	}
	if sPos.Shares < t.Fill {
		return nil, fmt.Errorf("seller: %w: have %d, need %d", types.ErrInsufficientShares, sPos.Shares, t.Fill)
	}
	sPos.Shares -= t.Fill
	bPos.Shares += t.Fill
	return func() error {
		return s.writes(
			func() error { return s.readModel(model, m) },
			func() error { return s.setBalance(b.Account, m.QuoteToken, bBal) },
			func() error { return s.setSlot(b.Account, model, bSlotIdx, bSlot) },
			func() error { return s.setPosition(b.Account, model, bPos) },
			func() error { return s.setAccount(b.Account, buyer) },
			func() error { return s.setBalance(sl.Account, m.QuoteToken, sBal) },
			func() error { return s.setSlot(sl.Account, model, sSlotIdx, sSlot) },
			func() error { return s.setPosition(sl.Account, model, sPos) },
			func() error { return s.setAccount(sl.Account, seller) })
	}, nil
}

func (s *State) cancelOrder(t *types.CancelOrder, rcpt *Receipt) (commitFn, error) {
	a, err := s.signer(t)
	if err != nil {
		return nil, err
	}
	m, err := s.Model(t.Model)
	if err != nil {
		return nil, err
	}
	idx := s.slotIndex(t.OrderID)
	cur, err := s.Slot(t.Account, t.Model, idx)
	if err != nil {
		return nil, err
	}
	if cur.OrderID > t.OrderID {
		return nil, fmt.Errorf("%w: slot holds order %d", types.ErrOrderSlotTaken, cur.OrderID)
	}
	if cur.OrderID == t.OrderID && cur.Filled == SlotClosed {
		return nil, fmt.Errorf("%w: order %d", types.ErrOrderClosed, t.OrderID)
	}
	bal, err := s.feeFrom(t.Account, m.QuoteToken, &t.Fee, rcpt)
	if err != nil {
		return nil, err
	}
	pos, err := s.Position(t.Account, t.Model)
	if err != nil {
		return nil, err
	}
	return func() error {
		return s.writes(
			func() error { return s.readModel(t.Model, m) },
			func() error {
				return s.setSlot(t.Account, t.Model, idx, OrderSlot{OrderID: t.OrderID, Filled: SlotClosed})
			},
			func() error { return s.setPosition(t.Account, t.Model, pos) },
			func() error { return s.setBalance(t.Account, m.QuoteToken, bal) },
			func() error { return s.setAccount(t.Account, a) })
	}, nil
}

func (s *State) buyCredits(t *types.BuyCredits, rcpt *Receipt) (commitFn, error) {
	a, err := s.signer(t)
	if err != nil {
		return nil, err
	}
	m, err := s.Model(t.Model)
	if err != nil {
		return nil, err
	}
	if m.CreditPrice.Gt(&t.MaxPrice) {
		return nil, fmt.Errorf("%w: price %s > limit %s", types.ErrCreditPrice, m.CreditPrice.Dec(), t.MaxPrice.Dec())
	}
	cost := new(uint256.Int).Mul(uint256.NewInt(t.Credits), &m.CreditPrice)
	if !types.Fits(cost, types.AmountBits) {
		return nil, fmt.Errorf("%w: credits × price", types.ErrAmountTooLarge)
	}
	bal, err := s.feeFrom(t.Account, m.QuoteToken, &t.Fee, rcpt)
	if err != nil {
		return nil, err
	}
	if bal, err = debit(bal, cost); err != nil {
		return nil, err
	}
	pos, err := s.Position(t.Account, t.Model)
	if err != nil {
		return nil, err
	}
	if pos.Credits > math.MaxUint64-t.Credits {
		return nil, fmt.Errorf("%w: credits", types.ErrBalanceOverflow)
	}
	pos.Credits += t.Credits
	holders, dao := SplitRevenue(cost, m.HolderBps)
	if err := Distribute(m, holders); err != nil {
		return nil, err
	}
	treasury, err := credit(&m.Treasury, dao)
	if err != nil {
		return nil, fmt.Errorf("treasury: %w", err)
	}
	m.Treasury.Set(treasury)
	return func() error {
		return s.writes(
			func() error { return s.setModel(t.Model, m) },
			func() error { return s.setPosition(t.Account, t.Model, pos) },
			func() error { return s.setBalance(t.Account, m.QuoteToken, bal) },
			func() error { return s.setAccount(t.Account, a) })
	}, nil
}

func (s *State) redeemCredits(t *types.RedeemCredits, rcpt *Receipt) (commitFn, error) {
	a, err := s.signer(t)
	if err != nil {
		return nil, err
	}
	m, err := s.Model(t.Model)
	if err != nil {
		return nil, err
	}
	pos, err := s.Position(t.Account, t.Model)
	if err != nil {
		return nil, err
	}
	if pos.Credits < t.Credits {
		return nil, fmt.Errorf("%w: have %d, need %d", types.ErrInsufficientCredits, pos.Credits, t.Credits)
	}
	pos.Credits -= t.Credits
	bal, err := s.feeFrom(t.Account, m.QuoteToken, &t.Fee, rcpt)
	if err != nil {
		return nil, err
	}
	return func() error {
		return s.writes(
			func() error { return s.readModel(t.Model, m) },
			func() error { return s.setPosition(t.Account, t.Model, pos) },
			func() error { return s.setBalance(t.Account, m.QuoteToken, bal) },
			func() error { return s.setAccount(t.Account, a) })
	}, nil
}

func (s *State) claimRevenue(t *types.ClaimRevenue, rcpt *Receipt) (commitFn, error) {
	a, err := s.signer(t)
	if err != nil {
		return nil, err
	}
	m, err := s.Model(t.Model)
	if err != nil {
		return nil, err
	}
	pos, err := s.Position(t.Account, t.Model)
	if err != nil {
		return nil, err
	}
	if err := Settle(pos, m); err != nil {
		return nil, err
	}
	var payout, rest uint256.Int
	payout.DivMod(&pos.Pending, scale, &rest)
	pos.Pending.Set(&rest)
	if m.DAO == t.Account {
		payout.Add(&payout, &m.Treasury)
		m.Treasury.Clear()
	}
	if payout.IsZero() {
		return nil, types.ErrNothingToClaim
	}
	if err := s.fees.check(m.QuoteToken, &t.Fee); err != nil {
		return nil, err
	}
	if err := s.checkFeeRoom(m.QuoteToken, &t.Fee); err != nil {
		return nil, err
	}
	bal, err := s.Balance(t.Account, m.QuoteToken)
	if err != nil {
		return nil, err
	}
	// the fee is charged after the payout is credited
	if bal, err = s.credit(t.Account, m.QuoteToken, bal, &payout, nil); err != nil {
		return nil, err
	}
	if bal, err = debit(bal, &t.Fee); err != nil {
		return nil, err
	}
	rcpt.FeeToken = m.QuoteToken
	rcpt.Fee.Set(&t.Fee)
	return func() error {
		return s.writes(
			func() error { return s.setModel(t.Model, m) },
			func() error { return s.setPosition(t.Account, t.Model, pos) },
			func() error { return s.setBalance(t.Account, m.QuoteToken, bal) },
			func() error { return s.setAccount(t.Account, a) })
	}, nil
}

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
