package state

import (
	"bytes"
	"testing"

	"github.com/holiman/uint256"

	"github.com/modex/modex/types"
)

// FuzzDecodeRecords feeds arbitrary bytes to the storage decoders of account,
// position and model records: no panic, and whatever decodes re-encodes to the
// same bytes (a corrupt record is an error, never a silently different leaf).
func FuzzDecodeRecords(f *testing.F) {
	a := &Account{PubKey: types.PubKey{X: types.FromUint64(5), Y: types.FromUint64(9)}, Nonce: 7}
	a.L1Address[3] = 0x42
	p := &Position{Shares: 10, Credits: 3}
	p.LastAcc.SetUint64(1e18)
	p.Pending.Lsh(uint256.NewInt(1), 200)
	m := &Model{DAO: 4, QuoteToken: 1, HolderBps: 7000, Supply: 1000, MaxSupply: 2000, Weights: types.FromUint64(1)}
	m.Treasury.SetUint64(12345)
	for _, b := range [][]byte{a.encode(), p.encode(), m.encode(), nil, {1, 2, 3}} {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var a Account
		if a.decode(b) == nil && !bytes.Equal(a.encode(), b) {
			t.Fatalf("account record re-encodes differently")
		}
		var p Position
		if p.decode(b) == nil && !bytes.Equal(p.encode(), b) {
			t.Fatalf("position record re-encodes differently")
		}
		var m Model
		if m.decode(b) == nil && !bytes.Equal(m.encode(), b) {
			t.Fatalf("model record re-encodes differently")
		}
	})
}
