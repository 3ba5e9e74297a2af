package main

import (
	"bytes"
	"crypto/rand"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/holiman/uint256"

	"github.com/modex/modex/node/devchain"
	"github.com/modex/modex/rpc"
	"github.com/modex/modex/types"
)

func TestKeyFileRoundTrip(t *testing.T) {
	dir := t.TempDir()
	l2, err := types.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	l1, err := crypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "k.json")
	k := &walletKey{l1: l1, l2: l2}
	if err := writeKeyFile(path, k, false); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v, want 0600", st.Mode().Perm())
	}
	got, err := loadKey(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.l2.Bytes(), l2.Bytes()) || !bytes.Equal(crypto.FromECDSA(got.l1), crypto.FromECDSA(l1)) {
		t.Fatal("keys differ after the round trip")
	}
	// the signature of the loaded key verifies under the original public key
	msg := types.FromUint64(42)
	sig, err := types.Sign(got.l2, msg)
	if err != nil {
		t.Fatal(err)
	}
	if err := types.VerifySignature(types.PublicKeyOf(l2), msg, sig); err != nil {
		t.Fatal(err)
	}
	// never overwritten without --force
	wantConfigErr(t, writeKeyFile(path, k, false), "out")
	if err := writeKeyFile(path, &walletKey{l2: l2}, true); err != nil {
		t.Fatal(err)
	}
	got, err = loadKey(path)
	if err != nil || got.l1 != nil {
		t.Fatalf("L2-only key: %v l1 %v", err, got.l1 != nil)
	}

	// the devnet's printed keys import directly
	dn := &walletKey{l1: devchain.DevKey(3), l2: devchain.DevL2Key(3)}
	f := dn.file()
	imp, err := importKey(f.L1Key, strings.TrimPrefix(f.L2Key, "0x"), -1)
	if err != nil {
		t.Fatal(err)
	}
	byDev, err := importKey("", "", 3)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(imp.l2.Bytes(), byDev.l2.Bytes()) || !bytes.Equal(crypto.FromECDSA(imp.l1), crypto.FromECDSA(byDev.l1)) {
		t.Fatal("--dev 3 and the printed keys differ")
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
		if _, err := loadKey(p); err == nil {
			t.Errorf("%s: loaded", name)
		} else {
			wantConfigErr(t, err, "key")
		}
	}
	_, err = loadKey("")
	wantConfigErr(t, err, "key")
	_, err = importKey("", "", -1)
	wantConfigErr(t, err, "l2-key")
	_, err = importKey(f.L1Key, "", 2)
	wantConfigErr(t, err, "dev")
}

func TestParseAmount(t *testing.T) {
	ok := map[string]string{"1": "1", "1_000": "1000", "1.5eth": "1500000000000000000", "20gwei": "20000000000",
		"2 ETH": "2000000000000000000", "7wei": "7"}
	for in, want := range ok {
		v, err := parseAmount("amount", in, false)
		if err != nil || v.Dec() != want {
			t.Errorf("parseAmount(%q) = %v, %v; want %s", in, v, err, want)
		}
	}
	for _, in := range []string{"", "0", "-1", "1e18", "abc", "1.5", "0.1wei", "1/2"} {
		_, err := parseAmount("amount", in, false)
		wantConfigErr(t, err, "amount")
	}
	if v, err := parseAmount("fee", "0", true); err != nil || !v.IsZero() {
		t.Errorf("zero fee: %v %v", v, err)
	}
	wantConfigErr(t, packable("amount", uint256.NewInt(123456789012345), types.Amount38), "amount")
	if err := packable("fee", uint256.NewInt(2000), types.Fee16); err != nil {
		t.Error(err)
	}
}

func TestParseAsset(t *testing.T) {
	ok := map[string]types.AssetID{"eth": types.ETH, "": types.ETH, "token:2": types.BaseAsset(2),
		"shares:1": types.ShareAsset(1), "credits:3": types.CreditAsset(3), "Credit:3": types.CreditAsset(3)}
	for in, want := range ok {
		if got, err := parseAsset("asset", in); err != nil || got != want {
			t.Errorf("parseAsset(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"btc", "shares:", "shares:x", "token:70000", "stock:1"} {
		_, err := parseAsset("asset", in)
		wantConfigErr(t, err, "asset")
	}
}

// noNetwork is an API endpoint that fails the test if anything calls it.
func noNetwork(t *testing.T) string {
	t.Helper()
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		http.Error(w, "no", http.StatusTeapot)
	}))
	t.Cleanup(func() {
		srv.Close()
		if n := calls.Load(); n > 0 {
			t.Errorf("the command made %d API calls before validating its arguments", n)
		}
	})
	return srv.URL
}

