package types

import (
	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/holiman/uint256"
)

// The credit and revenue kinds (docs/protocol.md §5.11–§5.13).

// BuyCredits pays Credits × the model's price (at most MaxPrice per credit).
type BuyCredits struct {
	Account   uint32
	Model     uint16
	Credits   uint64
	MaxPrice  uint256.Int
	Fee       uint256.Int
	Nonce     uint32
	Signature Signature
}

func (*BuyCredits) Kind() Kind            { return KindBuyCredits }
func (*BuyCredits) family() Family        { return FamilyBuyCredits }
func (t *BuyCredits) Signer() uint32      { return t.Account }
func (t *BuyCredits) SetSigner(id uint32) { t.Account = id }
func (t *BuyCredits) FeePaid() (uint256.Int, FeeToken) {
	return t.Fee, FeeToken{OfModel: true, ID: t.Model}
}
func (*BuyCredits) FeeField() string    { return "model" }
func (t *BuyCredits) GetNonce() uint32  { return t.Nonce }
func (t *BuyCredits) SetNonce(n uint32) { t.Nonce = n }
func (t *BuyCredits) Sig() *Signature   { return &t.Signature }

// CheckWidths checks every signed field against its message width.
func (t *BuyCredits) CheckWidths() error {
	return firstErr(
		checkBits(uint64(t.Account), AccountBits, ErrAccountRange, "account"),
		checkAmountBits(&t.MaxPrice, AmountBits, "max price"),
		checkAmountBits(&t.Fee, AmountBits, "fee"))
}

func (t *BuyCredits) Message(d Domain) (fr.Element, error) {
	if err := t.CheckWidths(); err != nil {
		return fr.Element{}, err
	}
	p := new(Packer).AddU64(uint64(KindBuyCredits), 8).AddU64(uint64(t.Account), AccountBits).AddU64(uint64(t.Model), ModelBits).
		AddU64(uint64(t.Nonce), NonceBits).AddU64(t.Credits, CreditBits).Add(&t.MaxPrice, AmountBits).Add(&t.Fee, AmountBits)
	return MessageHash(d, p)
}

func (t *BuyCredits) wire(c fieldCodec) {
	c.U32(&t.Account, AccountBits)
	c.U16(&t.Model, ModelBits)
	c.U64(&t.Credits, CreditBits)
	c.U256(&t.MaxPrice, AmountBits)
	c.U256(&t.Fee, AmountBits)
	c.U32(&t.Nonce, NonceBits)
	c.Sig(&t.Signature)
}

func (t *BuyCredits) pubdata(c fieldCodec) {
	c.U32(&t.Account, AccountBits)
	c.U16(&t.Model, ModelBits)
	c.U64(&t.Credits, CreditBits)
	c.Float(&t.Fee, Fee16)
}

// RedeemCredits burns credits; Request commits to the inference request and
// appears in the pubdata for the model's operator.
type RedeemCredits struct {
	Account   uint32
	Model     uint16
	Credits   uint64
	Request   fr.Element
	Fee       uint256.Int
	Nonce     uint32
	Signature Signature
}

func (*RedeemCredits) Kind() Kind            { return KindRedeemCredits }
func (*RedeemCredits) family() Family        { return FamilyRedeemCredits }
func (t *RedeemCredits) Signer() uint32      { return t.Account }
func (t *RedeemCredits) SetSigner(id uint32) { t.Account = id }
func (t *RedeemCredits) FeePaid() (uint256.Int, FeeToken) {
	return t.Fee, FeeToken{OfModel: true, ID: t.Model}
}
func (*RedeemCredits) FeeField() string    { return "model" }
func (t *RedeemCredits) GetNonce() uint32  { return t.Nonce }
func (t *RedeemCredits) SetNonce(n uint32) { t.Nonce = n }
func (t *RedeemCredits) Sig() *Signature   { return &t.Signature }

