package devnet

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bn254/twistededwards"
	"github.com/ethereum/go-ethereum/accounts/abi/bind/v2"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/gorilla/websocket"
	"github.com/holiman/uint256"

	"github.com/modex/modex/bridge"
	"github.com/modex/modex/contracts/bindings"
	"github.com/modex/modex/node/devchain"
	"github.com/modex/modex/rpc"
	"github.com/modex/modex/rpc/client"
	"github.com/modex/modex/types"
)

// TestBadInput sends malformed and invalid requests of every kind to a real
// node (the devnet in one process) over HTTP and websocket: each gets its
// JSON-RPC code and reason, the oversized ones (body, batch, frame) are
// refused, nothing invalid changes the state, and the node keeps serving.
//
// Setup (valid, before the "before" snapshot): alice and bob deposit ETH
// from L1; alice creates model 1 (so the order checks past "model not found"
// are reachable, and her nonce is 1, so "nonce too low" is) and rests a sell
// order (a non-empty book, a duplicate to refuse).

// badResp is one JSON-RPC response as the wire carries it.
type badResp struct {
	ID     json.RawMessage `json:"id"`
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Code    int             `json:"code"`
		Message string          `json:"message"`
		Data    json.RawMessage `json:"data"`
	} `json:"error"`
}

// reason is data.reason ("" when the error carries no data).
func (r *badResp) reason() string {
	if r.Error == nil || len(r.Error.Data) == 0 {
		return ""
	}
	var d struct {
		Reason string `json:"reason"`
	}
	_ = json.Unmarshal(r.Error.Data, &d)
	return d.Reason
}

// gethReason is the reason rpc/client gives an error without data
// (go-ethereum's own errors: rpc.DecodeError's fallback by code).
func gethReason(code int) string {
	switch code {
	case rpc.CodeParse:
		return "parse_error"
	case rpc.CodeInvalidRequest:
		return "invalid_request"
	case rpc.CodeMethodNotFound:
		return "method_not_found"
	case rpc.CodeInvalidParams:
		return "invalid_params"
	case rpc.CodeLimitExceeded:
		return "limit_exceeded"
	}
	return rpc.ReasonInternal
}

func badPost(t *testing.T, url string, body io.Reader) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func badReq(method string, params ...any) string {
	if params == nil {
		params = []any{}
	}
	p, err := json.Marshal(params)
	if err != nil {
		panic(err)
	}
	return fmt.Sprintf(`{"jsonrpc":"2.0","id":7,"method":%q,"params":%s}`, method, p)
}

// badInput is the test's state: the devnet, its users and the domain.
type badInput struct {
	t          *testing.T
	ctx        context.Context
	dn         *Devnet
	c          *client.Client // HTTP
	url        string
	d          types.Domain
	alice, bob *user
}

func (b *badInput) hexTx(tx types.Tx) string {
	b.t.Helper()
	raw, err := types.EncodeTx(tx)
	if err != nil {
		b.t.Fatalf("encode %s: %v", tx.Kind(), err)
	}
	return "0x" + hex.EncodeToString(raw)
}

// signed signs tx with k (and nonce) and returns its 0x-hex encoding.
func (b *badInput) signed(k *types.PrivateKey, nonce uint32, tx types.SignedTx) string {
	b.t.Helper()
	tx.SetNonce(nonce)
	if err := types.SignTx(k, b.d, tx); err != nil {
		b.t.Fatal(err)
	}
	return b.hexTx(tx)
}

func (b *badInput) transfer(from, to uint32, asset types.AssetID, amount *uint256.Int) *types.Transfer {
	return &types.Transfer{From: from, To: to, Asset: asset, Amount: *amount}
}

func (b *badInput) order(u *user, k *types.PrivateKey, side types.Side, id uint32, model uint16, amount uint64, price *uint256.Int, validUntil uint32) string {
	b.t.Helper()
	o := &types.Order{Account: u.account, Model: model, Side: side, OrderID: id, Amount: amount, Price: *price,
		MaxFeeBips: 10, ValidUntil: validUntil}
	if err := types.SignOrder(k, b.d, o); err != nil {
		b.t.Fatal(err)
	}
	raw, err := types.EncodeOrder(o)
	if err != nil {
		b.t.Fatal(err)
	}
	return "0x" + hex.EncodeToString(raw)
}

// snapshot is everything a bad request must not change.
type badSnapshot struct {
	Head    uint64
	Root    string
	Sealed  uint64
	Pool    int
	Alice   badAccount
	Bob     badAccount
	Book    rpc.BookSnapshot
	Markets []rpc.Market
}

// badAccount is an account's soft state (the proven fields move with the
// pipeline, which is not what is checked here).
type badAccount struct {
	Nonce    uint32
	Balances map[string]string
	Orders   []rpc.OpenOrder
}

func (b *badInput) account(id uint32) badAccount {
	b.t.Helper()
	info, err := b.c.Account(b.ctx, id)
	if err != nil {
		b.t.Fatalf("account %d: %v", id, err)
	}
	a := badAccount{Nonce: info.Nonce, Balances: map[string]string{}, Orders: info.Orders}
	for _, bal := range info.Balances {
		a.Balances[bal.Name] = bal.Soft.Dec()
	}
	return a
}

