package circuits

import (
	"errors"
	"math/big"
	"strings"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/twistededwards"
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/frontend/cs/r1cs"
	"github.com/holiman/uint256"

	"github.com/modex/modex/bench/workload"
	"github.com/modex/modex/state"
	"github.com/modex/modex/state/smt"
	"github.com/modex/modex/types"
)

type tradeHarness = harness[Trade, *Trade]

// trPubdataBits is tx's native pubdata as bits, most significant first.
func trPubdataBits(t *testing.T, tx types.Tx) []frontend.Variable {
	t.Helper()
	pd, err := types.Pubdata(tx)
	if err != nil {
		t.Fatal(err)
	}
	bits := make([]frontend.Variable, 0, len(pd)*8)
	for _, b := range pd {
		for i := 7; i >= 0; i-- {
			bits = append(bits, (b>>uint(i))&1)
		}
	}
	return bits
}

// trOrder signs an order of user in b's world.
func trOrder(t *testing.T, b *workload.Bench, user int, side types.Side, id uint32, amount, price uint64) types.Order {
	t.Helper()
	o, err := b.Order(user, 1, side, id, amount, price, 50)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// trResign signs o again (after a change) with user's key.
func trResign(t *testing.T, b *workload.Bench, user int, o *types.Order) {
	t.Helper()
	if err := types.SignOrder(b.Keys[user], b.D, o); err != nil {
		t.Fatal(err)
	}
}

// trApplyTrade applies a trade natively and proves it through the harness.
func trApplyTrade(t *testing.T, b *workload.Bench, tx *types.Trade) (*state.Receipt, Trade) {
	t.Helper()
	r, err := b.Add(tx)
	if err != nil {
		t.Fatalf("native trade: %v", err)
	}
	g, err := AssignTrade(tx, r.Witness)
	if err != nil {
		t.Fatal(err)
	}
	shape, full := newHarness[Trade](b.P, b.D, b.TS, NewTrade(b.P), g, r)
	if err := solved(t, shape, full); err != nil {
		t.Fatalf("native trade refused: %v", err)
	}
	return r, g
}

func trCloneTrade(g Trade) Trade {
	c := g
	c.Model.Siblings = append([]frontend.Variable(nil), g.Model.Siblings...)
	c.Buyer, c.Seller = cloneAccount(g.Buyer), cloneAccount(g.Seller)
	return c
}

// trSlot returns the native slot of user's order id.
func trSlot(t *testing.T, b *workload.Bench, user int, id uint32) state.OrderSlot {
	t.Helper()
	s, err := b.State().Slot(b.Acct[user], 1, uint64(id)%(1<<b.P.OrderDepth))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// trTamper is one tampered trade: tx, when set, replaces the native trade
// (re-signed orders), so the assignment's orders and the expected pubdata
// follow it while the witness stays the native one; then tamper edits the
// assignment. want, when set, is a substring the refusal must contain (for a
// tamper that no consistent witness can carry, it names the failing check).
type trTamper struct {
	name    string
	noRoots bool
	tx      func(tx *types.Trade)
	tamper  func(h *tradeHarness)
	want    string
	accept  bool // a control at the rule's boundary: must be proven
}

func trRunTampers(t *testing.T, b *workload.Bench, native *types.Trade, r *state.Receipt, g Trade, cases []trTamper) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			shape, bad := newHarness[Trade](b.P, b.D, b.TS, NewTrade(b.P), trCloneTrade(g), r)
			if c.tx != nil {
				tx := *native
				c.tx(&tx)
				tg, err := AssignTrade(&tx, r.Witness)
				if err != nil {
					t.Fatal(err)
				}
				bad.G.Buy, bad.G.Sell, bad.G.FillRaw, bad.G.PriceRaw = tg.Buy, tg.Sell, tg.FillRaw, tg.PriceRaw
				bad.G.BuyFeeBips, bad.G.SellFeeBips = tg.BuyFeeBips, tg.SellFeeBips
				bad.Pubdata = trPubdataBits(t, &tx)
			}
			bad.noRoots, shape.noRoots = c.noRoots, c.noRoots
			if c.tx == nil {
				if err := solved(t, shape, bad); err != nil {
					t.Fatalf("untampered witness refused: %v", err)
				}
			}
			if c.tamper != nil {
				c.tamper(bad)
			}
			err := solved(t, shape, bad)
			if c.accept {
				if err != nil {
					t.Fatalf("boundary case refused: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("tampered witness accepted")
			}
			if testing.Verbose() {
				t.Logf("refused: %.400s", err)
			}
			if c.want != "" {
				if !strings.Contains(err.Error(), c.want) {
					t.Fatalf("refused, but not by the rule under test (want %q): %v", c.want, err)
				}
			}
		})
	}
}

