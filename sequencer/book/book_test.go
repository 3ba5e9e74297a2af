package book

import (
	"errors"
	"fmt"
	"math/rand"
	"strings"
	"testing"

	"github.com/holiman/uint256"

	"github.com/modex/modex/types"
)

const model = 7

func ord(acct, id uint32, s types.Side, amount, price uint64) types.Order {
	o := types.Order{Account: acct, Model: model, Side: s, OrderID: id, Amount: amount, MaxFeeBips: 255, ValidUntil: 1000}
	o.Price.SetUint64(price)
	return o
}

func mustPlace(t testing.TB, b *Book, o types.Order, seq uint64, now uint32) Result {
	t.Helper()
	r, err := b.Submit(o, seq, now)
	if err != nil {
		t.Fatalf("place %+v: %v", o, err)
	}
	checkStructure(t, b)
	return r
}

type fillAt struct {
	buy, sell uint32 // accounts
	fill      uint64
	price     uint64
}

func fills(ms []Match) []fillAt {
	out := make([]fillAt, len(ms))
	for i, m := range ms {
		out[i] = fillAt{m.Buy.Account, m.Sell.Account, m.Fill, m.Price.Uint64()}
	}
	return out
}

func eqFills(t *testing.T, got []Match, want ...fillAt) {
	t.Helper()
	g := fills(got)
	if fmt.Sprint(g) != fmt.Sprint(want) {
		t.Fatalf("trades %v, want %v", g, want)
	}
}

func TestPriceTimePriority(t *testing.T) {
	b := New(model, Options{})
	mustPlace(t, b, ord(1, 1, types.Sell, 1, 100), 10, 0)
	mustPlace(t, b, ord(2, 1, types.Sell, 1, 100), 20, 0)
	mustPlace(t, b, ord(3, 1, types.Sell, 1, 99), 30, 0)  // better price, later
	mustPlace(t, b, ord(4, 1, types.Sell, 1, 100), 5, 0)  // same price, earlier seq arriving late
	mustPlace(t, b, ord(5, 1, types.Sell, 1, 100), 20, 0) // seq tie with account 2: after it
	r := mustPlace(t, b, ord(9, 1, types.Buy, 5, 100), 40, 0)
	eqFills(t, r.Trades, fillAt{9, 3, 1, 99}, fillAt{9, 4, 1, 100}, fillAt{9, 1, 1, 100}, fillAt{9, 2, 1, 100}, fillAt{9, 5, 1, 100})
	for _, m := range r.Trades {
		if m.Maker != types.Sell {
			t.Fatal("maker side")
		}
	}
	if b.Len() != 0 || r.Rested != 0 {
		t.Fatal("book not empty")
	}
	// bids: better (higher) first
	mustPlace(t, b, ord(1, 2, types.Buy, 1, 100), 50, 0)
	mustPlace(t, b, ord(2, 2, types.Buy, 1, 101), 51, 0)
	r = mustPlace(t, b, ord(3, 2, types.Sell, 2, 90), 52, 0)
	eqFills(t, r.Trades, fillAt{2, 3, 1, 101}, fillAt{1, 3, 1, 100})
	if r.Trades[0].Maker != types.Buy || r.Rested != 0 {
		t.Fatal("maker side / rest")
	}
}

func TestPartialFillsAndRest(t *testing.T) {
	b := New(model, Options{})
	mustPlace(t, b, ord(1, 1, types.Sell, 10, 100), 1, 0)
	r := mustPlace(t, b, ord(2, 1, types.Buy, 4, 100), 2, 0)
	eqFills(t, r.Trades, fillAt{2, 1, 4, 100})
	if oo, _ := b.Get(1, 1); oo.Remaining != 6 {
		t.Fatalf("maker remaining %d", oo.Remaining)
	}
	r = mustPlace(t, b, ord(3, 1, types.Buy, 10, 105), 3, 0)
	eqFills(t, r.Trades, fillAt{3, 1, 6, 100})
	if r.Rested != 4 {
		t.Fatalf("rested %d", r.Rested)
	}
	oo := b.Orders(3)
	if len(oo) != 1 || oo[0].Remaining != 4 || oo[0].Order.Amount != 10 || oo[0].Order.Price.Uint64() != 105 {
		t.Fatalf("open orders %+v", oo)
	}
	s := b.Depth(10)
	if len(s.Asks) != 0 || len(s.Bids) != 1 || s.Bids[0].Total.Uint64() != 4 || s.Bids[0].Count != 1 {
		t.Fatalf("depth %+v", s)
	}
}

