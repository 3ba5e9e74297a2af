package types

import "fmt"

// AssetID names an asset held in an account: a 2-bit kind and a 16-bit index.
// Base tokens bridged from L1 are kind 0 (ETH is asset 0); each model m has a
// share token (kind 1, index m) and a credit token (kind 2, index m).
type AssetID uint32

// AssetKind is the high part of an AssetID.
type AssetKind uint8

const (
	AssetBase   AssetKind = 0
	AssetShare  AssetKind = 1
	AssetCredit AssetKind = 2
)

// ETH is base token 0.
const ETH AssetID = 0

// BaseAsset, ShareAsset and CreditAsset build asset ids.
func BaseAsset(token uint16) AssetID   { return AssetID(token) }
func ShareAsset(model uint16) AssetID  { return AssetID(uint32(AssetShare)<<16 | uint32(model)) }
func CreditAsset(model uint16) AssetID { return AssetID(uint32(AssetCredit)<<16 | uint32(model)) }

// Kind returns the asset's kind.
func (a AssetID) Kind() AssetKind { return AssetKind(a >> 16) }

// Index returns the base-token id or the model id.
func (a AssetID) Index() uint16 { return uint16(a) }

// Check validates the asset id against the tree depths.
func (a AssetID) Check(p Params) error {
	if a>>AssetBits != 0 {
		return fmt.Errorf("%w: asset id %#x wider than %d bits", ErrAssetRange, uint32(a), AssetBits)
	}
	switch a.Kind() {
	case AssetBase:
		if uint64(a.Index()) >= 1<<uint64(p.BalanceDepth) { // uint64: at depth 16 a uint16 shift is 0
			return fmt.Errorf("%w: base token %d >= 2^%d", ErrAssetRange, a.Index(), p.BalanceDepth)
		}
	case AssetShare, AssetCredit:
		if uint64(a.Index()) >= 1<<uint64(p.ModelDepth) {
			return fmt.Errorf("%w: model %d >= 2^%d", ErrAssetRange, a.Index(), p.ModelDepth)
		}
	default:
		return fmt.Errorf("%w: kind %d", ErrAssetRange, a.Kind())
	}
	return nil
}

func (a AssetID) String() string {
	switch a.Kind() {
	case AssetBase:
		return fmt.Sprintf("base:%d", a.Index())
	case AssetShare:
		return fmt.Sprintf("share:%d", a.Index())
	case AssetCredit:
		return fmt.Sprintf("credit:%d", a.Index())
	}
	return fmt.Sprintf("asset:%#x", uint32(a))
}
