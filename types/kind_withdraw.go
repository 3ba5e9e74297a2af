package types

import (
	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/ethereum/go-ethereum/common"
	"github.com/holiman/uint256"
)

// Withdraw burns a base token on L2; the bridge pays To after the batch is
// proven (docs/protocol.md §5.3).
type Withdraw struct {
	Account   uint32
	Token     uint16
	Amount    uint256.Int
	Fee       uint256.Int // in the same token
	To        common.Address
	Nonce     uint32
	Signature Signature
}

func (*Withdraw) Kind() Kind                         { return KindWithdraw }
func (*Withdraw) family() Family                     { return FamilyWithdraw }
func (t *Withdraw) Signer() uint32                   { return t.Account }
func (t *Withdraw) SetSigner(id uint32)              { t.Account = id }
func (t *Withdraw) FeePaid() (uint256.Int, FeeToken) { return t.Fee, FeeToken{ID: t.Token} }
func (*Withdraw) FeeField() string                   { return "token" }
func (t *Withdraw) GetNonce() uint32                 { return t.Nonce }
func (t *Withdraw) SetNonce(n uint32)                { t.Nonce = n }
func (t *Withdraw) Sig() *Signature                  { return &t.Signature }

// CheckWidths checks every signed field against its message width.
func (t *Withdraw) CheckWidths() error {
	return firstErr(
		checkBits(uint64(t.Account), AccountBits, ErrAccountRange, "account"),
		checkAmountBits(&t.Amount, AmountBits, "amount"),
		checkAmountBits(&t.Fee, AmountBits, "fee"))
}

func (t *Withdraw) Message(d Domain) (fr.Element, error) {
	if err := t.CheckWidths(); err != nil {
		return fr.Element{}, err
	}
	p := new(Packer).AddU64(uint64(KindWithdraw), 8).AddU64(uint64(t.Account), AccountBits).AddU64(uint64(t.Token), BaseAssetBits).
		AddU64(uint64(t.Nonce), NonceBits).Add(&t.Amount, AmountBits).Add(&t.Fee, AmountBits).Add(new(uint256.Int).SetBytes(t.To[:]), AddressBits)
	return MessageHash(d, p)
}

func (t *Withdraw) wire(c fieldCodec) {
	c.U32(&t.Account, AccountBits)
	c.U16(&t.Token, BaseAssetBits)
	c.U256(&t.Amount, AmountBits)
	c.U256(&t.Fee, AmountBits)
	c.Addr(&t.To)
	c.U32(&t.Nonce, NonceBits)
	c.Sig(&t.Signature)
}

func (t *Withdraw) pubdata(c fieldCodec) {
	c.U32(&t.Account, AccountBits)
	c.U16(&t.Token, BaseAssetBits)
	c.U256(&t.Amount, AmountBits)
	c.Float(&t.Fee, Fee16)
	c.Addr(&t.To)
}

// ForcedWithdraw comes from the L1 priority queue (§5.4): it withdraws the
// whole balance of a base token if Requester is the account's L1 address,
// else 0.
type ForcedWithdraw struct {
	PriorityID uint64
	Requester  common.Address
	Account    uint32
	Token      uint16
	// filled in by apply
	Amount uint256.Int
}

func (*ForcedWithdraw) Kind() Kind         { return KindForcedWithdraw }
func (*ForcedWithdraw) family() Family     { return FamilyPriority }
func (t *ForcedWithdraw) Priority() uint64 { return t.PriorityID }

// CheckWidths: the bridge's entry point takes a uint24 account id (Amount
// is apply's output, not an input).
func (t *ForcedWithdraw) CheckWidths() error {
	return checkBits(uint64(t.Account), AccountBits, ErrAccountRange, "account")
}

func (t *ForcedWithdraw) wire(c fieldCodec) {
	c.U64(&t.PriorityID, 64)
	c.Addr(&t.Requester)
	c.U32(&t.Account, 32)
	c.U16(&t.Token, BaseAssetBits)
}

func (t *ForcedWithdraw) pubdata(c fieldCodec) {
	c.U32(&t.Account, AccountBits)
	c.U16(&t.Token, BaseAssetBits)
	c.Addr(&t.Requester)
	c.U256(&t.Amount, AmountBits)
}
