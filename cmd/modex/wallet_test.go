package main

import (
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/holiman/uint256"
	"github.com/urfave/cli/v3"

	"github.com/modex/modex/node/devchain"
	"github.com/modex/modex/rpc"
	"github.com/modex/modex/types"
	"github.com/modex/modex/wallet"
)

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
			t.Errorf("the command made %d API calls before checking its arguments", n)
		}
	})
	return srv.URL
}

func devKeyFile(t *testing.T, i int, l1 bool) string {
	t.Helper()
	k := &wallet.Key{L2: devchain.DevL2Key(i)}
	if l1 {
		k.L1 = devchain.DevKey(i)
	}
	p := filepath.Join(t.TempDir(), "k.json")
	if err := wallet.WriteKeyFile(p, k, false); err != nil {
		t.Fatal(err)
	}
	return p
}

// Bad arguments are errors naming the flag, found before any network call.
func TestWalletArgumentValidation(t *testing.T) {
	api := noNetwork(t)
	key := devKeyFile(t, 1, true)
	l2only := devKeyFile(t, 2, false)
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
	place, transfer := []string{"order", "place"}, []string{"transfer"}
	cases := []struct {
		name  string
		cmd   []string
		args  []string
		field string
	}{
		{"bad side", place, with(orderOK, "--side", "sideways"), "side"},
		{"missing side", place, without(orderOK, "--side"), "side"},
		{"missing key", place, without(orderOK, "--key"), "key"},
		{"missing key file", place, with(orderOK, "--key", key+".missing"), "key"},
		{"bad order amount", place, with(orderOK, "--amount", "ten"), "amount"},
		{"zero order amount", place, with(orderOK, "--amount", "0"), "amount"},
		{"unpackable price", place, with(orderOK, "--price", "123456789012345"), "price"},
		{"bad model", place, with(orderOK, "--model", "70000"), "model"},
		{"bad fee bips", place, with(orderOK, "--max-fee-bips", "300"), "max-fee-bips"},
		{"bad validity", place, with(orderOK, "--valid", "-1h"), "valid"},
		{"bad rpc", place, with(orderOK, "--rpc", "127.0.0.1:8645"), "rpc"},
		{"stray argument", transfer, append(append([]string(nil), transferOK...), "extra"), "extra"},
		{"bad transfer amount", transfer, with(transferOK, "--amount", "-5"), "amount"},
		{"missing transfer amount", transfer, without(transferOK, "--amount"), "amount"},
		{"bad asset", transfer, with(transferOK, "--asset", "gold"), "asset"},
		{"bad to", transfer, with(transferOK, "--to", "alice"), "to"},
		{"unpackable fee", transfer, with(transferOK, "--fee", "12345"), "fee"},
		{"missing transfer key", transfer, without(transferOK, "--key"), "key"},
		{"cancel without id", []string{"order", "cancel"}, []string{"--rpc", api, "--key", key, "--model", "1"}, "id"},
		{"deposit without amount", []string{"deposit"}, []string{"--rpc", api, "--key", key}, "amount"},
		{"deposit bad token", []string{"deposit"}, []string{"--rpc", api, "--key", key, "--amount", "1", "--token", "gold"}, "token"},
		{"deposit without L1 key", []string{"deposit"}, []string{"--rpc", api, "--key", l2only, "--amount", "1"}, "key"},
		{"deposit bad l1-rpc", []string{"deposit"}, []string{"--rpc", api, "--key", key, "--amount", "1", "--l1-rpc", "nowhere"}, "l1-rpc"},
		{"withdraw without --to", []string{"withdraw"}, []string{"--rpc", api, "--key", l2only, "--amount", "1"}, "to"},
		{"withdraw bad --to", []string{"withdraw"}, []string{"--rpc", api, "--key", key, "--amount", "1", "--to", "0x12"}, "to"},
		{"create without bps", []string{"model", "create"}, []string{"--rpc", api, "--key", key, "--model", "1", "--supply", "10", "--credit-price", "1"}, "holder-bps"},
		{"create bps too high", []string{"model", "create"}, []string{"--rpc", api, "--key", key, "--model", "1", "--supply", "10", "--credit-price", "1", "--holder-bps", "10001"}, "holder-bps"},
		{"create cap below supply", []string{"model", "create"}, []string{"--rpc", api, "--key", key, "--model", "1", "--supply", "10", "--max-supply", "5", "--credit-price", "1", "--holder-bps", "1"}, "max-supply"},
		{"create bad weights", []string{"model", "create"}, []string{"--rpc", api, "--key", key, "--model", "1", "--supply", "10", "--credit-price", "1", "--holder-bps", "1", "--weights", "0xzz"}, "weights"},
		{"redeem without request", []string{"credits", "redeem"}, []string{"--rpc", api, "--key", key, "--model", "1", "--credits", "1"}, "request"},
		{"buy zero credits", []string{"credits", "buy"}, []string{"--rpc", api, "--key", key, "--model", "1", "--credits", "0"}, "credits"},
		{"tx bad hash", []string{"tx"}, []string{"--rpc", api, "--hash", "0x1234"}, "hash"},
		{"book bad depth", []string{"book"}, []string{"--rpc", api, "--model", "1", "--depth", "0"}, "depth"},
		{"trades bad model", []string{"trades"}, []string{"--rpc", api, "--model", "x"}, "model"},
		{"env twin", transfer, transferOK, "fee"}, // MODEX_FEE below
		{"import both", []string{"wallet", "import"}, []string{"--dev", "2", "--l2-key", "0x12"}, "dev"},
		{"import nothing", []string{"wallet", "import"}, nil, "l2-key"},
		{"claim bad owner", []string{"claim"}, []string{"--rpc", api, "--owner", "bob"}, "owner"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name == "env twin" {
				t.Setenv("MODEX_FEE", "12345")
			}
			_, err := runApp(t, append(tc.cmd, tc.args...)...)
			wantField(t, err, tc.field)
		})
	}
	_, err := runApp(t, append(transfer, with(transferOK, "--colour", "red")...)...)
	if !errors.Is(err, ErrUsage) || !strings.Contains(err.Error(), "colour") {
		t.Errorf("unknown flag: %v", err)
	}
	_, err = runApp(t, append(transfer, append(append([]string(nil), transferOK...), "--wait=later")...)...)
	if !errors.Is(err, ErrUsage) || !strings.Contains(err.Error(), "wait") {
		t.Errorf("bad --wait: %v", err)
	}
}

