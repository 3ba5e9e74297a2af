// Package book is the sequencer's matching engine: one limit order book per
// market (a model's shares against its quote token), matched by price-time
// priority, turning matches into types.Trade transactions.
//
// The book is pure and deterministic: the same sequence of calls with the same
// arguments produces the same trades, removals, deltas and snapshots. It does
// not check signatures, balances, positions or order slots; that is the state's
// job (docs/protocol.md §5.9). The sequencer can consult the state while the
// book matches through Options.Check, or drop an order later with Remove.
//
// Rules (see Submit for the details):
//   - price-time priority: best price first, then the smallest arrival
//     sequence (ties: the order placed first);
//   - the trade price is the resting (maker) order's price;
//   - every fill is Amount38-exact: fill = Amount38.RoundDown(min(taker
//     remaining, maker remaining)). Every integer in [1, 2^33−1] is packable,
//     so the rounded fill of a positive amount is never 0; rounding only means
//     that two orders may meet in several trades (the rounded-off residue is
//     filled by the next, smaller, trade). Should a fill ever round to 0 the
//     book stops matching and leaves both orders resting (defensive; not
//     reachable with Amount38);
//   - self-trade prevention is cancel-resting: if the best resting order
//     belongs to the taker's account it is removed (ReasonSelfTrade) and
//     matching continues, so the state never sees ErrSelfTrade;
//   - expired resting orders met while matching are removed (ReasonExpired);
//   - the unfilled rest of the taker rests in the book (limit order).
package book

import (
	"fmt"
	"sort"

	"github.com/holiman/uint256"

	"github.com/modex/modex/types"
	"github.com/modex/modex/types/seqerr"
)

// Errors. Place and Submit fail atomically: on error nothing changed. The
// sentinels are types/seqerr's (so the API maps them without importing this
// package); these are their names here.
var (
	ErrWrongModel = seqerr.ErrBookWrongModel
	ErrBadSide    = seqerr.ErrBookBadSide
	ErrBadOrderID = seqerr.ErrBookBadOrderID
	ErrZeroAmount = seqerr.ErrBookZeroAmount
	ErrBadPrice   = seqerr.ErrBookBadPrice
	// ErrNotPackable also matches types.ErrNotPackable.
	ErrNotPackable = seqerr.ErrBookNotPackable
	// ErrExpired also matches types.ErrOrderExpired.
	ErrExpired   = seqerr.ErrBookExpired
	ErrDuplicate = seqerr.ErrBookDuplicate
	ErrBookFull  = seqerr.ErrBookFull
	ErrNotFound  = seqerr.ErrBookNotFound
	// ErrRemaining: SubmitRemaining with 0 or more than the order's amount.
	ErrRemaining = seqerr.ErrBookRemaining
)

// Reason says why an order left the book without being filled.
type Reason uint8

const (
	ReasonCancelled Reason = iota // Cancel
	ReasonExpired                 // Expire, or met expired while matching
	ReasonSelfTrade               // resting order hit by a taker of the same account
	ReasonRemoved                 // Remove (the state refused the order)
	ReasonRefused                 // Options.Check refused a match (maker dropped, or taker remainder dropped)
)

var reasonNames = [...]string{"cancelled", "expired", "self-trade", "removed", "refused"}

func (r Reason) String() string {
	if int(r) < len(reasonNames) {
		return reasonNames[r]
	}
	return "unknown"
}

// Removed reports an order that left the book unfilled (or partly filled).
type Removed struct {
	Order     types.Order
	Remaining uint64 // shares not filled
	Seq       uint64 // the order's arrival sequence
	Reason    Reason
}

// Match is a trade with its maker side: Maker is the side of the resting
// order (the taker is the other side).
type Match struct {
	types.Trade
	Maker types.Side
}

// Verdict is Options.Check's answer on a proposed match.
type Verdict uint8