func TestSweepLevels(t *testing.T) {
	b := New(model, Options{})
	mustPlace(t, b, ord(1, 1, types.Sell, 5, 102), 1, 0)
	mustPlace(t, b, ord(2, 1, types.Sell, 5, 100), 2, 0)
	mustPlace(t, b, ord(3, 1, types.Sell, 5, 101), 3, 0)
	mustPlace(t, b, ord(4, 1, types.Sell, 2, 101), 4, 0)
	ts, err := b.Place(ord(9, 1, types.Buy, 14, 101), 5, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(ts) != 3 || ts[0].Fill != 5 || ts[0].Price.Uint64() != 100 || ts[1].Fill != 5 || ts[1].Price.Uint64() != 101 ||
		ts[2].Fill != 2 || ts[2].Sell.Account != 4 {
		t.Fatalf("trades %+v", ts)
	}
	s := b.Depth(0)
	if len(s.Bids) != 1 || s.Bids[0].Price.Uint64() != 101 || s.Bids[0].Total.Uint64() != 2 ||
		len(s.Asks) != 1 || s.Asks[0].Price.Uint64() != 102 {
		t.Fatalf("depth %+v", s)
	}
	bid, _ := b.Best(types.Buy)
	ask, _ := b.Best(types.Sell)
	if !bid.Lt(&ask) {
		t.Fatal("crossed")
	}
}

func TestSelfTradePrevention(t *testing.T) {
	b := New(model, Options{})
	mustPlace(t, b, ord(1, 1, types.Sell, 5, 100), 1, 0)
	mustPlace(t, b, ord(2, 1, types.Sell, 5, 101), 2, 0)
	mustPlace(t, b, ord(1, 2, types.Sell, 5, 101), 3, 0)
	r := mustPlace(t, b, ord(1, 3, types.Buy, 12, 101), 4, 0)
	eqFills(t, r.Trades, fillAt{1, 2, 5, 101})
	if len(r.Removed) != 2 || r.Removed[0].Reason != ReasonSelfTrade || r.Removed[0].Order.OrderID != 1 ||
		r.Removed[1].Order.OrderID != 2 || r.Removed[1].Remaining != 5 {
		t.Fatalf("removed %+v", r.Removed)
	}
	if r.Rested != 7 || b.Len() != 1 {
		t.Fatalf("rested %d, len %d", r.Rested, b.Len())
	}
}

func TestExpiry(t *testing.T) {
	b := New(model, Options{})
	o := ord(1, 1, types.Sell, 5, 100)
	o.ValidUntil = 100
	mustPlace(t, b, o, 1, 100) // valid at ValidUntil
	r := mustPlace(t, b, ord(2, 1, types.Buy, 1, 100), 2, 100)
	eqFills(t, r.Trades, fillAt{2, 1, 1, 100}) // maker still valid at ValidUntil
	r = mustPlace(t, b, ord(2, 2, types.Buy, 1, 100), 3, 101)
	if len(r.Trades) != 0 || len(r.Removed) != 1 || r.Removed[0].Reason != ReasonExpired || r.Removed[0].Remaining != 4 || r.Rested != 1 {
		t.Fatalf("result %+v", r)
	}
	// Expire: at ValidUntil kept, one second later removed
	o = ord(3, 1, types.Sell, 5, 200)
	o.ValidUntil = 150
	mustPlace(t, b, o, 4, 0)
	o.OrderID, o.ValidUntil = 2, 140
	mustPlace(t, b, o, 5, 0)
	if rm := b.Expire(140); len(rm) != 0 {
		t.Fatalf("expired early %+v", rm)
	}
	rm := b.Expire(151)
	if len(rm) != 2 || rm[0].Order.OrderID != 2 || rm[1].Order.OrderID != 1 || rm[0].Reason != ReasonExpired {
		t.Fatalf("expire %+v", rm)
	}
	checkStructure(t, b)
	o.ValidUntil = 10
	if _, err := b.Place(o, 6, 11); !errors.Is(err, ErrExpired) || !errors.Is(err, types.ErrOrderExpired) {
		t.Fatalf("err %v", err)
	}
	// the refusal says both times as times, not unix seconds
	o.ValidUntil = 1_800_000_000
	_, err := b.Place(o, 7, 1_800_000_003)
	if want := "valid until 2027-01-15T08:00:00Z, now 2027-01-15T08:00:03Z (3s later)"; !errors.Is(err, ErrExpired) || !strings.Contains(err.Error(), want) {
		t.Fatalf("err %v, want %q in it", err, want)
	}
}

func TestCancelRemove(t *testing.T) {
	b := New(model, Options{})
	mustPlace(t, b, ord(1, 1, types.Sell, 5, 100), 1, 0)
	mustPlace(t, b, ord(1, 2, types.Sell, 5, 100), 2, 0)
	mustPlace(t, b, ord(2, 1, types.Sell, 5, 101), 3, 0)
	if err := b.Cancel(1, 1); err != nil {
		t.Fatal(err)
	}
	if err := b.Cancel(1, 1); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second cancel: %v", err)
	}
	rm, err := b.Remove(1, 2)
	if err != nil || rm.Reason != ReasonRemoved || rm.Remaining != 5 {
		t.Fatalf("remove %+v %v", rm, err)
	}
	checkStructure(t, b)
	s := b.Depth(0)
	if len(s.Asks) != 1 || s.Asks[0].Price.Uint64() != 101 {
		t.Fatalf("depth %+v", s)
	}
	// the id is free again
	mustPlace(t, b, ord(1, 1, types.Sell, 5, 100), 4, 0)
}

