package state

import (
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/holiman/uint256"

	"github.com/modex/modex/types"
)

// zzFuzzHeadroom drives account 0 near 2^96 in the quote token and throws
// random transfers / trades / claims / deposits / withdrawals at it, checking
// that (1) a rejected tx changes nothing (root, fee book, priority), (2) the
// fee book plus account 0's balance stays < 2^96, (3) Seal never fails.
func TestZZFuzzHeadroom(t *testing.T) {
	for seed := uint64(0); seed < 12; seed++ {
		zzFuzzOne(t, seed)
	}
}

func zzFuzzOne(t *testing.T, seed uint64) {
	r := rand.New(rand.NewPCG(seed, 99))
	p := applyParams()
	p.MaxFeeAssets = 4
	w := newWorld(t, p, nUsers)
	near := func(k uint64) uint256.Int { return *new(uint256.Int).Sub(&two96, uint256.NewInt(k)) }
	w.depositBig(uOp, 0, near(1_000_000+r.Uint64N(1000)))
	w.depositBig(uOp, 1, near(1_000+r.Uint64N(1000)))
	for _, u := range []int{uDao, uAlice, uBob} {
		w.depositBig(u, 0, pow10(27))
		w.depositBig(u, 1, pow10(27))
	}
	// op is the DAO of m1 (quote 0): it sells shares and claims its treasury
	w.mustAdd(w.sign(uOp, &types.CreateModel{Account: 0, Model: m1, QuoteToken: 0, Supply: 1_000_000, MaxSupply: 1_000_000,
		CreditPrice: u256(1000), HolderBps: 5000, Nonce: w.nonce(uOp)}))
	w.mustAdd(w.transfer(uOp, uAlice, types.ShareAsset(m1), 300_000, 0))
	w.seal()
	users := []int{uOp, uDao, uAlice, uBob}
	pickFee := func() uint64 {
		switch r.IntN(5) {
		case 0:
			return 0
		case 1:
			return 1 + r.Uint64N(9)
		case 2:
			return uint64(1+r.IntN(2000)) * 1000
		case 3:
			return uint64(1+r.IntN(2000)) * 1000_000
		}
		return uint64(1+r.IntN(2000)) * 1
	}
	pickAmt := func() uint64 {
		switch r.IntN(4) {
		case 0:
			return 1 + r.Uint64N(100)
		case 1:
			return uint64(1+r.IntN(8000)) * 1000
		case 2:
			return uint64(1+r.IntN(8000)) * 1000_000
		}
		return uint64(1+r.IntN(8000)) * 100_000_000_000
	}
	oid := uint32(1)
	var okN, rejN, seals int
	for step := 0; step < 400; step++ {
		root, _ := w.st().Root()
		fees := map[uint16]string{}
		for _, tok := range w.st().Fees().Tokens() {
			fees[tok] = w.st().Fees().Amount(tok).Dec()
		}
		np, _ := w.st().NextPriority()
		var tx types.Tx
		tok := uint16(r.IntN(2))
		switch k := r.IntN(7); k {
		case 0, 1: // base transfer, often to/from op
			a, b := users[r.IntN(4)], users[r.IntN(4)]
			if a == b {
				b = uOp
				if a == uOp {
					b = uBob
				}
			}
			tx = w.transfer(a, b, types.BaseAsset(tok), pickAmt(), pickFee())
		case 2: // trade: op sells to someone or someone sells to op
			seller, buyer := uOp, users[1+r.IntN(3)]
			if r.IntN(2) == 0 {
				seller, buyer = uAlice, users[[]int{0, 1, 3}[r.IntN(3)]]
			}
			fill := uint64(1 + r.IntN(50))
			price := pickAmt()
			bb, sb := uint8(r.IntN(256)), uint8(r.IntN(256))
			f := func(o *types.Order) { o.MaxFeeBips = 255 }
			oid++
			bo := w.orderWith(buyer, types.Buy, oid, fill, price, f)
			so := w.orderWith(seller, types.Sell, oid, fill, price, f)
			tx = &types.Trade{Buy: bo, Sell: so, Fill: fill, Price: u256(price), BuyFeeBips: bb, SellFeeBips: sb}
		case 3: // claim by op (DAO + holder) or alice
			u := []int{uOp, uAlice}[r.IntN(2)]
			tx = w.sign(u, &types.ClaimRevenue{Account: w.acct[u], Model: m1, Fee: u256(pickFee()), Nonce: w.nonce(u)})
		case 4: // credits bought by bob: revenue for holders and treasury
			tx = w.sign(uBob, &types.BuyCredits{Account: w.acct[uBob], Model: m1, Credits: pickAmt() % 1_000_000_000, MaxPrice: u256(1000),
				Fee: u256(pickFee()), Nonce: w.nonce(uBob)})
		case 5: // deposit to op or others
			u := users[r.IntN(4)]
			d := w.depositTx(u, tok, 0)
			d.Amount.SetUint64(pickAmt())
			if r.IntN(3) == 0 {
				d.Amount = pow10(26)
			}
			tx = d
		case 6: // withdraw
			u := users[r.IntN(4)]
			tx = w.sign(u, &types.Withdraw{Account: w.acct[u], Token: tok, Amount: u256(pickAmt()), Fee: u256(pickFee()),
				Nonce: w.nonce(u)})
		}
		rc, err := w.batch.Add(tx)
		if errors.Is(err, ErrBatchFull) || errors.Is(err, types.ErrFeeAssetsFull) {
			if _, err := w.batch.Seal(); err != nil {
				t.Fatalf("seed %d step %d: seal failed: %v", seed, step, err)
			}
			seals++
			w.ts += 12
			w.open()
			continue
		}
		if _, ok := tx.(*types.Deposit); ok && err == nil {
			w.prio++
		}
		if err != nil {
			if errors.Is(err, ErrWriteFailed) {
				t.Fatalf("seed %d step %d: write failed: %v", seed, step, err)
			}
			rejN++
			root2, _ := w.st().Root()
			np2, _ := w.st().NextPriority()
			if root2 != root || np2 != np {
				t.Fatalf("seed %d step %d: rejected %s changed state: %v", seed, step, tx.Kind(), err)
			}
			for _, tk := range w.st().Fees().Tokens() {
				if fees[tk] != w.st().Fees().Amount(tk).Dec() {
					t.Fatalf("seed %d step %d: rejected %s changed fee book", seed, step, tx.Kind())
				}
			}
			continue
		}
		okN++
		if err := VerifyWitness(w.p, rc.Witness); err != nil {
			t.Fatalf("seed %d step %d: witness: %v", seed, step, err)
		}
		for _, tk := range []uint16{0, 1} {
			b, _ := w.st().Balance(0, tk)
			s := new(uint256.Int).Add(b, w.st().Fees().Amount(tk))
			if !types.Fits(s, 96) {
				t.Fatalf("seed %d step %d after %s: bal0+book = %s >= 2^96", seed, step, tx.Kind(), s.Dec())
			}
		}
		if r.IntN(25) == 0 {
			if _, err := w.batch.Seal(); err != nil {
				t.Fatalf("seed %d step %d: seal failed: %v", seed, step, err)
			}
			seals++
			w.ts += 12
			w.open()
		}
	}
	if _, err := w.batch.Seal(); err != nil {
		t.Fatalf("seed %d final seal failed: %v", seed, err)
	}
	t.Logf("seed %d: ok %d rejected %d seals %d", seed, okN, rejN, seals)
}