const (
	Accept      Verdict = iota // execute the trade
	RejectMaker                // drop the maker (ReasonRefused) and rematch the taker
	RejectTaker                // stop: the taker's remainder is dropped (ReasonRefused), not rested
)

// Delta is one change of one price level. Total and Count are the level's new
// values; Count 0 means the level is gone. Seq increases by one per delta and
// is the book version after it: a Snapshot with Seq s plus the deltas with
// Seq > s, in order, give the later snapshot.
type Delta struct {
	Seq   uint64
	Side  types.Side
	Price uint256.Int
	Total uint256.Int // remaining shares at this price
	Count int         // resting orders at this price
}

// Options configure a book.
type Options struct {
	MakerFeeBips uint8 // policy fee of the resting side
	TakerFeeBips uint8 // policy fee of the incoming side
	MaxOrders    int   // resting orders at most; 0: unbounded
	// OnDelta, if set, receives every level change, synchronously, in order.
	OnDelta func(Delta)
	// Check, if set, is asked about each match before the book commits it, in
	// execution order, so the sequencer can apply the trade to its batch and
	// refuse it when the state does (funds, order slot). It must not call the
	// book.
	Check func(Match) Verdict
}

// Level is an aggregated price level.
type Level struct {
	Price uint256.Int
	Total uint256.Int // remaining shares
	Count int         // orders
}

// Snapshot is the top of the book at version Seq. Bids are best (highest)
// first, asks best (lowest) first.
type Snapshot struct {
	Seq  uint64
	Bids []Level
	Asks []Level
}

// OpenOrder is a resting order.
type OpenOrder struct {
	Order     types.Order
	Remaining uint64
	Seq       uint64
}

// Result is what Submit did.
type Result struct {
	Trades  []Match   // in execution order
	Removed []Removed // orders removed while matching, in order (self-trade, expired, refused)
	Rested  uint64    // shares of the taker left resting (0: none)
}

type key struct {
	account uint32
	orderID uint32
}

type entry struct {
	o          types.Order
	rem        uint64
	seq        uint64
	lvl        *level
	prev, next *entry
	hidx       int // index in the expiry heap
}

type level struct {
	price      uint256.Int
	total      uint256.Int
	count      int
	head, tail *entry
}

// side keeps its levels sorted worst first, so the best level is the last one
// and consuming it is O(1).
type side struct {
	buy    bool
	levels []*level
}

// better reports whether price a is better than b for this side.
func (s *side) better(a, b *uint256.Int) bool {
	if s.buy {
		return a.Gt(b)
	}
	return a.Lt(b)
}

func (s *side) best() *level {
	if len(s.levels) == 0 {
		return nil
	}
	return s.levels[len(s.levels)-1]
}

// find returns the index where price is or would be inserted.
func (s *side) find(p *uint256.Int) (int, bool) {
	// worst first: the first level p is not better than is p or better
	i := sort.Search(len(s.levels), func(i int) bool { return !s.better(p, &s.levels[i].price) })
	return i, i < len(s.levels) && s.levels[i].price.Eq(p)
}

// Book is the order book of one market. It is not safe for concurrent use.
type Book struct {
	model  uint16
	opts   Options
	seq    uint64
	sides  [2]side
	orders map[key]*entry
	byAcct map[uint32]map[uint32]*entry
	exp    expiryHeap
}

// New returns an empty book for a model's market.
func New(model uint16, opts Options) *Book {
	b := &Book{
		model:  model,
		opts:   opts,
		orders: make(map[key]*entry),
		byAcct: make(map[uint32]map[uint32]*entry),
	}
	b.sides[types.Buy].buy = true
	return b
}

// Model is the book's model id.
func (b *Book) Model() uint16 { return b.model }

// Seq is the book version: the Seq of the last delta.
func (b *Book) Seq() uint64 { return b.seq }

// Len is the number of resting orders.
func (b *Book) Len() int { return len(b.orders) }

