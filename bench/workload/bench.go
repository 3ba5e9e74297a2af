package workload

import (
	"errors"
	"fmt"
	"os"

	"github.com/holiman/uint256"

	"github.com/modex/modex/state/store"
	"github.com/modex/modex/types"
)

// Bench is a World set up for apply benchmarks: Users users with large ETH
// balances, model 1 (DAO user 1) with its shares spread over every user, and
// credits bought by every user.
type Bench struct {
	*World
	Users   int
	nonces  map[int]uint32
	orderID uint32
	model   uint16
}

// BenchParams are production depths with a batch large enough that sealing
// stays out of the way.
func BenchParams() types.Params {
	p := types.DefaultParams()
	p.BatchCapacity = 256
	return p
}

// NewBench builds the benchmark world.
func NewBench(p types.Params, opts store.Options, users int) (*Bench, error) {
	w, err := NewWorld(p, opts, users)
	if err != nil {
		return nil, err
	}
	b := &Bench{World: w, Users: users, nonces: map[int]uint32{}, model: 1}
	for u := 0; u < users; u++ {
		if err := w.Deposit(u, 0, 1e18); err != nil {
			return nil, err
		}
		if err := w.Deposit(u, 1, 1e12); err != nil {
			return nil, err
		}
	}
	setup := []types.SignedTx{&types.CreateModel{Account: w.Acct[1], Model: 1, QuoteToken: 0, Supply: 1e12, MaxSupply: 1 << 62,
		CreditPrice: *uint256.NewInt(1000), HolderBps: 7000}}
	for u := 2; u < users; u++ {
		setup = append(setup, &types.Transfer{From: w.Acct[1], To: w.Acct[u], Asset: types.ShareAsset(1), Amount: *uint256.NewInt(1e9)})
	}
	for u := 1; u < users; u++ {
		setup = append(setup, &types.BuyCredits{Account: w.Acct[u], Model: 1, Credits: 1e6, MaxPrice: *uint256.NewInt(1000)})
	}
	for _, tx := range setup {
		if err := b.apply(b.sign(tx)); err != nil {
			return nil, fmt.Errorf("bench setup %s: %w", tx.Kind(), err)
		}
	}
	if _, err := w.Seal(); err != nil {
		return nil, err
	}
	return b, nil
}

func (b *Bench) user(tx types.SignedTx) int {
	for u, id := range b.Acct {
		if id == tx.Signer() {
			return u
		}
	}
	panic("unknown signer")
}

// sign sets the signer's next nonce and signs.
func (b *Bench) sign(tx types.SignedTx) types.SignedTx {
	u := b.user(tx)
	n := b.nonces[u]
	b.nonces[u] = n + 1
	tx.SetNonce(n)
	if _, err := b.Sign(u, tx); err != nil {
		panic(err)
	}
	return tx
}

func (b *Bench) apply(tx types.Tx) error {
	_, err := b.Add(tx)
	if d, ok := tx.(*types.Deposit); ok && err == nil {
		b.Prio++
		if d.Refused {
			return errors.New("deposit refused")
		}
	}
	return err
}

// BenchKinds are the kinds ApplyN measures: every transaction kind. A
// Noop is not one: it is the padding of a batch's unused slots, and a batch
// refuses it (docs/protocol.md §8).
func BenchKinds() []types.Kind {
	var ks []types.Kind
	for _, k := range types.AllKinds() {
		if k != types.KindNoop {
			ks = append(ks, k)
		}
	}
	return ks
}

// Step is one benchmarked transaction and what must be applied, untimed,
// before it. A Prep of the transaction's family goes in the same batch, just
// before it; a Prep of another family goes in an earlier batch (a batch
// holds one family), so its transactions must not depend on the nonces of
// the Tx of the steps before it (see ApplyN).
type Step struct {
	Prep []types.Tx
	Tx   types.Tx
}

