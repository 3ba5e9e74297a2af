package main

// The CLI wallet: key files and the session every wallet command opens on
// the node's API (rpc/client). Arguments are validated, and the key file
// read, before anything touches the network; a bad argument is a
// *ConfigError naming the flag.

import (
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/holiman/uint256"

	"github.com/modex/modex/node/devchain"
	"github.com/modex/modex/rpc"
	"github.com/modex/modex/rpc/client"
	"github.com/modex/modex/types"
)

// DefaultRPC and DefaultL1RPC are the devnet's endpoints.
const (
	DefaultRPC   = "http://127.0.0.1:8645"
	DefaultL1RPC = "http://127.0.0.1:8545"
)

// --- key files -------------------------------------------------------------

// KeyFile is a wallet key file: hex keys, the L1 one optional.
type KeyFile struct {
	L1Key string `json:"l1Key,omitempty"` // secp256k1, 32 bytes
	L2Key string `json:"l2Key"`           // EdDSA (BN254 twisted Edwards), 96 bytes: public key, scalar, nonce seed
}

// walletKey is a parsed key file.
type walletKey struct {
	l1 *ecdsa.PrivateKey // nil: no L1 key
	l2 *types.PrivateKey
}

func (k *walletKey) pub() types.PubKey { return types.PublicKeyOf(k.l2) }

func (k *walletKey) address() (common.Address, bool) {
	if k.l1 == nil {
		return common.Address{}, false
	}
	return crypto.PubkeyToAddress(k.l1.PublicKey), true
}

func (k *walletKey) file() KeyFile {
	f := KeyFile{L2Key: "0x" + hex.EncodeToString(k.l2.Bytes())}
	if k.l1 != nil {
		f.L1Key = "0x" + hex.EncodeToString(crypto.FromECDSA(k.l1))
	}
	return f
}

func parseL1Key(field, s string) (*ecdsa.PrivateKey, error) {
	k, err := crypto.HexToECDSA(trim0x(strings.TrimSpace(s)))
	if err != nil {
		return nil, cfgErr(field, "", "not a hex secp256k1 private key (64 hex digits): %v", err)
	}
	return k, nil
}

func parseL2Key(field, s string) (*types.PrivateKey, error) {
	b, err := hex.DecodeString(trim0x(strings.TrimSpace(s)))
	if err != nil {
		return nil, cfgErr(field, "", "not hex: %v", err)
	}
	k := new(types.PrivateKey)
	if len(b) != len(k.Bytes()) {
		return nil, cfgErr(field, "", "an L2 key is %d bytes (%d hex digits), got %d", len(k.Bytes()), 2*len(k.Bytes()), len(b))
	}
	if _, err := k.SetBytes(b); err != nil {
		return nil, cfgErr(field, "", "not an EdDSA private key: %v", err)
	}
	return k, nil
}

// parseKeyFile parses a key file's JSON.
func parseKeyFile(b []byte) (*walletKey, error) {
	var f KeyFile
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("key file: %w", err)
	}
	if f.L2Key == "" {
		return nil, errors.New("key file: no l2Key")
	}
	k := &walletKey{}
	var err error
	if k.l2, err = parseL2Key("l2Key", f.L2Key); err != nil {
		return nil, err
	}
	if f.L1Key != "" {
		if k.l1, err = parseL1Key("l1Key", f.L1Key); err != nil {
			return nil, err
		}
	}
	return k, nil
}

// loadKey reads --key FILE.
func loadKey(path string) (*walletKey, error) {
	if path == "" {
		return nil, cfgErr("key", "", "required: a key file (modex wallet new|import --out FILE)")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, cfgErr("key", path, "%v", err)
	}
	k, err := parseKeyFile(b)
	if err != nil {
		return nil, cfgErr("key", path, "%v", err)
	}
	return k, nil
}