func TestFees(t *testing.T) {
	b := New(model, Options{MakerFeeBips: 10, TakerFeeBips: 30})
	m := ord(1, 1, types.Sell, 5, 100)
	m.MaxFeeBips = 4
	mustPlace(t, b, m, 1, 0)
	mustPlace(t, b, ord(2, 1, types.Sell, 5, 100), 2, 0)
	tk := ord(3, 1, types.Buy, 10, 100)
	tk.MaxFeeBips = 20
	r := mustPlace(t, b, tk, 3, 0)
	if len(r.Trades) != 2 || r.Trades[0].SellFeeBips != 4 || r.Trades[0].BuyFeeBips != 20 ||
		r.Trades[1].SellFeeBips != 10 || r.Trades[1].BuyFeeBips != 20 {
		t.Fatalf("fees %+v", r.Trades)
	}
	// taker sells: buy side is the maker
	mustPlace(t, b, ord(4, 1, types.Buy, 5, 100), 4, 0)
	r = mustPlace(t, b, ord(5, 1, types.Sell, 5, 100), 5, 0)
	if r.Trades[0].BuyFeeBips != 10 || r.Trades[0].SellFeeBips != 30 || r.Trades[0].Maker != types.Buy {
		t.Fatalf("fees %+v", r.Trades[0])
	}
}

