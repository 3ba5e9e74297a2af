package types

import (
	"crypto/sha256"
	"fmt"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/ethereum/go-ethereum/common"
	"github.com/holiman/uint256"
)

// fieldCodec visits a transaction's fields in their encoded order; the same
// visit encodes (bitEncoder) or decodes (bitDecoder). Each kind has one visit
// for the wire format (full widths plus signature) and one for pubdata
// (packed floats, no signature), so field order lives in one place per format.
type fieldCodec interface {
	U64(v *uint64, bits uint)
	U32(v *uint32, bits uint)
	U16(v *uint16, bits uint)
	U8(v *uint8, bits uint)
	U256(v *uint256.Int, bits uint)
	Float(v *uint256.Int, f FloatFormat)
	Elem(v *fr.Element)
	Addr(v *common.Address)
	Sig(v *Signature)
	Flag(v *bool) // one byte, 0 or 1; decoding any other value is ErrMalformed
}

type bitEncoder struct {
	w   BitWriter
	err error
}

func (e *bitEncoder) fail(err error) {
	if e.err == nil {
		e.err = err
	}
}

func (e *bitEncoder) U64(v *uint64, bits uint) {
	if bits < 64 && *v>>bits != 0 {
		e.fail(fmt.Errorf("%w: %d does not fit %d bits", ErrAmountTooLarge, *v, bits))
	}
	e.w.WriteU64(*v, bits)
}
func (e *bitEncoder) U32(v *uint32, bits uint) { x := uint64(*v); e.U64(&x, bits) }
func (e *bitEncoder) U16(v *uint16, bits uint) { x := uint64(*v); e.U64(&x, bits) }
func (e *bitEncoder) U8(v *uint8, bits uint)   { x := uint64(*v); e.U64(&x, bits) }
func (e *bitEncoder) U256(v *uint256.Int, bits uint) {
	if !Fits(v, bits) {
		e.fail(fmt.Errorf("%w: %s does not fit %d bits", ErrAmountTooLarge, v.Dec(), bits))
	}
	e.w.WriteU256(v, bits)
}
func (e *bitEncoder) Float(v *uint256.Int, f FloatFormat) {
	raw, err := f.Encode(v)
	if err != nil {
		e.fail(err)
	}
	e.w.WriteU64(raw, f.Bits())
}
func (e *bitEncoder) Elem(v *fr.Element) { e.w.WriteElem(*v) }
func (e *bitEncoder) Addr(v *common.Address) {
	for _, b := range v {
		e.w.WriteU64(uint64(b), 8)
	}
}
func (e *bitEncoder) Sig(v *Signature) {
	for _, b := range v {
		e.w.WriteU64(uint64(b), 8)
	}
}

func (e *bitEncoder) Flag(v *bool) {
	var b uint64
	if *v {
		b = 1
	}
	e.w.WriteU64(b, 8)
}

type bitDecoder struct{ r *BitReader }

func (d bitDecoder) Flag(v *bool) {
	b := d.r.ReadU64(8)
	if b > 1 && d.r.err == nil {
		d.r.err = fmt.Errorf("%w: flag byte %d", ErrMalformed, b)
	}
	*v = b == 1
}

func (d bitDecoder) U64(v *uint64, bits uint) { *v = d.r.ReadU64(bits) }
func (d bitDecoder) U32(v *uint32, bits uint) { *v = uint32(d.r.ReadU64(bits)) }
func (d bitDecoder) U16(v *uint16, bits uint) { *v = uint16(d.r.ReadU64(bits)) }
func (d bitDecoder) U8(v *uint8, bits uint)   { *v = uint8(d.r.ReadU64(bits)) }
func (d bitDecoder) U256(v *uint256.Int, bits uint) {
	v.Set(d.r.ReadU256(bits))
}
func (d bitDecoder) Float(v *uint256.Int, f FloatFormat) {
	x, err := f.Decode(d.r.ReadU64(f.Bits()))
	if err != nil {
		if d.r.err == nil {
			d.r.err = err
		}
		return
	}
	v.Set(x)
}
func (d bitDecoder) Elem(v *fr.Element) { *v = d.r.ReadElem() }
func (d bitDecoder) Addr(v *common.Address) {
	for i := range v {
		v[i] = byte(d.r.ReadU64(8))
	}
}
func (d bitDecoder) Sig(v *Signature) {
	for i := range v {
		v[i] = byte(d.r.ReadU64(8))
	}
}