func TestWaitFlag(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want rpc.TxStatus
	}{
		{nil, rpc.TxIncluded},
		{[]string{"--wait", "proven"}, rpc.TxProven},
		{[]string{"--wait=proven"}, rpc.TxProven},
		{[]string{"--wait"}, rpc.TxFinalized},
		{[]string{"--wait", "none"}, rpc.TxPending},
	} {
		var o *walletOpts
		err := parseCmd(t, []string{"transfer"}, append(tc.args, "--key", "k"), func(cmd *cli.Command) (err error) { o, err = readWalletOpts(cmd); return err })
		if err != nil || o.wait != tc.want || o.keyPath != "k" {
			t.Errorf("%v: wait %v key %q err %v, want %v", tc.args, o.wait, o.keyPath, err, tc.want)
		}
	}
}

// A node that is not running is said in words, with how to start one.
func TestNoNode(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + l.Addr().String()
	l.Close()
	for _, args := range [][]string{{"status"}, {"book", "--model", "1"}, {"transfer", "--key", devKeyFile(t, 1, true), "--to", "2", "--amount", "1"}} {
		_, err := runApp(t, append(args, "--rpc", url)...)
		var nn *wallet.NoNodeError
		if !errors.As(err, &nn) || err.Error() != "no node at "+url+" (start one with make run or modex devnet)" {
			t.Errorf("%v: %v", args, err)
		}
	}
}