func TestRoundingToAmount38(t *testing.T) {
	b := New(model, Options{})
	mustPlace(t, b, ord(1, 1, types.Sell, 100_000_000_000, 100), 1, 0) // 10^11, packable
	const amt = 8_589_934_593                                          // 2^33+1: not packable
	r := mustPlace(t, b, ord(2, 1, types.Buy, amt, 100), 2, 0)
	eqFills(t, r.Trades, fillAt{2, 1, 8_589_934_591, 100}, fillAt{2, 1, 2, 100}) // 2^33−1 is the largest mantissa
	for _, m := range r.Trades {
		if !types.Amount38.Packable(uint256.NewInt(m.Fill)) {
			t.Fatalf("fill %d not packable", m.Fill)
		}
	}
	if oo, _ := b.Get(1, 1); oo.Remaining != 100_000_000_000-amt {
		t.Fatalf("maker remaining %d", oo.Remaining)
	}
	// a 14-digit remainder on both sides: 1234567890·10^4, then the residue
	b = New(model, Options{})
	mustPlace(t, b, ord(1, 1, types.Buy, 12_345_678_901_234, 100), 1, 0)
	r = mustPlace(t, b, ord(2, 1, types.Sell, 20_000_000_000_000, 100), 2, 0)
	eqFills(t, r.Trades, fillAt{1, 2, 12_345_678_900_000, 100}, fillAt{1, 2, 1_234, 100})
	if r.Rested != 20_000_000_000_000-12_345_678_901_234 || b.Len() != 1 {
		t.Fatalf("rested %d", r.Rested)
	}
	// roundDown38 agrees with types.Amount38.RoundDown
	rng := rand.New(rand.NewSource(1))
	vals := []uint64{0, 1, 1<<33 - 1, 1 << 33, 85899345919, 85899345925, 1<<64 - 1, 18446744073709551615 / 7}
	for i := 0; i < 3000; i++ {
		vals = append(vals, rng.Uint64()>>uint(rng.Intn(64)))
	}
	for _, v := range vals {
		want := types.Amount38.RoundDown(uint256.NewInt(v))
		if got := roundDown38(v); !want.IsUint64() || got != want.Uint64() {
			t.Fatalf("roundDown38(%d) = %d, want %s", v, got, want.Dec())
		}
	}
}

func TestValidation(t *testing.T) {
	b := New(model, Options{MaxOrders: 2})
	mustPlace(t, b, ord(1, 1, types.Sell, 5, 100), 1, 0)
	big := ord(1, 9, types.Sell, 5, 0)
	big.Price.Lsh(uint256.NewInt(1), 96)
	unp := ord(1, 9, types.Sell, 5, 1<<33+1)
	other := ord(1, 9, types.Sell, 5, 100)
	other.Model = model + 1
	side := ord(1, 9, 2, 5, 100)
	wideID := ord(1, 1<<24, types.Sell, 5, 100)
	for _, c := range []struct {
		o   types.Order
		err error
	}{
		{other, ErrWrongModel},
		{ord(1, 9, types.Sell, 0, 100), ErrZeroAmount},
		{ord(1, 9, types.Sell, 5, 0), ErrBadPrice},
		{big, ErrBadPrice},
		{unp, types.ErrNotPackable},
		{side, ErrBadSide},
		{wideID, ErrBadOrderID},
		{ord(1, 1, types.Buy, 5, 1), ErrDuplicate},
	} {
		if _, err := b.Place(c.o, 2, 0); !errors.Is(err, c.err) {
			t.Fatalf("%+v: err %v, want %v", c.o, err, c.err)
		}
	}
	mustPlace(t, b, ord(2, 1, types.Sell, 5, 101), 2, 0)
	s0 := b.Depth(0)
	if _, err := b.Place(ord(3, 1, types.Buy, 1, 100), 3, 0); !errors.Is(err, ErrBookFull) {
		t.Fatalf("full: %v", err)
	}
	if s := b.Depth(0); fmt.Sprint(s) != fmt.Sprint(s0) {
		t.Fatal("a refused order changed the book")
	}
	b.Cancel(2, 1)
	mustPlace(t, b, ord(3, 1, types.Buy, 1, 99), 3, 0)
}

func TestCheckHook(t *testing.T) {
	var refuse map[uint32]Verdict
	b := New(model, Options{Check: func(m Match) Verdict { return refuse[m.Sell.Account] }})
	mustPlace(t, b, ord(1, 1, types.Sell, 5, 100), 1, 0)
	mustPlace(t, b, ord(2, 1, types.Sell, 5, 100), 2, 0)
	mustPlace(t, b, ord(3, 1, types.Sell, 5, 101), 3, 0)
	refuse = map[uint32]Verdict{1: RejectMaker, 3: RejectTaker}
	r := mustPlace(t, b, ord(9, 1, types.Buy, 12, 101), 4, 0)
	eqFills(t, r.Trades, fillAt{9, 2, 5, 100})
	if len(r.Removed) != 2 || r.Removed[0].Order.Account != 1 || r.Removed[0].Reason != ReasonRefused ||
		r.Removed[1].Order.Account != 9 || r.Removed[1].Remaining != 7 || r.Rested != 0 {
		t.Fatalf("result %+v", r)
	}
	if b.Len() != 1 {
		t.Fatalf("len %d", b.Len())
	}
}