var max96 = new(uint256.Int).Sub(new(uint256.Int).Lsh(uint256.NewInt(1), 96), uint256.NewInt(1))

func (b *Book) validate(o *types.Order, now uint32) error {
	switch {
	case o.Model != b.model:
		return fmt.Errorf("%w: %d, book %d", ErrWrongModel, o.Model, b.model)
	case o.Side != types.Buy && o.Side != types.Sell:
		return ErrBadSide
	case o.OrderID >= 1<<24:
		return ErrBadOrderID
	case o.Amount == 0:
		return ErrZeroAmount
	case o.Price.IsZero() || o.Price.Gt(max96):
		return ErrBadPrice
	case !types.Amount38.Packable(&o.Price):
		return fmt.Errorf("%w: %s", ErrNotPackable, o.Price.Dec())
	case now > o.ValidUntil:
		return fmt.Errorf("%w: valid until %s, now %s (%ds later)", ErrExpired,
			types.FormatTime(uint64(o.ValidUntil)), types.FormatTime(uint64(now)), now-o.ValidUntil)
	}
	if _, ok := b.orders[key{o.Account, o.OrderID}]; ok {
		return fmt.Errorf("%w: account %d order %d", ErrDuplicate, o.Account, o.OrderID)
	}
	if b.opts.MaxOrders > 0 && len(b.orders) >= b.opts.MaxOrders {
		return fmt.Errorf("%w: %d orders", ErrBookFull, len(b.orders))
	}
	return nil
}

// Check runs Submit's validation of o without matching or resting it.
func (b *Book) Check(o *types.Order, now uint32) error { return b.validate(o, now) }

// Place matches o (the taker) against the book and rests its remainder; it
// returns the trades in execution order. See Submit.
func (b *Book) Place(o types.Order, seq uint64, now uint32) ([]types.Trade, error) {
	r, err := b.Submit(o, seq, now)
	if err != nil || len(r.Trades) == 0 {
		return nil, err
	}
	ts := make([]types.Trade, len(r.Trades))
	for i := range r.Trades {
		ts[i] = r.Trades[i].Trade
	}
	return ts, nil
}

// Submit is Place with the full result: trades with their maker side, the
// orders removed while matching, and the shares left resting.
//
// seq is the arrival sequence (or time) that ranks orders of the same price:
// the smaller first, ties in placement order. now is the batch timestamp:
// orders are valid while now <= ValidUntil.
//
// Validation (atomic, typed errors): model, side, 24-bit order id, amount > 0,
// 0 < price < 2^96 and Amount38-packable, not expired, (account, order id) not
// resting, and the book not full. A full book refuses every order, even a
// marketable one (call Expire first to make room); since matching only removes
// orders, an accepted order can always rest its remainder.
//
// Fees: the taker's bips are min(TakerFeeBips, its MaxFeeBips), the maker's
// min(MakerFeeBips, its MaxFeeBips).
func (b *Book) Submit(o types.Order, seq uint64, now uint32) (Result, error) {
	return b.SubmitRemaining(o, o.Amount, seq, now)
}

