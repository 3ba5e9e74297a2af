package wallet

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/modex/modex/types"
)

func TestParseSignerKey(t *testing.T) {
	dir := t.TempDir()
	withL1, err := NewKey(true)
	if err != nil {
		t.Fatal(err)
	}
	l2only, err := NewKey(false)
	if err != nil {
		t.Fatal(err)
	}
	full, bare := filepath.Join(dir, "full.json"), filepath.Join(dir, "l2.json")
	if err := WriteKeyFile(full, withL1, false); err != nil {
		t.Fatal(err)
	}
	if err := WriteKeyFile(bare, l2only, false); err != nil {
		t.Fatal(err)
	}
	hexKey := strings.Repeat("11", 32)
	want, _ := crypto.HexToECDSA(hexKey)

	k, err := ParseSignerKey(full)
	if err != nil || !k.Equal(withL1.L1) {
		t.Fatalf("key file: %v", err)
	}
	for _, s := range []string{hexKey, "0x" + hexKey} {
		if k, err := ParseSignerKey(s); err != nil || !k.Equal(want) {
			t.Fatalf("hex %q: %v", s, err)
		}
	}
	for _, s := range []string{"", bare, "nothex", dir} {
		_, err := ParseSignerKey(s)
		wantArgErr(t, err, "key")
		if s == "nothex" && strings.Contains(err.Error(), s) {
			t.Errorf("the error repeats the secret: %v", err)
		}
	}
}

func TestParseAddress(t *testing.T) {
	a := "0x" + strings.Repeat("ab", 20)
	if got, err := ParseAddress("owner", a); err != nil || got != common.HexToAddress(a) {
		t.Fatalf("%v %v", got, err)
	}
	for _, s := range []string{"", "bob", "0x1234"} {
		_, err := ParseAddress("owner", s)
		wantArgErr(t, err, "owner")
	}
}

func TestExitRequestCheck(t *testing.T) {
	ok := ExitRequest{Params: types.TestParams(), Account: 5, Token: 0}
	if err := ok.Check(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		r     ExitRequest
		field string
	}{
		{ExitRequest{Account: 1 << types.AccountBits}, "account"},
		{ExitRequest{Token: 1 << 16}, "token"},
	} {
		wantArgErr(t, tc.r.Check(), tc.field)
	}
	if _, err := TokenID(65535); err != nil {
		t.Error(err)
	}
}

func TestL1Errors(t *testing.T) {
	err := error(&NothingToClaimError{Owner: common.HexToAddress("0x01"), Token: 3})
	if !errors.Is(err, ErrNothingToClaim) || !strings.Contains(err.Error(), "token 3") {
		t.Errorf("%v", err)
	}
	var nc *NothingToClaimError
	if !errors.As(err, &nc) || nc.Token != 3 {
		t.Errorf("errors.As: %v", err)
	}
}
