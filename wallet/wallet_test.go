package wallet

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/crypto"
	"github.com/holiman/uint256"

	"github.com/modex/modex/types"
)

func wantArgErr(t *testing.T, err error, field string) {
	t.Helper()
	var ae *ArgError
	if !errors.As(err, &ae) || ae.Field != field || !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("want an ArgError for --%s, got %T %v", field, err, err)
	}
}

func TestKeyFileRoundTrip(t *testing.T) {
	dir := t.TempDir()
	k, err := NewKey(true)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "k.json")
	if err := WriteKeyFile(path, k, false); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v, want 0600", st.Mode().Perm())
	}
	got, err := LoadKey(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.L2.Bytes(), k.L2.Bytes()) || !bytes.Equal(crypto.FromECDSA(got.L1), crypto.FromECDSA(k.L1)) {
		t.Fatal("keys differ after the round trip")
	}
	// the loaded key's signature verifies under the original public key
	msg := types.FromUint64(42)
	sig, err := types.Sign(got.L2, msg)
	if err != nil {
		t.Fatal(err)
	}
	if err := types.VerifySignature(k.PubKey(), msg, sig); err != nil {
		t.Fatal(err)
	}
	// never overwritten without force
	wantArgErr(t, WriteKeyFile(path, k, false), "out")
	if err := WriteKeyFile(path, &Key{L2: k.L2}, true); err != nil {
		t.Fatal(err)
	}
	if got, err = LoadKey(path); err != nil || got.L1 != nil {
		t.Fatalf("L2-only key: %v l1 %v", err, got.L1 != nil)
	}
	// hex keys import as written
	f := k.File()
	imp, err := ImportKey(f.L1Key, strings.TrimPrefix(f.L2Key, "0x"))
	if err != nil || !bytes.Equal(imp.L2.Bytes(), k.L2.Bytes()) {
		t.Fatalf("import: %v", err)
	}
	if a, _ := imp.Address(); a != crypto.PubkeyToAddress(k.L1.PublicKey) {
		t.Fatal("import: L1 address differs")
	}

	bad := map[string]string{
		"json":         `{"l2Key": `,
		"unknown":      `{"l2Key": "` + f.L2Key + `", "extra": 1}`,
		"no l2":        `{"l1Key": "` + f.L1Key + `"}`,
		"short l2":     `{"l2Key": "0x1234"}`,
		"bad l1":       `{"l1Key": "0xzz", "l2Key": "` + f.L2Key + `"}`,
		"corrupted l2": `{"l2Key": "` + f.L2Key[:len(f.L2Key)-70] + strings.Repeat("0", 70) + `"}`,
	}
	for name, body := range bad {
		p := filepath.Join(dir, strings.ReplaceAll(name, " ", "_")+".json")
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := LoadKey(p)
		wantArgErr(t, err, "key")
	}
	_, err = LoadKey("")
	wantArgErr(t, err, "key")
	_, err = ImportKey("", "")
	wantArgErr(t, err, "l2-key")
}

func TestParseAmount(t *testing.T) {
	ok := map[string]string{"1": "1", "1_000": "1000", "1.5eth": "1500000000000000000", "20gwei": "20000000000",
		"2 ETH": "2000000000000000000", "7wei": "7"}
	for in, want := range ok {
		v, err := ParseAmount("amount", in, false)
		if err != nil || v.Dec() != want {
			t.Errorf("ParseAmount(%q) = %v, %v; want %s", in, v, err, want)
		}
	}
	for _, in := range []string{"", "0", "-1", "1e18", "abc", "1.5", "0.1wei", "1/2"} {
		_, err := ParseAmount("amount", in, false)
		wantArgErr(t, err, "amount")
	}
	if v, err := ParseAmount("fee", "0", true); err != nil || !v.IsZero() {
		t.Errorf("zero fee: %v %v", v, err)
	}
	wantArgErr(t, Packable("amount", uint256.NewInt(123456789012345), types.Amount38), "amount")
	if err := Packable("fee", uint256.NewInt(2000), types.Fee16); err != nil {
		t.Error(err)
	}
}

func TestParseAsset(t *testing.T) {
	ok := map[string]types.AssetID{"eth": types.ETH, "": types.ETH, "token:2": types.BaseAsset(2),
		"shares:1": types.ShareAsset(1), "credits:3": types.CreditAsset(3), "Credit:3": types.CreditAsset(3)}
	for in, want := range ok {
		if got, err := ParseAsset("asset", in); err != nil || got != want {
			t.Errorf("ParseAsset(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"btc", "shares:", "shares:x", "token:70000", "stock:1"} {
		_, err := ParseAsset("asset", in)
		wantArgErr(t, err, "asset")
	}
}

// Amounts read as what they are.
func TestFormat(t *testing.T) {
	for _, tc := range []struct {
		v    uint64
		a    types.AssetID
		want string
	}{
		{1000, types.ETH, "1000 wei (0.000000000000001 ETH)"},
		{1_500_000_000_000_000_000, types.ETH, "1500000000000000000 wei (1.5 ETH)"},
		{2_000_000_000_000_000_000, types.ETH, "2 ETH (2000000000000000000 wei)"},
		{0, types.ETH, "0 wei"},
		{1, types.ShareAsset(1), "1 share of model 1"},
		{300, types.ShareAsset(1), "300 shares of model 1"},
		{1, types.CreditAsset(2), "1 credit of model 2"},
		{7, types.BaseAsset(3), "7 base units of token 3"},
	} {
		if got := FormatAsset(uint256.NewInt(tc.v), tc.a); got != tc.want {
			t.Errorf("FormatAsset(%d, %v) = %q, want %q", tc.v, tc.a, got, tc.want)
		}
	}
}

func TestParseDeposit(t *testing.T) {
	d, err := ParseDeposit("1eth", "ETH")
	if err != nil || d.Token != "" || d.Amount.Dec() != "1000000000000000000" {
		t.Fatalf("1eth: %+v %v", d, err)
	}
	if d, err = ParseDeposit("5", "2"); err != nil || d.Token != "2" {
		t.Fatalf("token 2: %+v %v", d, err)
	}
	if d, err = ParseDeposit("5", "0x"+strings.Repeat("ab", 20)); err != nil || d.Token == "" {
		t.Fatalf("token address: %+v %v", d, err)
	}
	_, err = ParseDeposit("5", "gold")
	wantArgErr(t, err, "token")
	_, err = ParseDeposit("0", "eth")
	wantArgErr(t, err, "amount")
	_, err = ParseDeposit("1"+strings.Repeat("0", 40), "eth")
	wantArgErr(t, err, "amount")
}