// checkStructure verifies the internal invariants.
func checkStructure(t testing.TB, b *Book) {
	t.Helper()
	n := 0
	for si := range b.sides {
		s := &b.sides[si]
		for i, l := range s.levels {
			if i > 0 && !s.better(&l.price, &s.levels[i-1].price) {
				t.Fatalf("side %d levels out of order", si)
			}
			var tot uint256.Int
			c := 0
			var prev *entry
			for e := l.head; e != nil; e = e.next {
				if e.prev != prev || e.lvl != l || int(e.o.Side) != si || !e.o.Price.Eq(&l.price) || e.rem == 0 || e.rem > e.o.Amount {
					t.Fatalf("bad entry %+v", e)
				}
				if prev != nil && prev.seq > e.seq {
					t.Fatal("time priority broken")
				}
				if b.orders[key{e.o.Account, e.o.OrderID}] != e || b.byAcct[e.o.Account][e.o.OrderID] != e || b.exp[e.hidx] != e {
					t.Fatal("index mismatch")
				}
				tot.AddUint64(&tot, e.rem)
				c++
				prev = e
			}
			if l.tail != prev || c == 0 || c != l.count || !tot.Eq(&l.total) {
				t.Fatalf("level %s: count %d/%d total %s/%s", l.price.Dec(), c, l.count, tot.Dec(), l.total.Dec())
			}
			n += c
		}
	}
	na := 0
	for _, m := range b.byAcct {
		na += len(m)
	}
	if n != len(b.orders) || n != na || n != len(b.exp) {
		t.Fatalf("counts %d %d %d %d", n, len(b.orders), na, len(b.exp))
	}
	for i := 1; i < len(b.exp); i++ {
		if b.exp.less(i, (i-1)/2) {
			t.Fatal("heap order")
		}
	}
	bid, okb := b.Best(types.Buy)
	ask, oka := b.Best(types.Sell)
	if okb && oka && !bid.Lt(&ask) {
		t.Fatalf("crossed book: bid %s ask %s", bid.Dec(), ask.Dec())
	}
}

// sim drives a book with random operations and checks the external
// invariants: conservation, trade limits, fills within remainings, deltas.
type sim struct {
	t       testing.TB
	b       *Book
	rng     *rand.Rand
	now     uint32
	seq     uint64
	nextID  map[uint32]uint32
	rem     map[key]uint64 // model of resting remainders
	placed  uint64
	filled  uint64
	dropped uint64 // cancelled, expired, removed, refused
	view    Snapshot
	deltas  []Delta
	trades  int
}

func newSim(t testing.TB, seed int64, opts Options) *sim {
	s := &sim{t: t, rng: rand.New(rand.NewSource(seed)), nextID: map[uint32]uint32{}, rem: map[key]uint64{}}
	opts.OnDelta = func(d Delta) { s.deltas = append(s.deltas, d) }
	s.b = New(model, opts)
	s.view = s.b.Depth(0)
	return s
}

var prices = func() []uint64 {
	var p []uint64
	for i := uint64(90); i <= 110; i++ {
		p = append(p, i*1_000_000_000)
	}
	return p
}()

func (s *sim) randAmount() uint64 {
	switch s.rng.Intn(4) {
	case 0:
		return 1 + uint64(s.rng.Intn(10))
	case 1:
		return 1 + uint64(s.rng.Int63n(1<<40)) // often unpackable, forces rounding
	default:
		return 1 + uint64(s.rng.Intn(1000))
	}
}