// Next returns the i-th transaction of a kind, signed and valid in sequence.
func (b *Bench) Next(k types.Kind, i int) (Step, error) {
	u := 1 + i%(b.Users-1) // never the operator
	v := 1 + (i+1)%(b.Users-1)
	if v == u {
		v = 1 + (v % (b.Users - 1))
	}
	acct, other := b.Acct[u], b.Acct[v]
	amt := func(x uint64) uint256.Int { return *uint256.NewInt(x) }
	switch k {
	case types.KindDeposit:
		d := b.DepositTx(u, 0, uint256.NewInt(1000))
		d.PriorityID = b.Prio + uint64(i)
		return Step{Tx: d}, nil
	case types.KindForcedWithdraw:
		dep := b.DepositTx(u, 1, uint256.NewInt(5000))
		dep.PriorityID = b.Prio + uint64(2*i)
		fw := &types.ForcedWithdraw{PriorityID: dep.PriorityID + 1, Requester: Addr(u), Account: acct, Token: 1}
		return Step{Prep: []types.Tx{dep}, Tx: fw}, nil
	case types.KindTransfer:
		return Step{Tx: b.sign(&types.Transfer{From: acct, To: other, Asset: types.ETH, Amount: amt(1000), Fee: amt(1)})}, nil
	case types.KindWithdraw:
		return Step{Tx: b.sign(&types.Withdraw{Account: acct, Token: 0, Amount: amt(1000), Fee: amt(1), To: Addr(u)})}, nil
	case types.KindCreateModel:
		m := uint16(2 + i)
		if uint64(m) >= 1<<b.P.ModelDepth || i > 60000 {
			return Step{}, errors.New("model ids exhausted")
		}
		return Step{Tx: b.sign(&types.CreateModel{Account: acct, Model: m, QuoteToken: 0, Supply: 1e6, MaxSupply: 1e6,
			CreditPrice: amt(10), HolderBps: 5000, Weights: types.FromUint64(uint64(i)), Metadata: types.FromUint64(7), Fee: amt(1)})}, nil
	case types.KindMintShares:
		return Step{Tx: b.sign(&types.MintShares{Account: b.Acct[1], Model: 1, Amount: 1, Fee: amt(1)})}, nil
	case types.KindSetModelParams:
		return Step{Tx: b.sign(&types.SetModelParams{Account: b.Acct[1], Model: 1, CreditPrice: amt(1000 + uint64(i%2)), HolderBps: 7000, Fee: amt(1)})}, nil
	case types.KindTrade:
		b.orderID++
		id := b.orderID
		sell, err := b.Order(u, 1, types.Sell, id, 10, 100, 50)
		if err != nil {
			return Step{}, err
		}
		buy, err := b.Order(v, 1, types.Buy, id, 10, 110, 50)
		if err != nil {
			return Step{}, err
		}
		return Step{Tx: &types.Trade{Buy: buy, Sell: sell, Fill: 10, Price: amt(100), BuyFeeBips: 10, SellFeeBips: 10}}, nil
	case types.KindCancelOrder:
		b.orderID++
		return Step{Tx: b.sign(&types.CancelOrder{Account: acct, Model: 1, OrderID: b.orderID, Fee: amt(1)})}, nil
	case types.KindBuyCredits:
		return Step{Tx: b.sign(&types.BuyCredits{Account: acct, Model: 1, Credits: 10, MaxPrice: amt(2000), Fee: amt(1)})}, nil
	case types.KindRedeemCredits:
		return Step{Tx: b.sign(&types.RedeemCredits{Account: acct, Model: 1, Credits: 1, Request: types.FromUint64(uint64(i)), Fee: amt(1)})}, nil
	case types.KindClaimRevenue:
		// other is the claimer of step i+1: its purchase comes before that
		// claim in nonce order, however ApplyN groups the batches
		buy := b.sign(&types.BuyCredits{Account: other, Model: 1, Credits: 1000, MaxPrice: amt(2000), Fee: amt(1)})
		return Step{Prep: []types.Tx{buy}, Tx: b.sign(&types.ClaimRevenue{Account: acct, Model: 1, Fee: amt(1)})}, nil
	}
	return Step{}, fmt.Errorf("no generator for %s", k)
}

// Timer is the clock a measurement body stops around its untimed parts:
// *testing.B under go test, bench/apply's Stopwatch in modex bench. It is
// running when the body starts.
type Timer interface {
	ResetTimer()
	StartTimer()
	StopTimer()
}