// TestTrade: native trades (a partial fill, a second fill of the same
// orders, a newer order id restarting a slot) are proven by the gadget with
// the native roots, pubdata and fee; each tampered witness is refused. Order
// tampers re-sign the orders (the leaves stay native, so the roots are
// checked); tampers of the seller's leaves (the last update) run without the
// root check, so only the rule under test can refuse them.
func TestTrade(t *testing.T) {
	b := kindWorld(t)
	const buyer, seller = 3, 2
	mk := func(buyID, sellID uint32, amount, fill uint64) *types.Trade {
		return &types.Trade{Buy: trOrder(t, b, buyer, types.Buy, buyID, amount, 110), Sell: trOrder(t, b, seller, types.Sell, sellID, amount, 100),
			Fill: fill, Price: *uint256.NewInt(100), BuyFeeBips: 10, SellFeeBips: 20}
	}
	// first fill: 10 of 30; both slots empty
	t1 := mk(5, 5, 30, 10)
	r1, g1 := trApplyTrade(t, b, t1)
	// second fill of the same orders: continues from 10
	t2 := &types.Trade{Buy: t1.Buy, Sell: t1.Sell, Fill: 10, Price: t1.Price, BuyFeeBips: 10, SellFeeBips: 20}
	r2, g2 := trApplyTrade(t, b, t2)
	if s := trSlot(t, b, seller, 5); s.OrderID != 5 || s.Filled != 20 {
		t.Fatalf("seller slot after two fills: %+v", s)
	}
	// newer ids (5 + 2^OrderDepth) reuse both slots, restarting at 0
	next := 5 + uint32(1)<<b.P.OrderDepth
	t3 := mk(next, next, 30, 10)
	r3, g3 := trApplyTrade(t, b, t3)
	if s := trSlot(t, b, seller, next); s.OrderID != next || s.Filled != 10 {
		t.Fatalf("seller slot after restart: %+v", s)
	}
	// the seller cancels the order of t3; a later, newer order reuses the slot
	nonce, err := b.Nonce(seller)
	if err != nil {
		t.Fatal(err)
	}
	cancel := &types.CancelOrder{Account: b.Acct[seller], Model: 1, OrderID: next, Nonce: nonce}
	if err := types.SignTx(b.Keys[seller], b.D, cancel); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Add(cancel); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Add(&types.Trade{Buy: t3.Buy, Sell: t3.Sell, Fill: 1, Price: t1.Price}); !errors.Is(err, types.ErrOrderClosed) {
		t.Fatalf("native trade of a cancelled order: got %v", err)
	}
	newest := next + uint32(1)<<b.P.OrderDepth
	t4 := mk(newest, newest, 30, 10)
	r4, g4 := trApplyTrade(t, b, t4)

	// natively refused: the rules the tampers below hit
	for _, c := range []struct {
		tx   *types.Trade
		want error
	}{
		{&types.Trade{Buy: t4.Buy, Sell: t4.Sell, Fill: 21, Price: t1.Price}, types.ErrOrderOverfill},
		{&types.Trade{Buy: t4.Buy, Sell: t1.Sell, Fill: 1, Price: t1.Price}, types.ErrOrderSlotTaken},
	} {
		if _, err := b.Add(c.tx); !errors.Is(err, c.want) {
			t.Fatalf("native trade: got %v, want %v", err, c.want)
		}
	}

	order := twistededwards.GetEdwardsCurve().Order
	sh, shNew := g1.Seller.Positions[0].Old, g1.Seller.Positions[0].New
	if toBig(sh.LastAcc).Cmp(toBig(shNew.LastAcc)) == 0 {
		t.Fatal("the settle cases need revenue to settle")
	}

	// tampers of the first fill (the seller has revenue to settle)
	trRunTampers(t, b, t1, r1, g1, []trTamper{
		{name: "seller revenue not settled", noRoots: true, tamper: func(h *tradeHarness) {
			p := &h.G.Seller.Positions[0]
			p.New.LastAcc, p.New.Pending = p.Old.LastAcc, p.Old.Pending
		}},
		{name: "seller pending not credited", noRoots: true, tamper: func(h *tradeHarness) {
			p := &h.G.Seller.Positions[0]
			p.New.Pending = p.Old.Pending
		}},
	})

	// tampers of the second fill (slots continue from 10)
	trRunTampers(t, b, t2, r2, g2, []trTamper{
		{name: "sell order overfilled (10 filled + 10 > 19)", tx: func(tx *types.Trade) {
			tx.Sell.Amount = 19
			trResign(t, b, seller, &tx.Sell)
		}},
		{name: "buy order overfilled (10 filled + 10 > 19)", tx: func(tx *types.Trade) {
			tx.Buy.Amount = 19
			trResign(t, b, buyer, &tx.Buy)
		}},
		{name: "control: cumulative fill exactly at the amount", accept: true, tx: func(tx *types.Trade) {
			tx.Sell.Amount, tx.Buy.Amount = 20, 20
			trResign(t, b, seller, &tx.Sell)
			trResign(t, b, buyer, &tx.Buy)
		}},
		{name: "control: orders valid until the batch timestamp", accept: true, tx: func(tx *types.Trade) {
			tx.Sell.ValidUntil, tx.Buy.ValidUntil = uint32(b.TS), uint32(b.TS)
			trResign(t, b, seller, &tx.Sell)
			trResign(t, b, buyer, &tx.Buy)
		}},
		{name: "control: price at both limits, fees at both caps", accept: true, tx: func(tx *types.Trade) {
			tx.Sell.Price.SetUint64(100)
			tx.Buy.Price.SetUint64(100)
			tx.Sell.MaxFeeBips, tx.Buy.MaxFeeBips = 20, 10
			trResign(t, b, seller, &tx.Sell)
			trResign(t, b, buyer, &tx.Buy)
		}},
		{name: "sell order expired", tx: func(tx *types.Trade) {
			tx.Sell.ValidUntil = uint32(b.TS - 1)
			trResign(t, b, seller, &tx.Sell)
		}},
		{name: "buy order expired", tx: func(tx *types.Trade) {
			tx.Buy.ValidUntil = uint32(b.TS - 1)
			trResign(t, b, buyer, &tx.Buy)
		}},
		{name: "price below the sell limit", tx: func(tx *types.Trade) {
			tx.Sell.Price.SetUint64(101)
			trResign(t, b, seller, &tx.Sell)
		}},
		{name: "price above the buy limit", tx: func(tx *types.Trade) {
			tx.Buy.Price.SetUint64(99)
			trResign(t, b, buyer, &tx.Buy)
		}},
		{name: "sell fee bips above maxFeeBips", tx: func(tx *types.Trade) {
			tx.Sell.MaxFeeBips = 19
			trResign(t, b, seller, &tx.Sell)
		}},
		{name: "buy fee bips above maxFeeBips", tx: func(tx *types.Trade) {
			tx.Buy.MaxFeeBips = 9
			trResign(t, b, buyer, &tx.Buy)
		}},
		{name: "sell order signed by the buyer's key", tx: func(tx *types.Trade) { trResign(t, b, buyer, &tx.Sell) }},
		{name: "buy order signed by the seller's key", tx: func(tx *types.Trade) { trResign(t, b, seller, &tx.Buy) }},
		{name: "sell amount altered after signing", tamper: func(h *tradeHarness) { h.G.Sell.Amount = addBig(h.G.Sell.Amount, 1) }},
		{name: "buy price altered after signing", tamper: func(h *tradeHarness) { h.G.Buy.Price = addBig(h.G.Buy.Price, 1) }},
		{name: "sell expiry altered after signing", tamper: func(h *tradeHarness) { h.G.Sell.ValidUntil = addBig(h.G.Sell.ValidUntil, 1) }},
		{name: "buy max fee altered after signing", tamper: func(h *tradeHarness) { h.G.Buy.MaxFeeBips = addBig(h.G.Buy.MaxFeeBips, 1) }},
		{name: "sell S+l", tamper: func(h *tradeHarness) { h.G.Sell.Sig.S = new(big.Int).Add(toBigBytes(h.G.Sell.Sig.S), &order) }},
		{name: "buy S+l", tamper: func(h *tradeHarness) { h.G.Buy.Sig.S = new(big.Int).Add(toBigBytes(h.G.Buy.Sig.S), &order) }},
		{name: "model supply changed during the read", tamper: func(h *tradeHarness) { h.G.Model.New.Supply = addBig(h.G.Model.New.Supply, 1) }},
		{name: "model acc changed during the read", tamper: func(h *tradeHarness) { h.G.Model.New.Acc = addBig(h.G.Model.New.Acc, 1) }},
		{name: "seller slot continues from 0", noRoots: true, tamper: func(h *tradeHarness) {
			h.G.Seller.Positions[0].Slots[0].New.Filled = 10
		}},
		{name: "seller slot index is not the order id's", noRoots: true, tamper: func(h *tradeHarness) {
			s := &h.G.Seller.Positions[0].Slots[0]
			s.Slot = addBig(s.Slot, 1)
		}},
		{name: "seller credited without the fee", noRoots: true, tamper: func(h *tradeHarness) {
			h.G.Seller.Balances[0].New = addBig(h.G.Seller.Balances[0].New, 2) // quote 1000 at 20 bips
		}},
		{name: "seller nonce moved", noRoots: true, tamper: func(h *tradeHarness) { h.G.Seller.New.Nonce = addBig(h.G.Seller.New.Nonce, 1) }},
		{name: "seller key swapped", noRoots: true, tamper: func(h *tradeHarness) { h.G.Seller.New.PkX = h.G.Buyer.Old.PkX }},
		{name: "seller position of another model", noRoots: true, tamper: func(h *tradeHarness) {
			h.G.Seller.Positions[0].Model = addBig(h.G.Seller.Positions[0].Model, 1)
		}},
		{name: "fill 10 as 1·10^1 (non-canonical)", tamper: func(h *tradeHarness) {
			h.G.FillRaw = new(big.Int).Or(new(big.Int).Lsh(big.NewInt(1), 33), big.NewInt(1))
		}},
		// no consistent witness has the buyer as the seller: the seller's
		// paths are the buyer's, and the self-trade check (laid out first)
		// must be what refuses it
		{name: "buyer is the seller", tamper: func(h *tradeHarness) { h.G.Seller.ID = h.G.Buyer.ID }, want: "assertIsDifferent"},
		// no consistent witness has a seller short of shares (the old leaf is
		// in the state): with old shares fill−1 the new share field is −1, and
		// its 64-bit range check must refuse it before the path check fails
		{name: "seller shares below fill", noRoots: true, tamper: func(h *tradeHarness) {
			p := &h.G.Seller.Positions[0]
			p.Old.Shares, p.New.Shares = 9, big.NewInt(-1)
		}, want: "PositionLeaf"},
	})

	// tampers of the restart (old slots hold order 5, filled 20)
	trRunTampers(t, b, t3, r3, g3, []trTamper{
		{name: "seller slot holds a newer order id", noRoots: true, tx: func(tx *types.Trade) {
			tx.Sell.OrderID = 1 // slot 1, older than the slot's 5
			trResign(t, b, seller, &tx.Sell)
		}, tamper: func(h *tradeHarness) {
			s := &h.G.Seller.Positions[0].Slots[0]
			s.New.OrderID, s.New.Filled = 1, 10
		}},
		{name: "seller restart continues the old fill", noRoots: true, tamper: func(h *tradeHarness) {
			h.G.Seller.Positions[0].Slots[0].New.Filled = 30
		}},
	})

	// tampers of the trade after the cancel (the seller's slot held the
	// cancelled order `next`)
	if s := g4.Seller.Positions[0].Slots[0].Old; toBig(s.OrderID).Uint64() != uint64(next) || toBig(s.Filled).Uint64() != state.SlotClosed {
		t.Fatalf("seller slot before t4: %+v", s)
	}
	fillCancelled := func(filled *big.Int) func(h *tradeHarness) {
		return func(h *tradeHarness) {
			s := &h.G.Seller.Positions[0].Slots[0]
			s.New.OrderID, s.New.Filled = next, filled
		}
	}
	resignNext := func(tx *types.Trade) {
		tx.Sell.OrderID = next
		trResign(t, b, seller, &tx.Sell)
	}
	closedPlus := new(big.Int).Add(new(big.Int).SetUint64(state.SlotClosed), big.NewInt(10))
	trRunTampers(t, b, t4, r4, g4, []trTamper{
		{name: "filling a cancelled order (continued)", noRoots: true, tx: resignNext, tamper: fillCancelled(closedPlus)},
		{name: "filling a cancelled order (wrapped)", noRoots: true, tx: resignNext, tamper: fillCancelled(big.NewInt(9))},
		{name: "filling a cancelled order (restarted)", noRoots: true, tx: resignNext, tamper: fillCancelled(big.NewInt(10))},
	})
}