func (s *sim) order(acct uint32, sd types.Side, amount, price uint64, vu uint32, fee uint8) types.Order {
	id := s.nextID[acct]
	s.nextID[acct] = (id + 1) % (1 << 24)
	o := ord(acct, id, sd, amount, price)
	o.ValidUntil, o.MaxFeeBips = vu, fee
	return o
}

func (s *sim) place(o types.Order) {
	t := s.t
	s.seq++
	r, err := s.b.Submit(o, s.seq, s.now)
	if err != nil {
		t.Fatalf("place: %v", err)
	}
	s.placed += o.Amount
	taker := o.Amount
	for _, m := range r.Trades {
		s.trades++
		var mk *types.Order
		if o.Side == types.Buy {
			mk = &m.Sell
		} else {
			mk = &m.Buy
		}
		k := key{mk.Account, mk.OrderID}
		mr, ok := s.rem[k]
		switch {
		case !ok:
			t.Fatalf("maker %v not resting", k)
		case m.Fill == 0 || m.Fill > mr || m.Fill > taker:
			t.Fatalf("fill %d, maker rem %d, taker rem %d", m.Fill, mr, taker)
		case m.Sell.Price.Gt(&m.Price) || m.Price.Gt(&m.Buy.Price) || !m.Price.Eq(&mk.Price):
			t.Fatalf("price %s outside [%s, %s]", m.Price.Dec(), m.Sell.Price.Dec(), m.Buy.Price.Dec())
		case m.Buy.Account == m.Sell.Account || m.Buy.Side != types.Buy || m.Sell.Side != types.Sell:
			t.Fatal("self trade or sides")
		case m.Maker == o.Side:
			t.Fatal("maker side")
		case m.Buy.ValidUntil < s.now || m.Sell.ValidUntil < s.now:
			t.Fatal("expired order traded")
		case m.BuyFeeBips > m.Buy.MaxFeeBips || m.SellFeeBips > m.Sell.MaxFeeBips:
			t.Fatal("fee above max")
		case !types.Amount38.Packable(uint256.NewInt(m.Fill)) || !types.Amount38.Packable(&m.Price):
			t.Fatal("not packable")
		}
		taker -= m.Fill
		s.filled += m.Fill
		if mr -= m.Fill; mr == 0 {
			delete(s.rem, k)
		} else {
			s.rem[k] = mr
		}
	}
	s.drop(r.Removed)
	if r.Rested != taker-removedTaker(r, o) {
		t.Fatalf("rested %d, taker remaining %d", r.Rested, taker)
	}
	if r.Rested > 0 {
		s.rem[key{o.Account, o.OrderID}] = r.Rested
	}
}

func removedTaker(r Result, o types.Order) uint64 {
	for _, x := range r.Removed {
		if x.Order.Account == o.Account && x.Order.OrderID == o.OrderID {
			return x.Remaining
		}
	}
	return 0
}

func (s *sim) drop(rs []Removed) {
	for _, x := range rs {
		s.dropped += x.Remaining
		k := key{x.Order.Account, x.Order.OrderID}
		if mr, ok := s.rem[k]; ok {
			if mr != x.Remaining {
				s.t.Fatalf("removed %v with %d, model %d", k, x.Remaining, mr)
			}
			delete(s.rem, k)
		}
	}
}

