package state

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/big"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/modex/modex/types"
)

// FuzzDecodeHeader: DecodeHeader never panics, accepts exactly 125-byte
// inputs whose roots and pubdata commitment are canonical field elements
// (anything else fails with ErrMalformed or ErrFieldElement), and what it
// accepts re-encodes to the identical bytes, field by field at the §8
// offsets. Seeds are headers of real batches.
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
		if len(enc) != 125 {
			f.Fatalf("header of %d bytes", len(enc))
		}
		f.Add(enc)
	}
	rMinus1 := new(big.Int).Sub(fr.Modulus(), big.NewInt(1))
	max := &Header{Number: ^uint64(0), Timestamp: ^uint64(0), Family: 0xff, FirstPriority: ^uint64(0), PriorityCount: ^uint32(0)}
	max.PrevRoot.SetBigInt(rMinus1)
	max.NewRoot = max.PrevRoot
	max.PubdataCommitment = max.PrevRoot
	enc := max.Encode()
	f.Add(enc)
	// the commitment at r and at 2^256 − 1: not canonical
	for _, v := range []*big.Int{fr.Modulus(), new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 256), big.NewInt(1))} {
		bad := append([]byte(nil), enc...)
		v.FillBytes(bad[93:125])
		if _, err := DecodeHeader(bad); !errors.Is(err, types.ErrFieldElement) {
			f.Fatalf("commitment %s: %v, want ErrFieldElement", v, err)
		}
		f.Add(bad)
	}
	f.Add(make([]byte, 125))
	f.Add(make([]byte, 124))
	f.Add(make([]byte, 126))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := DecodeHeader(b)
		if err != nil {
			if h != nil {
				t.Fatal("header and error")
			}
			switch {
			case len(b) != 125:
				if !errors.Is(err, types.ErrMalformed) {
					t.Fatalf("%d bytes: %v, want ErrMalformed", len(b), err)
				}
			case !errors.Is(err, types.ErrFieldElement):
				t.Fatalf("125 bytes: %v, want ErrFieldElement", err)
			}
			// a 125-byte header fails only for a non-canonical element
			if len(b) == 125 {
				r := fr.Modulus()
				if new(big.Int).SetBytes(b[17:49]).Cmp(r) < 0 && new(big.Int).SetBytes(b[49:81]).Cmp(r) < 0 &&
					new(big.Int).SetBytes(b[93:125]).Cmp(r) < 0 {
					t.Fatalf("canonical header rejected: %v", err)
				}
			}
			return
		}
		if len(b) != 125 {
			t.Fatalf("decoded a %d-byte header", len(b))
		}
		if enc := h.Encode(); !bytes.Equal(enc, b) {
			t.Fatalf("header re-encodes differently\n in %x\nout %x", b, enc)
		}
		pr, nr, pc := h.PrevRoot.Bytes(), h.NewRoot.Bytes(), h.PubdataCommitment.Bytes()
		if binary.BigEndian.Uint64(b[0:8]) != h.Number || binary.BigEndian.Uint64(b[8:16]) != h.Timestamp ||
			b[16] != byte(h.Family) || !bytes.Equal(b[17:49], pr[:]) || !bytes.Equal(b[49:81], nr[:]) ||
			binary.BigEndian.Uint64(b[81:89]) != h.FirstPriority || binary.BigEndian.Uint32(b[89:93]) != h.PriorityCount ||
			!bytes.Equal(b[93:125], pc[:]) {
			t.Fatalf("fields are not at the §8 offsets: %+v", h)
		}
		// the public input is the chain over the domain, the word, the roots
		// and the commitment, with the word packed by math/big
		want := types.HashChain(testDomain.Element(), refWord(t, h), h.PrevRoot, h.NewRoot, h.PubdataCommitment)
		if pi := h.PublicInput(testDomain); pi != want {
			t.Fatalf("public input %s, want %s", belemState(pi), belemState(want))
		}
	})
}

func belemState(e fr.Element) *big.Int {
	var b big.Int
	e.BigInt(&b)
	return &b
}
