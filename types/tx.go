package types

import (
	"fmt"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
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

// Tx is any transaction. Each kind keeps its fields, width checks, message
// and encodings in one file, types/kind_<name>.go; the unexported methods
// make the set of kinds closed.
type Tx interface {
	Kind() Kind
	// CheckWidths reports a field wider than its bits (docs/protocol.md §2)
	// with a typed error; it needs no parameters or state, and runs before
	// anything else looks at the transaction (a message hash, a signature).
	CheckWidths() error
	family() Family
	wire(c fieldCodec)    // the full-width wire encoding, after the kind byte
	pubdata(c fieldCodec) // the pubdata encoding (§6), after the kind byte
}

// SignedTx is a transaction an L2 account signs.
type SignedTx interface {
	Tx
	Signer() uint32
	GetNonce() uint32
	SetNonce(n uint32)
	// Message is the element the signer signs under the domain; it fails
	// (CheckWidths' error) for a field wider than its bits.
	Message(d Domain) (fr.Element, error)
	Sig() *Signature
	SetSigner(id uint32)
	// FeePaid is the fee and the token that pays it (docs/protocol.md §7).
	FeePaid() (uint256.Int, FeeToken)
	// FeeField names the field that selects the fee token (the API's
	// fee_quote): asset, token, quoteToken or model.
	FeeField() string
}

// FeeToken is the token that pays a signed transaction's fee, known without
// reading state: a base token, or the quote token of a model (equal models
// have equal quote tokens).
type FeeToken struct {
	OfModel bool   // ID is a model whose quote token pays
	ID      uint16 // the base token, or the model
}

// PriorityOp is an operation of the L1 priority queue (Deposit,
// ForcedWithdraw): consumed in queue order, never rejected for its content.
type PriorityOp interface {
	Tx
	Priority() uint64
}

// checkBits reports v wider than bits as err, naming the field.
func checkBits(v uint64, bits uint, err error, what string) error {
	if bits < 64 && v>>bits != 0 {
		return fmt.Errorf("%w: %s %d wider than %d bits", err, what, v, bits)
	}
	return nil
}

// checkAmountBits reports v wider than bits as ErrAmountTooLarge.
func checkAmountBits(v *uint256.Int, bits uint, what string) error {
	if !Fits(v, bits) {
		return fmt.Errorf("%w: %s %s wider than %d bits", ErrAmountTooLarge, what, v.Dec(), bits)
	}
	return nil
}

// firstErr returns the first non-nil error.
func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

// Side of an order.
type Side uint8

const (
	Buy  Side = 0
	Sell Side = 1
)

// Noop pads a batch.
type Noop struct{}

func (*Noop) Kind() Kind           { return KindNoop }
func (*Noop) CheckWidths() error   { return nil }
func (*Noop) family() Family       { return FamilyNone }
func (*Noop) wire(c fieldCodec)    {}
func (*Noop) pubdata(c fieldCodec) {}

// SignTx signs a transaction in place.
func SignTx(k *PrivateKey, d Domain, tx SignedTx) error {
	msg, err := tx.Message(d)
	if err != nil {
		return err
	}
	sig, err := Sign(k, msg)
	if err != nil {
		return err
	}
	*tx.Sig() = sig
	return nil
}

// SignOrder signs an order in place.
func SignOrder(k *PrivateKey, d Domain, o *Order) error {
	msg, err := o.Message(d)
	if err != nil {
		return err
	}
	sig, err := Sign(k, msg)
	if err != nil {
		return err
	}
	o.Signature = sig
	return nil
}
