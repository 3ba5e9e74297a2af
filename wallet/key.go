package wallet

import (
	"crypto/ecdsa"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/modex/modex/types"
)

// KeyFile is a wallet key file's JSON: hex keys, the L1 one optional.
type KeyFile struct {
	L1Key string `json:"l1Key,omitempty"` // secp256k1, 32 bytes
	L2Key string `json:"l2Key"`           // EdDSA (BN254 twisted Edwards), 96 bytes: public key, scalar, nonce seed
}

// Key is a wallet's keys: the L2 key signs transactions and orders, the L1
// key (nil: none) sends deposits and claims and names the account.
type Key struct {
	L1 *ecdsa.PrivateKey
	L2 *types.PrivateKey
}

// NewKey makes a fresh L2 key and, with l1, a fresh L1 key.
func NewKey(l1 bool) (*Key, error) {
	l2, err := types.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	k := &Key{L2: l2}
	if l1 {
		if k.L1, err = crypto.GenerateKey(); err != nil {
			return nil, err
		}
	}
	return k, nil
}

// PubKey is the L2 public key.
func (k *Key) PubKey() types.PubKey { return types.PublicKeyOf(k.L2) }

// Address is the L1 address (false without an L1 key).
func (k *Key) Address() (common.Address, bool) {
	if k.L1 == nil {
		return common.Address{}, false
	}
	return crypto.PubkeyToAddress(k.L1.PublicKey), true
}

// File is the key file's JSON form.
func (k *Key) File() KeyFile {
	f := KeyFile{L2Key: "0x" + hex.EncodeToString(k.L2.Bytes())}
	if k.L1 != nil {
		f.L1Key = "0x" + hex.EncodeToString(crypto.FromECDSA(k.L1))
	}
	return f
}

// ParseL1Key parses a hex secp256k1 key; field names the argument.
func ParseL1Key(field, s string) (*ecdsa.PrivateKey, error) {
	k, err := crypto.HexToECDSA(trim0x(strings.TrimSpace(s)))
	if err != nil {
		return nil, ArgErr(field, "", "not a hex secp256k1 private key (64 hex digits): %v", err)
	}
	return k, nil
}

// ParseL2Key parses a hex L2 key (96 bytes).
func ParseL2Key(field, s string) (*types.PrivateKey, error) {
	b, err := hex.DecodeString(trim0x(strings.TrimSpace(s)))
	if err != nil {
		return nil, ArgErr(field, "", "not hex: %v", err)
	}
	k := new(types.PrivateKey)
	if len(b) != len(k.Bytes()) {
		return nil, ArgErr(field, "", "an L2 key is %d bytes (%d hex digits), got %d", len(k.Bytes()), 2*len(k.Bytes()), len(b))
	}
	if _, err := k.SetBytes(b); err != nil {
		return nil, ArgErr(field, "", "not an EdDSA private key: %v", err)
	}
	return k, nil
}

// ImportKey parses hex keys (l1 may be empty).
func ImportKey(l1, l2 string) (*Key, error) {
	if l2 == "" {
		return nil, ArgErr("l2-key", "", "required (or --dev N)")
	}
	k := &Key{}
	var err error
	if k.L2, err = ParseL2Key("l2-key", l2); err != nil {
		return nil, err
	}
	if l1 != "" {
		if k.L1, err = ParseL1Key("l1-key", l1); err != nil {
			return nil, err
		}
	}
	return k, nil
}

// ParseKeyFile parses a key file's JSON (unknown fields are refused).
func ParseKeyFile(b []byte) (*Key, error) {
	var f KeyFile
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("key file: %w", err)
	}
	if f.L2Key == "" {
		return nil, errors.New("key file: no l2Key")
	}
	k := &Key{}
	var err error
	if k.L2, err = ParseL2Key("l2Key", f.L2Key); err != nil {
		return nil, err
	}
	if f.L1Key != "" {
		if k.L1, err = ParseL1Key("l1Key", f.L1Key); err != nil {
			return nil, err
		}
	}
	return k, nil
}

// LoadKey reads a key file; errors are *ArgError for --key.
func LoadKey(path string) (*Key, error) {
	if path == "" {
		return nil, ArgErr("key", "", "required: a key file (modex wallet new|import --out FILE)")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, ArgErr("key", path, "%v", err)
	}
	k, err := ParseKeyFile(b)
	if err != nil {
		return nil, ArgErr("key", path, "%v", err)
	}
	return k, nil
}

// WriteKeyFile writes a key file with mode 0600; it never overwrites one
// unless force. Errors are *ArgError for --out.
func WriteKeyFile(path string, k *Key, force bool) error {
	if path == "" {
		return ArgErr("out", "", "required: where to write the key file")
	}
	b, err := json.MarshalIndent(k.File(), "", "  ")
	if err != nil {
		return err
	}
	flags := os.O_WRONLY | os.O_CREATE | os.O_EXCL
	if force {
		flags = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	}
	f, err := os.OpenFile(path, flags, 0o600)
	if errors.Is(err, os.ErrExist) {
		return ArgErr("out", path, "exists (--force overwrites it)")
	}
	if err != nil {
		return ArgErr("out", path, "%v", err)
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

func trim0x(s string) string {
	if len(s) > 1 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') {
		return s[2:]
	}
	return s
}