// Bad arguments are typed errors, found before any network call.
func TestWalletArgumentValidation(t *testing.T) {
	api := noNetwork(t)
	key := filepath.Join(t.TempDir(), "k.json")
	if err := writeKeyFile(key, &walletKey{l1: devchain.DevKey(1), l2: devchain.DevL2Key(1)}, false); err != nil {
		t.Fatal(err)
	}
	l2only := filepath.Join(t.TempDir(), "l2.json")
	if err := writeKeyFile(l2only, &walletKey{l2: devchain.DevL2Key(2)}, false); err != nil {
		t.Fatal(err)
	}
	orderOK := []string{"--rpc", api, "--key", key, "--model", "1", "--side", "buy", "--amount", "10", "--price", "50"}
	with := func(base []string, kv ...string) []string {
		out := append([]string(nil), base...)
		for i := 0; i < len(kv); i += 2 {
			replaced := false
			for j := 0; j < len(out); j += 2 {
				if out[j] == kv[i] {
					out[j+1], replaced = kv[i+1], true
				}
			}
			if !replaced {
				out = append(out, kv[i], kv[i+1])
			}
		}
		return out
	}
	without := func(base []string, name string) []string {
		var out []string
		for i := 0; i < len(base); i += 2 {
			if base[i] != name {
				out = append(out, base[i], base[i+1])
			}
		}
		return out
	}
	transferOK := []string{"--rpc", api, "--key", key, "--to", "2", "--amount", "1000"}
	cases := []struct {
		name  string
		run   func([]string) error
		args  []string
		field string
	}{
		{"bad side", runOrderPlace, with(orderOK, "--side", "sideways"), "side"},
		{"missing side", runOrderPlace, without(orderOK, "--side"), "side"},
		{"missing key", runOrderPlace, without(orderOK, "--key"), "key"},
		{"missing key file", runOrderPlace, with(orderOK, "--key", key+".missing"), "key"},
		{"bad order amount", runOrderPlace, with(orderOK, "--amount", "ten"), "amount"},
		{"zero order amount", runOrderPlace, with(orderOK, "--amount", "0"), "amount"},
		{"unpackable price", runOrderPlace, with(orderOK, "--price", "123456789012345"), "price"},
		{"bad model", runOrderPlace, with(orderOK, "--model", "70000"), "model"},
		{"bad fee bips", runOrderPlace, with(orderOK, "--max-fee-bips", "300"), "max-fee-bips"},
		{"bad validity", runOrderPlace, with(orderOK, "--valid", "-1h"), "valid"},
		{"bad rpc", runOrderPlace, with(orderOK, "--rpc", "127.0.0.1:8645"), "rpc"},
		{"bad wait", runTransfer, append(append([]string(nil), transferOK...), "--wait=later"), "wait"},
		{"bad transfer amount", runTransfer, with(transferOK, "--amount", "-5"), "amount"},
		{"missing transfer amount", runTransfer, without(transferOK, "--amount"), "amount"},
		{"bad asset", runTransfer, with(transferOK, "--asset", "gold"), "asset"},
		{"bad to", runTransfer, with(transferOK, "--to", "alice"), "to"},
		{"unpackable fee", runTransfer, with(transferOK, "--fee", "12345"), "fee"},
		{"missing transfer key", runTransfer, without(transferOK, "--key"), "key"},
		{"cancel without id", runOrderCancel, []string{"--rpc", api, "--key", key, "--model", "1"}, "id"},
		{"deposit without amount", runDeposit, []string{"--rpc", api, "--key", key}, "amount"},
		{"deposit bad token", runDeposit, []string{"--rpc", api, "--key", key, "--amount", "1", "--token", "gold"}, "token"},
		{"deposit without L1 key", runDeposit, []string{"--rpc", api, "--key", l2only, "--amount", "1"}, "key"},
		{"deposit bad l1-rpc", runDeposit, []string{"--rpc", api, "--key", key, "--amount", "1", "--l1-rpc", "nowhere"}, "l1-rpc"},
		{"withdraw without --to", runWithdraw, []string{"--rpc", api, "--key", l2only, "--amount", "1"}, "to"},
		{"withdraw bad --to", runWithdraw, []string{"--rpc", api, "--key", key, "--amount", "1", "--to", "0x12"}, "to"},
		{"create without bps", runModelCreate, []string{"--rpc", api, "--key", key, "--model", "1", "--supply", "10", "--credit-price", "1"}, "holder-bps"},
		{"create bps too high", runModelCreate, []string{"--rpc", api, "--key", key, "--model", "1", "--supply", "10", "--credit-price", "1", "--holder-bps", "10001"}, "holder-bps"},
		{"create cap below supply", runModelCreate, []string{"--rpc", api, "--key", key, "--model", "1", "--supply", "10", "--max-supply", "5", "--credit-price", "1", "--holder-bps", "1"}, "max-supply"},
		{"create bad weights", runModelCreate, []string{"--rpc", api, "--key", key, "--model", "1", "--supply", "10", "--credit-price", "1", "--holder-bps", "1", "--weights", "0xzz"}, "weights"},
		{"redeem without request", runCreditsRedeem, []string{"--rpc", api, "--key", key, "--model", "1", "--credits", "1"}, "request"},
		{"buy zero credits", runCreditsBuy, []string{"--rpc", api, "--key", key, "--model", "1", "--credits", "0"}, "credits"},
		{"tx bad hash", runTx, []string{"--rpc", api, "--hash", "0x1234"}, "hash"},
		{"book bad depth", runBook, []string{"--rpc", api, "--model", "1", "--depth", "0"}, "depth"},
		{"unknown flag", runTransfer, with(transferOK, "--colour", "red"), "colour"},
		{"env twin", runTransfer, transferOK, "fee"}, // MODEX_FEE below
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name == "env twin" {
				t.Setenv("MODEX_FEE", "12345")
			}
			wantConfigErr(t, tc.run(tc.args), tc.field)
		})
	}
	for _, sub := range []func([]string) error{runOrder, runModel, runCredits, runWallet} {
		var ce *ConfigError
		if err := sub([]string{"frobnicate"}); !asConfigErr(err, &ce) {
			t.Errorf("unknown subcommand: %v", err)
		}
	}
}

