package types

import (
	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/holiman/uint256"
)

// The model-admin kinds (docs/protocol.md §5.5–§5.7), one family.

// CreateModel registers a model; the signer becomes its DAO and receives Supply shares.
type CreateModel struct {
	Account     uint32
	Model       uint16
	QuoteToken  uint16 // base token of the model's market, credit price and revenue
	Supply      uint64
	MaxSupply   uint64
	CreditPrice uint256.Int
	HolderBps   uint16 // share of credit revenue for shareholders; the rest goes to the DAO treasury
	Weights     fr.Element
	Metadata    fr.Element
	Fee         uint256.Int // in QuoteToken
	Nonce       uint32
	Signature   Signature
}

func (*CreateModel) Kind() Kind                         { return KindCreateModel }
func (*CreateModel) family() Family                     { return FamilyModelAdmin }
func (t *CreateModel) Signer() uint32                   { return t.Account }
func (t *CreateModel) SetSigner(id uint32)              { t.Account = id }
func (t *CreateModel) FeePaid() (uint256.Int, FeeToken) { return t.Fee, FeeToken{ID: t.QuoteToken} }
func (*CreateModel) FeeField() string                   { return "quoteToken" }
func (t *CreateModel) GetNonce() uint32                 { return t.Nonce }
func (t *CreateModel) SetNonce(n uint32)                { t.Nonce = n }
func (t *CreateModel) Sig() *Signature                  { return &t.Signature }

// CheckWidths checks every signed field against its message width.
func (t *CreateModel) CheckWidths() error {
	return firstErr(
		checkBits(uint64(t.Account), AccountBits, ErrAccountRange, "account"),
		checkBits(uint64(t.HolderBps), BpsBits, ErrBadBps, "holder bps"),
		checkAmountBits(&t.CreditPrice, AmountBits, "credit price"),
		checkAmountBits(&t.Fee, AmountBits, "fee"))
}

func (t *CreateModel) Message(d Domain) (fr.Element, error) {
	if err := t.CheckWidths(); err != nil {
		return fr.Element{}, err
	}
	p := new(Packer).AddU64(uint64(KindCreateModel), 8).AddU64(uint64(t.Account), AccountBits).AddU64(uint64(t.Model), ModelBits).
		AddU64(uint64(t.QuoteToken), BaseAssetBits).AddU64(uint64(t.Nonce), NonceBits).AddU64(uint64(t.HolderBps), BpsBits).
		AddU64(t.Supply, ShareBits).AddU64(t.MaxSupply, ShareBits).Add(&t.CreditPrice, AmountBits).Add(&t.Fee, AmountBits).
		AddElem(t.Weights).AddElem(t.Metadata)
	return MessageHash(d, p)
}

func (t *CreateModel) wire(c fieldCodec) {
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
}

func (t *CreateModel) pubdata(c fieldCodec) {
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
}

// MintShares issues Amount new shares to the DAO, up to MaxSupply.
type MintShares struct {
	Account   uint32
	Model     uint16
	Amount    uint64
	Fee       uint256.Int
	Nonce     uint32
	Signature Signature
}

func (*MintShares) Kind() Kind            { return KindMintShares }
func (*MintShares) family() Family        { return FamilyModelAdmin }
func (t *MintShares) Signer() uint32      { return t.Account }
func (t *MintShares) SetSigner(id uint32) { t.Account = id }
func (t *MintShares) FeePaid() (uint256.Int, FeeToken) {
	return t.Fee, FeeToken{OfModel: true, ID: t.Model}
}
func (*MintShares) FeeField() string    { return "model" }
func (t *MintShares) GetNonce() uint32  { return t.Nonce }
func (t *MintShares) SetNonce(n uint32) { t.Nonce = n }
func (t *MintShares) Sig() *Signature   { return &t.Signature }

// CheckWidths checks every signed field against its message width.
func (t *MintShares) CheckWidths() error {
	return firstErr(
		checkBits(uint64(t.Account), AccountBits, ErrAccountRange, "account"),
		checkAmountBits(&t.Fee, AmountBits, "fee"))
}