// fakeAPI is a node's JSON-RPC API answering from a table of methods.
func fakeAPI(t *testing.T, methods map[string]func(params []json.RawMessage) any) string {
	t.Helper()
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			ID     json.RawMessage   `json:"id"`
			Method string            `json:"method"`
			Params []json.RawMessage `json:"params"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		mu.Lock()
		f, ok := methods[req.Method]
		mu.Unlock()
		resp := map[string]any{"jsonrpc": "2.0", "id": req.ID}
		if ok {
			resp["result"] = f(req.Params)
		} else {
			resp["error"] = map[string]any{"code": -32601, "message": "no method " + req.Method}
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(resp)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func health(_ []json.RawMessage) any { return rpc.Health{OK: true, Version: "test"} }

func raw(t *testing.T, tx types.Tx) hexutil.Bytes {
	t.Helper()
	b, err := types.EncodeTx(tx)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// modex tx prints a summary for people (a trade: its two parties), JSON
// only with --json.
func TestTxSummary(t *testing.T) {
	trade := &types.Trade{Buy: types.Order{Account: 2, Model: 1, Side: types.Buy, OrderID: 1, Amount: 300},
		Sell: types.Order{Account: 1, Model: 1, Side: types.Sell, OrderID: 4, Amount: 400}, Fill: 300, BuyFeeBips: 5, SellFeeBips: 2}
	trade.Price.SetUint64(50)
	trade.Buy.Price.SetUint64(60)
	trade.Sell.Price.SetUint64(50)
	transfer := &types.Transfer{From: 2, To: 3, Asset: types.ETH}
	transfer.Amount.SetUint64(1000)
	shares := &types.Transfer{From: 2, To: 3, Asset: types.ShareAsset(1)}
	shares.Amount.SetUint64(1)
	txs := map[common.Hash]rpc.TxInfo{
		{1}: {Hash: common.Hash{1}, Kind: "Trade", Status: rpc.TxProven, Batch: 7, Raw: raw(t, trade)},
		{2}: {Hash: common.Hash{2}, Kind: "Transfer", Account: 2, Status: rpc.TxIncluded, Batch: 9, Raw: raw(t, transfer)},
		{3}: {Hash: common.Hash{3}, Kind: "Transfer", Account: 2, Status: rpc.TxPending, Raw: raw(t, shares)},
	}
	api := fakeAPI(t, map[string]func([]json.RawMessage) any{
		"node_health": health,
		"tx_info": func(p []json.RawMessage) any {
			var h common.Hash
			_ = json.Unmarshal(p[0], &h)
			v := txs[h]
			return v
		},
	})
	cases := []struct {
		hash common.Hash
		want []string
	}{
		{common.Hash{1}, []string{"kind", "Trade", "buyer", "account 2 (order 1)", "seller", "account 1 (order 4)", "300 shares of model 1 at 50", "status", "proven", "batch", "7"}},
		{common.Hash{2}, []string{"from", "account 2", "to", "account 3", "1000 wei (0.000000000000001 ETH)", "included", "9"}},
		{common.Hash{3}, []string{"1 share of model 1", "pending", "none yet"}},
	}
	for _, tc := range cases {
		out, err := runApp(t, "tx", "--rpc", api, "--hash", tc.hash.Hex())
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range tc.want {
			if !strings.Contains(out, w) {
				t.Errorf("tx %x: no %q in\n%s", tc.hash[:1], w, out)
			}
		}
		if strings.Contains(out, "{") || strings.Contains(out, "1 shares") {
			t.Errorf("tx %x printed:\n%s", tc.hash[:1], out)
		}
	}
	out, err := runApp(t, "tx", "--rpc", api, "--hash", common.Hash{1}.Hex(), "--json")
	var back rpc.TxInfo
	if err != nil || json.Unmarshal([]byte(out), &back) != nil || back.Status != rpc.TxProven {
		t.Errorf("--json: %v\n%s", err, out)
	}
}

// A signed command against a node: it says what it did in words (a
// transfer's amount in wei and ETH; what credits cost).
func TestSignedCommandOutput(t *testing.T) {
	price := uint256.NewInt(10)
	var submitted atomic.Int32
	api := fakeAPI(t, map[string]func([]json.RawMessage) any{
		"node_health":    health,
		"node_contracts": func([]json.RawMessage) any { return rpc.Contracts{ChainID: 1337, Bridge: common.Address{0xb1}} },
		"account_info": func([]json.RawMessage) any {
			return &rpc.AccountInfo{ID: 4, Nonce: 3, Balances: []rpc.Balance{{Asset: 0, Name: "base:0", Soft: *uint256.NewInt(5000)}}}
		},
		"model_info": func([]json.RawMessage) any { return &rpc.ModelInfo{ID: 1, QuoteToken: 0, CreditPrice: *price} },
		"tx_submit":  func([]json.RawMessage) any { submitted.Add(1); return common.Hash{0xaa} },
		"tx_info": func([]json.RawMessage) any {
			return rpc.TxInfo{Hash: common.Hash{0xaa}, Status: rpc.TxIncluded, Batch: 5}
		},
	})
	key := devKeyFile(t, 4, true)
	out, err := runApp(t, "credits", "buy", "--rpc", api, "--key", key, "--account", "4", "--model", "1", "--credits", "20")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"BuyCredits submitted", "(account 4, nonce 3)", "included  batch 5",
		"bought 20 credits of model 1 for at most 200 wei (0.0000000000000002 ETH) (10 each)"} {
		if !strings.Contains(out, want) {
			t.Errorf("credits buy: no %q in\n%s", want, out)
		}
	}
	out, err = runApp(t, "transfer", "--rpc", api, "--key", key, "--account", "4", "--to", "3", "--amount", "1000")
	if err != nil || !strings.Contains(out, "transferred 1000 wei (0.000000000000001 ETH) from account 4 to account 3") {
		t.Errorf("transfer: %v\n%s", err, out)
	}
	out, err = runApp(t, "transfer", "--rpc", api, "--key", key, "--account", "4", "--to", "3", "--amount", "1", "--asset", "shares:1")
	if err != nil || !strings.Contains(out, "transferred 1 share of model 1 from account 4") {
		t.Errorf("transfer of a share: %v\n%s", err, out)
	}
	_, err = runApp(t, "transfer", "--rpc", api, "--key", key, "--account", "4", "--to", "4", "--amount", "1")
	wantField(t, err, "to")
	if submitted.Load() != 3 {
		t.Errorf("%d transactions submitted, want 3", submitted.Load())
	}
}

// modex status --key finds the key's account by its L1 address and L2 key.
func TestStatusFindsAccount(t *testing.T) {
	k := &wallet.Key{L1: devchain.DevKey(2), L2: devchain.DevL2Key(2)}
	pk := k.PubKey()
	addr, _ := k.Address()
	api := fakeAPI(t, map[string]func([]json.RawMessage) any{
		"node_health": health,
		"node_syncStatus": func([]json.RawMessage) any {
			return &rpc.SyncStatus{Sealed: 4, Verified: 3, Sequencing: true, Clock: 1_800_000_000}
		},
		"node_contracts":    func([]json.RawMessage) any { return rpc.Contracts{ChainID: 1337, Bridge: common.Address{0xb1}} },
		"account_byAddress": func([]json.RawMessage) any { return []uint32{7, 9} },
		"account_info": func(p []json.RawMessage) any {
			var id uint32
			_ = json.Unmarshal(p[0], &id)
			info := &rpc.AccountInfo{ID: id, L1Address: addr, PubKey: [2]string{"0x1", "0x2"},
				Balances: []rpc.Balance{{Asset: 0, Name: "base:0", Soft: *uint256.NewInt(42), Proven: *uint256.NewInt(40)}}}
			if id == 9 { // 7 holds another L2 key
				info.PubKey = [2]string{wallet.ElemHex(pk.X), wallet.ElemHex(pk.Y)}
			}
			return info
		},
	})
	key := devKeyFile(t, 2, true)
	out, err := runApp(t, "status", "--rpc", api, "--key", key)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"batches     sealed 4", "clock       2027-01-15T08:00:00Z", "account 9", "base:0", "42", "40", "open orders: none"} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in\n%s", want, out)
		}
	}
}

// order place --valid counts from the node's clock (node_syncStatus clock:
// the sequencer's, which batch timestamps and so expiry follow), not this
// machine's: a node whose clock is ahead of the wall clock by more than
// --valid still gets an order that is valid for --valid.
func TestOrderValidFromNodeClock(t *testing.T) {
	nodeClock := uint64(time.Now().Unix()) + 3600 // an hour ahead of this machine
	var placed atomic.Pointer[types.Order]
	api := fakeAPI(t, map[string]func([]json.RawMessage) any{
		"node_health":     health,
		"node_contracts":  func([]json.RawMessage) any { return rpc.Contracts{ChainID: 1337, Bridge: common.Address{0xb1}} },
		"node_syncStatus": func([]json.RawMessage) any { return &rpc.SyncStatus{Sequencing: true, Clock: nodeClock} },
		"market_placeOrder": func(p []json.RawMessage) any {
			var raw hexutil.Bytes
			if err := json.Unmarshal(p[0], &raw); err != nil {
				t.Error(err)
				return nil
			}
			o, err := types.DecodeOrder(raw)
			if err != nil {
				t.Error(err)
				return nil
			}
			placed.Store(o)
			return rpc.OrderResult{Model: o.Model, OrderID: o.OrderID, Rested: o.Amount}
		},
	})
	key := devKeyFile(t, 2, true)
	out, err := runApp(t, "order", "place", "--rpc", api, "--key", key, "--account", "2", "--model", "1", "--side", "buy",
		"--amount", "10", "--price", "50", "--id", "1", "--valid", "1s")
	if err != nil {
		t.Fatal(err)
	}
	o := placed.Load()
	if o == nil || uint64(o.ValidUntil) != nodeClock+1 {
		t.Fatalf("validUntil %v, want the node's clock + 1 s = %d", o, nodeClock+1)
	}
	if want := "valid until " + types.FormatTime(nodeClock+1); !strings.Contains(out, want) {
		t.Errorf("no %q in\n%s", want, out)
	}
}