// writeKeyFile writes a key file with mode 0600; it never overwrites one
// unless force.
func writeKeyFile(path string, k *walletKey, force bool) error {
	if path == "" {
		return cfgErr("out", "", "required: where to write the key file")
	}
	b, err := json.MarshalIndent(k.file(), "", "  ")
	if err != nil {
		return err
	}
	flags := os.O_WRONLY | os.O_CREATE | os.O_EXCL
	if force {
		flags = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	}
	f, err := os.OpenFile(path, flags, 0o600)
	if errors.Is(err, os.ErrExist) {
		return cfgErr("out", path, "exists (--force overwrites it)")
	}
	if err != nil {
		return cfgErr("out", path, "%v", err)
	}
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// --- argument parsing ------------------------------------------------------

// parseAmount parses a positive amount: an integer in base units, or a
// decimal with a unit suffix (1.5eth, 20gwei).
func parseAmount(field, s string, allowZero bool) (*uint256.Int, error) {
	s = strings.TrimSpace(strings.ReplaceAll(s, "_", ""))
	if s == "" {
		return nil, cfgErr(field, "", "required")
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
		return nil, cfgErr(field, s, "not an amount (an integer, or a decimal with a unit: 1.5eth, 20gwei)")
	}
	r.Mul(r, new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(exp)), nil)))
	if !r.IsInt() {
		return nil, cfgErr(field, s, "not a whole number of base units")
	}
	v, overflow := uint256.FromBig(r.Num())
	if r.Sign() < 0 || overflow {
		return nil, cfgErr(field, s, "out of range")
	}
	if v.IsZero() && !allowZero {
		return nil, cfgErr(field, s, "must be positive")
	}
	return v, nil
}

// packable checks an amount a transaction carries in a packed float.
func packable(field string, v *uint256.Int, f types.FloatFormat) error {
	if !f.Packable(v) {
		return cfgErr(field, v.Dec(), "not exactly representable on L2 (%d-bit mantissa); the nearest below is %s", f.MantissaBits, f.RoundDown(v).Dec())
	}
	return nil
}

func parseUint(field, s string, bits int, allowZero bool) (uint64, error) {
	if s == "" {
		return 0, cfgErr(field, "", "required")
	}
	v, err := strconv.ParseUint(strings.ReplaceAll(s, "_", ""), 10, bits)
	if err != nil {
		return 0, cfgErr(field, s, "not an integer in 0..2^%d-1", bits)
	}
	if v == 0 && !allowZero {
		return 0, cfgErr(field, s, "must be positive")
	}
	return v, nil
}

// parseAsset parses eth, token:N, shares:M or credits:M.
func parseAsset(field, s string) (types.AssetID, error) {
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
	return 0, cfgErr(field, s, "want eth, token:N, shares:MODEL or credits:MODEL")
}

// parseElem parses a field element: 0x-hex or decimal.
func parseElem(field, s string) (fr.Element, error) {
	var e fr.Element
	if s == "" {
		return e, nil
	}
	b, ok := new(big.Int).SetString(trim0x(s), map[bool]int{true: 16, false: 10}[strings.HasPrefix(strings.ToLower(s), "0x")])
	if !ok || b.Sign() < 0 || b.Cmp(fr.Modulus()) >= 0 {
		return e, cfgErr(field, s, "not a field element (0x-hex or decimal below the BN254 scalar modulus)")
	}
	e.SetBigInt(b)
	return e, nil
}

func elemHex(e fr.Element) string { return "0x" + e.Text(16) }

// waitFlag is --wait: included (default), proven or finalized; --wait
// alone is finalized, --wait=none returns once submitted.
type waitFlag struct{ status rpc.TxStatus }

func (w *waitFlag) String() string {
	if w == nil || w.status == "" {
		return string(rpc.TxIncluded)
	}
	return string(w.status)
}

func (w *waitFlag) Set(s string) error {
	switch strings.ToLower(s) {
	case "true", "finalized":
		w.status = rpc.TxFinalized
	case "false", "included":
		w.status = rpc.TxIncluded
	case "proven":
		w.status = rpc.TxProven
	case "pending", "none":
		w.status = rpc.TxPending
	default:
		return errors.New("want included, proven, finalized or none")
	}
	return nil
}

func (w *waitFlag) IsBoolFlag() bool { return true }

// --- the session -----------------------------------------------------------

