package devnet

import (
	"context"
	"crypto/ecdsa"
	"log/slog"
	"math/big"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/accounts/abi/bind/v2"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/holiman/uint256"

	"github.com/modex/modex/bridge"
	"github.com/modex/modex/deploy"
	"github.com/modex/modex/node/devchain"
	"github.com/modex/modex/rpc"
	"github.com/modex/modex/rpc/client"
	"github.com/modex/modex/types"
)

// The end-to-end test: the devnet in one process (the embedded L1 with the
// bridge and the exported verifiers, a node with the CPU prover, the API
// over HTTP and websocket), two traders, a model DAO and an inference
// consumer, and the whole flow through the Go client. Every batch is
// proven with Groth16 and verified on the in-process EVM.

func e2eParams() types.Params {
	p := types.TestParams()
	p.BatchCapacity = 2
	return p
}

var e2eFamilies = []types.Family{types.FamilyPriority, types.FamilyTransfer, types.FamilyWithdraw, types.FamilyModelAdmin,
	types.FamilyTrade, types.FamilyBuyCredits, types.FamilyRedeemCredits, types.FamilyClaimRevenue}

// user is a dev account: its L1 key and its L2 key and account.
type user struct {
	name    string
	l1      *ecdsa.PrivateKey
	addr    common.Address
	l2      *types.PrivateKey
	account uint32
	nonce   uint32
}

type e2e struct {
	t   *testing.T
	ctx context.Context
	dn  *Devnet
	c   *client.Client // websocket
	d   types.Domain
}

func (e *e2e) dial() {
	e.t.Helper()
	c, err := client.Dial(e.ctx, "ws://"+e.dn.Node.Addr())
	if err != nil {
		e.t.Fatal(err)
	}
	e.c = c
}

func (e *e2e) opts(u *user) *bind.TransactOpts {
	o := bind.NewKeyedTransactor(u.l1, e.dn.Chain.ChainID())
	o.Context = e.ctx
	return o
}

// depositETH deposits amount wei from u's L1 key on the bridge, waits for
// the L1 transaction and sets u's account to the one the bridge assigned.
func depositETH(t *testing.T, ctx context.Context, dn *Devnet, u *user, amount int64) {
	t.Helper()
	o := bind.NewKeyedTransactor(u.l1, dn.Chain.ChainID())
	o.Context = ctx
	o.Value = big.NewInt(amount)
	tx, err := dn.Rollup.Contract.DepositETH(o, types.PublicKeyOf(u.l2))
	if err != nil {
		t.Fatalf("%s deposit: %v", u.name, err)
	}
	if _, err := bridge.WaitSuccess(ctx, dn.Chain.Client(), tx); err != nil {
		t.Fatal(err)
	}
	id, ok, err := dn.Rollup.Contract.AccountOf(ctx, u.addr, types.PublicKeyOf(u.l2))
	if err != nil || !ok {
		t.Fatalf("%s: no account: %v", u.name, err)
	}
	u.account = id
}

// signed submits u's next signed transaction and waits until it is included.
func (e *e2e) submit(u *user, tx types.SignedTx) common.Hash {
	e.t.Helper()
	tx.SetNonce(u.nonce)
	if err := types.SignTx(u.l2, e.d, tx); err != nil {
		e.t.Fatal(err)
	}
	h, err := e.c.SubmitTx(e.ctx, tx)
	if err != nil {
		e.t.Fatalf("%s: submit %s: %v", u.name, tx.Kind(), err)
	}
	u.nonce++
	if _, err := e.c.WaitTx(e.ctx, h, rpc.TxIncluded); err != nil {
		e.t.Fatalf("%s: %s: %v", u.name, tx.Kind(), err)
	}
	return h
}

func (e *e2e) order(u *user, side types.Side, id uint32, amount, price uint64) *types.Order {
	e.t.Helper()
	o := &types.Order{Account: u.account, Model: 1, Side: side, OrderID: id, Amount: amount, MaxFeeBips: 10,
		ValidUntil: uint32(time.Now().Unix() + 3600)}
	o.Price.SetUint64(price)
	if err := types.SignOrder(u.l2, e.d, o); err != nil {
		e.t.Fatal(err)
	}
	return o
}

// balance is an account's soft balance of an asset.
func (e *e2e) balance(u *user, a types.AssetID) uint64 {
	e.t.Helper()
	info, err := e.c.Account(e.ctx, u.account)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, b := range info.Balances {
		if b.Asset == uint32(a) {
			return b.Soft.Uint64()
		}
	}
	return 0
}

