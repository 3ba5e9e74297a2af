package bridge

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/rpc"

	"github.com/modex/modex/types"
)

// erc20Meta is the ERC-20 optional metadata: symbol() as a string (the
// standard) and decimals().
var erc20Meta = func() abi.ABI {
	a, err := abi.JSON(strings.NewReader(`[
		{"type":"function","name":"symbol","stateMutability":"view","inputs":[],"outputs":[{"type":"string"}]},
		{"type":"function","name":"decimals","stateMutability":"view","inputs":[],"outputs":[{"type":"uint8"}]}]`))
	if err != nil {
		panic(err)
	}
	return a
}()

// TokenMeta is a token's ERC-20 metadata, as L1 answers it.
type TokenMeta struct {
	Symbol   string // "" when the token has no symbol()
	Decimals *uint8 // nil when the token has no decimals()
}

// MaxSymbolLen bounds a symbol read from L1 (anyone can register a token
// whose symbol() returns megabytes).
const MaxSymbolLen = 32

// ReadTokenMeta reads a token's symbol() and decimals() from L1. A token
// that lacks one (the call reverts or answers something else) has it
// empty; symbol() answering bytes32 (early tokens, MKR) is read as text.
// The error is only a transport error: asking again later may succeed.
func ReadTokenMeta(ctx context.Context, l1 L1, token common.Address) (TokenMeta, error) {
	var m TokenMeta
	out, err := callView(ctx, l1, token, "symbol")
	if err != nil {
		return m, err
	}
	m.Symbol = decodeSymbol(out)
	out, err = callView(ctx, l1, token, "decimals")
	if err != nil {
		return m, err
	}
	if v, err := erc20Meta.Unpack("decimals", out); err == nil && len(v) == 1 {
		if d, ok := v[0].(uint8); ok {
			m.Decimals = &d
		}
	}
	return m, nil
}

// callView calls a metadata getter; a revert is an empty answer, not an error.
func callView(ctx context.Context, l1 L1, token common.Address, method string) ([]byte, error) {
	data, _ := erc20Meta.Pack(method)
	out, err := l1.CallContract(ctx, ethereum.CallMsg{To: &token, Data: data}, nil)
	if err != nil {
		var de rpc.DataError
		if errors.As(err, &de) || strings.Contains(err.Error(), "revert") {
			return nil, nil
		}
		return nil, fmt.Errorf("bridge: token %s %s(): %w", token, method, err)
	}
	return out, nil
}

func decodeSymbol(out []byte) string {
	s := ""
	if v, err := erc20Meta.Unpack("symbol", out); err == nil && len(v) == 1 {
		s, _ = v[0].(string)
	} else if len(out) == 32 { // bytes32
		s = strings.TrimRight(string(out), "\x00")
	}
	// printable UTF-8 only, bounded
	if !utf8.ValidString(s) || strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return ""
	}
	if len(s) > MaxSymbolLen {
		i := MaxSymbolLen
		for i > 0 && !utf8.RuneStart(s[i]) {
			i--
		}
		s = s[:i]
	}
	return s
}

// Verifier is the verifier contract of a batch family (zero when the bridge
// has none for it).
func (c *Contract) Verifier(ctx context.Context, f types.Family) (common.Address, error) {
	return view(ctx, c, ABI.PackVerifier(uint8(f)), ABI.UnpackVerifier)
}
