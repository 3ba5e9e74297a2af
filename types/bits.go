package types

import (
	"fmt"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/holiman/uint256"
)

// BitWriter builds pubdata: fields are appended most-significant bit first, and
// each operation is padded with zero bits to a whole byte (Pad).
type BitWriter struct {
	buf  []byte
	nbit uint
}

// WriteU64 appends the low `bits` bits of v.
func (w *BitWriter) WriteU64(v uint64, bits uint) {
	for i := int(bits) - 1; i >= 0; i-- {
		w.writeBit(byte(v>>uint(i)) & 1)
	}
}

// WriteU256 appends the low `bits` bits of v.
func (w *BitWriter) WriteU256(v *uint256.Int, bits uint) {
	b := v.Bytes32()
	for i := int(bits) - 1; i >= 0; i-- {
		w.writeBit(b[31-i/8] >> uint(i%8) & 1)
	}
}

// WriteElem appends a field element as 256 bits, big-endian.
func (w *BitWriter) WriteElem(e fr.Element) {
	b := e.Bytes()
	for _, x := range b {
		w.WriteU64(uint64(x), 8)
	}
}

func (w *BitWriter) writeBit(b byte) {
	if w.nbit%8 == 0 {
		w.buf = append(w.buf, 0)
	}
	if b != 0 {
		w.buf[len(w.buf)-1] |= 0x80 >> (w.nbit % 8)
	}
	w.nbit++
}

// Pad zero-fills to a byte boundary.
func (w *BitWriter) Pad() { w.nbit = uint(len(w.buf)) * 8 }

// Bytes returns the written bytes (padded).
func (w *BitWriter) Bytes() []byte { return w.buf }

// BitReader reads what BitWriter wrote; reading past the end is ErrMalformed.
type BitReader struct {
	buf  []byte
	nbit uint
	err  error
}

// NewBitReader reads from b.
func NewBitReader(b []byte) *BitReader { return &BitReader{buf: b} }

// Err returns the first error.
func (r *BitReader) Err() error { return r.err }

func (r *BitReader) readBit() byte {
	if r.nbit >= uint(len(r.buf))*8 {
		if r.err == nil {
			r.err = fmt.Errorf("%w: read past end of %d bytes", ErrMalformed, len(r.buf))
		}
		return 0
	}
	b := r.buf[r.nbit/8] >> (7 - r.nbit%8) & 1
	r.nbit++
	return b
}

// ReadU64 reads `bits` (<= 64) bits.
func (r *BitReader) ReadU64(bits uint) uint64 {
	var v uint64
	for i := uint(0); i < bits; i++ {
		v = v<<1 | uint64(r.readBit())
	}
	return v
}

// ReadU256 reads `bits` (<= 256) bits.
func (r *BitReader) ReadU256(bits uint) *uint256.Int {
	v := new(uint256.Int)
	one := uint256.NewInt(1)
	for i := uint(0); i < bits; i++ {
		v.Lsh(v, 1)
		if r.readBit() == 1 {
			v.Or(v, one)
		}
	}
	return v
}

// ReadElem reads 256 bits that must be a canonical field element.
func (r *BitReader) ReadElem() fr.Element {
	var b [32]byte
	for i := range b {
		b[i] = byte(r.ReadU64(8))
	}
	e, err := ElemFromBytes(b[:])
	if err != nil && r.err == nil {
		r.err = err
	}
	return e
}

// Align skips to the next byte boundary; skipped bits must be zero.
func (r *BitReader) Align() {
	for r.nbit%8 != 0 {
		if r.readBit() != 0 && r.err == nil {
			r.err = fmt.Errorf("%w: non-zero padding bit", ErrMalformed)
		}
	}
}

// Remaining returns the unread whole bytes.
func (r *BitReader) Remaining() int { return len(r.buf) - int((r.nbit+7)/8) }