// settle waits until every sealed batch is verified on L1 and nothing is pending.
func (e *e2e) settle() *rpc.SyncStatus {
	e.t.Helper()
	// On a cold key cache the families' keys are still being made: the
	// transactions so far were applied before their provers existed.
	if err := e.dn.WaitReady(e.ctx); err != nil {
		e.t.Fatal(err)
	}
	deadline := time.Now().Add(3 * time.Minute)
	for time.Now().Before(deadline) {
		st, err := e.c.SyncStatus(e.ctx)
		if err != nil {
			e.t.Fatal(err)
		}
		if st.Halted != "" {
			e.t.Fatalf("pipeline halted: %s", st.Halted)
		}
		if st.Sealed > 0 && st.Verified == st.Sealed && e.dn.Node.Sequencer().PoolLen() == 0 {
			return st
		}
		time.Sleep(100 * time.Millisecond)
	}
	e.t.Fatal("batches not verified in time")
	return nil
}

func TestEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: compiles and proves 8 circuits")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	dn, err := Start(ctx, Config{
		DataDir: t.TempDir(), KeyDir: testKeys, L1Addr: "127.0.0.1:0", RPCAddr: "127.0.0.1:0",
		Admin: true, Params: e2eParams(), Families: e2eFamilies, BlockTime: 500 * time.Millisecond,
		BatchTimeout: 300 * time.Millisecond, Logger: logger, Progress: func(m string) { t.Log(m) },
	})
	if err != nil {
		t.Fatal(err)
	}
	defer dn.Stop(context.Background())
	e := &e2e{t: t, ctx: ctx, dn: dn, d: dn.Node.Domain()}
	e.dial()
	defer func() { e.c.Close() }()

	keys := dn.Chain.Keys()
	mk := func(i int, name string) *user {
		return &user{name: name, l1: keys[i], addr: crypto.PubkeyToAddress(keys[i].PublicKey), l2: devchain.DevL2Key(i)}
	}
	alice, bob, dao, carol, payer := mk(1, "alice"), mk(2, "bob"), mk(3, "dao"), mk(4, "carol"), mk(5, "payer")
	users := []*user{alice, bob, dao, carol}

	// websocket subscribers
	var mu sync.Mutex
	var gotTrades []*rpc.TradeInfo
	var gotBatches []*rpc.BatchInfo
	var gotAlice []*rpc.AccountUpdate
	var gotRedeem []*rpc.Redemption
	trades := make(chan *rpc.TradeInfo, 64)
	batches := make(chan *rpc.BatchInfo, 1024)
	redeems := make(chan *rpc.Redemption, 16)
	go func() {
		for {
			select {
			case x := <-trades:
				mu.Lock()
				gotTrades = append(gotTrades, x)
				mu.Unlock()
			case x := <-batches:
				mu.Lock()
				gotBatches = append(gotBatches, x)
				mu.Unlock()
			case x := <-redeems:
				mu.Lock()
				gotRedeem = append(gotRedeem, x)
				mu.Unlock()
			case <-ctx.Done():
				return
			}
		}
	}()
	// a market's channels exist once its model does: trades and
	// redemptions of model 1 are subscribed after it is created
	subscribeBatches := func() {
		if _, err := e.c.SubscribeBatches(ctx, batches); err != nil {
			t.Fatal(err)
		}
	}
	subscribeMarket := func() {
		if _, err := e.c.SubscribeTrades(ctx, 1, trades); err != nil {
			t.Fatal(err)
		}
		if _, err := e.c.SubscribeRedemptions(ctx, 1, redeems); err != nil {
			t.Fatal(err)
		}
	}
	subscribeBatches()

	// 1. deposits from L1
	const deposit = 1_000_000
	l1Before := map[*user]*big.Int{}
	for _, u := range users {
		depositETH(t, ctx, dn, u, deposit)
	}
	for _, u := range users {
		for i := 0; ; i++ {
			if ids, err := e.c.AccountByAddress(ctx, u.addr); err == nil && len(ids) == 1 {
				break
			}
			if i > 600 {
				t.Fatalf("%s: deposit not applied", u.name)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	accUpdates := make(chan *rpc.AccountUpdate, 256)
	if _, err := e.c.SubscribeAccount(ctx, alice.account, accUpdates); err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			select {
			case x := <-accUpdates:
				mu.Lock()
				gotAlice = append(gotAlice, x)
				mu.Unlock()
			case <-ctx.Done():
				return
			}
		}
	}()

	// 2. the DAO creates model 1: 1,000 shares, credits at 10, half of the
	// credit revenue to shareholders
	cm := &types.CreateModel{Account: dao.account, Model: 1, QuoteToken: 0, Supply: 1000, MaxSupply: 1000, HolderBps: 5000}
	cm.CreditPrice.SetUint64(10)
	cm.Weights.SetUint64(0xC0FFEE)
	cm.Metadata.SetUint64(0xBEEF)
	e.submit(dao, cm)
	subscribeMarket()

	// 3. orders: the DAO sells 400 at 50; alice buys 300 at 60 (a partial
	// fill of the DAO's order at the maker's price 50)
	if res, err := e.c.PlaceOrder(ctx, e.order(dao, types.Sell, 1, 400, 50)); err != nil || res.Rested != 400 {
		t.Fatalf("dao sell: %+v %v", res, err)
	}
	res, err := e.c.PlaceOrder(ctx, e.order(alice, types.Buy, 1, 300, 60))
	if err != nil || len(res.Trades) != 1 || res.Trades[0].Fill != 300 || res.Trades[0].Price.Uint64() != 50 {
		t.Fatalf("alice buy: %+v %v", res, err)
	}
	book, err := e.c.Book(ctx, 1, 10)
	if err != nil || len(book.Asks) != 1 || book.Asks[0].Amount.Uint64() != 100 {
		t.Fatalf("book after the partial fill: %+v %v", book, err)
	}

	// 4. a restart in the middle: sequencing stopped, bob's order and
	// carol's credit purchase are acknowledged but not applied; the node
	// restarts and loses neither
	if err := e.c.StopSequencing(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := e.c.PlaceOrder(ctx, e.order(bob, types.Buy, 1, 100, 55)); err == nil {
		t.Fatal("an order was matched while sequencing is stopped")
	}
	bc := &types.BuyCredits{Account: carol.account, Model: 1, Credits: 20}
	bc.MaxPrice.SetUint64(10)
	bc.SetNonce(carol.nonce)
	if err := types.SignTx(carol.l2, e.d, bc); err != nil {
		t.Fatal(err)
	}
	buyHash, err := e.c.SubmitTx(ctx, bc)
	if err != nil {
		t.Fatal(err)
	}
	carol.nonce++
	if info, err := e.c.Tx(ctx, buyHash); err != nil || info.Status != rpc.TxPending {
		t.Fatalf("while stopped: %+v %v", info, err)
	}
	e.c.Close()
	if err := dn.RestartNode(ctx); err != nil {
		t.Fatal(err)
	}
	e.dial()
	subscribeBatches()
	subscribeMarket()
	if _, err := e.c.SubscribeAccount(ctx, alice.account, accUpdates); err != nil {
		t.Fatal(err)
	}
	if _, err := e.c.WaitTx(ctx, buyHash, rpc.TxIncluded); err != nil {
		t.Fatalf("carol's purchase after the restart: %v", err)
	}
	book, err = e.c.Book(ctx, 1, 10)
	if err != nil || len(book.Asks) != 1 || book.Asks[0].Amount.Uint64() != 100 {
		t.Fatalf("book after restart: %+v %v", book, err)
	}
	// bob takes the rest of the DAO's order
	res, err = e.c.PlaceOrder(ctx, e.order(bob, types.Buy, 1, 100, 55))
	if err != nil || len(res.Trades) != 1 || res.Trades[0].Fill != 100 || res.Rested != 0 {
		t.Fatalf("bob buy: %+v %v", res, err)
	}

	// 5. carol redeems 5 credits; alice claims her revenue
	e.submit(carol, &types.RedeemCredits{Account: carol.account, Model: 1, Credits: 5, Request: types.FromUint64(777)})
	e.submit(alice, &types.ClaimRevenue{Account: alice.account, Model: 1})

	// 6. alice withdraws 500,000 wei to her L1 address
	w := &types.Withdraw{Account: alice.account, Token: 0, To: alice.addr}
	w.Amount.SetUint64(500_000)
	wh := e.submit(alice, w)
	for _, u := range users {
		b, err := dn.Chain.Client().BalanceAt(ctx, u.addr, nil)
		if err != nil {
			t.Fatal(err)
		}
		l1Before[u] = b
	}

	st := e.settle()
	t.Logf("settled: %+v", st)
	wi, err := e.c.Withdrawal(ctx, wh)
	if err != nil || !wi.Claimable || wi.Status != rpc.TxFinalized {
		t.Fatalf("withdrawal: %+v %v", wi, err)
	}
	// 7. claim on L1, paid for by someone else: alice's L1 balance grows by
	// exactly the amount
	tx, err := dn.Rollup.Contract.Claim(e.opts(payer), alice.addr, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bridge.WaitSuccess(ctx, dn.Chain.Client(), tx); err != nil {
		t.Fatal(err)
	}
	after, err := dn.Chain.Client().BalanceAt(ctx, alice.addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	if d := new(big.Int).Sub(after, l1Before[alice]); d.Cmp(big.NewInt(500_000)) != 0 {
		t.Fatalf("alice's L1 balance grew by %s, want 500000", d)
	}

	// final L2 balances, to the unit. Trades: 300 at 50 (alice taker 5
	// bips, dao maker 2 bips) and 100 at 50 (bob taker).
	//   alice: 1,000,000 − (15,000 + 7) + 30 revenue − 500,000 = 485,023
	//   bob:   1,000,000 − (5,000 + 2) = 994,998
	//   dao:   1,000,000 + (15,000 − 3) + (5,000 − 1) = 1,019,996
	//   carol: 1,000,000 − 200 = 999,800; credits 15
	//   revenue: 200 × 50% = 100 to holders (alice 300/1000 = 30), 100 treasury
	want := map[*user]uint64{alice: 485_023, bob: 994_998, dao: 1_019_996, carol: 999_800}
	for u, v := range want {
		if got := e.balance(u, types.ETH); got != v {
			t.Errorf("%s: ETH %d, want %d", u.name, got, v)
		}
	}
	if got := e.balance(alice, types.ShareAsset(1)); got != 300 {
		t.Errorf("alice shares %d", got)
	}
	if got := e.balance(bob, types.ShareAsset(1)); got != 100 {
		t.Errorf("bob shares %d", got)
	}
	if got := e.balance(dao, types.ShareAsset(1)); got != 600 {
		t.Errorf("dao shares %d", got)
	}
	if got := e.balance(carol, types.CreditAsset(1)); got != 15 {
		t.Errorf("carol credits %d", got)
	}
	// the fee account (0) holds every fee: 7 + 3 + 2 + 1
	op := &user{account: 0}
	if got := e.balance(op, types.ETH); got != 13 {
		t.Errorf("fee account %d, want 13", got)
	}
	// the soft and the proven state agree once everything is verified
	info, err := e.c.Account(ctx, alice.account)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range info.Balances {
		if b.Soft != b.Proven {
			t.Errorf("alice %s: soft %s, proven %s", b.Name, b.Soft.Dec(), b.Proven.Dec())
		}
	}
	// L1 holds what L2 holds plus what is pending
	held, err := dn.Chain.Client().BalanceAt(ctx, dn.Rollup.Contract.Address, nil)
	if err != nil {
		t.Fatal(err)
	}
	var l2 uint256.Int
	for _, u := range append(users, op) {
		l2.AddUint64(&l2, e.balance(u, types.ETH))
	}
	// ... and the model's revenue not yet claimed: the DAO treasury (100)
	// and the holders' share bob (10) and the DAO (60) have not claimed
	m, err := e.c.Model(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if m.Treasury.Uint64() != 100 {
		t.Errorf("treasury %s, want 100", m.Treasury.Dec())
	}
	l2.Add(&l2, &m.Treasury)
	l2.AddUint64(&l2, 10+60)
	if held.Cmp(l2.ToBig()) != 0 {
		t.Errorf("bridge holds %s wei, L2 balances + unclaimed revenue %s", held, l2.Dec())
	}

	// every batch was committed by the tree stage, proven and verified;
	// subscribers saw it all
	if st.Committed != st.Sealed {
		t.Errorf("sync status: committed %d, sealed %d", st.Committed, st.Sealed)
	}
	for n := uint64(1); n <= st.Sealed; n++ {
		b, err := e.c.Batch(ctx, n)
		if err != nil || b.Status != rpc.BatchVerified || b.L1Tx == (common.Hash{}) {
			t.Errorf("batch %d: %+v %v", n, b, err)
		}
	}
	// the staged deploy is complete: every verifier at its planned address
	// is the keyed verifier of the node's keys, the bridge the record's
	if err := dn.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	if err := deploy.Check(ctx, dn.Chain.Client(), dn.Record(), dn.Keys()); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	if len(gotTrades) < 2 {
		t.Errorf("trade subscribers got %d trades, want 2", len(gotTrades))
	}
	verified := 0
	for _, b := range gotBatches {
		if b.Status == rpc.BatchVerified {
			verified++
		}
	}
	if verified == 0 {
		t.Errorf("batch subscribers saw no verified batch (%d events)", len(gotBatches))
	}
	if len(gotAlice) == 0 {
		t.Error("alice's account subscriber got no update")
	}
	if len(gotRedeem) != 1 || gotRedeem[0].Credits != 5 || gotRedeem[0].Request != "0x309" {
		t.Errorf("redemptions: %+v", gotRedeem)
	}
}