// SubmitRemaining is Submit for an order of which only remaining shares (at
// most o.Amount, more than 0) are left: the rest were filled earlier (the
// order slot's filled amount, when a sequencer rebuilds its books after a
// restart).
func (b *Book) SubmitRemaining(o types.Order, remaining uint64, seq uint64, now uint32) (Result, error) {
	var res Result
	if err := b.validate(&o, now); err != nil {
		return res, err
	}
	if remaining == 0 || remaining > o.Amount {
		return res, fmt.Errorf("%w: remaining %d of %d", ErrRemaining, remaining, o.Amount)
	}
	rem := remaining
	opp := &b.sides[1-o.Side]
	makerSide := 1 - o.Side
	takerFee := min(b.opts.TakerFeeBips, o.MaxFeeBips)
	for rem > 0 {
		lvl := opp.best()
		if lvl == nil || !crosses(o.Side, &o.Price, &lvl.price) {
			break
		}
		m := lvl.head
		if now > m.o.ValidUntil {
			res.Removed = append(res.Removed, b.remove(m, ReasonExpired))
			continue
		}
		if m.o.Account == o.Account {
			res.Removed = append(res.Removed, b.remove(m, ReasonSelfTrade))
			continue
		}
		fill := roundDown38(min(rem, m.rem))
		if fill == 0 { // unreachable with Amount38 (see the package doc)
			break
		}
		mt := Match{Maker: makerSide}
		mt.Fill = fill
		mt.Price = lvl.price
		makerFee := min(b.opts.MakerFeeBips, m.o.MaxFeeBips)
		if o.Side == types.Buy {
			mt.Buy, mt.Sell = o, m.o
			mt.BuyFeeBips, mt.SellFeeBips = takerFee, makerFee
		} else {
			mt.Buy, mt.Sell = m.o, o
			mt.BuyFeeBips, mt.SellFeeBips = makerFee, takerFee
		}
		if b.opts.Check != nil {
			switch b.opts.Check(mt) {
			case RejectMaker:
				res.Removed = append(res.Removed, b.remove(m, ReasonRefused))
				continue
			case RejectTaker:
				res.Removed = append(res.Removed, Removed{Order: o, Remaining: rem, Seq: seq, Reason: ReasonRefused})
				return res, nil
			}
		}
		res.Trades = append(res.Trades, mt)
		rem -= fill
		m.rem -= fill
		lvl.total.SubUint64(&lvl.total, fill)
		if m.rem == 0 {
			b.unlink(m) // filled: one delta for the level
		} else {
			b.emit(makerSide, lvl)
		}
	}
	if rem > 0 {
		b.insert(&o, rem, seq)
		res.Rested = rem
	}
	return res, nil
}

// crosses reports whether a taker on side s at price p meets a resting price q.
func crosses(s types.Side, p, q *uint256.Int) bool {
	if s == types.Buy {
		return !q.Gt(p)
	}
	return !q.Lt(p)
}

var pow10u64 = func() [20]uint64 {
	var t [20]uint64
	t[0] = 1
	for i := 1; i < 20; i++ {
		t[i] = t[i-1] * 10
	}
	return t
}()

// roundDown38 is types.Amount38.RoundDown on uint64: the largest packable
// value <= v.
func roundDown38(v uint64) uint64 {
	const maxMant = uint64(1)<<33 - 1
	if v <= maxMant {
		return v
	}
	var best uint64
	for e := 0; e < len(pow10u64); e++ {
		q := v / pow10u64[e]
		if q > maxMant {
			q = maxMant
		}
		if x := q * pow10u64[e]; x > best { // q·10^e <= v, no overflow
			best = x
		}
		if q == 0 {
			break
		}
	}
	return best
}

// insert rests o with rem shares.
func (b *Book) insert(o *types.Order, rem, seq uint64) {
	s := &b.sides[o.Side]
	i, ok := s.find(&o.Price)
	var lvl *level
	if ok {
		lvl = s.levels[i]
	} else {
		lvl = &level{price: o.Price}
		s.levels = append(s.levels, nil)
		copy(s.levels[i+1:], s.levels[i:])
		s.levels[i] = lvl
	}
	e := &entry{o: *o, rem: rem, seq: seq, lvl: lvl}
	// time priority: after every order with seq <= this one (usually the tail)
	at := lvl.tail
	for at != nil && at.seq > seq {
		at = at.prev
	}
	if at == nil {
		e.next = lvl.head
		if lvl.head != nil {
			lvl.head.prev = e
		}
		lvl.head = e
	} else {
		e.prev, e.next = at, at.next
		if at.next != nil {
			at.next.prev = e
		}
		at.next = e
	}
	if e.next == nil {
		lvl.tail = e
	}
	lvl.count++
	lvl.total.AddUint64(&lvl.total, rem)
	k := key{o.Account, o.OrderID}
	b.orders[k] = e
	acct := b.byAcct[o.Account]
	if acct == nil {
		acct = make(map[uint32]*entry)
		b.byAcct[o.Account] = acct
	}
	acct[o.OrderID] = e
	b.exp.push(e)
	b.emit(o.Side, lvl)
}