// ApplyN applies n transactions of one kind at the bench world's
// parameters, timed by t; signing, preparation and batch sealing are
// outside the timer.
//
// A batch holds one family, so preparations of another family (the credit
// purchases before ClaimRevenue) are applied untimed in batches of their own,
// for a run of users−2 steps at a time, before those steps' transactions.
// Within such a run each claimer claims once, and no preparation is signed by
// an account after one of its own transactions of the run (Next's generator
// for step i uses users 1 + i mod (users−1) and 1 + (i+1) mod (users−1)).
func ApplyN(t Timer, k types.Kind, users, n int) error {
	t.StopTimer()
	if k == types.KindNoop {
		return errors.New("a Noop is batch padding, not a transaction")
	}
	bw, err := NewBench(BenchParams(), store.Options{InMemory: true, KeepBatches: 8}, users)
	if err != nil {
		return err
	}
	defer bw.Close()
	steps := make([]Step, n)
	for i := range steps {
		if steps[i], err = bw.Next(k, i); err != nil {
			return err
		}
	}
	run := min(max(1, users-2), bw.P.BatchCapacity)
	prepped := 0 // steps whose preparations of another family are applied
	t.ResetTimer()
	t.StartTimer()
	defer t.StopTimer()
	for i := 0; i < n; i++ {
		st := steps[i]
		if len(st.Prep) > 0 && types.FamilyOf(st.Prep[0]) != types.FamilyOf(st.Tx) {
			if i >= prepped {
				t.StopTimer()
				end := min(i+run, n)
				if err := bw.prepRun(steps[i:end]); err != nil {
					return err
				}
				prepped = end
				t.StartTimer()
			}
		} else if len(st.Prep) > 0 || bw.Batch.Len()+1+len(st.Prep) > bw.P.BatchCapacity {
			t.StopTimer()
			if bw.Batch.Len()+1+len(st.Prep) > bw.P.BatchCapacity {
				if _, err := bw.Seal(); err != nil {
					return err
				}
			}
			for _, p := range st.Prep {
				if _, err := bw.Batch.Add(p); err != nil {
					return fmt.Errorf("prep %s: %v", p.Kind(), err)
				}
			}
			t.StartTimer()
		}
		if _, err := bw.Batch.Add(st.Tx); err != nil {
			return fmt.Errorf("%s #%d: %v", k, i, err)
		}
	}
	return nil
}

// prepRun seals the open batch, applies the preparations of steps in batches
// of their own (World.Add seals on another family or a full batch), and seals
// them, leaving an empty batch for the steps' transactions.
func (b *Bench) prepRun(steps []Step) error {
	if b.Batch.Len() > 0 {
		if _, err := b.Seal(); err != nil {
			return err
		}
	}
	for _, st := range steps {
		for _, p := range st.Prep {
			if _, err := b.Add(p); err != nil {
				return fmt.Errorf("prep %s: %v", p.Kind(), err)
			}
		}
	}
	if b.Batch.Len() == 0 {
		return nil
	}
	_, err := b.Seal()
	return err
}

// SealN seals n full batches of transfers (fee settlement, header, one
// durable store commit) on disk in a fresh store under dir, timed by t;
// filling the batches is outside the timer.
func SealN(t Timer, dir string, users, n int) error {
	t.StopTimer()
	d, err := os.MkdirTemp(dir, "seal")
	if err != nil {
		return err
	}
	defer os.RemoveAll(d)
	bw, err := NewBench(BenchParams(), store.DefaultOptions(d), users)
	if err != nil {
		return err
	}
	defer bw.Close()
	t.ResetTimer()
	for i := 0; i < n; i++ {
		for j := 0; j < bw.P.BatchCapacity; j++ {
			st, err := bw.Next(types.KindTransfer, i*bw.P.BatchCapacity+j)
			if err != nil {
				return err
			}
			if _, err := bw.Batch.Add(st.Tx); err != nil {
				return err
			}
		}
		t.StartTimer()
		_, err := bw.Seal()
		t.StopTimer()
		if err != nil {
			return err
		}
	}
	return nil
}

// LoadAccounts creates n accounts through real deposits (each account gets one
// ETH balance), sealing durable batches of w.P.BatchCapacity. progress, if
// set, is called after every batch.
func LoadAccounts(w *World, n int, progress func(done int)) error {
	for i := 0; i < n; i++ {
		pk := types.PublicKeyOf(w.Keys[i%len(w.Keys)])
		d := &types.Deposit{PriorityID: w.Prio, Account: w.AccountFor(Addr(i), pk), L1Address: Addr(i), PubKey: pk, Token: 0}
		d.Amount.SetUint64(1e15)
		if w.Batch.Len() >= w.P.BatchCapacity {
			if _, err := w.Seal(); err != nil {
				return err
			}
			if progress != nil {
				progress(i)
			}
		}
		if _, err := w.Batch.Add(d); err != nil {
			return fmt.Errorf("deposit %d: %w", i, err)
		}
		if d.Refused {
			return fmt.Errorf("deposit %d refused", i)
		}
		w.Prio++
	}
	_, err := w.Seal()
	return err
}
