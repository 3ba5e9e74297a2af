package types

import (
	"bytes"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/holiman/uint256"
)

// Fuzz targets: decoding arbitrary bytes never panics, and whatever decodes
// re-encodes to the identical bytes. Seeds are real
// encodings of every kind. Run with e.g.
//   go test ./types -run '^$' -fuzz FuzzDecodeTx -fuzztime 20s

func seedTxs(salt uint64, perKind int) []Tx {
	var out []Tx
	for _, k := range AllKinds() {
		rng := kindRng(k, salt)
		for i := 0; i < perKind; i++ {
			out = append(out, rndTx(rng, k))
		}
	}
	return out
}

func FuzzDecodeTx(f *testing.F) {
	for _, tx := range seedTxs(100, 3) {
		enc, err := EncodeTx(tx)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(enc)
	}
	f.Add([]byte{})
	f.Add([]byte{0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		tx, err := DecodeTx(b)
		if err != nil {
			if tx != nil {
				t.Fatal("decode returned a tx and an error")
			}
			return
		}
		if d, ok := tx.(*Deposit); ok && (d.Refused || d.Account>>AccountBits != 0) {
			t.Fatalf("decoded deposit: refused %v (not a wire field), account %#x (24 bits)", d.Refused, d.Account)
		}
		enc, err := EncodeTx(tx)
		if err != nil {
			t.Fatalf("decoded %s does not re-encode: %v", tx.Kind(), err)
		}
		if !bytes.Equal(enc, b) {
			t.Fatalf("%s re-encodes differently\n in %x\nout %x", tx.Kind(), b, enc)
		}
	})
}

func FuzzDecodeOrder(f *testing.F) {
	rng := rand.New(rand.NewPCG(101, 101))
	for i := 0; i < 8; i++ {
		o := rndOrder(rng, Side(i%2))
		enc, err := EncodeOrder(&o)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(enc)
	}
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		o, err := DecodeOrder(b)
		if err != nil {
			return
		}
		if o.Side != Buy && o.Side != Sell {
			t.Fatalf("decoded side %d", o.Side)
		}
		enc, err := EncodeOrder(o)
		if err != nil {
			t.Fatalf("decoded order does not re-encode: %v", err)
		}
		if !bytes.Equal(enc, b) {
			t.Fatalf("order re-encodes differently\n in %x\nout %x", b, enc)
		}
	})
}

func FuzzDecodePubdata(f *testing.F) {
	var batch []byte
	for _, tx := range seedTxs(102, 2) {
		pd, err := Pubdata(tx)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(pd)
		batch = append(batch, pd...)
	}
	f.Add(append(batch, 0, 0, 0))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		ops, err := DecodePubdata(b)
		if err != nil {
			return
		}
		var out, norm []byte
		rest := b
		for i, op := range ops {
			pd, err := Pubdata(op)
			if err != nil {
				t.Fatalf("op %d (%s) does not re-encode: %v", i, op.Kind(), err)
			}
			if len(pd) != PubdataSize[op.Kind()] {
				t.Fatalf("op %d (%s): %d bytes", i, op.Kind(), len(pd))
			}
			if len(rest) == 0 || Kind(rest[0]) != op.Kind() {
				t.Fatalf("op %d: kind %s not at its offset", i, op.Kind())
			}
			n, consumed, ok := specNormalize(op.Kind(), rest)
			if !ok {
				t.Fatalf("op %d (%s): decoded from too few bytes", i, op.Kind())
			}
			out, norm = append(out, pd...), append(norm, n...)
			rest = rest[consumed:]
		}
		if len(rest) != 0 {
			t.Fatalf("%d bytes not covered by the decoded ops", len(rest))
		}
		// identical bytes: the decoder accepts exactly one encoding per operation
		if !bytes.Equal(out, b) || !bytes.Equal(out, norm) {
			t.Fatalf("pubdata re-encodes differently\n in %x\nout %x\nnorm %x", b, out, norm)
		}
		again, err := DecodePubdata(out)
		if err != nil || !reflect.DeepEqual(again, ops) {
			t.Fatalf("re-encoded pubdata decodes differently: %v", err)
		}
	})
}

func FuzzFloatDecode(f *testing.F) {
	for _, ff := range floatFormats {
		for _, v := range []uint64{0, 1, 10, 2047, 2050, 123456789, 1<<33 - 1, 85899345910} {
			if raw, err := ff.f.Encode(uint256.NewInt(v)); err == nil {
				f.Add(raw, ff.f == Fee16)
			}
		}
		f.Add(uint64(1)<<ff.f.Bits()-1, ff.f == Fee16)
		f.Add(uint64(1)<<ff.f.Bits(), ff.f == Fee16)
		f.Add(uint64(1)<<ff.f.MantissaBits|1, ff.f == Fee16) // 1·10^1: not canonical
	}
	f.Fuzz(func(t *testing.T, raw uint64, fee bool) {
		ff := Amount38
		if fee {
			ff = Fee16
		}
		v, err := ff.Decode(raw)
		if raw>>ff.Bits() != 0 {
			if err == nil {
				t.Fatalf("too-wide %#x decoded", raw)
			}
			return
		}
		if !refCanonical(ff, raw) {
			if err == nil {
				t.Fatalf("non-canonical %#x decoded to %s", raw, v.Dec())
			}
			return
		}
		if err != nil {
			t.Fatalf("Decode(%#x): %v", raw, err)
		}
		if v.ToBig().Cmp(refFloatDecode(raw, ff.MantissaBits)) != 0 {
			t.Fatalf("Decode(%#x) = %s", raw, v.Dec())
		}
		enc, err := ff.Encode(v)
		if err != nil {
			t.Fatalf("decoded %s does not encode: %v", v.Dec(), err)
		}
		if want, _ := refFloatEncode(v.ToBig(), ff.MantissaBits, ff.ExponentBits); enc != want {
			t.Fatalf("Encode(%s) = %#x, canonical %#x", v.Dec(), enc, want)
		}
		if enc != raw {
			t.Fatalf("canonical %#x re-encodes as %#x", raw, enc)
		}
		back, err := ff.Decode(enc)
		if err != nil || !back.Eq(v) {
			t.Fatalf("%#x → %s → %#x → %v", raw, v.Dec(), enc, back)
		}
		rd := ff.RoundDown(v)
		if !rd.Eq(v) {
			t.Fatalf("RoundDown of packable %s = %s", v.Dec(), rd.Dec())
		}
	})
}