// walletOpts are the flags every wallet command shares.
type walletOpts struct {
	rpcURL  string
	keyPath string
	account int64
	wait    waitFlag
	timeout time.Duration
}

func (o *walletOpts) register(f *cmdFlags, signs bool) {
	fs := f.fs
	fs.StringVar(&o.rpcURL, "rpc", DefaultRPC, "the node's API (http:// or ws://)")
	if signs {
		fs.StringVar(&o.keyPath, "key", "", "wallet key file (modex wallet new|import)")
		fs.Int64Var(&o.account, "account", -1, "the L2 account id (default: found from the key's L1 address and L2 key)")
		o.wait.status = rpc.TxIncluded
		fs.Var(&o.wait, "wait", "wait until the transaction is included (default), proven or finalized (--wait alone: finalized; none: do not wait)")
		f.optional["wait"] = []string{"included", "proven", "finalized", "none", "pending"}
	}
	fs.DurationVar(&o.timeout, "timeout", 10*time.Minute, "give up waiting after this long")
}

func (o *walletOpts) check() error {
	if err := checkURL("rpc", o.rpcURL); err != nil {
		return err
	}
	if o.account < -1 || o.account >= 1<<types.AccountBits {
		return cfgErr("account", strconv.FormatInt(o.account, 10), "not an account id")
	}
	if o.timeout <= 0 {
		return cfgErr("timeout", o.timeout.String(), "must be positive")
	}
	return nil
}

type session struct {
	ctx     context.Context
	cancel  context.CancelFunc
	c       *client.Client
	o       *walletOpts
	key     *walletKey
	account uint32
	domain  types.Domain
	out     io.Writer
}

// open dials the API; with a key it also finds the account (unless
// needAccount is false) and the signing domain.
func (o *walletOpts) open(key *walletKey, needAccount bool) (*session, error) {
	ctx, cancel := context.WithTimeout(context.Background(), o.timeout)
	c, err := client.Dial(ctx, o.rpcURL)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("API %s: %w", o.rpcURL, err)
	}
	s := &session{ctx: ctx, cancel: cancel, c: c, o: o, key: key, out: os.Stdout}
	if key == nil {
		return s, nil
	}
	ct, err := c.Contracts(ctx)
	if err != nil {
		s.close()
		return nil, fmt.Errorf("API %s: %w", o.rpcURL, err)
	}
	s.domain = types.Domain{ChainID: ct.ChainID, Bridge: ct.Bridge}
	if !needAccount {
		return s, nil
	}
	if o.account >= 0 {
		s.account = uint32(o.account)
		return s, nil
	}
	id, err := s.findAccount()
	if err != nil {
		s.close()
		return nil, err
	}
	s.account = id
	return s, nil
}

func (s *session) close() {
	s.c.Close()
	s.cancel()
}

// ErrNoAccount: the key has no L2 account (yet).
var ErrNoAccount = errors.New("no L2 account for this key")

// findAccount is the account bound to the key's L1 address and L2 key.
func (s *session) findAccount() (uint32, error) {
	ids, err := s.accountsOf()
	if err != nil {
		return 0, err
	}
	if len(ids) == 0 {
		addr, ok := s.key.address()
		if !ok {
			return 0, cfgErr("account", "", "required: the key file has no L1 key to find the account by")
		}
		return 0, fmt.Errorf("%w: %s has no account with this L2 key (deposit first: modex deposit --key FILE --amount WEI)", ErrNoAccount, addr)
	}
	return ids[0], nil
}

// accountsOf lists the accounts of the key's L1 address that hold its L2 key.
func (s *session) accountsOf() ([]uint32, error) {
	addr, ok := s.key.address()
	if !ok {
		return nil, nil
	}
	ids, err := s.c.AccountByAddress(s.ctx, addr)
	if err != nil {
		return nil, err
	}
	pk := s.key.pub()
	want := [2]string{elemHex(pk.X), elemHex(pk.Y)}
	var out []uint32
	for _, id := range ids {
		info, err := s.c.Account(s.ctx, id)
		if err != nil {
			return nil, err
		}
		if strings.EqualFold(info.PubKey[0], want[0]) && strings.EqualFold(info.PubKey[1], want[1]) {
			out = append(out, id)
		}
	}
	return out, nil
}

