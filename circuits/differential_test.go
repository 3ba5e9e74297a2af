package circuits

import (
	"fmt"
	mrand "math/rand/v2"
	"os"
	"testing"

	"github.com/consensys/gnark/test"
	"github.com/holiman/uint256"

	"github.com/modex/modex/bench/workload"
	"github.com/modex/modex/state"
	"github.com/modex/modex/state/store"
	"github.com/modex/modex/types"
)

// solveKind proves one natively accepted transaction in its kind gadget:
// roots, pubdata bits and fee must all agree with the native receipt.
func solveKind[G any, PG interface {
	*G
	kindGadget
}](p types.Params, d types.Domain, ts uint64, shape G, g G, err error, r *state.Receipt) error {
	if err != nil {
		return err
	}
	s, full := newHarness[G, PG](p, d, ts, shape, g, r)
	return test.IsSolved(s, full, field)
}

// proveNative dispatches a natively applied transaction to its gadget.
func proveNative(p types.Params, d types.Domain, ts uint64, tx types.Tx, r *state.Receipt) error {
	w := r.Witness
	switch x := tx.(type) {
	case *types.Noop:
		return nil
	case *types.Deposit:
		g, err := AssignDeposit(x, w)
		return solveKind[Deposit](p, d, ts, NewDeposit(p), g, err, r)
	case *types.ForcedWithdraw:
		if !ForcedWithdrawInTrees(p, x) {
			g, err := AssignForcedWithdrawOutside(p, x)
			return solveKind[ForcedWithdrawOutside](p, d, ts, NewForcedWithdrawOutside(p), g, err, r)
		}
		g, err := AssignForcedWithdraw(x, w)
		return solveKind[ForcedWithdraw](p, d, ts, NewForcedWithdraw(p), g, err, r)
	case *types.Transfer:
		if x.Asset.Kind() == types.AssetBase {
			g, err := AssignTransferBase(x, w)
			return solveKind[TransferBase](p, d, ts, NewTransferBase(p), g, err, r)
		}
		g, err := AssignTransferPosition(x, w)
		return solveKind[TransferPosition](p, d, ts, NewTransferPosition(p), g, err, r)
	case *types.Withdraw:
		g, err := AssignWithdraw(x, w)
		return solveKind[Withdraw](p, d, ts, NewWithdraw(p), g, err, r)
	case *types.CreateModel:
		g, err := AssignCreateModel(x, w)
		return solveKind[CreateModel](p, d, ts, NewCreateModel(p), g, err, r)
	case *types.MintShares:
		g, err := AssignMintShares(x, w)
		return solveKind[MintShares](p, d, ts, NewMintShares(p), g, err, r)
	case *types.SetModelParams:
		g, err := AssignSetModelParams(x, w)
		return solveKind[SetModelParams](p, d, ts, NewSetModelParams(p), g, err, r)
	case *types.Trade:
		g, err := AssignTrade(x, w)
		return solveKind[Trade](p, d, ts, NewTrade(p), g, err, r)
	case *types.CancelOrder:
		g, err := AssignCancelOrder(x, w)
		return solveKind[CancelOrder](p, d, ts, NewCancelOrder(p), g, err, r)
	case *types.BuyCredits:
		g, err := AssignBuyCredits(x, w)
		return solveKind[BuyCredits](p, d, ts, NewBuyCredits(p), g, err, r)
	case *types.RedeemCredits:
		g, err := AssignRedeemCredits(x, w)
		return solveKind[RedeemCredits](p, d, ts, NewRedeemCredits(p), g, err, r)
	case *types.ClaimRevenue:
		g, err := AssignClaimRevenue(x, w)
		return solveKind[ClaimRevenue](p, d, ts, NewClaimRevenue(p), g, err, r)
	}
	return fmt.Errorf("no gadget for %T", tx)
}

