package circuits

import (
	"errors"
	"fmt"
	"math/big"
	mrand "math/rand/v2"
	"os"
	"runtime"
	"sync"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/twistededwards"
	"github.com/holiman/uint256"

	"github.com/modex/modex/bench/workload"
	"github.com/modex/modex/state"
	"github.com/modex/modex/state/store"
	"github.com/modex/modex/types"
)

// diffWorld wraps a workload world and keeps every sealed batch.
type diffWorld struct {
	*workload.World
	sealed []*state.SealedBatch
	user   map[uint32]int // account -> user
}

func (w *diffWorld) seal() error {
	if w.Batch.Len() == 0 {
		return nil
	}
	sb, err := w.Seal()
	if err != nil {
		return err
	}
	w.sealed = append(w.sealed, sb)
	return nil
}

// add applies tx natively, sealing first when the batch is full, of another
// family or out of fee tokens; it returns where the transaction landed.
func (w *diffWorld) add(tx types.Tx) (r *state.Receipt, batch uint64, slot int, err error) {
	r, err = w.Batch.Add(tx)
	if errors.Is(err, state.ErrBatchFull) || errors.Is(err, state.ErrFamily) || errors.Is(err, types.ErrFeeAssetsFull) {
		if err := w.seal(); err != nil {
			return nil, 0, 0, err
		}
		r, err = w.Batch.Add(tx)
	}
	if err != nil {
		return nil, 0, 0, err
	}
	switch tx.(type) {
	case *types.Deposit, *types.ForcedWithdraw:
		w.Prio++
	}
	return r, w.Batch.Number(), w.Batch.Len() - 1, nil
}

// mutant is an invalid variant of a transaction the native code rejected,
// to be replayed in the circuit in the slot of the valid original.
type mutant struct {
	name   string
	tx     types.Tx
	native error
	batch  uint64
	slot   int
	wit    *state.TxWitness // of the valid original, in that slot
}

// mutate returns an invalid variant of tx, or nil when no mutation applies.
func (w *diffWorld) mutate(rng *mrand.Rand, tx types.Tx) (string, types.Tx) {
	cp, err := types.DecodeTx(mustEncode(tx))
	if err != nil {
		panic(err)
	}
	resign := func(s types.SignedTx) {
		if err := types.SignTx(w.Keys[w.user[s.Signer()]], w.D, s); err != nil {
			panic(err)
		}
	}
	if t, ok := cp.(*types.Trade); ok {
		switch rng.IntN(6) {
		case 0:
			t.Fill = min(t.Buy.Amount, t.Sell.Amount) + 1 + rng.Uint64N(3)
			return "order overfilled", t
		case 1:
			t.Price.AddUint64(&t.Buy.Price, 1)
			return "price above the buy limit", t
		case 2:
			if t.Sell.Price.IsZero() {
				return "", nil
			}
			t.Price.SubUint64(&t.Sell.Price, 1)
			return "price below the sell limit", t
		case 3:
			t.Buy.ValidUntil = uint32(w.TS - 1)
			if err := types.SignOrder(w.Keys[w.user[t.Buy.Account]], w.D, &t.Buy); err != nil {
				panic(err)
			}
			return "order expired", t
		case 4:
			if t.Sell.MaxFeeBips == 255 {
				return "", nil
			}
			t.SellFeeBips = t.Sell.MaxFeeBips + 1
			return "fee above the order's cap", t
		default:
			t.Sell.Amount++ // altered after signing
			return "order altered after signing", t
		}
	}
	s, ok := cp.(types.SignedTx)
	if !ok {
		return "", nil
	}
	switch rng.IntN(7) {
	case 0:
		other := (w.user[s.Signer()] + 1) % len(w.Keys)
		if err := types.SignTx(w.Keys[other], w.D, s); err != nil {
			panic(err)
		}
		return "signed with another key", s
	case 1:
		s.SetNonce(s.GetNonce() + 1)
		resign(s)
		return "nonce skipped", s
	case 2:
		if s.GetNonce() == 0 {
			return "", nil
		}
		s.SetNonce(s.GetNonce() - 1)
		resign(s)
		return "nonce reused", s
	case 3:
		sig := s.Sig()
		v := new(big.Int).SetBytes(sig[32:])
		curve := twistededwards.GetEdwardsCurve()
		v.Add(v, &curve.Order)
		v.FillBytes(sig[32:])
		return "S+ℓ", s
	case 4:
		// a signed field the circuit reads, changed after signing (the nonce
		// is not one: the circuit takes it from the account leaf)
		fee := feeField(s)
		if fee == nil {
			return "", nil
		}
		if fee.IsZero() {
			fee.SetOne()
		} else {
			fee.Clear()
		}
		return "message altered after signing", s
	case 5:
		switch t := s.(type) {
		case *types.Transfer:
			t.Amount = *types.Amount38.RoundDown(new(uint256.Int).Lsh(uint256.NewInt(1), 95))
		case *types.Withdraw:
			t.Amount = *new(uint256.Int).Lsh(uint256.NewInt(1), 95)
		default:
			return "", nil
		}
		resign(s)
		return "amount above the balance", s
	default:
		fee := feeField(s)
		if fee == nil {
			return "", nil
		}
		fee.Set(types.Fee16.RoundDown(new(uint256.Int).Lsh(uint256.NewInt(1), 94)))
		resign(s)
		return "fee above the balance", s
	}
}