// unlink takes e out of the book (and its level out of its side when empty).
func (b *Book) unlink(e *entry) {
	lvl := e.lvl
	if e.prev != nil {
		e.prev.next = e.next
	} else {
		lvl.head = e.next
	}
	if e.next != nil {
		e.next.prev = e.prev
	} else {
		lvl.tail = e.prev
	}
	e.prev, e.next, e.lvl = nil, nil, nil
	lvl.count--
	lvl.total.SubUint64(&lvl.total, e.rem)
	s := &b.sides[e.o.Side]
	if lvl.count == 0 {
		if i, ok := s.find(&lvl.price); ok {
			s.levels = append(s.levels[:i], s.levels[i+1:]...)
		}
	}
	k := key{e.o.Account, e.o.OrderID}
	delete(b.orders, k)
	acct := b.byAcct[e.o.Account]
	delete(acct, e.o.OrderID)
	if len(acct) == 0 {
		delete(b.byAcct, e.o.Account)
	}
	b.exp.remove(e)
	b.emit(e.o.Side, lvl)
}

func (b *Book) remove(e *entry, r Reason) Removed {
	out := Removed{Order: e.o, Remaining: e.rem, Seq: e.seq, Reason: r}
	b.unlink(e)
	return out
}

func (b *Book) emit(s types.Side, lvl *level) {
	b.seq++
	if b.opts.OnDelta != nil {
		b.opts.OnDelta(Delta{Seq: b.seq, Side: s, Price: lvl.price, Total: lvl.total, Count: lvl.count})
	}
}

// Cancel removes a resting order (the account's CancelOrder, or an API cancel).
func (b *Book) Cancel(account, orderID uint32) error {
	_, err := b.drop(account, orderID, ReasonCancelled)
	return err
}

// Remove drops a resting order (ReasonRemoved) when the state refuses it
// (slot taken by a newer order, insufficient funds). To rematch a taker after
// the state refused its maker, use Options.Check (RejectMaker), which drops
// the maker and goes on matching within the same Place; or, outside a Place,
// Remove the maker and Place the taker's remainder again.
func (b *Book) Remove(account, orderID uint32) (Removed, error) {
	return b.drop(account, orderID, ReasonRemoved)
}

func (b *Book) drop(account, orderID uint32, r Reason) (Removed, error) {
	e, ok := b.orders[key{account, orderID}]
	if !ok {
		return Removed{}, fmt.Errorf("%w: account %d order %d", ErrNotFound, account, orderID)
	}
	return b.remove(e, r), nil
}

// Expire removes every order with ValidUntil < now, in (ValidUntil, seq,
// account, order id) order.
func (b *Book) Expire(now uint32) []Removed {
	var out []Removed
	for len(b.exp) > 0 && b.exp[0].o.ValidUntil < now {
		out = append(out, b.remove(b.exp[0], ReasonExpired))
	}
	return out
}

// Get returns a resting order.
func (b *Book) Get(account, orderID uint32) (OpenOrder, bool) {
	e, ok := b.orders[key{account, orderID}]
	if !ok {
		return OpenOrder{}, false
	}
	return OpenOrder{Order: e.o, Remaining: e.rem, Seq: e.seq}, true
}

// Orders lists an account's resting orders in (seq, order id) order.
func (b *Book) Orders(account uint32) []OpenOrder {
	acct := b.byAcct[account]
	out := make([]OpenOrder, 0, len(acct))
	for _, e := range acct {
		out = append(out, OpenOrder{Order: e.o, Remaining: e.rem, Seq: e.seq})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Seq != out[j].Seq {
			return out[i].Seq < out[j].Seq
		}
		return out[i].Order.OrderID < out[j].Order.OrderID
	})
	return out
}