// floatU64 visits a uint64 field in a packed float format.
func floatU64(c fieldCodec, v *uint64, f FloatFormat) {
	x := uint256.NewInt(*v)
	c.Float(x, f)
	if x.IsUint64() {
		*v = x.Uint64()
	} else if d, ok := c.(bitDecoder); ok && d.r.err == nil {
		d.r.err = fmt.Errorf("%w: packed value %s exceeds 64 bits", ErrAmountTooLarge, x.Dec())
	}
}

func pubKey(c fieldCodec, k *PubKey) { c.Elem(&k.X); c.Elem(&k.Y) }

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

// wire visits the full-width wire encoding of each kind (after the kind byte).
func wire(c fieldCodec, tx Tx) {
	switch t := tx.(type) {
	case *Noop:
	case *Deposit:
		c.U64(&t.PriorityID, 64)
		c.U32(&t.Account, AccountBits)
		c.Addr(&t.L1Address)
		pubKey(c, &t.PubKey)
		c.U16(&t.Token, BaseAssetBits)
		c.U256(&t.Amount, 256)
	case *ForcedWithdraw:
		c.U64(&t.PriorityID, 64)
		c.Addr(&t.Requester)
		c.U32(&t.Account, 32)
		c.U16(&t.Token, BaseAssetBits)
	case *Transfer:
		c.U32(&t.From, AccountBits)
		c.U32(&t.To, AccountBits)
		a := uint32(t.Asset)
		c.U32(&a, 24)
		t.Asset = AssetID(a)
		c.U256(&t.Amount, AmountBits)
		c.U256(&t.Fee, AmountBits)
		c.U32(&t.Nonce, NonceBits)
		c.Sig(&t.Signature)
	case *Withdraw:
		c.U32(&t.Account, AccountBits)
		c.U16(&t.Token, BaseAssetBits)
		c.U256(&t.Amount, AmountBits)
		c.U256(&t.Fee, AmountBits)
		c.Addr(&t.To)
		c.U32(&t.Nonce, NonceBits)
		c.Sig(&t.Signature)
	case *CreateModel:
		c.U32(&t.Account, AccountBits)
		c.U16(&t.Model, ModelBits)
		c.U16(&t.QuoteToken, BaseAssetBits)
		c.U64(&t.Supply, ShareBits)
		c.U64(&t.MaxSupply, ShareBits)
		c.U256(&t.CreditPrice, AmountBits)
		c.U16(&t.HolderBps, 16)
		c.Elem(&t.Weights)
		c.Elem(&t.Metadata)
		c.U256(&t.Fee, AmountBits)
		c.U32(&t.Nonce, NonceBits)
		c.Sig(&t.Signature)
	case *MintShares:
		c.U32(&t.Account, AccountBits)
		c.U16(&t.Model, ModelBits)
		c.U64(&t.Amount, ShareBits)
		c.U256(&t.Fee, AmountBits)
		c.U32(&t.Nonce, NonceBits)
		c.Sig(&t.Signature)
	case *SetModelParams:
		c.U32(&t.Account, AccountBits)
		c.U16(&t.Model, ModelBits)
		c.U256(&t.CreditPrice, AmountBits)
		c.U16(&t.HolderBps, 16)
		c.U256(&t.Fee, AmountBits)
		c.U32(&t.Nonce, NonceBits)
		c.Sig(&t.Signature)
	case *Trade:
		orderWire(c, &t.Buy)
		orderWire(c, &t.Sell)
		c.U64(&t.Fill, ShareBits)
		c.U256(&t.Price, AmountBits)
		c.U8(&t.BuyFeeBips, FeeBipsBits)
		c.U8(&t.SellFeeBips, FeeBipsBits)
	case *CancelOrder:
		c.U32(&t.Account, AccountBits)
		c.U16(&t.Model, ModelBits)
		c.U32(&t.OrderID, OrderIDBits)
		c.U256(&t.Fee, AmountBits)
		c.U32(&t.Nonce, NonceBits)
		c.Sig(&t.Signature)
	case *BuyCredits:
		c.U32(&t.Account, AccountBits)
		c.U16(&t.Model, ModelBits)
		c.U64(&t.Credits, CreditBits)
		c.U256(&t.MaxPrice, AmountBits)
		c.U256(&t.Fee, AmountBits)
		c.U32(&t.Nonce, NonceBits)
		c.Sig(&t.Signature)
	case *RedeemCredits:
		c.U32(&t.Account, AccountBits)
		c.U16(&t.Model, ModelBits)
		c.U64(&t.Credits, CreditBits)
		c.Elem(&t.Request)
		c.U256(&t.Fee, AmountBits)
		c.U32(&t.Nonce, NonceBits)
		c.Sig(&t.Signature)
	case *ClaimRevenue:
		c.U32(&t.Account, AccountBits)
		c.U16(&t.Model, ModelBits)
		c.U256(&t.Fee, AmountBits)
		c.U32(&t.Nonce, NonceBits)
		c.Sig(&t.Signature)
	}
}