// feeField is a signed transaction's fee field (nil for a kind without one).
func feeField(s types.SignedTx) *uint256.Int {
	switch t := s.(type) {
	case *types.Transfer:
		return &t.Fee
	case *types.Withdraw:
		return &t.Fee
	case *types.CreateModel:
		return &t.Fee
	case *types.MintShares:
		return &t.Fee
	case *types.SetModelParams:
		return &t.Fee
	case *types.CancelOrder:
		return &t.Fee
	case *types.BuyCredits:
		return &t.Fee
	case *types.RedeemCredits:
		return &t.Fee
	case *types.ClaimRevenue:
		return &t.Fee
	}
	return nil
}

func mustEncode(tx types.Tx) []byte {
	b, err := types.EncodeTx(tx)
	if err != nil {
		panic(err)
	}
	return b
}

// TestDifferentialBatches: seeded random transactions of every kind, valid
// and invalid (random fields, and deliberate mutations of valid ones), run
// through native Apply into typed batches; every sealed batch is then solved
// by its family's batch circuit with the native header's public input, so
// the two agree on every accepted transaction, the roots, the pubdata
// commitment, the fee settlement and the priority count. Every mutation the
// native code rejected is then put in the circuit, in the slot of its valid
// original with that original's witness, and must make the batch fail.
// 1,000 batches in the normal suite, 10,000 with MODEX_LONG=1.
func TestDifferentialBatches(t *testing.T) {
	target := 1000
	if os.Getenv("MODEX_LONG") == "1" {
		target = 10000
	}
	if testing.Short() {
		target = 100
	}
	p := types.TestParams()
	p.BatchCapacity = 3
	p.MaxFeeAssets = 2
	const users = 6
	var (
		batches, txs, randomRejects int
		families                    = map[types.Family]int{}
		kinds                       = map[string]int{}
		mutants                     = map[string]int{}
		nativeErrs                  = map[string]int{}
	)
	for seed := uint64(0); batches < target; seed++ {
		ww, err := workload.NewWorld(p, store.Options{InMemory: true, KeepBatches: 1 << 20, NoSync: true}, users)
		if err != nil {
			t.Fatal(err)
		}
		w := &diffWorld{World: ww, user: map[uint32]int{}}
		for u := 0; u < users; u++ {
			for tok := uint16(0); tok < 3; tok++ {
				d := w.DepositTx(u, tok, uint256.NewInt(1e12))
				if _, _, _, err := w.add(d); err != nil || d.Refused {
					t.Fatal(err)
				}
				w.Acct[u], w.user[d.Account] = d.Account, u
			}
		}
		// models 1..3 (DAOs users 1..3), shares spread, credits bought
		nonce := map[int]uint32{}
		setup := func(u int, tx types.SignedTx) {
			tx.SetNonce(nonce[u])
			if _, err := w.Sign(u, tx); err != nil {
				t.Fatal(err)
			}
			if _, _, _, err := w.add(tx); err != nil {
				t.Fatalf("setup %s: %v", tx.Kind(), err)
			}
			nonce[u]++
		}
		for m := uint16(1); m <= 3; m++ {
			setup(int(m), &types.CreateModel{Account: w.Acct[int(m)], Model: m, QuoteToken: m - 1, Supply: 1e6, MaxSupply: 1e7,
				CreditPrice: *uint256.NewInt(20), HolderBps: 6000})
		}
		for m := uint16(1); m <= 3; m++ {
			for u := 1; u < users; u++ {
				if u != int(m) {
					setup(int(m), &types.Transfer{From: w.Acct[int(m)], To: w.Acct[u], Asset: types.ShareAsset(m), Amount: *uint256.NewInt(1000)})
				}
			}
		}
		for u := 1; u < users; u++ {
			setup(u, &types.BuyCredits{Account: w.Acct[u], Model: uint16(1 + u%3), Credits: 500, MaxPrice: *uint256.NewInt(20)})
		}
		rng := mrand.New(mrand.NewPCG(seed, 78))
		var orderID uint32
		var muts []mutant
		family := types.FamilyNone
		for i := 0; i < 200; i++ {
			// runs of one family, so batches fill up: redraw a few times
			// for the current family, then let it change
			var tx types.Tx
			for try := 0; try < 30; try++ {
				tx = randomTx(w.World, rng, users, &orderID)
				if f := types.FamilyOf(tx); f == family || family == types.FamilyNone || rng.IntN(8) == 0 {
					break
				}
			}
			if _, ok := tx.(*types.Noop); ok {
				continue
			}
			family = types.FamilyOf(tx)
			if rng.IntN(3) == 0 {
				if name, bad := w.mutate(rng, tx); bad != nil {
					if _, _, _, err := w.add(bad); err == nil {
						continue // the variant is valid after all: it is in the batch
					} else {
						nativeErrs[rootErr(err)]++
						m := mutant{name: name, tx: bad, native: err}
						r, b, slot, err := w.add(tx)
						if err != nil {
							continue // the original is invalid too
						}
						m.batch, m.slot, m.wit = b, slot, r.Witness
						muts = append(muts, m)
						txs++
						kinds[tx.Kind().String()]++
						continue
					}
				}
			}
			if _, _, _, err := w.add(tx); err != nil {
				randomRejects++
				nativeErrs[rootErr(err)]++
				continue
			}
			txs++
			kinds[tx.Kind().String()]++
		}
		if err := w.seal(); err != nil {
			t.Fatal(err)
		}
		// solve every batch, then every mutant, on all cores
		byNumber := map[uint64]*state.SealedBatch{}
		for _, sb := range w.sealed {
			byNumber[sb.Header.Number] = sb
			families[sb.Header.Family]++
		}
		errs := parallel(len(w.sealed)+len(muts), func(i int) error {
			if i < len(w.sealed) {
				sb := w.sealed[i]
				if err := proveSealed(t, p, w.D, sb); err != nil {
					return fmt.Errorf("seed %d batch %d (%v, %d txs): accepted natively, not by the circuit: %w",
						seed, sb.Header.Number, sb.Header.Family, len(sb.Txs), err)
				}
				return nil
			}
			m := muts[i-len(w.sealed)]
			sb := byNumber[m.batch]
			c, err := AssignBatch(p, w.D, sb)
			if err != nil {
				return err
			}
			mem, err := memberOf(p, m.tx)
			if err != nil {
				return err
			}
			if err := c.setMember(mem, m.slot, m.tx, m.wit); err != nil {
				return nil // not even assignable: rejected before the circuit
			}
			if solveBatch(t, c) == nil {
				return fmt.Errorf("seed %d batch %d slot %d: %s (%v) rejected natively (%v) but proven", seed, m.batch, m.slot,
					m.name, m.tx.Kind(), m.native)
			}
			return nil
		})
		for _, err := range errs {
			t.Fatal(err)
		}
		batches += len(w.sealed)
		for _, m := range muts {
			mutants[m.name]++
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("%d batches, %d transactions proven; per family %v; per kind %v", batches, txs, families, kinds)
	t.Logf("rejected natively: %d random, mutants %v; native errors %v", randomRejects, mutants, nativeErrs)
	for _, f := range types.AllFamilies() {
		if families[f] == 0 {
			t.Errorf("no %v batch was proven", f)
		}
	}
	if testing.Short() {
		return // 100 batches do not reach every mutant; the full suites check that they do
	}
	for _, name := range []string{"order overfilled", "price above the buy limit", "order expired", "fee above the order's cap",
		"signed with another key", "nonce skipped", "nonce reused", "S+ℓ", "message altered after signing", "amount above the balance"} {
		if mutants[name] == 0 {
			t.Errorf("no %q mutant reached the circuit", name)
		}
	}
}

// rootErr names the typed error inside err.
func rootErr(err error) string {
	for {
		u := errors.Unwrap(err)
		if u == nil {
			return err.Error()
		}
		err = u
	}
}

// parallel runs f(0..n-1) on all cores and returns the errors, in order.
func parallel(n int, f func(int) error) []error {
	errs := make([]error, n)
	var wg sync.WaitGroup
	next := make(chan int)
	for k := 0; k < runtime.GOMAXPROCS(0); k++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				errs[i] = f(i)
			}
		}()
	}
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	var out []error
	for _, e := range errs {
		if e != nil {
			out = append(out, e)
		}
	}
	return out
}
