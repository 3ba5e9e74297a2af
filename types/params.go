package types

import (
	"fmt"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/holiman/uint256"
)

// Bit widths fixed by the protocol (docs/protocol.md §2). Tree depths are
// parameters, never wider than these, so encodings do not change with them.
const (
	AccountBits    = 24  // account ids
	BaseAssetBits  = 16  // base-token ids
	ModelBits      = 16  // model ids
	AssetBits      = 18  // asset ids: 2-bit kind ‖ 16-bit index
	OrderIDBits    = 24  // order ids
	NonceBits      = 32  // account nonces
	AmountBits     = 96  // base-token amounts and balances, credit prices, treasuries
	ShareBits      = 64  // share amounts and supplies
	CreditBits     = 64  // credit amounts
	AccBits        = 160 // per-model revenue-per-share accumulator
	PendingBits    = 224 // per-holder unclaimed revenue, magnified by RevenueScale
	BpsBits        = 14  // basis points, at most 10,000
	FeeBipsBits    = 8   // trade fee in basis points, at most 255
	TimeBits       = 32  // order expiry, unix seconds
	AddressBits    = 160
	BpsDenominator = 10_000
)

// RevenueScale magnifies the per-share revenue accumulator. It is decimal so
// that decimal share supplies (1,000, 10^6, 10^18 …) divide it and pro-rata
// payouts come out exact; otherwise the remainder is kept, never lost.
const RevenueScale uint64 = 1_000_000_000_000_000_000

// Params are the tree depths and batch limits. Production values come from
// DefaultParams; tests use small ones. Depths never exceed the id widths above.
type Params struct {
	AccountDepth  int // accounts: 2^AccountDepth
	BalanceDepth  int // base tokens per account: 2^BalanceDepth
	ModelDepth    int // models, and model positions per account: 2^ModelDepth
	OrderDepth    int // order slots per account per model: 2^OrderDepth
	MaxFeeAssets  int // distinct fee assets one batch may collect
	BatchCapacity int // transactions per batch (Noop-padded)
}

// DefaultParams returns the production parameters.
func DefaultParams() Params {
	return Params{AccountDepth: 24, BalanceDepth: 16, ModelDepth: 16, OrderDepth: 6, MaxFeeAssets: 4, BatchCapacity: 64}
}

// TestParams returns small parameters for tests and the demo.
func TestParams() Params {
	return Params{AccountDepth: 6, BalanceDepth: 3, ModelDepth: 3, OrderDepth: 2, MaxFeeAssets: 2, BatchCapacity: 16}
}

// Check validates the parameters.
func (p Params) Check() error {
	switch {
	case p.AccountDepth < 2 || p.AccountDepth > AccountBits:
		return fmt.Errorf("params: account depth %d outside [2, %d]", p.AccountDepth, AccountBits)
	case p.BalanceDepth < 1 || p.BalanceDepth > BaseAssetBits:
		return fmt.Errorf("params: balance depth %d outside [1, %d]", p.BalanceDepth, BaseAssetBits)
	case p.ModelDepth < 1 || p.ModelDepth > ModelBits:
		return fmt.Errorf("params: model depth %d outside [1, %d]", p.ModelDepth, ModelBits)
	case p.OrderDepth < 1 || p.OrderDepth > 16:
		return fmt.Errorf("params: order depth %d outside [1, 16]", p.OrderDepth)
	case p.MaxFeeAssets < 1:
		return fmt.Errorf("params: max fee assets %d < 1", p.MaxFeeAssets)
	case p.BatchCapacity < 1:
		return fmt.Errorf("params: batch capacity %d < 1", p.BatchCapacity)
	}
	return nil
}

// FeeAccount is the operator's fee account, created at genesis.
const FeeAccount uint32 = 0

// Bound returns 2^bits.
func Bound(bits uint) *uint256.Int {
	return new(uint256.Int).Lsh(uint256.NewInt(1), bits)
}

// Fits reports whether x < 2^bits.
func Fits(x *uint256.Int, bits uint) bool { return x.BitLen() <= int(bits) }

// Elem converts x (< r) to a field element.
func Elem(x *uint256.Int) fr.Element {
	var e fr.Element
	b := x.Bytes32()
	e.SetBytes(b[:])
	return e
}

// ElemFromBytes decodes a canonical 32-byte big-endian field element.
func ElemFromBytes(b []byte) (fr.Element, error) {
	var e fr.Element
	if err := e.SetBytesCanonical(b); err != nil {
		return e, fmt.Errorf("%w: %v", ErrFieldElement, err)
	}
	return e, nil
}