// pubdata visits the pubdata encoding of each kind (after the kind byte); it
// is normative: docs/protocol.md §6 lists the same fields and widths.
func pubdata(c fieldCodec, tx Tx) {
	switch t := tx.(type) {
	case *Noop:
	case *Deposit:
		c.Flag(&t.Refused)
		c.U32(&t.Account, AccountBits)
		c.U16(&t.Token, BaseAssetBits)
		c.U256(&t.Amount, AmountBits)
		c.Addr(&t.L1Address)
		pubKey(c, &t.PubKey)
	case *ForcedWithdraw:
		c.U32(&t.Account, AccountBits)
		c.U16(&t.Token, BaseAssetBits)
		c.Addr(&t.Requester)
		c.U256(&t.Amount, AmountBits)
	case *Transfer:
		c.U32(&t.From, AccountBits)
		c.U32(&t.To, AccountBits)
		a := uint32(t.Asset)
		c.U32(&a, AssetBits)
		t.Asset = AssetID(a)
		c.Float(&t.Amount, Amount38)
		c.Float(&t.Fee, Fee16)
	case *Withdraw:
		c.U32(&t.Account, AccountBits)
		c.U16(&t.Token, BaseAssetBits)
		c.U256(&t.Amount, AmountBits)
		c.Float(&t.Fee, Fee16)
		c.Addr(&t.To)
	case *CreateModel:
		c.U32(&t.Account, AccountBits)
		c.U16(&t.Model, ModelBits)
		c.U16(&t.QuoteToken, BaseAssetBits)
		c.U16(&t.HolderBps, BpsBits)
		c.U64(&t.Supply, ShareBits)
		c.U64(&t.MaxSupply, ShareBits)
		c.U256(&t.CreditPrice, AmountBits)
		c.Float(&t.Fee, Fee16)
		c.Elem(&t.Weights)
		c.Elem(&t.Metadata)
	case *MintShares:
		c.U16(&t.Model, ModelBits)
		c.U64(&t.Amount, ShareBits)
		c.Float(&t.Fee, Fee16)
	case *SetModelParams:
		c.U16(&t.Model, ModelBits)
		c.U16(&t.HolderBps, BpsBits)
		c.U256(&t.CreditPrice, AmountBits)
		c.Float(&t.Fee, Fee16)
	case *Trade:
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
	case *CancelOrder:
		c.U32(&t.Account, AccountBits)
		c.U16(&t.Model, ModelBits)
		c.U32(&t.OrderID, OrderIDBits)
		c.Float(&t.Fee, Fee16)
	case *BuyCredits:
		c.U32(&t.Account, AccountBits)
		c.U16(&t.Model, ModelBits)
		c.U64(&t.Credits, CreditBits)
		c.Float(&t.Fee, Fee16)
	case *RedeemCredits:
		c.U32(&t.Account, AccountBits)
		c.U16(&t.Model, ModelBits)
		c.U64(&t.Credits, CreditBits)
		c.Float(&t.Fee, Fee16)
		c.Elem(&t.Request)
	case *ClaimRevenue:
		c.U32(&t.Account, AccountBits)
		c.U16(&t.Model, ModelBits)
		c.Float(&t.Fee, Fee16)
	}
}

