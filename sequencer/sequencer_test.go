package sequencer

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/modex/modex/bench/workload"
	"github.com/modex/modex/rpc"
	"github.com/modex/modex/sequencer/book"
	"github.com/modex/modex/sequencer/mempool"
	"github.com/modex/modex/state"
	"github.com/modex/modex/state/store"
	"github.com/modex/modex/types"
)

var testDomain = types.Domain{ChainID: 1337, Bridge: common.HexToAddress("0xb1d9e")}

// fixture is a sequencer over an in-memory state and journal, fed with
// priority requests directly (no L1).
type fixture struct {
	t     *testing.T
	ctx   context.Context
	p     types.Params
	db    *state.DB
	j     *store.Plain
	s     *Sequencer
	keys  []*types.PrivateKey
	prio  uint64
	now   uint64
	seals []*state.SealedBatch
	fams  map[types.Family]bool
	wait  time.Duration // BatchTimeout (default: an hour, tests flush)
}

func newFixture(t *testing.T, users int) *fixture {
	t.Helper()
	p := types.TestParams()
	p.BatchCapacity = 4
	db, err := state.Open(p, testDomain, store.Options{InMemory: true, KeepBatches: 1 << 10})
	if err != nil {
		t.Fatal(err)
	}
	j, err := store.OpenPlain("", true, true)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, ctx: context.Background(), p: p, db: db, j: j, now: 1_800_000_000}
	for i := 0; i < users; i++ {
		k, err := workload.Key(i)
		if err != nil {
			t.Fatal(err)
		}
		f.keys = append(f.keys, k)
	}
	f.open()
	t.Cleanup(func() {
		_ = f.s.Stop(context.Background())
		_ = j.Close()
		_ = db.Close()
	})
	return f
}

func (f *fixture) open() {
	f.t.Helper()
	wait := f.wait
	if wait == 0 {
		wait = time.Hour
	}
	s, err := New(Config{Params: f.p, Domain: testDomain, BatchTimeout: wait, MakerFeeBips: 2, TakerFeeBips: 5, Families: f.fams,
		Clock: func() uint64 { return f.now }, OnSeal: func(sb *state.SealedBatch) { f.seals = append(f.seals, sb) }}, f.db, f.j)
	if err != nil {
		f.t.Fatal(err)
	}
	if err := s.Start(f.ctx); err != nil {
		f.t.Fatal(err)
	}
	f.s = s
}

// restart closes the sequencer (dropping its open batch) and opens it again.
func (f *fixture) restart() {
	f.t.Helper()
	if err := f.s.Stop(f.ctx); err != nil {
		f.t.Fatal(err)
	}
	f.open()
}

// deposit queues a deposit of user i as the next priority request (account i).
func (f *fixture) deposit(i int, amount uint64) {
	f.t.Helper()
	d := &types.Deposit{PriorityID: f.prio, Account: uint32(i), L1Address: workload.Addr(i), PubKey: types.PublicKeyOf(f.keys[i])}
	d.Amount.SetUint64(amount)
	raw, err := types.EncodeTx(d)
	if err != nil {
		f.t.Fatal(err)
	}
	if err := f.s.AddPriority(f.ctx, []PriorityRequest{{ID: f.prio, Raw: raw}}); err != nil {
		f.t.Fatal(err)
	}
	f.prio++
}

func (f *fixture) flush() {
	f.t.Helper()
	if err := f.s.Flush(f.ctx); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) sign(i int, tx types.SignedTx) types.SignedTx {
	f.t.Helper()
	if err := types.SignTx(f.keys[i], testDomain, tx); err != nil {
		f.t.Fatal(err)
	}
	return tx
}

func (f *fixture) submit(i int, tx types.SignedTx) (common.Hash, error) {
	f.t.Helper()
	return f.s.Submit(f.ctx, f.sign(i, tx))
}

func (f *fixture) order(i int, model uint16, side types.Side, id uint32, amount, price uint64) *types.Order {
	f.t.Helper()
	o := &types.Order{Account: uint32(i), Model: model, Side: side, OrderID: id, Amount: amount, MaxFeeBips: 10, ValidUntil: uint32(f.now + 3600)}
	o.Price.SetUint64(price)
	if err := types.SignOrder(f.keys[i], testDomain, o); err != nil {
		f.t.Fatal(err)
	}
	return o
}

