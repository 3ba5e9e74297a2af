package circuits

import (
	"fmt"
	"math/big"

	"github.com/consensys/gnark/frontend"
	"github.com/holiman/uint256"

	"github.com/modex/modex/state"
	"github.com/modex/modex/types"
)

// TradeOrder is a signed limit order of a trade (docs/protocol.md §5.8). Its
// account and model are not separate variables: they are the account update's
// ID and the model read's ID, so the order is bound to the leaves it moves.
type TradeOrder struct {
	OrderID    frontend.Variable // 24 bits; its low OrderDepth bits are the slot index
	MaxFeeBips frontend.Variable // 8
	ValidUntil frontend.Variable // 32
	Amount     frontend.Variable // 64, shares
	Price      frontend.Variable // 96, quote units per share
	Sig        SigVars
}

// Trade matches a buy and a sell order (docs/protocol.md §5.9). Updates, in
// the order of state.Shape: Model (read), then Buyer and Seller, each with one
// balance (the quote token) and one position with one order slot.
type Trade struct {
	Model                   ModelUpdate
	Buyer, Seller           AccountUpdate
	Buy, Sell               TradeOrder
	FillRaw, PriceRaw       frontend.Variable // Amount38, as in pubdata
	BuyFeeBips, SellFeeBips frontend.Variable // 8 bits each
}

var trPartyShape = AccountShape{Balances: 1, Slots: []int{1}}

// NewTrade allocates the gadget's shape.
func NewTrade(p types.Params) Trade {
	return Trade{Model: NewModelUpdate(p), Buyer: NewAccountUpdate(p, trPartyShape), Seller: NewAccountUpdate(p, trPartyShape)}
}

// AssignTrade fills the gadget from a native trade and its witness.
func AssignTrade(tx *types.Trade, w *state.TxWitness) (Trade, error) {
	var g Trade
	m, accts, err := Assign(w)
	if err != nil {
		return g, err
	}
	if m == nil || len(accts) != 2 {
		return g, fmt.Errorf("circuits: trade witness with model %v and %d accounts", m != nil, len(accts))
	}
	for _, a := range accts {
		if len(a.Balances) != 1 || len(a.Positions) != 1 || len(a.Positions[0].Slots) != 1 {
			return g, fmt.Errorf("circuits: trade witness of the wrong shape")
		}
	}
	fill, err := types.Amount38.Encode(uint256.NewInt(tx.Fill))
	if err != nil {
		return g, err
	}
	price, err := types.Amount38.Encode(&tx.Price)
	if err != nil {
		return g, err
	}
	buy, err := trAssignOrder(&tx.Buy)
	if err != nil {
		return g, err
	}
	sell, err := trAssignOrder(&tx.Sell)
	if err != nil {
		return g, err
	}
	return Trade{Model: *m, Buyer: accts[0], Seller: accts[1], Buy: buy, Sell: sell, FillRaw: fill, PriceRaw: price,
		BuyFeeBips: tx.BuyFeeBips, SellFeeBips: tx.SellFeeBips}, nil
}

func trAssignOrder(o *types.Order) (TradeOrder, error) {
	sig, err := AssignSignature(o.Signature)
	if err != nil {
		return TradeOrder{}, err
	}
	return TradeOrder{OrderID: o.OrderID, MaxFeeBips: o.MaxFeeBips, ValidUntil: o.ValidUntil, Amount: o.Amount,
		Price: o.Price.ToBig(), Sig: sig}, nil
}

var (
	trSlotClosed = new(big.Int).SetUint64(state.SlotClosed) // 2^64 − 1
	trTagOrder   = 0x40
)

