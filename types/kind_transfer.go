package types

import (
	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/holiman/uint256"
)

// Transfer moves an asset between accounts (docs/protocol.md §5.2). The fee
// is paid in the asset when it is a base token, otherwise in the model's
// quote token; the two cases are two families and two gadgets
// (circuits/kind_transfer.go, circuits/kind_transferpos.go).
type Transfer struct {
	From, To  uint32
	Asset     AssetID
	Amount    uint256.Int // Amount38-packable
	Fee       uint256.Int // Fee16-packable
	Nonce     uint32
	Signature Signature
}

func (*Transfer) Kind() Kind            { return KindTransfer }
func (t *Transfer) Signer() uint32      { return t.From }
func (t *Transfer) SetSigner(id uint32) { t.From = id }
func (*Transfer) FeeField() string      { return "asset" }

// FeePaid: a base-token transfer pays in its token; a share or credit
// transfer in its model's quote token.
func (t *Transfer) FeePaid() (uint256.Int, FeeToken) {
	if t.Asset.Kind() == AssetBase {
		return t.Fee, FeeToken{ID: t.Asset.Index()}
	}
	return t.Fee, FeeToken{OfModel: true, ID: t.Asset.Index()}
}
func (t *Transfer) GetNonce() uint32  { return t.Nonce }
func (t *Transfer) SetNonce(n uint32) { t.Nonce = n }
func (t *Transfer) Sig() *Signature   { return &t.Signature }

func (t *Transfer) family() Family {
	if t.Asset.Kind() == AssetBase {
		return FamilyTransfer
	}
	return FamilyAssetTransfer
}

// CheckWidths checks every signed field against its message width: the
// message keeps 24 bits of To, so To and To + 2^24 would sign alike.
func (t *Transfer) CheckWidths() error {
	return firstErr(
		checkBits(uint64(t.From), AccountBits, ErrAccountRange, "sender"),
		checkBits(uint64(t.To), AccountBits, ErrAccountRange, "receiver"),
		checkBits(uint64(t.Asset), AssetBits, ErrAssetRange, "asset"),
		checkAmountBits(&t.Amount, AmountBits, "amount"),
		checkAmountBits(&t.Fee, AmountBits, "fee"))
}

func (t *Transfer) Message(d Domain) (fr.Element, error) {
	if err := t.CheckWidths(); err != nil {
		return fr.Element{}, err
	}
	p := new(Packer).AddU64(uint64(KindTransfer), 8).AddU64(uint64(t.From), AccountBits).AddU64(uint64(t.To), AccountBits).
		AddU64(uint64(t.Asset), AssetBits).AddU64(uint64(t.Nonce), NonceBits).Add(&t.Amount, AmountBits).Add(&t.Fee, AmountBits)
	return MessageHash(d, p)
}

func (t *Transfer) wire(c fieldCodec) {
	c.U32(&t.From, AccountBits)
	c.U32(&t.To, AccountBits)
	a := uint32(t.Asset)
	c.U32(&a, 24)
	t.Asset = AssetID(a)
	c.U256(&t.Amount, AmountBits)
	c.U256(&t.Fee, AmountBits)
	c.U32(&t.Nonce, NonceBits)
	c.Sig(&t.Signature)
}

func (t *Transfer) pubdata(c fieldCodec) {
	c.U32(&t.From, AccountBits)
	c.U32(&t.To, AccountBits)
	a := uint32(t.Asset)
	c.U32(&a, AssetBits)
	t.Asset = AssetID(a)
	c.Float(&t.Amount, Amount38)
	c.Float(&t.Fee, Fee16)
}
