package state

import (
	"bytes"
	"math/big"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/modex/modex/types"
)

// FuzzDecodeHeader: DecodeHeader never panics, accepts exactly 124-byte
// inputs whose roots are canonical field elements, and what it accepts
// re-encodes to the identical bytes. Seeds are headers of real batches.
//
//	go test ./state -run '^$' -fuzz FuzzDecodeHeader -fuzztime 20s
func FuzzDecodeHeader(f *testing.F) {
	w := newWorld(f, types.TestParams(), 3)
	w.deposit(0, 0, 0)
	w.deposit(1, 0, 1000)
	w.seal()
	w.deposit(2, 1, 5)
	w.mustAdd(w.sign(1, &types.Transfer{From: w.acct[1], To: w.acct[2], Asset: types.ETH, Amount: u256(10), Fee: u256(1)}))
	w.seal()
	for _, sb := range w.sealed {
		enc := sb.Header.Encode()
		if len(enc) != 124 {
			f.Fatalf("header of %d bytes", len(enc))
		}
		f.Add(enc)
	}
	max := &Header{Number: ^uint64(0), Timestamp: ^uint64(0), FirstPriority: ^uint64(0), PriorityCount: ^uint32(0)}
	max.PrevRoot.SetBigInt(new(big.Int).Sub(fr.Modulus(), big.NewInt(1)))
	max.NewRoot = max.PrevRoot
	for i := range max.PubdataHash {
		max.PubdataHash[i] = 0xff
	}
	f.Add(max.Encode())
	f.Add(make([]byte, 124))
	f.Add(make([]byte, 123))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := DecodeHeader(b)
		if err != nil {
			if h != nil {
				t.Fatal("header and error")
			}
			return
		}
		if len(b) != 124 {
			t.Fatalf("decoded a %d-byte header", len(b))
		}
		if enc := h.Encode(); !bytes.Equal(enc, b) {
			t.Fatalf("header re-encodes differently\n in %x\nout %x", b, enc)
		}
		// the public input is sha256(header) with the top three bits cleared
		c := h.Commitment()
		c[0] &= 0x1f
		pi := h.PublicInput()
		var want big.Int
		want.SetBytes(c[:])
		if belemState(pi).Cmp(&want) != 0 || want.BitLen() > 253 {
			t.Fatalf("public input %s, want %s", belemState(pi), &want)
		}
	})
}

func belemState(e fr.Element) *big.Int {
	var b big.Int
	e.BigInt(&b)
	return &b
}