// CheckWidths checks every signed field against its message width.
func (t *RedeemCredits) CheckWidths() error {
	return firstErr(
		checkBits(uint64(t.Account), AccountBits, ErrAccountRange, "account"),
		checkAmountBits(&t.Fee, AmountBits, "fee"))
}

func (t *RedeemCredits) Message(d Domain) (fr.Element, error) {
	if err := t.CheckWidths(); err != nil {
		return fr.Element{}, err
	}
	p := new(Packer).AddU64(uint64(KindRedeemCredits), 8).AddU64(uint64(t.Account), AccountBits).AddU64(uint64(t.Model), ModelBits).
		AddU64(uint64(t.Nonce), NonceBits).AddU64(t.Credits, CreditBits).Add(&t.Fee, AmountBits).AddElem(t.Request)
	return MessageHash(d, p)
}

func (t *RedeemCredits) wire(c fieldCodec) {
	c.U32(&t.Account, AccountBits)
	c.U16(&t.Model, ModelBits)
	c.U64(&t.Credits, CreditBits)
	c.Elem(&t.Request)
	c.U256(&t.Fee, AmountBits)
	c.U32(&t.Nonce, NonceBits)
	c.Sig(&t.Signature)
}

func (t *RedeemCredits) pubdata(c fieldCodec) {
	c.U32(&t.Account, AccountBits)
	c.U16(&t.Model, ModelBits)
	c.U64(&t.Credits, CreditBits)
	c.Float(&t.Fee, Fee16)
	c.Elem(&t.Request)
}

// ClaimRevenue pays the signer's accrued revenue of a model (and the treasury
// when the signer is the DAO) into its quote-token balance.
type ClaimRevenue struct {
	Account   uint32
	Model     uint16
	Fee       uint256.Int
	Nonce     uint32
	Signature Signature
}

func (*ClaimRevenue) Kind() Kind            { return KindClaimRevenue }
func (*ClaimRevenue) family() Family        { return FamilyClaimRevenue }
func (t *ClaimRevenue) Signer() uint32      { return t.Account }
func (t *ClaimRevenue) SetSigner(id uint32) { t.Account = id }
func (t *ClaimRevenue) FeePaid() (uint256.Int, FeeToken) {
	return t.Fee, FeeToken{OfModel: true, ID: t.Model}
}
func (*ClaimRevenue) FeeField() string    { return "model" }
func (t *ClaimRevenue) GetNonce() uint32  { return t.Nonce }
func (t *ClaimRevenue) SetNonce(n uint32) { t.Nonce = n }
func (t *ClaimRevenue) Sig() *Signature   { return &t.Signature }

// CheckWidths checks every signed field against its message width.
func (t *ClaimRevenue) CheckWidths() error {
	return firstErr(
		checkBits(uint64(t.Account), AccountBits, ErrAccountRange, "account"),
		checkAmountBits(&t.Fee, AmountBits, "fee"))
}

func (t *ClaimRevenue) Message(d Domain) (fr.Element, error) {
	if err := t.CheckWidths(); err != nil {
		return fr.Element{}, err
	}
	p := new(Packer).AddU64(uint64(KindClaimRevenue), 8).AddU64(uint64(t.Account), AccountBits).AddU64(uint64(t.Model), ModelBits).
		AddU64(uint64(t.Nonce), NonceBits).Add(&t.Fee, AmountBits)
	return MessageHash(d, p)
}

func (t *ClaimRevenue) wire(c fieldCodec) {
	c.U32(&t.Account, AccountBits)
	c.U16(&t.Model, ModelBits)
	c.U256(&t.Fee, AmountBits)
	c.U32(&t.Nonce, NonceBits)
	c.Sig(&t.Signature)
}

func (t *ClaimRevenue) pubdata(c fieldCodec) {
	c.U32(&t.Account, AccountBits)
	c.U16(&t.Model, ModelBits)
	c.Float(&t.Fee, Fee16)
}