func asConfigErr(err error, ce **ConfigError) bool {
	c, ok := err.(*ConfigError)
	*ce = c
	return ok
}

func TestWaitFlag(t *testing.T) {
	f := newCmdFlags("x", false)
	var o walletOpts
	o.register(f, true)
	f.lookupEnv = envMap(nil)
	if err := f.parse([]string{"--wait", "proven", "--key", "k"}); err != nil {
		t.Fatal(err)
	}
	if o.wait.status != rpc.TxProven || o.keyPath != "k" {
		t.Fatalf("--wait proven: %v, key %q", o.wait.status, o.keyPath)
	}
	f = newCmdFlags("x", false)
	o = walletOpts{}
	o.register(f, true)
	f.lookupEnv = envMap(nil)
	if err := f.parse([]string{"--wait", "--key", "k"}); err != nil {
		t.Fatal(err)
	}
	if o.wait.status != rpc.TxFinalized || o.keyPath != "k" {
		t.Fatalf("--wait alone: %v", o.wait.status)
	}
}

func TestClaimArgs(t *testing.T) {
	key := filepath.Join(t.TempDir(), "k.json")
	if err := writeKeyFile(key, &walletKey{l1: devchain.DevKey(1), l2: devchain.DevL2Key(1)}, false); err != nil {
		t.Fatal(err)
	}
	br := common.HexToAddress("0x00000000000000000000000000000000000000b1")
	var asked string
	bridgeOf := func(u string) (common.Address, error) { asked = u; return br, nil }
	out, err := claimArgs([]string{"--key", key, "--rpc", "http://node:1", "--token", "0"}, envMap(nil), bridgeOf)
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(out, " ")
	wantKey := strings.TrimPrefix((&walletKey{l1: devchain.DevKey(1), l2: devchain.DevL2Key(1)}).file().L1Key, "")
	for _, want := range []string{"--bridge " + br.Hex(), "--l1-rpc " + DefaultL1RPC, "--key " + wantKey, "--token 0"} {
		if !strings.Contains(got, want) {
			t.Errorf("claim args %q lack %q", got, want)
		}
	}
	if strings.Contains(got, "--rpc") || asked != "http://node:1" {
		t.Errorf("args %q, asked %q", got, asked)
	}
	// explicit values and env twins are kept; the node is not asked
	asked = ""
	out, err = claimArgs([]string{"--key=abcd", "--bridge", "0x01"}, envMap(map[string]string{"MODEX_L1_RPC": "http://l1"}), bridgeOf)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(out, " "); got != "--key abcd --bridge 0x01" || asked != "" {
		t.Errorf("args %q, asked %q", got, asked)
	}
}