// NewTx returns an empty transaction of the kind.
func NewTx(k Kind) (Tx, error) {
	switch k {
	case KindNoop:
		return &Noop{}, nil
	case KindDeposit:
		return &Deposit{}, nil
	case KindTransfer:
		return &Transfer{}, nil
	case KindWithdraw:
		return &Withdraw{}, nil
	case KindForcedWithdraw:
		return &ForcedWithdraw{}, nil
	case KindCreateModel:
		return &CreateModel{}, nil
	case KindMintShares:
		return &MintShares{}, nil
	case KindSetModelParams:
		return &SetModelParams{}, nil
	case KindTrade:
		return &Trade{}, nil
	case KindCancelOrder:
		return &CancelOrder{}, nil
	case KindBuyCredits:
		return &BuyCredits{}, nil
	case KindRedeemCredits:
		return &RedeemCredits{}, nil
	case KindClaimRevenue:
		return &ClaimRevenue{}, nil
	}
	return nil, fmt.Errorf("%w: %d", ErrUnknownKind, k)
}

func encode(tx Tx, visit func(fieldCodec, Tx)) ([]byte, error) {
	e := &bitEncoder{}
	e.w.WriteU64(uint64(tx.Kind()), 8)
	visit(e, tx)
	e.w.Pad()
	if e.err != nil {
		return nil, fmt.Errorf("encode %s: %w", tx.Kind(), e.err)
	}
	return e.w.Bytes(), nil
}

// decodeOne reads one kind byte and its fields from r.
func decodeOne(r *BitReader, visit func(fieldCodec, Tx)) (Tx, error) {
	k := Kind(r.ReadU64(8))
	if r.Err() != nil {
		return nil, r.Err()
	}
	tx, err := NewTx(k)
	if err != nil {
		return nil, err
	}
	visit(bitDecoder{r}, tx)
	r.Align()
	if r.Err() != nil {
		return nil, fmt.Errorf("decode %s: %w", k, r.Err())
	}
	return tx, nil
}

// EncodeTx is the binary wire encoding: kind byte, fields at full width, signature.
func EncodeTx(tx Tx) ([]byte, error) { return encode(tx, wire) }

// DecodeTx decodes EncodeTx's output; trailing bytes are an error.
func DecodeTx(b []byte) (Tx, error) {
	r := NewBitReader(b)
	tx, err := decodeOne(r, wire)
	if err != nil {
		return nil, err
	}
	if r.Remaining() != 0 {
		return nil, fmt.Errorf("%w: %d trailing bytes", ErrMalformed, r.Remaining())
	}
	return tx, nil
}

// EncodeOrder is the binary wire encoding of a signed order.
func EncodeOrder(o *Order) ([]byte, error) {
	e := &bitEncoder{}
	orderWire(e, o)
	if e.err != nil {
		return nil, e.err
	}
	return e.w.Bytes(), nil
}

// DecodeOrder decodes EncodeOrder's output.
func DecodeOrder(b []byte) (*Order, error) {
	r := NewBitReader(b)
	o := new(Order)
	orderWire(bitDecoder{r}, o)
	if r.Err() != nil {
		return nil, r.Err()
	}
	if r.Remaining() != 0 {
		return nil, fmt.Errorf("%w: %d trailing bytes", ErrMalformed, r.Remaining())
	}
	if o.Side > Sell {
		return nil, fmt.Errorf("%w: side %d", ErrMalformed, o.Side)
	}
	return o, nil
}

// Pubdata is the operation's public data (docs/protocol.md §6).
func Pubdata(tx Tx) ([]byte, error) { return encode(tx, pubdata) }

// DecodePubdata splits a batch's pubdata into operations. Decoded operations
// carry exactly the published fields (no signatures, no unpublished fields).
func DecodePubdata(b []byte) ([]Tx, error) {
	r := NewBitReader(b)
	var ops []Tx
	for r.Remaining() > 0 {
		tx, err := decodeOne(r, pubdata)
		if err != nil {
			return nil, fmt.Errorf("op %d: %w", len(ops), err)
		}
		ops = append(ops, tx)
	}
	return ops, nil
}

// PubdataSize is the pubdata length in bytes of each kind.
var PubdataSize = func() [kindCount]int {
	var s [kindCount]int
	for _, k := range AllKinds() {
		tx, _ := NewTx(k)
		b, err := Pubdata(tx)
		if err != nil {
			panic(err)
		}
		s[k] = len(b)
	}
	return s
}()

// TxHash is a transaction's hash, the one users see: SHA-256 of its wire
// encoding (EncodeTx). The pool keys pending transactions by it, and a Trade
// the sequencer makes has one too.
func TxHash(tx Tx) ([32]byte, error) {
	b, err := EncodeTx(tx)
	if err != nil {
		return [32]byte{}, err
	}
	return sha256.Sum256(b), nil
}