func (s *sim) step() {
	b := s.b
	switch op := s.rng.Intn(20); {
	case op < 14:
		acct := uint32(1 + s.rng.Intn(8))
		sd := types.Side(s.rng.Intn(2))
		o := s.order(acct, sd, s.randAmount(), prices[s.rng.Intn(len(prices))], s.now+uint32(s.rng.Intn(50)), uint8(s.rng.Intn(40)))
		s.place(o)
	case op < 16: // cancel a random resting order (or a missing one)
		acct := uint32(1 + s.rng.Intn(8))
		oo := b.Orders(acct)
		if len(oo) == 0 {
			if err := b.Cancel(acct, 1<<23); !errors.Is(err, ErrNotFound) {
				s.t.Fatalf("cancel missing: %v", err)
			}
			return
		}
		x := oo[s.rng.Intn(len(oo))]
		if err := b.Cancel(acct, x.Order.OrderID); err != nil {
			s.t.Fatal(err)
		}
		s.drop([]Removed{{Order: x.Order, Remaining: x.Remaining}})
	case op < 17:
		acct := uint32(1 + s.rng.Intn(8))
		if oo := b.Orders(acct); len(oo) > 0 {
			r, err := b.Remove(acct, oo[0].Order.OrderID)
			if err != nil {
				s.t.Fatal(err)
			}
			s.drop([]Removed{r})
		}
	case op < 18:
		s.now += uint32(s.rng.Intn(5))
		rs := b.Expire(s.now)
		for _, r := range rs {
			if r.Order.ValidUntil >= s.now {
				s.t.Fatal("expired a valid order")
			}
		}
		s.drop(rs)
	case op < 19: // duplicate id must be refused without change
		for k := range s.rem {
			o := ord(k.account, k.orderID, types.Buy, 1, prices[0])
			if _, err := b.Place(o, s.seq, s.now); !errors.Is(err, ErrDuplicate) && !errors.Is(err, ErrBookFull) {
				s.t.Fatalf("duplicate: %v", err)
			}
			break
		}
	default:
		s.now++
	}
}

func (s *sim) check() {
	t := s.t
	checkStructure(t, s.b)
	var resting uint64
	for _, r := range s.rem {
		resting += r
	}
	if s.placed != 2*s.filled+resting+s.dropped {
		t.Fatalf("conservation: placed %d != 2·filled %d + resting %d + dropped %d", s.placed, s.filled, resting, s.dropped)
	}
	if len(s.rem) != s.b.Len() {
		t.Fatalf("model has %d orders, book %d", len(s.rem), s.b.Len())
	}
	for k, r := range s.rem {
		if oo, ok := s.b.Get(k.account, k.orderID); !ok || oo.Remaining != r {
			t.Fatalf("order %v: book %d model %d", k, oo.Remaining, r)
		}
	}
	for _, d := range s.deltas {
		if d.Seq != s.view.Seq+1 {
			t.Fatalf("delta seq %d after %d", d.Seq, s.view.Seq)
		}
		s.view.Apply(d)
	}
	s.deltas = s.deltas[:0]
	if got := s.b.Depth(0); fmt.Sprint(got) != fmt.Sprint(s.view) {
		t.Fatalf("deltas do not replay:\n got %v\nwant %v", s.view, got)
	}
}

func TestRandomInvariants(t *testing.T) {
	for seed := int64(1); seed <= 4; seed++ {
		opts := Options{MakerFeeBips: 5, TakerFeeBips: 20}
		if seed == 4 {
			opts.MaxOrders = 40
		}
		s := newSim(t, seed, opts)
		if seed == 3 { // the state refuses some matches
			rng := rand.New(rand.NewSource(99))
			s.b.opts.Check = func(Match) Verdict {
				switch rng.Intn(10) {
				case 0:
					return RejectMaker
				case 1:
					return RejectTaker
				}
				return Accept
			}
		}
		for i := 0; i < 5000; i++ {
			if seed == 4 && s.b.Len() >= 40 {
				s.drop(s.b.Expire(s.now))
				if s.b.Len() >= 40 {
					o := s.order(1, types.Buy, 1, prices[0], s.now+10, 0)
					if _, err := s.b.Place(o, s.seq, s.now); !errors.Is(err, ErrBookFull) {
						t.Fatalf("full: %v", err)
					}
					x := s.b.Orders(s.b.exp[0].o.Account)[0]
					s.b.Cancel(x.Order.Account, x.Order.OrderID)
					s.drop([]Removed{{Order: x.Order, Remaining: x.Remaining}})
				}
			}
			s.step()
			s.check()
		}
		if s.trades < 1000 {
			t.Fatalf("seed %d: only %d trades", seed, s.trades)
		}
	}
}

func TestDeterminism(t *testing.T) {
	run := func() string {
		s := newSim(t, 42, Options{MakerFeeBips: 1, TakerFeeBips: 2})
		var log []any
		s.b.opts.OnDelta = func(d Delta) { log = append(log, d); s.deltas = append(s.deltas, d) }
		for i := 0; i < 2000; i++ {
			s.step()
		}
		log = append(log, s.b.Depth(0))
		return fmt.Sprint(log...)
	}
	if run() != run() {
		t.Fatal("not deterministic")
	}
}

