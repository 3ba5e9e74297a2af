package types

import (
	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/holiman/uint256"
)

// CancelOrder closes an order slot for OrderID (docs/protocol.md §5.10).
type CancelOrder struct {
	Account   uint32
	Model     uint16
	OrderID   uint32
	Fee       uint256.Int
	Nonce     uint32
	Signature Signature
}

func (*CancelOrder) Kind() Kind            { return KindCancelOrder }
func (*CancelOrder) family() Family        { return FamilyCancel }
func (t *CancelOrder) Signer() uint32      { return t.Account }
func (t *CancelOrder) SetSigner(id uint32) { t.Account = id }
func (t *CancelOrder) FeePaid() (uint256.Int, FeeToken) {
	return t.Fee, FeeToken{OfModel: true, ID: t.Model}
}
func (*CancelOrder) FeeField() string    { return "model" }
func (t *CancelOrder) GetNonce() uint32  { return t.Nonce }
func (t *CancelOrder) SetNonce(n uint32) { t.Nonce = n }
func (t *CancelOrder) Sig() *Signature   { return &t.Signature }

// CheckWidths checks every signed field against its message width.
func (t *CancelOrder) CheckWidths() error {
	return firstErr(
		checkBits(uint64(t.Account), AccountBits, ErrAccountRange, "account"),
		checkBits(uint64(t.OrderID), OrderIDBits, ErrAmountTooLarge, "order id"),
		checkAmountBits(&t.Fee, AmountBits, "fee"))
}

func (t *CancelOrder) Message(d Domain) (fr.Element, error) {
	if err := t.CheckWidths(); err != nil {
		return fr.Element{}, err
	}
	p := new(Packer).AddU64(uint64(KindCancelOrder), 8).AddU64(uint64(t.Account), AccountBits).AddU64(uint64(t.Model), ModelBits).
		AddU64(uint64(t.Nonce), NonceBits).AddU64(uint64(t.OrderID), OrderIDBits).Add(&t.Fee, AmountBits)
	return MessageHash(d, p)
}

func (t *CancelOrder) wire(c fieldCodec) {
	c.U32(&t.Account, AccountBits)
	c.U16(&t.Model, ModelBits)
	c.U32(&t.OrderID, OrderIDBits)
	c.U256(&t.Fee, AmountBits)
	c.U32(&t.Nonce, NonceBits)
	c.Sig(&t.Signature)
}

func (t *CancelOrder) pubdata(c fieldCodec) {
	c.U32(&t.Account, AccountBits)
	c.U16(&t.Model, ModelBits)
	c.U32(&t.OrderID, OrderIDBits)
	c.Float(&t.Fee, Fee16)
}