// Apply constrains the trade and returns the new roots.
//
// Range checks are laid out once: a value the update gadgets already
// decompose (account and model ids by their paths, leaf fields by their
// leaves) is not checked again, and the bits of the order ids, the fill, the
// price and the fee bips serve both the rules and the pubdata.
func (g *Trade) Apply(e Env, r Roots) (Roots, Out, error) {
	api := e.API
	if e.P.AccountDepth > types.AccountBits || e.P.ModelDepth > types.ModelBits || e.P.OrderDepth > types.OrderIDBits {
		return r, Out{}, fmt.Errorf("circuits: trade: tree depths %d/%d/%d exceed the id widths", e.P.AccountDepth, e.P.ModelDepth, e.P.OrderDepth)
	}
	api.AssertIsDifferent(g.Buyer.ID, g.Seller.ID) // ErrSelfTrade

	// model read: New == Old, the leaf is read from the model root
	m := trReadModel(api, e.H, &g.Model, r.Model)

	fill, fillBits := DecodeFloatBits(api, g.FillRaw, types.Amount38)
	price, priceBits := DecodeFloatBits(api, g.PriceRaw, types.Amount38)
	// fill, price < 2^137 (Amount38 decoded): no sum or product below wraps the field

	// the batch timestamp, range-checked once, against both expiries
	RangeCheck(api, e.Timestamp, 64)

	buyFeeBits := Bits(api, g.BuyFeeBips, types.FeeBipsBits)
	sellFeeBits := Bits(api, g.SellFeeBips, types.FeeBipsBits)
	buyIDBits := g.order(e, &g.Buy, &g.Buyer, types.Buy, g.BuyFeeBips, fill)
	sellIDBits := g.order(e, &g.Sell, &g.Seller, types.Sell, g.SellFeeBips, fill)

	// sell.price <= price <= buy.price (ErrOrderPrice); both limits are
	// 96-bit, so price < 2^96 follows
	AssertLessOrEqual(api, price, g.Buy.Price, types.AmountBits)
	AssertLessOrEqual(api, g.Sell.Price, price, types.AmountBits)
	// fill < 2^64 (its slot's new filled is a 64-bit leaf field), price < 2^96:
	// quote is the integer product
	quote := api.Mul(fill, price)
	RangeCheck(api, quote, types.AmountBits) // ErrAmountTooLarge
	api.AssertIsDifferent(quote, 0)          // fill > 0 and price > 0 (ErrZeroAmount)
	buyFee := BipsOf(api, quote, g.BuyFeeBips)
	sellFee := BipsOf(api, quote, g.SellFeeBips)

	// balances in the quote token; the new leaves' 96-bit range checks are
	// ErrInsufficientFunds (buyer) and ErrBalanceOverflow (seller)
	quoteToken := g.Model.Old.QuoteToken
	bb, sb := &g.Buyer.Balances[0], &g.Seller.Balances[0]
	api.AssertIsEqual(bb.Token, quoteToken)
	api.AssertIsEqual(sb.Token, quoteToken)
	api.AssertIsEqual(bb.New, api.Sub(bb.Old, quote, buyFee))
	api.AssertIsEqual(sb.New, api.Add(sb.Old, api.Sub(quote, sellFee)))

	// positions settle, then the shares move; the seller's new 64-bit share
	// field is ErrInsufficientShares
	bp, sp := &g.Buyer.Positions[0], &g.Seller.Positions[0]
	trSettleMove(api, bp, m, fill)
	trSettleMove(api, sp, m, api.Neg(fill))

	r.Account = g.Buyer.Apply(api, e.H, r.Account)
	r.Account = g.Seller.Apply(api, e.H, r.Account)

	pd := newPubdata(api, types.KindTrade)
	pd.field(g.Model.ID, types.ModelBits)
	pd.field(g.Buyer.ID, types.AccountBits)
	pd.field(g.Seller.ID, types.AccountBits)
	trAppendBits(pd, buyIDBits)
	trAppendBits(pd, sellIDBits)
	trAppendBits(pd, fillBits)
	trAppendBits(pd, priceBits)
	trAppendBits(pd, buyFeeBits)
	trAppendBits(pd, sellFeeBits)
	return r, Out{Pubdata: pd.done(), FeeToken: quoteToken, Fee: api.Add(buyFee, sellFee)}, nil
}

// order checks one side's order against its account: the signature, the
// expiry, the fee cap, the slot index and the slot rule. It returns the
// order id's bits (least significant first) for the pubdata.
func (g *Trade) order(e Env, o *TradeOrder, a *AccountUpdate, side types.Side, feeBips, fill frontend.Variable) []frontend.Variable {
	api := e.API
	// the accounts only hold the order's slot and position: key, address and
	// nonce stay (no account signs the trade itself)
	assertUnchangedAccount(api, a.Old, a.New)
	assertExists(api, a.Old) // ErrAccountNotFound

	// signed fields: account (its path decomposes the id into AccountDepth <=
	// 24 bits), model (ModelDepth <= 16 bits, by the model path), side
	// (constant), order id (24, below), then the rest range-checked here
	idBits := Bits(api, o.OrderID, types.OrderIDBits)
	RangeCheck(api, o.MaxFeeBips, types.FeeBipsBits)
	RangeCheck(api, o.ValidUntil, types.TimeBits)
	RangeCheck(api, o.Amount, types.ShareBits)
	RangeCheck(api, o.Price, types.AmountBits)
	w1 := trPackChecked(api, Field{trTagOrder, 8}, Field{a.ID, types.AccountBits}, Field{g.Model.ID, types.ModelBits},
		Field{int(side), 1}, Field{o.OrderID, types.OrderIDBits}, Field{o.MaxFeeBips, types.FeeBipsBits},
		Field{o.ValidUntil, types.TimeBits}, Field{o.Amount, types.ShareBits})
	// the price (96) does not fit the 71 bits left in the first word: it is
	// the second word alone
	msg := MessageHash(e.H, e.Domain, []frontend.Variable{w1, o.Price})
	if err := VerifySignature(api, PubKeyVars{X: a.Old.PkX, Y: a.Old.PkY}, o.Sig, msg); err != nil {
		panic(err) // only a curve-parameter failure, at build time
	}

	AssertLessOrEqual(api, e.Timestamp, o.ValidUntil, types.TimeBits) // ErrOrderExpired
	AssertLessOrEqual(api, feeBips, o.MaxFeeBips, types.FeeBipsBits)  // ErrOrderFee

	// slot = orderId mod 2^OrderDepth: the slot path's index is the order
	// id's low bits
	s := &a.Positions[0].Slots[0]
	api.AssertIsEqual(s.Slot, api.FromBinary(idBits[:e.P.OrderDepth]...))
	api.AssertIsEqual(a.Positions[0].Model, g.Model.ID)

	// slot rule (both ids 24-bit: the old one by its leaf):
	// old.orderId > orderId refused (ErrOrderSlotTaken); equal continues
	// from old.filled; smaller restarts at 0
	RangeCheck(api, api.Sub(o.OrderID, s.Old.OrderID), types.OrderIDBits)
	same := api.IsZero(api.Sub(o.OrderID, s.Old.OrderID))
	api.AssertIsEqual(s.New.OrderID, o.OrderID)
	// new.filled is a 64-bit leaf field, so a cancelled order (old.filled =
	// 2^64−1, fill > 0) cannot continue (ErrOrderClosed), and fill < 2^64
	api.AssertIsEqual(s.New.Filled, api.Add(api.Mul(same, s.Old.Filled), fill))
	AssertLessOrEqual(api, s.New.Filled, o.Amount, types.ShareBits) // ErrOrderOverfill
	return idBits
}

