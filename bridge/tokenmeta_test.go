package bridge

import (
	"strings"
	"testing"
)

// TestDecodeSymbol: symbol() as a string (the standard) or bytes32 (early
// tokens); text a token controls is bounded and printable.
func TestDecodeSymbol(t *testing.T) {
	str := func(s string) []byte {
		b, err := erc20Meta.Methods["symbol"].Outputs.Pack(s)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	b32 := func(s string) []byte {
		b := make([]byte, 32)
		copy(b, s)
		return b
	}
	for _, c := range []struct {
		name string
		out  []byte
		want string
	}{
		{"string", str("USDC"), "USDC"},
		{"bytes32", b32("MKR"), "MKR"},
		{"empty answer (no symbol())", nil, ""},
		{"garbage", []byte{1, 2, 3}, ""},
		{"control characters", str("US\nDC"), ""},
		{"invalid UTF-8", str("\xff\xfe"), ""},
		{"too long, cut on a rune", str(strings.Repeat("é", 40)), strings.Repeat("é", 16)},
	} {
		if got := decodeSymbol(c.out); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
}
