package types

import (
	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/ethereum/go-ethereum/common"
	"github.com/holiman/uint256"
)

// Kind is a transaction kind; it is also the first pubdata byte of its operation.
type Kind uint8

const (
	KindNoop           Kind = 0
	KindDeposit        Kind = 1
	KindTransfer       Kind = 2
	KindWithdraw       Kind = 3
	KindForcedWithdraw Kind = 4
	KindCreateModel    Kind = 5
	KindMintShares     Kind = 6
	KindSetModelParams Kind = 7
	KindTrade          Kind = 8
	KindCancelOrder    Kind = 9
	KindBuyCredits     Kind = 10
	KindRedeemCredits  Kind = 11
	KindClaimRevenue   Kind = 12
	kindCount               = 13

	// tagOrder is the message tag of a signed limit order (not a transaction).
	tagOrder = 0x40
)

var kindNames = [kindCount]string{"Noop", "Deposit", "Transfer", "Withdraw", "ForcedWithdraw", "CreateModel",
	"MintShares", "SetModelParams", "Trade", "CancelOrder", "BuyCredits", "RedeemCredits", "ClaimRevenue"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "Unknown"
}

// AllKinds lists every kind, for tables and benchmarks.
func AllKinds() []Kind {
	ks := make([]Kind, kindCount)
	for i := range ks {
		ks[i] = Kind(i)
	}
	return ks
}

// Tx is any transaction.
type Tx interface {
	Kind() Kind
}

// SignedTx is a transaction an L2 account signs.
type SignedTx interface {
	Tx
	Signer() uint32
	GetNonce() uint32
	SetNonce(n uint32)
	// Message is the element the signer signs under the domain.
	Message(d Domain) fr.Element
	Sig() *Signature
}

// Side of an order.
type Side uint8

const (
	Buy  Side = 0
	Sell Side = 1
)

// Noop pads a batch.
type Noop struct{}

// Deposit comes from the L1 priority queue: it credits Account, which the
// bridge contract assigned to the pair (L1Address, PubKey) when the pair first
// deposited (ids are sequential on L1, so the circuit never has to prove a
// pair is new). Refused is set by apply when the deposit cannot be credited
// (the bridge then refunds it on L1).
type Deposit struct {
	PriorityID uint64
	Account    uint32
	L1Address  common.Address
	PubKey     PubKey
	Token      uint16
	Amount     uint256.Int
	// filled in by apply
	Refused bool
}

// ForcedWithdraw comes from the L1 priority queue: it withdraws the whole
// balance of a base token if Requester is the account's L1 address, else 0.
type ForcedWithdraw struct {
	PriorityID uint64
	Requester  common.Address
	Account    uint32
	Token      uint16
	// filled in by apply
	Amount uint256.Int
}

// Transfer moves an asset between accounts. The fee is paid in the asset when
// it is a base token, otherwise in the model's quote token.
type Transfer struct {
	From, To  uint32
	Asset     AssetID
	Amount    uint256.Int // Amount38-packable
	Fee       uint256.Int // Fee16-packable
	Nonce     uint32
	Signature Signature
}

// Withdraw burns a base token on L2; the bridge pays To after the batch is proven.
type Withdraw struct {
	Account   uint32
	Token     uint16
	Amount    uint256.Int
	Fee       uint256.Int // in the same token
	To        common.Address
	Nonce     uint32
	Signature Signature
}

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