// Best returns the best price of a side.
func (b *Book) Best(s types.Side) (uint256.Int, bool) {
	l := b.sides[s].best()
	if l == nil {
		return uint256.Int{}, false
	}
	return l.price, true
}

// Depth returns up to levels price levels per side (levels <= 0: all).
func (b *Book) Depth(levels int) Snapshot {
	return Snapshot{Seq: b.seq, Bids: b.sides[types.Buy].top(levels), Asks: b.sides[types.Sell].top(levels)}
}

func (s *side) top(n int) []Level {
	if n <= 0 || n > len(s.levels) {
		n = len(s.levels)
	}
	out := make([]Level, n)
	for i := range out {
		l := s.levels[len(s.levels)-1-i]
		out[i] = Level{Price: l.price, Total: l.total, Count: l.count}
	}
	return out
}

// Apply applies a delta to a full snapshot (Depth(0)), for API clients and
// tests: it sets the level's total and count, inserting or deleting it.
func (s *Snapshot) Apply(d Delta) {
	lv := &s.Bids
	better := func(a, b *uint256.Int) bool { return a.Gt(b) }
	if d.Side == types.Sell {
		lv = &s.Asks
		better = func(a, b *uint256.Int) bool { return a.Lt(b) }
	}
	i := sort.Search(len(*lv), func(i int) bool { return !better(&(*lv)[i].Price, &d.Price) })
	found := i < len(*lv) && (*lv)[i].Price.Eq(&d.Price)
	switch {
	case d.Count == 0 && found:
		*lv = append((*lv)[:i], (*lv)[i+1:]...)
	case d.Count > 0 && found:
		(*lv)[i].Total, (*lv)[i].Count = d.Total, d.Count
	case d.Count > 0:
		*lv = append(*lv, Level{})
		copy((*lv)[i+1:], (*lv)[i:])
		(*lv)[i] = Level{Price: d.Price, Total: d.Total, Count: d.Count}
	}
	s.Seq = d.Seq
}

// expiryHeap is a min-heap of resting orders by (ValidUntil, seq, account, order id).
type expiryHeap []*entry

func (h expiryHeap) less(i, j int) bool {
	a, b := h[i], h[j]
	if a.o.ValidUntil != b.o.ValidUntil {
		return a.o.ValidUntil < b.o.ValidUntil
	}
	if a.seq != b.seq {
		return a.seq < b.seq
	}
	if a.o.Account != b.o.Account {
		return a.o.Account < b.o.Account
	}
	return a.o.OrderID < b.o.OrderID
}

func (h expiryHeap) swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].hidx, h[j].hidx = i, j
}

func (h *expiryHeap) push(e *entry) {
	e.hidx = len(*h)
	*h = append(*h, e)
	h.up(e.hidx)
}

func (h *expiryHeap) remove(e *entry) {
	i, n := e.hidx, len(*h)-1
	if i != n {
		h.swap(i, n)
	}
	(*h)[n] = nil
	*h = (*h)[:n]
	if i != n {
		if !h.down(i) {
			h.up(i)
		}
	}
	e.hidx = -1
}

func (h expiryHeap) up(j int) {
	for j > 0 {
		i := (j - 1) / 2
		if !h.less(j, i) {
			break
		}
		h.swap(i, j)
		j = i
	}
}

func (h expiryHeap) down(i0 int) bool {
	i, n := i0, len(h)
	for {
		l := 2*i + 1
		if l >= n {
			break
		}
		j := l
		if r := l + 1; r < n && h.less(r, l) {
			j = r
		}
		if !h.less(j, i) {
			break
		}
		h.swap(i, j)
		i = j
	}
	return i > i0
}