func (b *badInput) snapshot() badSnapshot {
	b.t.Helper()
	n := b.dn.Node
	head := n.DB().Head()
	root, err := n.DB().Root(head)
	if err != nil {
		b.t.Fatal(err)
	}
	book, err := b.c.Book(b.ctx, 1, 50)
	if err != nil {
		b.t.Fatal(err)
	}
	markets, err := b.c.Markets(b.ctx)
	if err != nil {
		b.t.Fatal(err)
	}
	return badSnapshot{Head: head, Root: root.Text(16), Sealed: n.Sequencer().Sealed(), Pool: n.Sequencer().PoolLen(),
		Alice: b.account(b.alice.account), Bob: b.account(b.bob.account), Book: *book, Markets: markets}
}

// waitSealed waits until h is in a sealed batch and the pool is empty.
func (b *badInput) waitSealed(h common.Hash) {
	b.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		info, err := b.c.Tx(b.ctx, h)
		if err == nil && info.Batch > 0 && info.Batch <= b.dn.Node.Sequencer().Sealed() && b.dn.Node.Sequencer().PoolLen() == 0 {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	b.t.Fatalf("tx %s not sealed in time", h)
}

func TestBadInput(t *testing.T) {
	start := time.Now()
	// generous: without MODEX_TEST_KEYS the devnet's key setup alone takes
	// minutes on a loaded machine
	ctx, cancel := context.WithTimeout(context.Background(), 12*time.Minute)
	defer cancel()
	const batchTimeout = 300 * time.Millisecond
	params := types.TestParams()
	params.BatchCapacity = 2
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	dn, err := Start(ctx, Config{
		DataDir: t.TempDir(), KeyDir: testKeys, L1Addr: "", RPCAddr: "127.0.0.1:0",
		Admin: false, Params: params,
		// The families the setup and the cases need: deposits, transfers
		// (most transaction cases), the setup's CreateModel and orders.
		// Withdraw is off, which one case checks (family_disabled).
		Families:     []types.Family{types.FamilyPriority, types.FamilyTransfer, types.FamilyModelAdmin, types.FamilyTrade},
		BatchTimeout: batchTimeout, Logger: logger, Progress: func(m string) { t.Log(m) },
	})
	if err != nil {
		t.Fatal(err)
	}
	defer dn.Stop(context.Background())
	// The cases run with every family ready, as before the staged start:
	// no key setup competes with their waits, and the keys are cached for
	// the package's other devnets.
	if err := dn.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("devnet up: %v", time.Since(start).Round(time.Millisecond))

	url := "http://" + dn.Node.Addr() + "/"
	c, err := client.Dial(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// before any batch: the operator (also the governor) registers tokens
	// while the submitter has nothing to send from the same key
	checkAssetsAndContracts(t, ctx, dn, url)
	keys := dn.Chain.Keys()
	mk := func(i int, name string) *user {
		return &user{name: name, l1: keys[i], addr: crypto.PubkeyToAddress(keys[i].PublicKey), l2: devchain.DevL2Key(i)}
	}
	b := &badInput{t: t, ctx: ctx, dn: dn, c: c, url: url, d: dn.Node.Domain(), alice: mk(1, "alice"), bob: mk(2, "bob")}
	alice, bob := b.alice, b.bob

	// 1. deposits from L1, applied by the node
	const deposit = 1_000_000
	for _, u := range []*user{alice, bob} {
		depositETH(t, ctx, dn, u, deposit)
	}
	for _, u := range []*user{alice, bob} {
		for i := 0; ; i++ {
			if ids, err := c.AccountByAddress(ctx, u.addr); err == nil && len(ids) == 1 {
				break
			}
			if i > 600 {
				t.Fatalf("%s: deposit not applied", u.name)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	// 2. alice creates model 1 (1,000 shares) and rests a sell order
	cm := &types.CreateModel{Account: alice.account, Model: 1, QuoteToken: 0, Supply: 1000, MaxSupply: 1000, HolderBps: 5000}
	cm.CreditPrice.SetUint64(10)
	cm.SetNonce(0)
	if err := types.SignTx(alice.l2, b.d, cm); err != nil {
		t.Fatal(err)
	}
	cmHash, err := c.SubmitTx(ctx, cm)
	if err != nil {
		t.Fatalf("create model: %v", err)
	}
	alice.nonce = 1
	b.waitSealed(cmHash)
	future := uint32(time.Now().Unix() + 3600)
	if err := c.RPC().CallContext(ctx, new(json.RawMessage), "market_placeOrder",
		b.order(alice, alice.l2, types.Sell, 1, 1, 100, uint256.NewInt(50), future)); err != nil {
		t.Fatalf("alice's sell order: %v", err)
	}
	t.Logf("setup done: %v", time.Since(start).Round(time.Millisecond))

	before := b.snapshot()
	if before.Alice.Nonce != 1 || before.Bob.Nonce != 0 || len(before.Book.Asks) != 1 || before.Pool != 0 {
		t.Fatalf("setup: %+v", before)
	}

	// 3. the bad requests
	u256 := uint256.NewInt
	pow2 := func(n uint) *uint256.Int { return new(uint256.Int).Lsh(u256(1), n) }
	hexN := func(n int) string { return "0x" + strings.Repeat("ab", n) }
	ten := u256(10)
	validTransfer := b.signed(alice.l2, alice.nonce, b.transfer(alice.account, bob.account, types.ETH, ten))
	// S+ℓ of a valid signature: the malleated one
	malleable := func() string {
		tx := b.transfer(alice.account, bob.account, types.ETH, ten)
		tx.SetNonce(alice.nonce)
		if err := types.SignTx(alice.l2, b.d, tx); err != nil {
			t.Fatal(err)
		}
		var sv big.Int
		sv.SetBytes(tx.Signature[32:])
		ord := twistededwards.GetEdwardsCurve().Order
		sv.Add(&sv, &ord)
		sv.FillBytes(tx.Signature[32:])
		return b.hexTx(tx)
	}()
	// 64 random bytes as the signature: most have S ≥ ℓ, none is a
	// malleated valid one
	randomSig := func(seed byte) string {
		tx := b.transfer(alice.account, bob.account, types.ETH, ten)
		tx.Nonce = alice.nonce
		for i := range tx.Signature {
			tx.Signature[i] = byte(i*131) ^ seed
		}
		return b.hexTx(tx)
	}
	// a CreateModel whose Weights are not a canonical field element
	badElem := func() string {
		cm := &types.CreateModel{Account: alice.account, Model: 2, Supply: 1, MaxSupply: 1}
		cm.CreditPrice.SetUint64(1)
		cm.Weights.SetUint64(0x5EED_5EED_5EED)
		raw, err := types.EncodeTx(cm)
		if err != nil {
			t.Fatal(err)
		}
		w := cm.Weights.Bytes()
		i := bytes.Index(raw, w[:])
		if i < 0 {
			t.Fatal("weights not found in the encoding")
		}
		copy(raw[i:i+32], bytes.Repeat([]byte{0xff}, 32))
		return "0x" + hex.EncodeToString(raw)
	}()
	deposit0 := b.hexTx(&types.Deposit{PriorityID: 99, Account: bob.account, L1Address: bob.addr,
		PubKey: types.PublicKeyOf(bob.l2), Amount: *u256(1_000_000_000)})
	trade := func() string {
		tr := &types.Trade{Fill: 1, Price: *u256(1)}
		tr.Buy = types.Order{Account: bob.account, Model: 1, Side: types.Buy, OrderID: 9, Amount: 1, Price: *u256(1), ValidUntil: future}
		tr.Sell = types.Order{Account: alice.account, Model: 1, Side: types.Sell, OrderID: 9, Amount: 1, Price: *u256(1), ValidUntil: future}
		return b.hexTx(tr)
	}()
	withFee := func(fee uint64) string {
		tx := b.transfer(alice.account, bob.account, types.ETH, ten)
		tx.Fee.SetUint64(fee)
		return b.signed(alice.l2, alice.nonce, tx)
	}
	withdraw := func(token uint16) string {
		w := &types.Withdraw{Account: alice.account, Token: token, Amount: *ten, To: alice.addr}
		return b.signed(alice.l2, alice.nonce, w)
	}
	orderSide2 := func() string {
		raw, _ := hex.DecodeString(strings.TrimPrefix(b.order(bob, bob.l2, types.Buy, 3, 1, 10, u256(40), future), "0x"))
		raw[5] = 2 // account 24 bits + model 16 bits: the side byte
		return "0x" + hex.EncodeToString(raw)
	}()
	unknownHash := "0x" + strings.Repeat("5a", 32)

	type badCase struct {
		name, body string
		code       int
		reason     string // data.reason; "" for go-ethereum's errors, which carry no data
		msg        string // a substring of the message
	}
	cases := []badCase{
		// JSON-RPC protocol
		{"parse error", `{"jsonrpc":"2.0","id":1,"method":"node_health"`, -32700, "", "parse error"},
		{"not JSON at all", `hello`, -32700, "", ""},
		{"not an object", `42`, -32600, "", ""},
		{"missing method", `{"jsonrpc":"2.0","id":1,"params":[]}`, -32600, "", "invalid request"},
		{"wrong jsonrpc version", `{"jsonrpc":"1.0","id":1,"method":"node_health","params":[]}`, -32600, "", "invalid request"},
		{"empty batch", `[]`, -32600, "", "empty batch"},
		{"unknown method", badReq("tx_nope"), -32601, "", "the method tx_nope does not exist"},
		{"unknown namespace", badReq("eth_blockNumber"), -32601, "", "the method eth_blockNumber does not exist"},
		{"admin while admin is off", badReq("admin_stopSequencing"), -32601, "", "admin_stopSequencing does not exist"},
		{"subscription over HTTP", badReq("modex_subscribe", "batches"), -32601, "", "notifications not supported"},
		{"missing param", badReq("tx_info"), -32602, "", "missing value for required argument 0"},
		{"too many params", badReq("tx_info", unknownHash, 1), -32602, "", "too many arguments"},
		{"params not an array", `{"jsonrpc":"2.0","id":1,"method":"tx_info","params":{"hash":"0x00"}}`, -32602, "", "non-array args"},
		{"wrong param type", badReq("account_info", "alice"), -32602, "", "invalid argument 0"},
		{"negative id", badReq("account_info", -1), -32602, "", "invalid argument 0"},
		{"raw not a string", badReq("tx_submit", 12), -32602, "", "invalid argument 0"},

		// tx_submit: hex and size
		{"non-hex raw", badReq("tx_submit", "0xzz"), -32602, "bad_hex", "invalid hex: invalid hex digit"},
		{"raw without 0x", badReq("tx_submit", "0202"), -32602, "bad_hex", "invalid hex: missing 0x prefix"},
		{"odd-length hex", badReq("tx_submit", "0x020"), -32602, "bad_hex", "invalid hex: odd number of hex digits"},
		{"0x0", badReq("tx_submit", "0x0"), -32602, "bad_hex", "invalid hex: odd number of hex digits"},
		{"raw over 4 KiB", badReq("tx_submit", hexN(rpc.MaxRawBytes+1)), -32602, "raw_too_large", "too large"},
		{"submitBatch empty", badReq("tx_submitBatch", []string{}), -32602, "invalid_params", "invalid params"},
		{"submitBatch over the item limit", badReq("tx_submitBatch", make([]string, rpc.DefaultBatchItemLimit+1)), -32602, "too_many_items", "too many items"},

		// tx_submit: encoding
		{"empty raw", badReq("tx_submit", "0x"), -32602, "empty_raw", "empty transaction or order"},
		{"unknown kind byte", badReq("tx_submit", "0xff"), 1001, "unknown_kind", "unknown transaction kind"},
		{"truncated encoding", badReq("tx_submit", validTransfer[:len(validTransfer)-2]), 1000, "malformed", "malformed encoding"},
		{"trailing bytes", badReq("tx_submit", validTransfer+"00"), 1000, "malformed", "malformed encoding"},
		{"non-canonical field element", badReq("tx_submit", badElem), 1002, "not_field_element", "canonical field element"},
		{"deposit submitted by a user", badReq("tx_submit", deposit0), 1030, "not_pool_tx", "not an account-signed"},
		{"trade submitted by a user", badReq("tx_submit", trade), 1030, "not_pool_tx", "not an account-signed"},

		// tx_submit: stateless checks
		{"self-transfer", badReq("tx_submit", b.signed(alice.l2, alice.nonce, b.transfer(alice.account, alice.account, types.ETH, ten))), 2005, "self_transfer", "same account"},
		{"zero amount", badReq("tx_submit", b.signed(alice.l2, alice.nonce, b.transfer(alice.account, bob.account, types.ETH, u256(0)))), 1005, "zero_amount", "must be positive"},
		{"amount not Amount38-packable", badReq("tx_submit", b.signed(alice.l2, alice.nonce, b.transfer(alice.account, bob.account, types.ETH, new(uint256.Int).AddUint64(pow2(34), 1)))), 1003, "not_packable", "packed float"},
		{"share amount over its 64-bit bound", badReq("tx_submit", b.signed(alice.l2, alice.nonce, b.transfer(alice.account, bob.account, types.ShareAsset(1), pow2(70)))), 1004, "amount_too_large", "bit bound"},
		{"fee not Fee16-packable", badReq("tx_submit", withFee(2049)), 1003, "not_packable", "packed float"},
		{"asset id of no kind", badReq("tx_submit", b.signed(alice.l2, alice.nonce, b.transfer(alice.account, bob.account, types.AssetID(3<<16), ten))), 3000, "asset_out_of_range", "asset id outside"},
		{"withdraw of a non-base token", badReq("tx_submit", withdraw(1<<params.BalanceDepth)), 3001, "asset_not_withdrawable", "only base tokens"},
		{"a valid withdraw on a rollup without its verifier", badReq("tx_submit", withdraw(0)), 1042, "family_disabled", "not enabled"},

		// tx_submit: account, nonce, signature
		{"transfer from an account that does not exist", badReq("tx_submit", b.signed(alice.l2, 0, b.transfer(50, bob.account, types.ETH, ten))), 2000, "account_not_found", "account does not exist"},
		{"transfer from outside the account tree", badReq("tx_submit", b.signed(alice.l2, 0, b.transfer(1<<params.AccountDepth, bob.account, types.ETH, ten))), 2001, "account_out_of_range", "outside the account tree"},
		{"nonce too low", badReq("tx_submit", b.signed(alice.l2, alice.nonce-1, b.transfer(alice.account, bob.account, types.ETH, ten))), 1020, "nonce_too_low", "nonce does not match"},
		{"nonce gap", badReq("tx_submit", b.signed(alice.l2, alice.nonce+2, b.transfer(alice.account, bob.account, types.ETH, ten))), 1021, "nonce_gap", "nonce does not match"},
		{"bad signature (bob's key for alice)", badReq("tx_submit", b.signed(bob.l2, alice.nonce, b.transfer(alice.account, bob.account, types.ETH, ten))), 1010, "bad_signature", "invalid signature"},
		{"malleable signature (S+ℓ of a valid one)", badReq("tx_submit", malleable), 1011, "signature_malleable", "not below the subgroup order"},
		{"random 64-byte signature", badReq("tx_submit", randomSig(0xff)), 1010, "bad_signature", "invalid signature"},
		{"another random signature", badReq("tx_submit", randomSig(0x5a)), 1010, "bad_signature", "invalid signature"},

		// orders
		{"order: non-hex", badReq("market_placeOrder", "0xqq"), -32602, "bad_hex", "invalid hex: invalid hex digit"},
		{"order: empty", badReq("market_placeOrder", "0x"), -32602, "empty_raw", "empty transaction or order"},
		{"order: side 2", badReq("market_placeOrder", orderSide2), 1000, "malformed", "malformed encoding"},
		{"order: bad signature", badReq("market_placeOrder", b.order(bob, alice.l2, types.Buy, 3, 1, 10, u256(40), future)), 1010, "bad_signature", "invalid signature"},
		{"order: missing model", badReq("market_placeOrder", b.order(bob, bob.l2, types.Buy, 3, 5, 10, u256(40), future)), 5002, "model_not_found", "model does not exist"},
		{"order: unknown account", badReq("market_placeOrder", b.order(&user{account: 50}, bob.l2, types.Buy, 3, 1, 10, u256(40), future)), 2000, "account_not_found", "account does not exist"},
		{"order: expired (its time printed as a time)", badReq("market_placeOrder", b.order(bob, bob.l2, types.Buy, 3, 1, 10, u256(40), 1)), 4010, "order_expired", "order expired: valid until 1970-01-01T00:00:01Z, now 20"},
		{"order: more shares than the model can ever have", badReq("market_placeOrder", b.order(bob, bob.l2, types.Buy, 3, 1, 1001, u256(1), future)), 4018, "order_above_supply", "could never fill: 1001 shares of model 1, maximum supply 1000"},
		{"order: zero amount", badReq("market_placeOrder", b.order(bob, bob.l2, types.Buy, 3, 1, 0, u256(40), future)), 4003, "order_zero_amount", "amount is zero"},
		{"order: zero price", badReq("market_placeOrder", b.order(bob, bob.l2, types.Buy, 3, 1, 10, u256(0), future)), 4004, "order_bad_price", "price is zero"},
		// (a seller's: a buyer's cost is checked against the balance before the book checks the price)
		{"order: price not packable", badReq("market_placeOrder", b.order(alice, alice.l2, types.Sell, 2, 1, 10, new(uint256.Int).AddUint64(pow2(34), 1), future)), 4008, "order_price_not_packable", "packed float"},
		{"order: unaffordable buy with a price not packable", badReq("market_placeOrder", b.order(bob, bob.l2, types.Buy, 2, 1, 10, new(uint256.Int).AddUint64(pow2(34), 1), future)), 4008, "order_price_not_packable", "packed float"},
		{"order: duplicate id", badReq("market_placeOrder", b.order(alice, alice.l2, types.Sell, 1, 1, 100, u256(50), future)), 4005, "order_duplicate", "already resting"},
		{"order: sell without shares", badReq("market_placeOrder", b.order(bob, bob.l2, types.Sell, 3, 1, 10, u256(40), future)), 5008, "insufficient_shares", "share balance too low"},
		{"order: buy beyond the balance", badReq("market_placeOrder", b.order(bob, bob.l2, types.Buy, 3, 1, 1000, u256(1_000_000), future)), 2003, "insufficient_funds", "balance too low"},

		// queries
		{"market_book depth 0", badReq("market_book", 1, 0), -32602, "bad_depth", "depth out of range"},
		{"market_book depth 10,000", badReq("market_book", 1, 10_000), -32602, "bad_depth", "depth out of range"},
		{"market_book of no market", badReq("market_book", 5, 10), 4050, "market_not_found", "market not found"},
		{"tx_history bad cursor", badReq("tx_history", alice.account, "zz"), -32602, "bad_cursor", "invalid cursor"},
		{"tx_history cursor not printable", badReq("tx_history", alice.account, "a b"), -32602, "bad_cursor", "invalid cursor"},
		{"tx_history limit 0", badReq("tx_history", alice.account, nil, 0), -32602, "bad_limit", "page limit out of range"},
		{"tx_history limit 10,000", badReq("tx_history", alice.account, nil, 10_000), -32602, "bad_limit", "page limit out of range"},
		{"tx_info of an unknown hash", badReq("tx_info", unknownHash), 1040, "tx_not_found", "transaction not found"},
		{"tx_info of a short hash", badReq("tx_info", "0x12"), -32602, "", "invalid argument 0"},
		{"account_info of an unknown id", badReq("account_info", 50), 2000, "account_not_found", "account does not exist"},
		{"account_info outside the tree", badReq("account_info", 1<<params.AccountDepth), 2001, "account_out_of_range", "outside the account tree"},
		{"batch_info 0", badReq("batch_info", 0), 7003, "batch_not_found", "batch not found"},
		{"batch_info 10^9", badReq("batch_info", 1_000_000_000), 7003, "batch_not_found", "batch not found"},
		{"model_info of a missing model", badReq("model_info", 5), 5002, "model_not_found", "model does not exist"},
		{"bridge_priority unknown id", badReq("bridge_priority", 1_000_000), 6001, "priority_not_found", "priority request not found"},
		{"bridge_withdrawal of a transaction that is no withdrawal", badReq("bridge_withdrawal", cmHash), 6002, "withdrawal_not_found", "withdrawal not found"},
		{"bridge_withdrawal unknown hash", badReq("bridge_withdrawal", unknownHash), 6002, "withdrawal_not_found", "withdrawal not found"},
		{"fee_quote unknown kind", badReq("fee_quote", "Teleport"), -32602, "bad_kind_name", "not a transaction kind name"},
		{"fee_quote kind of 40 two-byte runes", badReq("fee_quote", strings.Repeat("é", 40)), -32602, "bad_kind_name", `"éééééééééééééééé…"`},
	}

	type pair struct {
		code   int
		reason string
	}
	distinct := map[pair]bool{}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, body := badPost(t, url, strings.NewReader(tc.body))
			if status != http.StatusOK {
				t.Fatalf("HTTP %d: %s", status, body)
			}
			var r badResp
			if bytes.HasPrefix(bytes.TrimSpace(body), []byte("[")) {
				var rs []badResp
				if err := json.Unmarshal(body, &rs); err != nil || len(rs) != 1 {
					t.Fatalf("batch response %s", body)
				}
				r = rs[0]
			} else if err := json.Unmarshal(body, &r); err != nil {
				t.Fatalf("response %s: %v", body, err)
			}
			if r.Error == nil {
				t.Fatalf("no error: %s", body)
			}
			if r.Error.Code != tc.code || r.reason() != tc.reason {
				t.Errorf("got (%d, %q) %q, want (%d, %q)", r.Error.Code, r.reason(), r.Error.Message, tc.code, tc.reason)
			}
			if !strings.Contains(r.Error.Message, tc.msg) {
				t.Errorf("message %q lacks %q", r.Error.Message, tc.msg)
			}
			if tc.reason == "" && len(r.Error.Data) != 0 {
				t.Errorf("go-ethereum error with data %s", r.Error.Data)
			}
			reason := r.reason()
			if reason == "" {
				reason = gethReason(r.Error.Code)
			}
			distinct[pair{r.Error.Code, reason}] = true
		})
	}

	// The Go client decodes the same errors (errors.Is against the table's
	// sentinels) from the same node.
	t.Run("client errors", func(t *testing.T) {
		tx := b.transfer(alice.account, bob.account, types.ETH, ten)
		tx.SetNonce(alice.nonce)
		if err := types.SignTx(bob.l2, b.d, tx); err != nil {
			t.Fatal(err)
		}
		_, err := c.SubmitTx(ctx, tx)
		var ae *rpc.APIError
		if !errors.Is(err, types.ErrBadSignature) || !errors.As(err, &ae) || ae.Code != 1010 {
			t.Errorf("bad signature via the client: %v", err)
		}
		if _, err := c.Tx(ctx, common.HexToHash(unknownHash)); !errors.Is(err, rpc.ErrTxNotFound) {
			t.Errorf("unknown tx via the client: %v", err)
		}
		if _, err := c.Batch(ctx, 1_000_000_000); !errors.Is(err, rpc.ErrBatchNotFound) {
			t.Errorf("batch 10^9 via the client: %v", err)
		}
		if err := c.RPC().CallContext(ctx, nil, "admin_startSequencing"); rpc.DecodeError(err) == nil ||
			!errors.As(rpc.DecodeError(err), &ae) || ae.Code != -32601 || ae.Reason != "method_not_found" {
			t.Errorf("admin via the client: %v", err)
		}
		// a batch submission: each item its own error, nothing pooled
		var items []rpc.SubmitResult
		if err := c.RPC().CallContext(ctx, &items, "tx_submitBatch", []string{"0xff", malleable, "0x1"}); err != nil || len(items) != 3 {
			t.Fatalf("tx_submitBatch: %v %+v", err, items)
		}
		for i, want := range []pair{{1001, "unknown_kind"}, {1011, "signature_malleable"}, {-32602, "bad_hex"}} {
			if e := items[i].Error; e == nil || e.Code != want.code || e.Reason != want.reason || items[i].Hash != (common.Hash{}) {
				t.Errorf("tx_submitBatch item %d: %+v, want %v", i, items[i], want)
			}
		}
	})

	// Websocket: an unknown subscription channel.
	t.Run("modex_subscribe unknown channel", func(t *testing.T) {
		conn, _, err := websocket.DefaultDialer.DialContext(ctx, "ws://"+dn.Node.Addr()+"/", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if err := conn.WriteMessage(websocket.TextMessage, []byte(badReq("modex_subscribe", "nope"))); err != nil {
			t.Fatal(err)
		}
		_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, msg, err := conn.ReadMessage()
		if err != nil {
			t.Fatal(err)
		}
		var r badResp
		if err := json.Unmarshal(msg, &r); err != nil || r.Error == nil {
			t.Fatalf("response %s: %v", msg, err)
		}
		// go-ethereum answers an unknown subscription name itself, before
		// the modex namespace is called: -32601 without data (so the table
		// has no code of its own for it).
		if r.Error.Code != -32601 || r.reason() != "" || !strings.Contains(r.Error.Message, `no "nope" subscription in modex namespace`) {
			t.Errorf("unknown channel: %s", msg)
		}
		distinct[pair{r.Error.Code, "subscription_not_found"}] = true
		// the connection still serves
		if err := conn.WriteMessage(websocket.TextMessage, []byte(badReq("node_health"))); err != nil {
			t.Fatal(err)
		}
		if _, msg, err := conn.ReadMessage(); err != nil || !strings.Contains(string(msg), `"ok":true`) {
			t.Fatalf("node_health after the bad subscription: %s %v", msg, err)
		}
	})

	// Websocket: the per-market channels refuse a market that does not
	// exist alike (trades and redemptions used to subscribe to nothing).
	t.Run("modex_subscribe of a missing market", func(t *testing.T) {
		conn, _, err := websocket.DefaultDialer.DialContext(ctx, "ws://"+dn.Node.Addr()+"/", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		// answer sends a request and reads its answer, skipping the
		// notifications of the subscriptions already made
		answer := func(body string) (badResp, []byte) {
			if err := conn.WriteMessage(websocket.TextMessage, []byte(body)); err != nil {
				t.Fatal(err)
			}
			_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
			for {
				_, msg, err := conn.ReadMessage()
				if err != nil {
					t.Fatal(err)
				}
				var r badResp
				if json.Unmarshal(msg, &r) == nil && len(r.ID) > 0 {
					return r, msg
				}
			}
		}
		for _, channel := range []string{"orderbook", "trades", "redemptions"} {
			for _, model := range []int{999, 65535} {
				r, msg := answer(badReq("modex_subscribe", channel, model))
				if r.Error == nil || r.Error.Code != 4050 || r.reason() != "market_not_found" {
					t.Errorf("[%q, %d]: %s, want 4050 market_not_found", channel, model, msg)
				}
			}
			// the market that exists is served
			if r, msg := answer(badReq("modex_subscribe", channel, 1)); r.Error != nil {
				t.Errorf("[%q, 1]: %s", channel, msg)
			}
		}
	})

	// 4. applied, then failed: the pool does not check balances, so a
	// transfer bob cannot pay is acknowledged, then refused by the state
	// when the sequencer applies it; its nonce is not used.
	t.Run("insufficient funds: applied then failed", func(t *testing.T) {
		raw := b.signed(bob.l2, bob.nonce, b.transfer(bob.account, alice.account, types.ETH, u256(10*deposit)))
		var h common.Hash
		if err := c.RPC().CallContext(ctx, &h, "tx_submit", raw); err != nil {
			t.Fatalf("tx_submit: %v", err)
		}
		deadline := time.Now().Add(10 * time.Second)
		for {
			info, err := c.Tx(ctx, h)
			if err != nil {
				t.Fatal(err)
			}
			if info.Status == rpc.TxFailed {
				if info.Error == nil || info.Error.Code != 2003 || info.Error.Reason != "insufficient_funds" || info.Batch != 0 {
					t.Errorf("failed tx: %+v (error %+v)", info, info.Error)
				}
				distinct[pair{2003, "insufficient_funds"}] = true
				break
			}
			if info.Status != rpc.TxPending || time.Now().After(deadline) {
				t.Fatalf("status %s, want pending then failed", info.Status)
			}
			time.Sleep(20 * time.Millisecond)
		}
	})

	// 5. limits
	t.Run("HTTP body over the limit", func(t *testing.T) {
		big := badReq("tx_submit", "0x"+strings.Repeat("00", rpc.DefaultHTTPBodyLimit))
		if status, body := badPost(t, url, strings.NewReader(big)); status != http.StatusRequestEntityTooLarge {
			t.Errorf("with Content-Length: HTTP %d %.200s, want 413", status, body)
		}
		if status, body := badPost(t, url, io.MultiReader(strings.NewReader(big))); status != http.StatusRequestEntityTooLarge {
			t.Errorf("chunked: HTTP %d %.200s, want 413", status, body)
		}
	})
	t.Run("JSON-RPC batch over the item limit", func(t *testing.T) {
		items := make([]string, rpc.DefaultBatchItemLimit+1)
		for i := range items {
			items[i] = fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"tx_submit","params":[%q]}`, i, validTransfer)
		}
		status, body := badPost(t, url, strings.NewReader("["+strings.Join(items, ",")+"]"))
		var rs []badResp
		if status != http.StatusOK || json.Unmarshal(body, &rs) != nil || len(rs) != 1 || rs[0].Error == nil ||
			rs[0].Error.Code != -32600 || rs[0].Error.Message != "batch too large" {
			t.Fatalf("HTTP %d %.300s, want one -32600 \"batch too large\"", status, body)
		}
	})
	t.Run("websocket frame over the read limit", func(t *testing.T) {
		conn, _, err := websocket.DefaultDialer.DialContext(ctx, "ws://"+dn.Node.Addr()+"/", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		big := badReq("tx_submit", "0x"+strings.Repeat("00", rpc.DefaultWSReadLimit))
		if err := conn.WriteMessage(websocket.TextMessage, []byte(big)); err != nil {
			// the server may reset the connection during the write: the refusal
			t.Logf("closed during the write: %v", err)
		}
		_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		for {
			_, msg, err := conn.ReadMessage()
			if err != nil {
				var ce *websocket.CloseError
				var ne interface{ Timeout() bool }
				if errors.As(err, &ne) && ne.Timeout() {
					t.Fatalf("connection still open after an oversized frame: %v", err)
				}
				if !errors.As(err, &ce) && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) &&
					!strings.Contains(err.Error(), "reset") {
					t.Fatalf("want the connection closed, got %v", err)
				}
				t.Logf("closed: %v", err)
				break
			}
			t.Logf("message before the close: %.200s", msg)
		}
	})

	// 6. every case got its own (code, reason): at least 20 distinct
	reasons := map[string]bool{}
	for p := range distinct {
		reasons[p.reason] = true
	}
	t.Logf("%d table cases (plus websocket, client, applied-then-failed and limit checks): %d distinct (code, reason) pairs, %d distinct reasons", len(cases), len(distinct), len(reasons))
	if len(reasons) < 20 {
		t.Errorf("%d distinct reasons, want >= 20: %v", len(reasons), distinct)
	}

	// 7. nothing invalid changed the state, and nothing was sealed by it
	time.Sleep(3 * batchTimeout)
	after := b.snapshot()
	if !reflect.DeepEqual(before, after) {
		t.Errorf("state changed by bad input:\nbefore %+v\nafter  %+v", before, after)
	}
	if n := dn.Node.Sequencer().Sealed(); n != before.Sealed {
		t.Errorf("batches sealed during the bad input: %d → %d", before.Sealed, n)
	}

	// 8. no panic: the node still answers
	h, err := c.Health(ctx)
	if err != nil || !h.OK {
		t.Fatalf("node_health at the end: %+v %v", h, err)
	}
	t.Logf("total %v", time.Since(start).Round(time.Millisecond))
}

// checkAssetsAndContracts registers two tokens on the devnet's bridge (one
// with ERC-20 metadata, one without) and checks asset_list names them from
// L1, node_contracts lists the deployed verifiers, and fee_quote gives the
// rule the pool enforces.
func checkAssetsAndContracts(t *testing.T, ctx context.Context, dn *Devnet, url string) {
	t.Helper()
	l1 := dn.Chain.Client()
	gov := bind.NewKeyedTransactor(dn.Chain.Keys()[0], dn.Chain.ChainID())
	gov.Context = ctx
	deploy := func(bin string, args []byte) common.Address {
		addr, tx, err := bind.DeployContract(gov, common.FromHex(bin), l1, args)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := bridge.WaitSuccess(ctx, l1, tx); err != nil {
			t.Fatal(err)
		}
		return addr
	}
	usdc := deploy(bindings.MetaTokenMetaData.Bin, bindings.NewMetaToken().PackConstructor("USD Coin", "USDC", 6))
	bare := deploy(bindings.NoReturnTokenMetaData.Bin, nil)
	for _, tok := range []common.Address{usdc, bare} {
		tx, err := bind.Transact(dn.Rollup.Contract.Bound(), gov, bridge.ABI.PackRegisterToken(tok))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := bridge.WaitSuccess(ctx, l1, tx); err != nil {
			t.Fatal(err)
		}
	}
	type asset struct {
		ID       uint16         `json:"id"`
		Address  common.Address `json:"address"`
		Symbol   string         `json:"symbol"`
		Decimals *uint8         `json:"decimals"`
	}
	var assets []asset
	for i := 0; ; i++ {
		r := badCall(t, url, badReq("asset_list"))
		if r.Error != nil {
			t.Fatalf("asset_list: %+v", r.Error)
		}
		if err := json.Unmarshal(r.Result, &assets); err != nil {
			t.Fatal(err)
		}
		if len(assets) == 3 {
			break
		}
		if i > 200 {
			t.Fatalf("asset_list never listed the registered tokens: %s", r.Result)
		}
		time.Sleep(50 * time.Millisecond)
	}
	dec := func(a asset) int {
		if a.Decimals == nil {
			return -1
		}
		return int(*a.Decimals)
	}
	if a := assets[0]; a.Symbol != "ETH" || dec(a) != 18 || a.Address != (common.Address{}) {
		t.Errorf("ETH: %+v (decimals %d)", a, dec(a))
	}
	if a := assets[1]; a.ID != 1 || a.Symbol != "USDC" || dec(a) != 6 || a.Address != usdc {
		t.Errorf("USDC, read from its contract: %+v (decimals %d)", a, dec(a))
	}
	if a := assets[2]; a.ID != 2 || a.Symbol != "token:2" || a.Decimals != nil || a.Address != bare {
		t.Errorf("a token without metadata: %+v (decimals %d)", a, dec(a))
	}

	// node_contracts: one verifier per deployed family, as deployed
	r := badCall(t, url, badReq("node_contracts"))
	var ct struct {
		Bridge          common.Address            `json:"bridge"`
		Verifiers       map[string]common.Address `json:"verifiers"`
		InsecureDevKeys *bool                     `json:"insecureDevKeys"`
	}
	if r.Error != nil || json.Unmarshal(r.Result, &ct) != nil {
		t.Fatalf("node_contracts: %s %+v", r.Result, r.Error)
	}
	// the devnet proves with its INSECURE dev keys, and says so
	if ct.InsecureDevKeys == nil || !*ct.InsecureDevKeys {
		t.Errorf("node_contracts: insecureDevKeys %v, want true (a devnet's keys): %s", ct.InsecureDevKeys, r.Result)
	}
	if len(ct.Verifiers) != len(dn.Rollup.Verifiers) || len(ct.Verifiers) == 0 {
		t.Errorf("verifiers %v, want %v", ct.Verifiers, dn.Rollup.Verifiers)
	}
	for f, addr := range dn.Rollup.Verifiers {
		if ct.Verifiers[f.String()] != addr {
			t.Errorf("verifier of %s: %s, want %s", f, ct.Verifiers[f.String()], addr)
		}
	}

	// fee_quote: the pool's rule (any Fee16-exact fee below 2^96, 0 too, in
	// the kind's token), and the books' bips for a trade
	var q rpc.FeeQuote
	r = badCall(t, url, badReq("fee_quote", "transfer"))
	if r.Error != nil || json.Unmarshal(r.Result, &q) != nil {
		t.Fatalf("fee_quote: %s %+v", r.Result, r.Error)
	}
	if q.Kind != "Transfer" || !q.Charged || !q.Fee.IsZero() || q.Token != "asset" || q.Format != "Fee16" ||
		q.MaxFee == nil || !types.Fee16.Packable(q.MaxFee) || q.MaxFee.BitLen() > types.AmountBits || q.ReplaceBumpPercent != 10 {
		t.Errorf("fee_quote Transfer: %s", r.Result)
	}
	q = rpc.FeeQuote{}
	r = badCall(t, url, badReq("fee_quote", "Trade"))
	if r.Error != nil || json.Unmarshal(r.Result, &q) != nil || q.Charged || q.MakerFeeBips != 2 || q.TakerFeeBips != 5 {
		t.Errorf("fee_quote Trade: %s %+v", r.Result, r.Error)
	}
	q = rpc.FeeQuote{}
	r = badCall(t, url, badReq("fee_quote", "Deposit"))
	if r.Error != nil || json.Unmarshal(r.Result, &q) != nil || q.Charged || q.Token != "" {
		t.Errorf("fee_quote Deposit: %s %+v", r.Result, r.Error)
	}
}

func badCall(t *testing.T, url, body string) badResp {
	t.Helper()
	status, b := badPost(t, url, strings.NewReader(body))
	var r badResp
	if status != http.StatusOK || json.Unmarshal(b, &r) != nil {
		t.Fatalf("%s: HTTP %d %s", body, status, b)
	}
	return r
}
