package wallet

import (
	"math/big"
	"strconv"
	"strings"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/ethereum/go-ethereum/common"
	"github.com/holiman/uint256"

	"github.com/modex/modex/types"
)

// ParseAmount parses an amount: an integer in base units, or a decimal
// with a unit suffix (1.5eth, 20gwei). Zero only with allowZero.
func ParseAmount(field, s string, allowZero bool) (*uint256.Int, error) {
	s = strings.TrimSpace(strings.ReplaceAll(s, "_", ""))
	if s == "" {
		return nil, ArgErr(field, "", "required")
	}
	lower := strings.ToLower(s)
	exp := 0
	for _, u := range []struct {
		suffix string
		exp    int
	}{{"gwei", 9}, {"ether", 18}, {"eth", 18}, {"wei", 0}} {
		if strings.HasSuffix(lower, u.suffix) {
			lower, exp = strings.TrimSpace(strings.TrimSuffix(lower, u.suffix)), u.exp
			break
		}
	}
	r, ok := new(big.Rat).SetString(lower)
	if !ok || strings.ContainsAny(lower, "/e") {
		return nil, ArgErr(field, s, "not an amount (an integer, or a decimal with a unit: 1.5eth, 20gwei)")
	}
	r.Mul(r, new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(exp)), nil)))
	if !r.IsInt() {
		return nil, ArgErr(field, s, "not a whole number of base units")
	}
	v, overflow := uint256.FromBig(r.Num())
	if r.Sign() < 0 || overflow {
		return nil, ArgErr(field, s, "out of range")
	}
	if v.IsZero() && !allowZero {
		return nil, ArgErr(field, s, "must be positive")
	}
	return v, nil
}

// Packable checks an amount a transaction carries in a packed float.
func Packable(field string, v *uint256.Int, f types.FloatFormat) error {
	if !f.Packable(v) {
		return ArgErr(field, v.Dec(), "not exactly representable on L2 (%d-bit mantissa); the nearest below is %s", f.MantissaBits, f.RoundDown(v).Dec())
	}
	return nil
}

// ParseUint parses an unsigned integer of bits bits (1_000 allowed).
func ParseUint(field, s string, bits int, allowZero bool) (uint64, error) {
	if s == "" {
		return 0, ArgErr(field, "", "required")
	}
	v, err := strconv.ParseUint(strings.ReplaceAll(s, "_", ""), 10, bits)
	if err != nil {
		return 0, ArgErr(field, s, "not an integer in 0..2^%d-1", bits)
	}
	if v == 0 && !allowZero {
		return 0, ArgErr(field, s, "must be positive")
	}
	return v, nil
}

// ParseModel parses a model id (--model).
func ParseModel(s string) (uint16, error) {
	v, err := ParseUint("model", s, types.ModelBits, true)
	return uint16(v), err
}

// ParseBps parses basis points (0..10,000).
func ParseBps(field, s string) (uint16, error) {
	v, err := ParseUint(field, s, 16, true)
	if err != nil {
		return 0, err
	}
	if v > 10_000 {
		return 0, ArgErr(field, s, "basis points above 10,000")
	}
	return uint16(v), nil
}

// ParseAsset parses eth, token:N, shares:M or credits:M.
func ParseAsset(field, s string) (types.AssetID, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" || s == "eth" {
		return types.ETH, nil
	}
	kind, idx, ok := strings.Cut(s, ":")
	if ok {
		n, err := strconv.ParseUint(idx, 10, 16)
		if err == nil {
			switch kind {
			case "token", "base":
				return types.BaseAsset(uint16(n)), nil
			case "shares", "share":
				return types.ShareAsset(uint16(n)), nil
			case "credits", "credit":
				return types.CreditAsset(uint16(n)), nil
			}
		}
	}
	return 0, ArgErr(field, s, "want eth, token:N, shares:MODEL or credits:MODEL")
}

// ParseElem parses a field element: 0x-hex or decimal ("" is zero).
func ParseElem(field, s string) (fr.Element, error) {
	var e fr.Element
	if s == "" {
		return e, nil
	}
	base := 10
	if strings.HasPrefix(strings.ToLower(s), "0x") {
		base = 16
	}
	b, ok := new(big.Int).SetString(trim0x(s), base)
	if !ok || b.Sign() < 0 || b.Cmp(fr.Modulus()) >= 0 {
		return e, ArgErr(field, s, "not a field element (0x-hex or decimal below the BN254 scalar modulus)")
	}
	e.SetBigInt(b)
	return e, nil
}

// ElemHex is a field element as 0x-hex.
func ElemHex(e fr.Element) string { return "0x" + e.Text(16) }

// ParseHash parses a 32-byte hex hash.
func ParseHash(field, s string) (common.Hash, error) {
	if s == "" {
		return common.Hash{}, ArgErr(field, "", "required")
	}
	b := trim0x(s)
	if len(b) != 64 || strings.Trim(strings.ToLower(b), "0123456789abcdef") != "" {
		return common.Hash{}, ArgErr(field, s, "want 32 bytes of hex")
	}
	return common.HexToHash(s), nil
}

// Plural is "1 share", "2 shares".
func Plural(n uint64, one string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.FormatUint(n, 10) + " " + one + "s"
}

// FormatETH is an amount of wei for people: "1000 wei (0.000000000000001
// ETH)"; whole ETH amounts read "2 ETH (2000000000000000000 wei)".
func FormatETH(v *uint256.Int) string {
	eth := decimal(v, 18)
	if v.IsZero() {
		return "0 wei"
	}
	if !strings.Contains(eth, ".") {
		return eth + " ETH (" + v.Dec() + " wei)"
	}
	return v.Dec() + " wei (" + eth + " ETH)"
}

// decimal is v / 10^exp in decimal, without trailing zeros.
func decimal(v *uint256.Int, exp int) string {
	s := v.Dec()
	if len(s) <= exp {
		s = strings.Repeat("0", exp-len(s)+1) + s
	}
	whole, frac := s[:len(s)-exp], strings.TrimRight(s[len(s)-exp:], "0")
	if frac == "" {
		return whole
	}
	return whole + "." + frac
}

// FormatAsset is an amount of an asset for people: ETH as FormatETH, a
// token in its base units, shares and credits counted ("3 shares of model
// 1").
func FormatAsset(v *uint256.Int, a types.AssetID) string {
	switch a.Kind() {
	case types.AssetBase:
		if a.Index() == 0 {
			return FormatETH(v)
		}
		return v.Dec() + " base units of token " + strconv.Itoa(int(a.Index()))
	case types.AssetShare:
		return Plural(v.Uint64(), "share") + " of model " + strconv.Itoa(int(a.Index()))
	case types.AssetCredit:
		return Plural(v.Uint64(), "credit") + " of model " + strconv.Itoa(int(a.Index()))
	}
	return v.Dec() + " of " + a.String()
}

// FormatToken is an amount of a base token (0 = ETH).
func FormatToken(v *uint256.Int, token uint16) string {
	return FormatAsset(v, types.BaseAsset(token))
}