func (f *fixture) balance(i int, token uint16) uint64 {
	f.t.Helper()
	info, err := f.s.Queries().Account(f.ctx, uint32(i))
	if err != nil {
		f.t.Fatal(err)
	}
	for _, b := range info.Balances {
		if b.Asset == uint32(types.BaseAsset(token)) {
			return b.Soft.Uint64()
		}
	}
	return 0
}

func transfer(from, to uint32, amount uint64, nonce uint32) *types.Transfer {
	t := &types.Transfer{From: from, To: to, Asset: types.ETH, Nonce: nonce}
	t.Amount.SetUint64(amount)
	return t
}

func wantErr(t *testing.T, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("got %v, want %v", err, want)
	}
}

func (f *fixture) status(h common.Hash) rpc.TxStatus {
	f.t.Helper()
	info, err := f.s.Queries().Tx(f.ctx, h)
	if err != nil {
		f.t.Fatal(err)
	}
	return info.Status
}

func TestSequencerFlow(t *testing.T) {
	f := newFixture(t, 3)
	f.deposit(0, 0)
	f.deposit(1, 1_000_000)
	f.deposit(2, 1_000_000)
	f.flush()
	if len(f.seals) != 1 || f.seals[0].Header.Family != types.FamilyPriority || len(f.seals[0].Txs) != 3 {
		t.Fatalf("want one priority batch of 3, got %d batches", len(f.seals))
	}
	if got := f.balance(1, 0); got != 1_000_000 {
		t.Fatalf("balance %d", got)
	}

	// rejections are typed and change nothing
	_, err := f.s.Submit(f.ctx, transfer(1, 2, 10, 0)) // unsigned
	wantErr(t, err, types.ErrBadSignature)
	_, err = f.submit(1, transfer(1, 2, 10, 5)) // nonce gap beyond the pool's bound
	wantErr(t, err, types.ErrNonce)
	_, err = f.submit(1, transfer(1, 1, 10, 0))
	wantErr(t, err, types.ErrSelfTransfer)
	_, err = f.submit(2, transfer(9, 2, 10, 0)) // account 9 does not exist
	wantErr(t, err, types.ErrAccountNotFound)

	f.s.Pause() // nothing is applied meanwhile: nonce 1 stays pending, so replaceable
	h1, err := f.submit(1, transfer(1, 2, 100, 0))
	if err != nil {
		t.Fatal(err)
	}
	h2, err := f.submit(1, transfer(1, 2, 200, 1))
	if err != nil {
		t.Fatal(err)
	}
	// a replacement of nonce 1 with the same fee is refused
	_, err = f.submit(1, transfer(1, 2, 300, 1))
	wantErr(t, err, mempool.ErrReplacementUnderpriced)
	if f.status(h1) != rpc.TxPending {
		t.Fatalf("applied while stopped: %s", f.status(h1))
	}
	if err := f.s.Resume(); err != nil {
		t.Fatal(err)
	}
	f.flush()
	if f.status(h1) != rpc.TxIncluded || f.status(h2) != rpc.TxIncluded {
		t.Fatalf("statuses %s %s", f.status(h1), f.status(h2))
	}
	if got := f.balance(2, 0); got != 1_000_300 {
		t.Fatalf("receiver %d", got)
	}
	// a transaction the state refuses when applied ends failed
	h3, err := f.submit(1, transfer(1, 2, 5_000_000_000, 2))
	if err != nil {
		t.Fatal(err)
	}
	f.flush()
	info, err := f.s.Queries().Tx(f.ctx, h3)
	if err != nil {
		t.Fatal(err)
	}
	if info.Status != rpc.TxFailed || info.Error == nil || info.Error.Reason == "" {
		t.Fatalf("overdraft: %+v", info)
	}
	f.s.SetProven(2)
	f.s.SetVerified(2)
	if f.status(h1) != rpc.TxFinalized {
		t.Fatalf("after verification: %s", f.status(h1))
	}
	hist, err := f.s.Queries().History(f.ctx, 1, "", 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(hist.Items) != 1 || hist.Next == "" {
		t.Fatalf("history page: %+v", hist)
	}
	rest, err := f.s.Queries().History(f.ctx, 1, hist.Next, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(rest.Items) != 2 { // the second transfer and the deposit
		t.Fatalf("history rest: %d items", len(rest.Items))
	}
	_, err = f.s.Queries().History(f.ctx, 1, "zz", 10)
	wantErr(t, err, rpc.ErrBadCursor)
}

func (f *fixture) createModel(dao int, model uint16, supply uint64, nonce uint32) {
	f.t.Helper()
	cm := &types.CreateModel{Account: uint32(dao), Model: model, Supply: supply, MaxSupply: supply, HolderBps: 5000, Nonce: nonce}
	cm.CreditPrice.SetUint64(10)
	cm.Weights.SetUint64(1)
	if _, err := f.submit(dao, cm); err != nil {
		f.t.Fatal(err)
	}
	f.flush()
}

func TestOrdersMatchPartialFillAndRestart(t *testing.T) {
	f := newFixture(t, 4)
	f.deposit(0, 0)
	f.deposit(1, 1_000_000)
	f.deposit(2, 1_000_000)
	f.deposit(3, 1_000_000)
	f.flush()
	f.createModel(1, 1, 1000, 0)

	// unknown market, bad signature, selling shares one does not have
	_, err := f.s.Place(f.ctx, f.order(2, 3, types.Sell, 1, 10, 5))
	wantErr(t, err, types.ErrModelNotFound)
	bad := f.order(2, 1, types.Buy, 1, 10, 5)
	bad.Amount++
	_, err = f.s.Place(f.ctx, bad)
	wantErr(t, err, types.ErrBadSignature)
	_, err = f.s.Place(f.ctx, f.order(2, 1, types.Sell, 1, 10, 5))
	wantErr(t, err, types.ErrInsufficientShares)

	// the DAO sells 400 at 50; account 2 buys 300 at 60: a partial fill at 50
	res, err := f.s.Place(f.ctx, f.order(1, 1, types.Sell, 1, 400, 50))
	if err != nil || len(res.Trades) != 0 || res.Rested != 400 {
		t.Fatalf("sell: %+v %v", res, err)
	}
	res, err = f.s.Place(f.ctx, f.order(2, 1, types.Buy, 1, 300, 60))
	if err != nil || len(res.Trades) != 1 || res.Trades[0].Fill != 300 || res.Trades[0].Price.Uint64() != 50 {
		t.Fatalf("buy: %+v %v", res, err)
	}
	snap, err := f.s.Queries().Book(f.ctx, 1, 10)
	if err != nil || len(snap.Asks) != 1 || snap.Asks[0].Amount.Uint64() != 100 || len(snap.Bids) != 0 {
		t.Fatalf("book: %+v %v", snap, err)
	}
	// a duplicate order id is refused
	_, err = f.s.Place(f.ctx, f.order(1, 1, types.Sell, 1, 400, 50))
	wantErr(t, err, book.ErrDuplicate)

	// restart before the trade's batch is sealed: the order journal brings
	// back both orders, and matching them again makes the same trade
	f.restart()
	snap, err = f.s.Queries().Book(f.ctx, 1, 10)
	if err != nil || len(snap.Asks) != 1 || snap.Asks[0].Amount.Uint64() != 100 {
		t.Fatalf("book after restart: %+v %v", snap, err)
	}
	f.flush()
	pos := func(i int) uint64 {
		info, err := f.s.Queries().Account(f.ctx, uint32(i))
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range info.Balances {
			if b.Asset == uint32(types.ShareAsset(1)) {
				return b.Soft.Uint64()
			}
		}
		return 0
	}
	if pos(2) != 300 || pos(1) != 700 {
		t.Fatalf("shares after restart: buyer %d dao %d", pos(2), pos(1))
	}
	trades, err := f.s.Queries().Trades(f.ctx, 1, "", 10)
	if err != nil || len(trades.Items) != 1 {
		t.Fatalf("trades: %+v %v", trades, err)
	}
	// restart after sealing: the filled buy order is gone, the rest stays
	f.restart()
	snap, err = f.s.Queries().Book(f.ctx, 1, 10)
	if err != nil || len(snap.Asks) != 1 || snap.Asks[0].Amount.Uint64() != 100 || len(snap.Bids) != 0 {
		t.Fatalf("book after second restart: %+v %v", snap, err)
	}
	// cancel the rest with a signed CancelOrder
	if _, err := f.submit(1, &types.CancelOrder{Account: 1, Model: 1, OrderID: 1, Nonce: 1}); err != nil {
		t.Fatal(err)
	}
	f.flush()
	snap, _ = f.s.Queries().Book(f.ctx, 1, 10)
	if len(snap.Asks) != 0 {
		t.Fatalf("cancelled order still resting: %+v", snap)
	}
	f.restart()
	snap, _ = f.s.Queries().Book(f.ctx, 1, 10)
	if len(snap.Asks) != 0 {
		t.Fatalf("cancelled order back after restart: %+v", snap)
	}
}

// TestPoolSurvivesRestart: a soft-confirmed transaction whose batch was not
// sealed is applied after a restart.
func TestPoolSurvivesRestart(t *testing.T) {
	f := newFixture(t, 3)
	f.deposit(0, 0)
	f.deposit(1, 1000)
	f.deposit(2, 1000)
	f.flush()
	h, err := f.submit(1, transfer(1, 2, 10, 0))
	if err != nil {
		t.Fatal(err)
	}
	// a deposit queued but not sealed survives too
	f.deposit(2, 5)
	f.restart()
	f.flush()
	if f.status(h) != rpc.TxIncluded {
		t.Fatalf("status %s", f.status(h))
	}
	if got := f.balance(2, 0); got != 1015 {
		t.Fatalf("balance %d, want 1015", got)
	}
}

// TestFamilyDisabled: a transaction or order of a family the rollup cannot
// prove is refused up front (it would wedge the pipeline otherwise).
func TestFamilyDisabled(t *testing.T) {
	f := newFixture(t, 2)
	f.fams = map[types.Family]bool{types.FamilyPriority: true, types.FamilyTransfer: true}
	f.restart()
	f.deposit(0, 0)
	f.deposit(1, 1000)
	f.flush()
	cm := &types.CreateModel{Account: 1, Model: 1, Supply: 10, MaxSupply: 10}
	_, err := f.submit(1, cm)
	wantErr(t, err, rpc.ErrFamilyDisabled)
	_, err = f.s.Place(f.ctx, f.order(1, 1, types.Sell, 1, 10, 5))
	wantErr(t, err, rpc.ErrFamilyDisabled)
	if _, err := f.submit(1, transfer(1, 0, 10, 0)); err != nil {
		t.Fatalf("an enabled family: %v", err)
	}
}

// TestBusyMarketDoesNotStarveTransfers: orders that keep a Trade batch open
// (each full batch is followed by the next trade's) must not keep a waiting
// transfer out: after one BatchTimeout the transfer gets a batch.
func TestBusyMarketDoesNotStarveTransfers(t *testing.T) {
	f := newFixture(t, 3)
	f.wait = 100 * time.Millisecond
	f.restart()
	f.deposit(0, 0)
	f.deposit(1, 10_000_000)
	f.deposit(2, 10_000_000)
	f.flush()
	f.createModel(1, 1, 100_000, 0)
	if _, err := f.s.Place(f.ctx, f.order(1, 1, types.Sell, 1, 100_000, 5)); err != nil {
		t.Fatal(err)
	}
	h, err := f.submit(2, transfer(2, 1, 7, 0))
	if err != nil {
		t.Fatal(err)
	}
	// account 2 buys one share at a time, as fast as it can, for 1.5 s
	deadline := time.Now().Add(1500 * time.Millisecond)
	id := uint32(1)
	for time.Now().Before(deadline) {
		if _, err := f.s.Place(f.ctx, f.order(2, 1, types.Buy, id, 1, 5)); err != nil {
			t.Fatal(err)
		}
		id++
	}
	if id < 50 {
		t.Fatalf("only %d orders placed", id)
	}
	if st := f.status(h); st != rpc.TxIncluded {
		t.Fatalf("transfer still %s after %d trades", st, id-1)
	}
}

// TestAccountByAddressSoft: an account is found by its L1 address as soon
// as its deposit is included (applied to the open batch, not yet sealed),
// from the same soft state account_info answers from: the wallet's next
// command after "deposit applied" must not wait for a seal.
func TestAccountByAddressSoft(t *testing.T) {
	f := newFixture(t, 2)
	f.deposit(0, 0)
	f.deposit(1, 1000)
	byAddr := func(i int) []uint32 {
		t.Helper()
		ids, err := f.s.Queries().AccountByAddress(f.ctx, workload.Addr(i))
		if err != nil {
			t.Fatal(err)
		}
		return ids
	}
	pi, err := f.s.Queries().Priority(f.ctx, 1)
	if err != nil || pi.Status != rpc.TxIncluded || f.s.Sealed() != 0 {
		t.Fatalf("deposit %+v %v, sealed %d: want included in the open batch", pi, err, f.s.Sealed())
	}
	if got := byAddr(1); !slices.Equal(got, []uint32{1}) {
		t.Fatalf("open batch: accounts of user 1 %v, want [1]", got)
	}
	if _, err := f.s.Queries().Account(f.ctx, 1); err != nil {
		t.Fatalf("account_info of the same account: %v", err)
	}
	// a second deposit to the account lists it once
	f.deposit(1, 5)
	if got := byAddr(1); !slices.Equal(got, []uint32{1}) {
		t.Fatalf("two deposits: %v, want [1]", got)
	}
	if got := byAddr(5); len(got) != 0 {
		t.Fatalf("an address without deposits: %v", got)
	}
	// sealed (journal), then after a restart: the same answer
	f.flush()
	if got := byAddr(1); !slices.Equal(got, []uint32{1}) {
		t.Fatalf("sealed: %v, want [1]", got)
	}
	f.restart()
	if got := byAddr(0); !slices.Equal(got, []uint32{0}) {
		t.Fatalf("after a restart: %v, want [0]", got)
	}
}

// TestOrderAboveMaxSupplyRefused: an order for more shares than its model
// can ever have could never fill; it is refused with its own error and
// nothing rests. Up to the maximum supply (the DAO may mint up to it) an
// order is taken.
func TestOrderAboveMaxSupplyRefused(t *testing.T) {
	f := newFixture(t, 3)
	f.deposit(0, 0)
	f.deposit(1, 1_000_000)
	f.deposit(2, 1_000_000)
	f.flush()
	cm := &types.CreateModel{Account: 1, Model: 1, Supply: 100, MaxSupply: 1000, HolderBps: 5000}
	cm.CreditPrice.SetUint64(10)
	cm.Weights.SetUint64(1)
	if _, err := f.submit(1, cm); err != nil {
		t.Fatal(err)
	}
	f.flush()
	for _, side := range []types.Side{types.Buy, types.Sell} {
		_, err := f.s.Place(f.ctx, f.order(2, 1, side, 1, 1001, 5))
		wantErr(t, err, ErrOrderAboveSupply)
		if info := rpc.Info(err); info.Code != 4018 || info.Reason != "order_above_supply" {
			t.Fatalf("API error %+v, want 4018 order_above_supply", info)
		}
	}
	snap, err := f.s.Queries().Book(f.ctx, 1, 10)
	if err != nil || len(snap.Bids) != 0 || len(snap.Asks) != 0 {
		t.Fatalf("book after refusals: %+v %v", snap, err)
	}
	// the maximum supply itself, above today's supply: taken, it rests
	res, err := f.s.Place(f.ctx, f.order(2, 1, types.Buy, 1, 1000, 5))
	if err != nil || res.Rested != 1000 {
		t.Fatalf("buy of the maximum supply: %+v %v", res, err)
	}
}

// TestClockNeverBehindLastBatch: the sequencer's clock (Now) is its
// Config.Clock, never behind the last sealed batch's timestamp: orders are
// checked against the earliest time their trades' batch can carry, so the
// book does not take an order that the batch would find expired.
func TestClockNeverBehindLastBatch(t *testing.T) {
	f := newFixture(t, 3)
	f.deposit(0, 0)
	f.deposit(1, 1_000_000)
	f.deposit(2, 1_000_000)
	f.flush()
	f.createModel(1, 1, 1000, 0)
	sealedAt := f.now
	// the clock steps back (a restart against an L1 whose head is behind);
	// set while no loop reads it
	if err := f.s.Stop(f.ctx); err != nil {
		t.Fatal(err)
	}
	f.now -= 100
	f.open()
	if got := f.s.Now(); got != sealedAt {
		t.Fatalf("Now %d, want the last batch's timestamp %d", got, sealedAt)
	}
	o := &types.Order{Account: 2, Model: 1, Side: types.Buy, OrderID: 1, Amount: 10, MaxFeeBips: 10, ValidUntil: uint32(sealedAt - 1)}
	o.Price.SetUint64(5)
	if err := types.SignOrder(f.keys[2], testDomain, o); err != nil {
		t.Fatal(err)
	}
	_, err := f.s.Place(f.ctx, o)
	wantErr(t, err, types.ErrOrderExpired)
}