// trReadModel constrains a model read: every new field equals the old one,
// and the old leaf sits at the update's index under modelRoot. A read path
// (one leaf, one root) costs half an update's.
func trReadModel(api frontend.API, h *Hasher, u *ModelUpdate, modelRoot frontend.Variable) ModelVars {
	o, n := u.Old, u.New
	for _, p := range [][2]frontend.Variable{{o.DAO, n.DAO}, {o.QuoteToken, n.QuoteToken}, {o.HolderBps, n.HolderBps},
		{o.Supply, n.Supply}, {o.MaxSupply, n.MaxSupply}, {o.Acc, n.Acc}, {o.Carry, n.Carry}, {o.CreditPrice, n.CreditPrice},
		{o.Treasury, n.Treasury}, {o.Weights, n.Weights}, {o.Metadata, n.Metadata}} {
		api.AssertIsEqual(p[1], p[0])
	}
	api.AssertIsEqual(PathRoot(api, h, u.ID, u.Depth, u.Siblings, ModelLeaf(api, h, Read, o)), modelRoot)
	api.AssertIsDifferent(o.Supply, 0) // ErrModelNotFound: a model exists iff supply > 0
	return o
}

// trSettleMove settles a position at the model's accumulator (the twin of
// state.Settle) and moves delta shares. acc >= lastAcc; pending grows by
// shares·(acc − lastAcc) < 2^224, so the new pending is below 2^225 and the
// new leaf's 224-bit range check of it is ErrRevenueOverflow (Settle's own
// check of the same value would repeat it). Credits stay.
func trSettleMove(api frontend.API, p *PositionUpdate, m ModelVars, delta frontend.Variable) {
	o, n := p.Old, p.New
	AssertLessOrEqual(api, o.LastAcc, m.Acc, types.AccBits)
	api.AssertIsEqual(n.Pending, api.Add(api.Mul(o.Shares, api.Sub(m.Acc, o.LastAcc)), o.Pending))
	api.AssertIsEqual(n.LastAcc, m.Acc)
	api.AssertIsEqual(n.Credits, o.Credits)
	api.AssertIsEqual(n.Shares, api.Add(o.Shares, delta))
}

// trPackChecked packs fields like Pack, for fields the caller has already
// range-checked to their widths (or constants): no range check is repeated.
func trPackChecked(api frontend.API, fields ...Field) frontend.Variable {
	var acc frontend.Variable = 0
	shift := 0
	for _, f := range fields {
		acc = api.Add(acc, api.Mul(f.V, new(big.Int).Lsh(big.NewInt(1), uint(shift))))
		shift += f.Bits
	}
	if shift > WordBits {
		panic("circuits: packed fields exceed a message word")
	}
	return acc
}

// trAppendBits appends bits (least significant first) to the pubdata, most
// significant first.
func trAppendBits(w *pubdataWriter, bits []frontend.Variable) {
	for i := len(bits) - 1; i >= 0; i-- {
		w.bits = append(w.bits, bits[i])
	}
}

// tradeColumn is the Trade member's column in Batch.
var tradeColumn = column("Trade", func(c *Batch) *[]Trade { return &c.Trade }, NewTrade, nil, paramless(AssignTrade))