// TestTradeNext: the bench's trades (full fills) are proven.
func TestTradeNext(t *testing.T) {
	b := kindWorld(t)
	for i := 0; i < 2; i++ {
		st, err := b.Next(types.KindTrade, i)
		if err != nil {
			t.Fatal(err)
		}
		trApplyTrade(t, b, st.Tx.(*types.Trade))
	}
}

// TestTradeCost compiles the trade gadget at production depths and pins its
// constraint count and the breakdown's parts (R1CS, BN254, gnark v0.16.3).
// Counts are deterministic, so the pins are exact: a rise is a cost
// regression, a drop may be a lost constraint (a soundness bug); either way
// a pin changes only on purpose, with docs/benchmarks.md.
func TestTradeCost(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles a production-depth circuit")
	}
	p := types.DefaultParams()
	n := trCount(t, &harness[Trade, *Trade]{G: NewTrade(p), p: p, Pubdata: make([]frontend.Variable, 8*types.PubdataSize[types.KindTrade])})
	t.Logf("Trade at depths %d/%d/%d/%d: %d constraints", p.AccountDepth, p.BalanceDepth, p.ModelDepth, p.OrderDepth, n)
	const wantTrade = 59_308
	if n != wantTrade {
		t.Errorf("Trade: %d constraints, pinned %d", n, wantTrade)
	}
	sa, sb, so := smt.SiblingCount(24), smt.SiblingCount(16), smt.SiblingCount(6)
	parts := []struct {
		name  string
		want  int
		build func(api frontend.API, h *Hasher, in []frontend.Variable)
	}{
		{"model read (path 16 + leaf)", 2901, func(api frontend.API, h *Hasher, in []frontend.Variable) {
			f := in[1+sb:]
			api.AssertIsEqual(PathRoot(api, h, in[0], 16, in[1:1+sb], ModelLeaf(api, h, Read, ModelVars{f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7], f[8], f[9], f[10]})), f[11])
		}},
		{"per party: account update (24) + 2 account leaves", 7744, func(api frontend.API, h *Hasher, in []frontend.Variable) {
			f := in[1+sa:]
			o, nw := PathUpdate(api, h, in[0], 24, in[1:1+sa], AccountLeaf(api, h, Read, AccountVars{f[0], f[1], f[2], f[3]}, f[4], f[5]),
				AccountLeaf(api, h, Write, AccountVars{f[0], f[1], f[2], f[3]}, f[6], f[7]))
			api.AssertIsEqual(o, nw)
		}},
		{"per party: balance update (16) + 2 balance leaves", 4427, func(api frontend.API, h *Hasher, in []frontend.Variable) {
			f := in[1+sb:]
			o, nw := PathUpdate(api, h, in[0], 16, in[1:1+sb], BalanceLeaf(api, Read, f[0]), BalanceLeaf(api, Write, f[1]))
			api.AssertIsEqual(o, nw)
		}},
		{"per party: position update (16) + 2 position leaves", 5504, func(api frontend.API, h *Hasher, in []frontend.Variable) {
			f := in[1+sb:]
			o, nw := PathUpdate(api, h, in[0], 16, in[1:1+sb], PositionLeaf(api, h, Read, PositionVars{f[0], f[1], f[2], f[3]}, f[4]),
				PositionLeaf(api, h, Write, PositionVars{f[5], f[6], f[7], f[8]}, f[9]))
			api.AssertIsEqual(o, nw)
		}},
		{"per party: slot update (6) + 2 slot leaves", 1805, func(api frontend.API, h *Hasher, in []frontend.Variable) {
			f := in[1+so:]
			o, nw := PathUpdate(api, h, in[0], 6, in[1:1+so], SlotLeaf(api, SlotVars{f[0], f[1]}), SlotLeaf(api, SlotVars{f[2], f[3]}))
			api.AssertIsEqual(o, nw)
		}},
		{"per party: order signature + message", 7611, func(api frontend.API, h *Hasher, in []frontend.Variable) {
			w1 := trPackChecked(api, Field{0x40, 8}, Field{in[0], 24}, Field{in[1], 16}, Field{0, 1}, Field{in[2], 24},
				Field{in[3], 8}, Field{in[4], 32}, Field{in[5], 64})
			if err := VerifySignature(api, PubKeyVars{in[7], in[8]}, SigVars{in[9], in[10], in[11]}, MessageHash(h, in[12], []frontend.Variable{w1, in[6]})); err != nil {
				panic(err)
			}
		}},
	}
	sum := 0
	for i, c := range parts {
		k := trCount(t, &gadgetCircuit{build: c.build})
		mult := 1
		if i > 0 {
			mult = 2
		}
		sum += mult * k
		t.Logf("  %-55s %6d  (x%d)", c.name, k, mult)
		if k != c.want {
			t.Errorf("%s: %d constraints, pinned %d", c.name, k, c.want)
		}
	}
	t.Logf("  %-55s %6d", "rest: rules, ranges, arithmetic, pubdata bits", n-sum)
}

func trCount(t *testing.T, c frontend.Circuit) int {
	t.Helper()
	cs, err := frontend.Compile(field, r1cs.NewBuilder, c)
	if err != nil {
		t.Fatal(err)
	}
	return cs.GetNbConstraints()
}