// randomTx draws a transaction of any kind with random fields; many are
// invalid and rejected natively (those are skipped: only accepted
// transactions have a witness to prove).
func randomTx(w *workload.World, rng *mrand.Rand, users int, orderID *uint32) types.Tx {
	u := 1 + rng.IntN(users-1)
	v := rng.IntN(users)
	acct, other := w.Acct[u], w.Acct[v]
	model := uint16(1 + rng.IntN(3))
	tok := uint16(rng.IntN(3))
	amt := func(bits uint) uint256.Int {
		x := uint256.NewInt(rng.Uint64N(1 << bits))
		return *types.Amount38.RoundDown(x)
	}
	fee := func() uint256.Int { return *types.Fee16.RoundDown(uint256.NewInt(rng.Uint64N(50))) }
	sign := func(tx types.SignedTx) types.Tx {
		a, err := w.State().Account(tx.Signer())
		if err == nil {
			tx.SetNonce(a.Nonce)
		}
		_, _ = w.Sign(u, tx)
		return tx
	}
	switch rng.IntN(15) {
	case 0:
		d := w.DepositTx(rng.IntN(users), tok, uint256.NewInt(rng.Uint64N(1<<40)))
		return d
	case 1:
		return &types.ForcedWithdraw{PriorityID: w.Prio, Requester: workload.Addr(rng.IntN(users)), Account: other, Token: tok}
	case 2, 3:
		return sign(&types.Transfer{From: acct, To: other, Asset: types.BaseAsset(tok), Amount: amt(30), Fee: fee()})
	case 4:
		asset := types.ShareAsset(model)
		if rng.IntN(2) == 0 {
			asset = types.CreditAsset(model)
		}
		return sign(&types.Transfer{From: acct, To: other, Asset: asset, Amount: amt(12), Fee: fee()})
	case 5:
		return sign(&types.Withdraw{Account: acct, Token: tok, Amount: amt(28), Fee: fee(), To: workload.Addr(u)})
	case 6:
		return sign(&types.CreateModel{Account: acct, Model: model, QuoteToken: tok, Supply: 1 + rng.Uint64N(1e6), MaxSupply: 1e7,
			CreditPrice: *uint256.NewInt(rng.Uint64N(5000)), HolderBps: uint16(rng.IntN(10001)), Weights: types.FromUint64(rng.Uint64()),
			Metadata: types.FromUint64(7), Fee: fee()})
	case 7:
		return sign(&types.MintShares{Account: acct, Model: model, Amount: 1 + rng.Uint64N(1000), Fee: fee()})
	case 8:
		return sign(&types.SetModelParams{Account: acct, Model: model, CreditPrice: *uint256.NewInt(rng.Uint64N(5000)),
			HolderBps: uint16(rng.IntN(10001)), Fee: fee()})
	case 9, 10, 14:
		*orderID++
		seller, buyer := u, 1+rng.IntN(users-1)
		if m, err := w.State().Model(model); err == nil && rng.IntN(2) == 0 {
			for user, id := range w.Acct { // the DAO holds shares to sell
				if id == m.DAO {
					seller = user
				}
			}
		}
		price := 1 + rng.Uint64N(200)
		id := *orderID
		if rng.IntN(3) == 0 {
			id = uint32(rng.IntN(int(*orderID))) // reuse an older id: continue, restart or stale
		}
		sell, _ := w.Order(seller, model, types.Sell, id, 1+rng.Uint64N(500), price, uint8(rng.IntN(60)))
		buy, _ := w.Order(buyer, model, types.Buy, id, 1+rng.Uint64N(500), price+rng.Uint64N(50), uint8(rng.IntN(60)))
		fill := 1 + rng.Uint64N(300)
		return &types.Trade{Buy: buy, Sell: sell, Fill: fill, Price: *uint256.NewInt(price + rng.Uint64N(20)),
			BuyFeeBips: uint8(rng.IntN(40)), SellFeeBips: uint8(rng.IntN(40))}
	case 11:
		return sign(&types.CancelOrder{Account: acct, Model: model, OrderID: uint32(rng.IntN(int(*orderID) + 1)), Fee: fee()})
	case 12:
		if rng.IntN(2) == 0 {
			return sign(&types.BuyCredits{Account: acct, Model: model, Credits: 1 + rng.Uint64N(100), MaxPrice: *uint256.NewInt(5000), Fee: fee()})
		}
		return sign(&types.RedeemCredits{Account: acct, Model: model, Credits: 1 + rng.Uint64N(50), Request: types.FromUint64(rng.Uint64()), Fee: fee()})
	case 13:
		return sign(&types.ClaimRevenue{Account: acct, Model: model, Fee: fee()})
	}
	return &types.Noop{}
}

// TestDifferentialKinds: seeded random sequences of every kind run natively;
// every transaction the native transition accepts is proven by its kind
// gadget with the native roots, pubdata and fee. 5 seeds × 250 draws in the
// normal suite, 10× with MODEX_LONG=1.
func TestDifferentialKinds(t *testing.T) {
	seeds, draws := 5, 250
	if os.Getenv("MODEX_LONG") == "1" {
		seeds *= 10
	}
	const users = 6
	accepted := map[string]int{}
	for seed := 0; seed < seeds; seed++ {
		p := types.TestParams()
		p.MaxFeeAssets = 3
		w, err := workload.NewWorld(p, store.Options{InMemory: true}, users)
		if err != nil {
			t.Fatal(err)
		}
		for u := 0; u < users; u++ {
			for tok := uint16(0); tok < 3; tok++ {
				if err := w.Deposit(u, tok, 1e12); err != nil {
					t.Fatal(err)
				}
			}
		}
		rng := mrand.New(mrand.NewPCG(uint64(seed), 77))
		var orderID uint32
		for i := 0; i < draws; i++ {
			tx := randomTx(w, rng, users, &orderID)
			r, err := w.Add(tx)
			if err != nil {
				continue // rejected natively: nothing to prove
			}
			if _, ok := tx.(*types.Deposit); ok {
				w.Prio++
			}
			if _, ok := tx.(*types.ForcedWithdraw); ok {
				w.Prio++
			}
			if err := proveNative(p, w.D, w.TS, tx, r); err != nil {
				t.Fatalf("seed %d draw %d: %s accepted natively but not by its gadget: %v", seed, i, tx.Kind(), err)
			}
			accepted[tx.Kind().String()]++
		}
		w.Close()
	}
	t.Logf("accepted and proven per kind: %v", accepted)
	for _, k := range []string{"Deposit", "Transfer", "Withdraw", "ForcedWithdraw", "CreateModel", "MintShares",
		"SetModelParams", "Trade", "CancelOrder", "BuyCredits", "RedeemCredits", "ClaimRevenue"} {
		if accepted[k] == 0 {
			t.Errorf("no %s was accepted: the generator does not reach it", k)
		}
	}
}