func (t *MintShares) Message(d Domain) (fr.Element, error) {
	if err := t.CheckWidths(); err != nil {
		return fr.Element{}, err
	}
	p := new(Packer).AddU64(uint64(KindMintShares), 8).AddU64(uint64(t.Account), AccountBits).AddU64(uint64(t.Model), ModelBits).
		AddU64(uint64(t.Nonce), NonceBits).AddU64(t.Amount, ShareBits).Add(&t.Fee, AmountBits)
	return MessageHash(d, p)
}

func (t *MintShares) wire(c fieldCodec) {
	c.U32(&t.Account, AccountBits)
	c.U16(&t.Model, ModelBits)
	c.U64(&t.Amount, ShareBits)
	c.U256(&t.Fee, AmountBits)
	c.U32(&t.Nonce, NonceBits)
	c.Sig(&t.Signature)
}

func (t *MintShares) pubdata(c fieldCodec) {
	c.U16(&t.Model, ModelBits)
	c.U64(&t.Amount, ShareBits)
	c.Float(&t.Fee, Fee16)
}

// SetModelParams changes the credit price and the holders' revenue share.
type SetModelParams struct {
	Account     uint32
	Model       uint16
	CreditPrice uint256.Int
	HolderBps   uint16
	Fee         uint256.Int
	Nonce       uint32
	Signature   Signature
}

func (*SetModelParams) Kind() Kind            { return KindSetModelParams }
func (*SetModelParams) family() Family        { return FamilyModelAdmin }
func (t *SetModelParams) Signer() uint32      { return t.Account }
func (t *SetModelParams) SetSigner(id uint32) { t.Account = id }
func (t *SetModelParams) FeePaid() (uint256.Int, FeeToken) {
	return t.Fee, FeeToken{OfModel: true, ID: t.Model}
}
func (*SetModelParams) FeeField() string    { return "model" }
func (t *SetModelParams) GetNonce() uint32  { return t.Nonce }
func (t *SetModelParams) SetNonce(n uint32) { t.Nonce = n }
func (t *SetModelParams) Sig() *Signature   { return &t.Signature }

// CheckWidths checks every signed field against its message width.
func (t *SetModelParams) CheckWidths() error {
	return firstErr(
		checkBits(uint64(t.Account), AccountBits, ErrAccountRange, "account"),
		checkBits(uint64(t.HolderBps), BpsBits, ErrBadBps, "holder bps"),
		checkAmountBits(&t.CreditPrice, AmountBits, "credit price"),
		checkAmountBits(&t.Fee, AmountBits, "fee"))
}

func (t *SetModelParams) Message(d Domain) (fr.Element, error) {
	if err := t.CheckWidths(); err != nil {
		return fr.Element{}, err
	}
	p := new(Packer).AddU64(uint64(KindSetModelParams), 8).AddU64(uint64(t.Account), AccountBits).AddU64(uint64(t.Model), ModelBits).
		AddU64(uint64(t.Nonce), NonceBits).AddU64(uint64(t.HolderBps), BpsBits).Add(&t.CreditPrice, AmountBits).Add(&t.Fee, AmountBits)
	return MessageHash(d, p)
}

func (t *SetModelParams) wire(c fieldCodec) {
	c.U32(&t.Account, AccountBits)
	c.U16(&t.Model, ModelBits)
	c.U256(&t.CreditPrice, AmountBits)
	c.U16(&t.HolderBps, 16)
	c.U256(&t.Fee, AmountBits)
	c.U32(&t.Nonce, NonceBits)
	c.Sig(&t.Signature)
}

func (t *SetModelParams) pubdata(c fieldCodec) {
	c.U16(&t.Model, ModelBits)
	c.U16(&t.HolderBps, BpsBits)
	c.U256(&t.CreditPrice, AmountBits)
	c.Float(&t.Fee, Fee16)
}
