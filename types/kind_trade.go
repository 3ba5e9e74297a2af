package types

import (
	"math"
	"strconv"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/holiman/uint256"
)

// Order is a signed limit order on a model's market (docs/protocol.md §5.8):
// buy or sell Amount shares at Price quote units per share or better.
type Order struct {
	Account    uint32
	Model      uint16
	Side       Side
	OrderID    uint32 // 24 bits; slot = OrderID mod 2^OrderDepth
	Amount     uint64
	Price      uint256.Int // Amount38-packable
	MaxFeeBips uint8
	ValidUntil uint32 // unix seconds; valid while batch timestamp <= ValidUntil
	Signature  Signature
}

// FormatTime writes a protocol time (unix seconds: an order's ValidUntil, a
// batch timestamp) for people and for error messages: RFC 3339, UTC.
func FormatTime(unix uint64) string {
	if unix > math.MaxInt64 {
		return strconv.FormatUint(unix, 10) + " (unix seconds)"
	}
	return time.Unix(int64(unix), 0).UTC().Format(time.RFC3339)
}

// CheckWidths checks every signed field against its message width: a price
// P + r (r the field modulus) would otherwise sign like P.
func (o *Order) CheckWidths() error {
	return firstErr(
		checkBits(uint64(o.Account), AccountBits, ErrAccountRange, "order account"),
		checkBits(uint64(o.Side), 1, ErrOrderSide, "side"),
		checkBits(uint64(o.OrderID), OrderIDBits, ErrAmountTooLarge, "order id"),
		checkAmountBits(&o.Price, AmountBits, "order price"))
}

// Message is the element an order's owner signs.
func (o *Order) Message(d Domain) (fr.Element, error) {
	if err := o.CheckWidths(); err != nil {
		return fr.Element{}, err
	}
	p := new(Packer).AddU64(tagOrder, 8).AddU64(uint64(o.Account), AccountBits).AddU64(uint64(o.Model), ModelBits).
		AddU64(uint64(o.Side), 1).AddU64(uint64(o.OrderID), OrderIDBits).AddU64(uint64(o.MaxFeeBips), FeeBipsBits).
		AddU64(uint64(o.ValidUntil), TimeBits).AddU64(o.Amount, ShareBits).Add(&o.Price, AmountBits)
	return MessageHash(d, p)
}

func orderWire(c fieldCodec, o *Order) {
	c.U32(&o.Account, AccountBits)
	c.U16(&o.Model, ModelBits)
	side := uint8(o.Side)
	c.U8(&side, 8)
	o.Side = Side(side)
	c.U32(&o.OrderID, OrderIDBits)
	c.U64(&o.Amount, ShareBits)
	c.U256(&o.Price, AmountBits)
	c.U8(&o.MaxFeeBips, FeeBipsBits)
	c.U32(&o.ValidUntil, TimeBits)
	c.Sig(&o.Signature)
}

// Trade settles two matched orders (§5.9): Fill shares at Price (within both
// limits).
type Trade struct {
	Buy, Sell   Order
	Fill        uint64      // Amount38-packable
	Price       uint256.Int // Amount38-packable
	BuyFeeBips  uint8
	SellFeeBips uint8
}

func (*Trade) Kind() Kind     { return KindTrade }
func (*Trade) family() Family { return FamilyTrade }

// CheckWidths checks both orders and the execution price.
func (t *Trade) CheckWidths() error {
	return firstErr(t.Buy.CheckWidths(), t.Sell.CheckWidths(), checkAmountBits(&t.Price, AmountBits, "price"))
}

func (t *Trade) wire(c fieldCodec) {
	orderWire(c, &t.Buy)
	orderWire(c, &t.Sell)
	c.U64(&t.Fill, ShareBits)
	c.U256(&t.Price, AmountBits)
	c.U8(&t.BuyFeeBips, FeeBipsBits)
	c.U8(&t.SellFeeBips, FeeBipsBits)
}

func (t *Trade) pubdata(c fieldCodec) {
	c.U16(&t.Buy.Model, ModelBits)
	t.Sell.Model = t.Buy.Model
	c.U32(&t.Buy.Account, AccountBits)
	c.U32(&t.Sell.Account, AccountBits)
	c.U32(&t.Buy.OrderID, OrderIDBits)
	c.U32(&t.Sell.OrderID, OrderIDBits)
	floatU64(c, &t.Fill, Amount38)
	c.Float(&t.Price, Amount38)
	c.U8(&t.BuyFeeBips, FeeBipsBits)
	c.U8(&t.SellFeeBips, FeeBipsBits)
	t.Buy.Side, t.Sell.Side = Buy, Sell
}