// send signs tx with the account's soft nonce, submits it and waits.
func (s *session) send(tx types.SignedTx) (*rpc.TxInfo, error) {
	info, err := s.c.Account(s.ctx, s.account)
	if err != nil {
		return nil, fmt.Errorf("account %d: %w", s.account, err)
	}
	tx.SetNonce(info.Nonce)
	if err := types.SignTx(s.key.l2, s.domain, tx); err != nil {
		return nil, err
	}
	h, err := s.c.SubmitTx(s.ctx, tx)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", tx.Kind(), err)
	}
	fmt.Fprintf(s.out, "%s submitted: %s (account %d, nonce %d)\n", tx.Kind(), h, s.account, info.Nonce)
	return s.waitTx(h, s.o.wait.status)
}

func statusRank(st rpc.TxStatus) int {
	switch st {
	case rpc.TxPending:
		return 1
	case rpc.TxIncluded:
		return 2
	case rpc.TxProven:
		return 3
	case rpc.TxFinalized:
		return 4
	}
	return 0
}

// progressEvery is how often a wait prints that it is still waiting.
var progressEvery = 5 * time.Second

// waitTx polls the transaction until it reaches want, printing each status
// change and, every few seconds, where it stands.
func (s *session) waitTx(h common.Hash, want rpc.TxStatus) (*rpc.TxInfo, error) {
	start := time.Now()
	var last rpc.TxStatus
	lastPrint := time.Now()
	for {
		v, err := s.c.Tx(s.ctx, h)
		switch {
		case errors.Is(err, rpc.ErrTxNotFound):
		case err != nil:
			return nil, err
		default:
			if v.Status != last {
				last = v.Status
				lastPrint = time.Now()
				fmt.Fprintf(s.out, "  %-9s%s  %s\n", v.Status, batchNote(v.Batch), humanSince(start))
			}
			switch v.Status {
			case rpc.TxFailed:
				if v.Error != nil {
					return v, &rpc.APIError{Code: v.Error.Code, Reason: v.Error.Reason, Message: v.Error.Message}
				}
				return v, errors.New("transaction failed")
			case rpc.TxReplaced:
				return v, rpc.Wrap(rpc.ErrTxReplaced)
			}
			if statusRank(v.Status) >= statusRank(want) {
				return v, nil
			}
			if time.Since(lastPrint) >= progressEvery {
				lastPrint = time.Now()
				stage := ""
				if v.Batch > 0 {
					if b, err := s.c.Batch(s.ctx, v.Batch); err == nil {
						stage = fmt.Sprintf(", batch %d is %s", v.Batch, b.Status)
					}
				}
				fmt.Fprintf(s.out, "  still %s%s, waiting for %s  %s\n", v.Status, stage, want, humanSince(start))
			}
		}
		select {
		case <-s.ctx.Done():
			return nil, fmt.Errorf("waiting for %s (last status %q) after %s: %w", h, last, humanSince(start), s.ctx.Err())
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func batchNote(n uint64) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprintf(" batch %d", n)
}

// describeError is how main prints an error: API errors with their code
// and reason.
func describeError(err error) string {
	var ae *rpc.APIError
	if errors.As(err, &ae) {
		return fmt.Sprintf("%v  [API error %d, reason %s]", err, ae.Code, ae.Reason)
	}
	return err.Error()
}

// --- modex wallet new | import | show --------------------------------------

func runWallet(args []string) error {
	if len(args) == 0 {
		return cfgErr("wallet", "", "want a subcommand: new, import or show")
	}
	switch args[0] {
	case "new":
		return runWalletNew(args[1:])
	case "import":
		return runWalletImport(args[1:])
	case "show":
		return runWalletShow(args[1:])
	}
	return cfgErr("wallet", args[0], "unknown subcommand (new, import, show)")
}

func runWalletNew(args []string) error {
	f := newCmdFlags("wallet new", false)
	out := f.fs.String("out", "", "key file to write (mode 0600)")
	noL1 := f.fs.Bool("no-l1", false, "make only the L2 key (deposits then need an L1 wallet of your own)")
	force := f.fs.Bool("force", false, "overwrite --out")
	if err := f.parse(args); err != nil {
		return err
	}
	if *out == "" {
		return cfgErr("out", "", "required: where to write the key file")
	}
	l2, err := types.GenerateKey(rand.Reader)
	if err != nil {
		return err
	}
	k := &walletKey{l2: l2}
	if !*noL1 {
		if k.l1, err = crypto.GenerateKey(); err != nil {
			return err
		}
	}
	if err := writeKeyFile(*out, k, *force); err != nil {
		return err
	}
	fmt.Printf("wrote %s\n", *out)
	printKey(os.Stdout, k)
	return nil
}

func runWalletImport(args []string) error {
	f := newCmdFlags("wallet import", false)
	l1 := f.fs.String("l1-key", "", "hex secp256k1 L1 key (optional)")
	l2 := f.fs.String("l2-key", "", "hex EdDSA L2 key (96 bytes)")
	dev := f.fs.Int("dev", -1, "import devnet account N's keys (instead of --l1-key/--l2-key)")
	out := f.fs.String("out", "", "key file to write (mode 0600)")
	force := f.fs.Bool("force", false, "overwrite --out")
	f.secret("l1-key")
	f.secret("l2-key")
	if err := f.parse(args); err != nil {
		return err
	}
	k, err := importKey(*l1, *l2, *dev)
	if err != nil {
		return err
	}
	if err := writeKeyFile(*out, k, *force); err != nil {
		return err
	}
	fmt.Printf("wrote %s\n", *out)
	printKey(os.Stdout, k)
	return nil
}

func importKey(l1, l2 string, dev int) (*walletKey, error) {
	if dev >= 0 {
		if l1 != "" || l2 != "" {
			return nil, cfgErr("dev", strconv.Itoa(dev), "give --dev or --l1-key/--l2-key, not both")
		}
		if dev > 1000 {
			return nil, cfgErr("dev", strconv.Itoa(dev), "want 0..1000")
		}
		return &walletKey{l1: devchain.DevKey(dev), l2: devchain.DevL2Key(dev)}, nil
	}
	if l2 == "" {
		return nil, cfgErr("l2-key", "", "required (or --dev N)")
	}
	k := &walletKey{}
	var err error
	if k.l2, err = parseL2Key("l2-key", l2); err != nil {
		return nil, err
	}
	if l1 != "" {
		if k.l1, err = parseL1Key("l1-key", l1); err != nil {
			return nil, err
		}
	}
	return k, nil
}

func printKey(w io.Writer, k *walletKey) {
	if addr, ok := k.address(); ok {
		fmt.Fprintf(w, "L1 address   %s\n", addr)
	} else {
		fmt.Fprintf(w, "L1 address   (none: no L1 key)\n")
	}
	pk := k.pub()
	fmt.Fprintf(w, "L2 key X     %s\nL2 key Y     %s\n", elemHex(pk.X), elemHex(pk.Y))
}

func runWalletShow(args []string) error {
	f := newCmdFlags("wallet show", false)
	var o walletOpts
	o.register(f, true)
	if err := f.parse(args); err != nil {
		return err
	}
	if err := o.check(); err != nil {
		return err
	}
	k, err := loadKey(o.keyPath)
	if err != nil {
		return err
	}
	printKey(os.Stdout, k)
	s, err := o.open(k, false)
	if err != nil {
		fmt.Printf("accounts     (node unreachable: %v)\n", err)
		return nil
	}
	defer s.close()
	ids, err := s.accountsOf()
	if err != nil {
		return err
	}
	switch {
	case len(ids) == 0 && k.l1 == nil:
		fmt.Println("accounts     (unknown: no L1 key to look them up by)")
	case len(ids) == 0:
		fmt.Println("accounts     none yet (deposit to create one)")
	default:
		strs := make([]string, len(ids))
		for i, id := range ids {
			strs[i] = strconv.FormatUint(uint64(id), 10)
		}
		fmt.Printf("accounts     %s\n", strings.Join(strs, ", "))
	}
	return nil
}