func FuzzBook(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15})
	f.Add([]byte("buy sell buy sell cancel expire \x00\xff\x10\x80"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s := newSim(t, 0, Options{MakerFeeBips: 3, TakerFeeBips: 7, MaxOrders: 16})
		for len(data) >= 4 {
			op, a, p, v := data[0], data[1], data[2], data[3]
			data = data[4:]
			acct := uint32(1 + a%4)
			switch op % 8 {
			case 6:
				if oo := s.b.Orders(acct); len(oo) > 0 {
					s.b.Cancel(acct, oo[0].Order.OrderID)
					s.drop([]Removed{{Order: oo[0].Order, Remaining: oo[0].Remaining}})
				}
			case 7:
				s.now += uint32(v % 4)
				s.drop(s.b.Expire(s.now))
			default:
				if s.b.Len() >= 16 {
					continue
				}
				amount := uint64(v) + 1
				if a&0x80 != 0 {
					amount = amount<<33 | uint64(p) // unpackable
				}
				o := s.order(acct, types.Side(op&1), amount, prices[int(p)%len(prices)], s.now+uint32(a%8), v)
				s.place(o)
			}
			s.check()
		}
	})
}

func BenchmarkPlace(b *testing.B) {
	bk := New(model, Options{MakerFeeBips: 5, TakerFeeBips: 20})
	rng := rand.New(rand.NewSource(1))
	const n = 1 << 16
	orders := make([]types.Order, n)
	for i := range orders {
		sd := types.Side(rng.Intn(2))
		p := uint64(1000 + rng.Intn(41) - 20)
		if sd == types.Buy {
			p -= 3 // a slight spread: about half the orders cross
		}
		orders[i] = ord(uint32(rng.Intn(1000)), 0, sd, 1+uint64(rng.Intn(100)), p)
	}
	trades := 0
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		o := orders[i%n]
		o.OrderID = uint32(i) % (1 << 24)
		o.Account += uint32(i/(1<<24)) * 1000
		o.ValidUntil = uint32(i/1000 + 20) // orders live ~20k placements
		if i%1000 == 0 {
			bk.Expire(uint32(i / 1000))
		}
		ts, err := bk.Place(o, uint64(i), uint32(i/1000))
		if err != nil {
			b.Fatal(err)
		}
		trades += len(ts)
	}
	b.ReportMetric(float64(trades)/float64(b.N), "trades/op")
	b.ReportMetric(float64(bk.Len()), "resting")
}

// TestSubmitRemaining: a partly filled order rests and matches only its
// remaining shares; a remaining outside (0, amount] is refused.
func TestSubmitRemaining(t *testing.T) {
	b := New(1, Options{})
	sell := types.Order{Account: 1, Model: 1, Side: types.Sell, OrderID: 1, Amount: 100, ValidUntil: 1000}
	sell.Price.SetUint64(10)
	if _, err := b.SubmitRemaining(sell, 0, 1, 0); !errors.Is(err, ErrRemaining) {
		t.Fatalf("remaining 0: %v", err)
	}
	if _, err := b.SubmitRemaining(sell, 101, 1, 0); !errors.Is(err, ErrRemaining) {
		t.Fatalf("remaining 101: %v", err)
	}
	if r, err := b.SubmitRemaining(sell, 40, 1, 0); err != nil || r.Rested != 40 {
		t.Fatalf("rest 40: %+v %v", r, err)
	}
	buy := types.Order{Account: 2, Model: 1, Side: types.Buy, OrderID: 1, Amount: 100, ValidUntil: 1000}
	buy.Price.SetUint64(10)
	r, err := b.Submit(buy, 2, 0)
	if err != nil || len(r.Trades) != 1 || r.Trades[0].Fill != 40 || r.Rested != 60 {
		t.Fatalf("match: %+v %v", r, err)
	}
}