// MintShares issues Amount new shares to the DAO, up to MaxSupply.
type MintShares struct {
	Account   uint32
	Model     uint16
	Amount    uint64
	Fee       uint256.Int
	Nonce     uint32
	Signature Signature
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

// Order is a signed limit order on a model's market: buy or sell Amount shares
// at Price quote units per share or better.
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

// Trade settles two matched orders: Fill shares at Price (within both limits).
type Trade struct {
	Buy, Sell   Order
	Fill        uint64      // Amount38-packable
	Price       uint256.Int // Amount38-packable
	BuyFeeBips  uint8
	SellFeeBips uint8
}

// CancelOrder closes an order slot for OrderID.
type CancelOrder struct {
	Account   uint32
	Model     uint16
	OrderID   uint32
	Fee       uint256.Int
	Nonce     uint32
	Signature Signature
}

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

// ClaimRevenue pays the signer's accrued revenue of a model (and the treasury
// when the signer is the DAO) into its quote-token balance.
type ClaimRevenue struct {
	Account   uint32
	Model     uint16
	Fee       uint256.Int
	Nonce     uint32
	Signature Signature
}

func (*Noop) Kind() Kind           { return KindNoop }
func (*Deposit) Kind() Kind        { return KindDeposit }
func (*ForcedWithdraw) Kind() Kind { return KindForcedWithdraw }
func (*Transfer) Kind() Kind       { return KindTransfer }
func (*Withdraw) Kind() Kind       { return KindWithdraw }
func (*CreateModel) Kind() Kind    { return KindCreateModel }
func (*MintShares) Kind() Kind     { return KindMintShares }
func (*SetModelParams) Kind() Kind { return KindSetModelParams }
func (*Trade) Kind() Kind          { return KindTrade }
func (*CancelOrder) Kind() Kind    { return KindCancelOrder }
func (*BuyCredits) Kind() Kind     { return KindBuyCredits }
func (*RedeemCredits) Kind() Kind  { return KindRedeemCredits }
func (*ClaimRevenue) Kind() Kind   { return KindClaimRevenue }

func (t *Transfer) Signer() uint32       { return t.From }
func (t *Withdraw) Signer() uint32       { return t.Account }
func (t *CreateModel) Signer() uint32    { return t.Account }
func (t *MintShares) Signer() uint32     { return t.Account }
func (t *SetModelParams) Signer() uint32 { return t.Account }
func (t *CancelOrder) Signer() uint32    { return t.Account }
func (t *BuyCredits) Signer() uint32     { return t.Account }
func (t *RedeemCredits) Signer() uint32  { return t.Account }
func (t *ClaimRevenue) Signer() uint32   { return t.Account }

func (t *Transfer) GetNonce() uint32       { return t.Nonce }
func (t *Withdraw) GetNonce() uint32       { return t.Nonce }
func (t *CreateModel) GetNonce() uint32    { return t.Nonce }
func (t *MintShares) GetNonce() uint32     { return t.Nonce }
func (t *SetModelParams) GetNonce() uint32 { return t.Nonce }
func (t *CancelOrder) GetNonce() uint32    { return t.Nonce }
func (t *BuyCredits) GetNonce() uint32     { return t.Nonce }
func (t *RedeemCredits) GetNonce() uint32  { return t.Nonce }
func (t *ClaimRevenue) GetNonce() uint32   { return t.Nonce }

func (t *Transfer) SetNonce(n uint32)       { t.Nonce = n }
func (t *Withdraw) SetNonce(n uint32)       { t.Nonce = n }
func (t *CreateModel) SetNonce(n uint32)    { t.Nonce = n }
func (t *MintShares) SetNonce(n uint32)     { t.Nonce = n }
func (t *SetModelParams) SetNonce(n uint32) { t.Nonce = n }
func (t *CancelOrder) SetNonce(n uint32)    { t.Nonce = n }
func (t *BuyCredits) SetNonce(n uint32)     { t.Nonce = n }
func (t *RedeemCredits) SetNonce(n uint32)  { t.Nonce = n }
func (t *ClaimRevenue) SetNonce(n uint32)   { t.Nonce = n }

func (t *Transfer) Sig() *Signature       { return &t.Signature }
func (t *Withdraw) Sig() *Signature       { return &t.Signature }
func (t *CreateModel) Sig() *Signature    { return &t.Signature }
func (t *MintShares) Sig() *Signature     { return &t.Signature }
func (t *SetModelParams) Sig() *Signature { return &t.Signature }
func (t *CancelOrder) Sig() *Signature    { return &t.Signature }
func (t *BuyCredits) Sig() *Signature     { return &t.Signature }
func (t *RedeemCredits) Sig() *Signature  { return &t.Signature }
func (t *ClaimRevenue) Sig() *Signature   { return &t.Signature }

// Messages. Each starts with its kind tag; fields follow in the order of
// docs/protocol.md §5, packed by Packer. Amounts are packed at their full bound.

func (t *Transfer) Message(d Domain) fr.Element {
	p := new(Packer).AddU64(uint64(KindTransfer), 8).AddU64(uint64(t.From), AccountBits).AddU64(uint64(t.To), AccountBits).
		AddU64(uint64(t.Asset), AssetBits).AddU64(uint64(t.Nonce), NonceBits).Add(&t.Amount, AmountBits).Add(&t.Fee, AmountBits)
	return MessageHash(d, p)
}

func (t *Withdraw) Message(d Domain) fr.Element {
	p := new(Packer).AddU64(uint64(KindWithdraw), 8).AddU64(uint64(t.Account), AccountBits).AddU64(uint64(t.Token), BaseAssetBits).
		AddU64(uint64(t.Nonce), NonceBits).Add(&t.Amount, AmountBits).Add(&t.Fee, AmountBits).Add(new(uint256.Int).SetBytes(t.To[:]), AddressBits)
	return MessageHash(d, p)
}

func (t *CreateModel) Message(d Domain) fr.Element {
	p := new(Packer).AddU64(uint64(KindCreateModel), 8).AddU64(uint64(t.Account), AccountBits).AddU64(uint64(t.Model), ModelBits).
		AddU64(uint64(t.QuoteToken), BaseAssetBits).AddU64(uint64(t.Nonce), NonceBits).AddU64(uint64(t.HolderBps), BpsBits).
		AddU64(t.Supply, ShareBits).AddU64(t.MaxSupply, ShareBits).Add(&t.CreditPrice, AmountBits).Add(&t.Fee, AmountBits).
		AddElem(t.Weights).AddElem(t.Metadata)
	return MessageHash(d, p)
}

func (t *MintShares) Message(d Domain) fr.Element {
	p := new(Packer).AddU64(uint64(KindMintShares), 8).AddU64(uint64(t.Account), AccountBits).AddU64(uint64(t.Model), ModelBits).
		AddU64(uint64(t.Nonce), NonceBits).AddU64(t.Amount, ShareBits).Add(&t.Fee, AmountBits)
	return MessageHash(d, p)
}

func (t *SetModelParams) Message(d Domain) fr.Element {
	p := new(Packer).AddU64(uint64(KindSetModelParams), 8).AddU64(uint64(t.Account), AccountBits).AddU64(uint64(t.Model), ModelBits).
		AddU64(uint64(t.Nonce), NonceBits).AddU64(uint64(t.HolderBps), BpsBits).Add(&t.CreditPrice, AmountBits).Add(&t.Fee, AmountBits)
	return MessageHash(d, p)
}

func (t *CancelOrder) Message(d Domain) fr.Element {
	p := new(Packer).AddU64(uint64(KindCancelOrder), 8).AddU64(uint64(t.Account), AccountBits).AddU64(uint64(t.Model), ModelBits).
		AddU64(uint64(t.Nonce), NonceBits).AddU64(uint64(t.OrderID), OrderIDBits).Add(&t.Fee, AmountBits)
	return MessageHash(d, p)
}

func (t *BuyCredits) Message(d Domain) fr.Element {
	p := new(Packer).AddU64(uint64(KindBuyCredits), 8).AddU64(uint64(t.Account), AccountBits).AddU64(uint64(t.Model), ModelBits).
		AddU64(uint64(t.Nonce), NonceBits).AddU64(t.Credits, CreditBits).Add(&t.MaxPrice, AmountBits).Add(&t.Fee, AmountBits)
	return MessageHash(d, p)
}

func (t *RedeemCredits) Message(d Domain) fr.Element {
	p := new(Packer).AddU64(uint64(KindRedeemCredits), 8).AddU64(uint64(t.Account), AccountBits).AddU64(uint64(t.Model), ModelBits).
		AddU64(uint64(t.Nonce), NonceBits).AddU64(t.Credits, CreditBits).Add(&t.Fee, AmountBits).AddElem(t.Request)
	return MessageHash(d, p)
}

func (t *ClaimRevenue) Message(d Domain) fr.Element {
	p := new(Packer).AddU64(uint64(KindClaimRevenue), 8).AddU64(uint64(t.Account), AccountBits).AddU64(uint64(t.Model), ModelBits).
		AddU64(uint64(t.Nonce), NonceBits).Add(&t.Fee, AmountBits)
	return MessageHash(d, p)
}

// Message is the element an order's owner signs.
func (o *Order) Message(d Domain) fr.Element {
	p := new(Packer).AddU64(tagOrder, 8).AddU64(uint64(o.Account), AccountBits).AddU64(uint64(o.Model), ModelBits).
		AddU64(uint64(o.Side), 1).AddU64(uint64(o.OrderID), OrderIDBits).AddU64(uint64(o.MaxFeeBips), FeeBipsBits).
		AddU64(uint64(o.ValidUntil), TimeBits).AddU64(o.Amount, ShareBits).Add(&o.Price, AmountBits)
	return MessageHash(d, p)
}

// SignTx signs a transaction in place.
func SignTx(k *PrivateKey, d Domain, tx SignedTx) error {
	sig, err := Sign(k, tx.Message(d))
	if err != nil {
		return err
	}
	*tx.Sig() = sig
	return nil
}

// SignOrder signs an order in place.
func SignOrder(k *PrivateKey, d Domain, o *Order) error {
	sig, err := Sign(k, o.Message(d))
	if err != nil {
		return err
	}
	o.Signature = sig
	return nil
}
