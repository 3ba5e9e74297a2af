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

// wire visits the full-width wire encoding of a kind (after the kind byte),
// pubdata its pubdata encoding (normative: docs/protocol.md §6 lists the
// same fields and widths). Each kind's visits sit in types/kind_<name>.go.
func wire(c fieldCodec, tx Tx)    { tx.wire(c) }
func pubdata(c fieldCodec, tx Tx) { tx.pubdata(c) }

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
