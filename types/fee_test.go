package types

import (
	"testing"

	"github.com/holiman/uint256"
)

// TestFeePaid: every signed kind names its fee token, and the token is the
// field FeeField names (docs/protocol.md §7).
func TestFeePaid(t *testing.T) {
	fee := *uint256.NewInt(700)
	share := ShareAsset(9)
	cases := []struct {
		tx    SignedTx
		field string
		want  FeeToken
	}{
		{&Transfer{Asset: BaseAsset(3), Fee: fee}, "asset", FeeToken{ID: 3}},
		{&Transfer{Asset: share, Fee: fee}, "asset", FeeToken{OfModel: true, ID: 9}},
		{&Withdraw{Token: 4, Fee: fee}, "token", FeeToken{ID: 4}},
		{&CreateModel{QuoteToken: 5, Model: 8, Fee: fee}, "quoteToken", FeeToken{ID: 5}},
		{&MintShares{Model: 6, Fee: fee}, "model", FeeToken{OfModel: true, ID: 6}},
		{&SetModelParams{Model: 6, Fee: fee}, "model", FeeToken{OfModel: true, ID: 6}},
		{&CancelOrder{Model: 7, Fee: fee}, "model", FeeToken{OfModel: true, ID: 7}},
		{&BuyCredits{Model: 7, Fee: fee}, "model", FeeToken{OfModel: true, ID: 7}},
		{&RedeemCredits{Model: 7, Fee: fee}, "model", FeeToken{OfModel: true, ID: 7}},
		{&ClaimRevenue{Model: 7, Fee: fee}, "model", FeeToken{OfModel: true, ID: 7}},
	}
	seen := map[Kind]bool{}
	for _, c := range cases {
		seen[c.tx.Kind()] = true
		f, tok := c.tx.FeePaid()
		if !f.Eq(&fee) || tok != c.want || c.tx.FeeField() != c.field {
			t.Errorf("%v: fee %s token %+v field %q, want %+v %q", c.tx.Kind(), f.Dec(), tok, c.tx.FeeField(), c.want, c.field)
		}
		c.tx.SetSigner(42)
		if c.tx.Signer() != 42 {
			t.Errorf("%v: SetSigner(42) gives signer %d", c.tx.Kind(), c.tx.Signer())
		}
	}
	for _, k := range AllKinds() {
		zero, err := NewTx(k)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := zero.(SignedTx); ok && !seen[k] {
			t.Errorf("signed kind %v has no fee case", k)
		}
	}
}
