package types

import (
	"errors"
	"testing"
)

// TestAssetCheckAtProductionDepths guards the range checks at depth 16, where
// a shift evaluated in uint16 would wrap to 0 and refuse every asset.
func TestAssetCheckAtProductionDepths(t *testing.T) {
	p := DefaultParams()
	for _, tc := range []struct {
		a  AssetID
		ok bool
	}{
		{ETH, true}, {BaseAsset(65535), true}, {ShareAsset(0), true}, {ShareAsset(65535), true},
		{CreditAsset(7), true}, {AssetID(3 << 16), false},
	} {
		if err := tc.a.Check(p); (err == nil) != tc.ok {
			t.Errorf("%v: err = %v, want ok=%v", tc.a, err, tc.ok)
		}
	}
	small := TestParams() // BalanceDepth 3, ModelDepth 3
	for _, a := range []AssetID{BaseAsset(8), ShareAsset(8), CreditAsset(100)} {
		if err := a.Check(small); !errors.Is(err, ErrAssetRange) {
			t.Errorf("%v at depth 3: err = %v, want ErrAssetRange", a, err)
		}
	}
	if err := BaseAsset(7).Check(small); err != nil {
		t.Errorf("base 7 at depth 3: %v", err)
	}
}
