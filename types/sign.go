package types

import (
	"fmt"
	"io"
	"math/big"
	"sync"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr/poseidon2"
	"github.com/consensys/gnark-crypto/ecc/bn254/twistededwards"
	"github.com/consensys/gnark-crypto/ecc/bn254/twistededwards/eddsa"
	"github.com/ethereum/go-ethereum/common"
	"github.com/holiman/uint256"
)

// Domain binds every signed message to one deployment: the L1 chain id and the
// bridge contract's address. A signature for another chain or contract hashes
// to a different message and fails.
type Domain struct {
	ChainID uint64
	Bridge  common.Address
}

var domainCache sync.Map // Domain -> fr.Element

// Element is Compress(chainID, bridge), the first element of every message.
func (d Domain) Element() fr.Element {
	if e, ok := domainCache.Load(d); ok {
		return e.(fr.Element)
	}
	e := Compress(FromUint64(d.ChainID), AddressElem(d.Bridge))
	domainCache.Store(d, e)
	return e
}

// AddressElem is an L1 address as a 160-bit field element.
func AddressElem(a common.Address) fr.Element {
	var e fr.Element
	e.SetBytes(a[:])
	return e
}

// PubKey is an L2 account key: a point of the BN254 twisted Edwards curve
// (gnark-crypto's twistededwards), kept as both affine coordinates.
type PubKey struct{ X, Y fr.Element }

// IsZero reports the empty key (0, 0), which no signature verifies against.
func (k PubKey) IsZero() bool { return k.X.IsZero() && k.Y.IsZero() }

// Equal compares keys.
func (k PubKey) Equal(o PubKey) bool { return k.X.Equal(&o.X) && k.Y.Equal(&o.Y) }

// Signature is gnark-crypto's EdDSA encoding: compressed R (32 bytes) ‖ S (32 bytes, big-endian).
type Signature [64]byte

// PrivateKey is an EdDSA private key.
type PrivateKey = eddsa.PrivateKey

// GenerateKey makes a key from the entropy source (crypto/rand in wallets, a
// seeded reader in tests).
func GenerateKey(r io.Reader) (*PrivateKey, error) { return eddsa.GenerateKey(r) }

// PublicKeyOf returns the key's public point.
func PublicKeyOf(k *PrivateKey) PubKey {
	return PubKey{X: k.PublicKey.A.X, Y: k.PublicKey.A.Y}
}

var subgroupOrder = twistededwards.GetEdwardsCurve().Order

// CheckPublicKey reports whether k can ever verify a signature: a point of
// the curve, not the identity, in the prime-order subgroup. Deposits refuse
// other keys, so every account key in the state is valid and the circuit's
// signature check needs no subgroup test.
func CheckPublicKey(k PubKey) error {
	p := twistededwards.PointAffine{X: k.X, Y: k.Y}
	switch {
	case k.IsZero():
		return fmt.Errorf("%w: empty key", ErrBadPublicKey)
	case !p.IsOnCurve():
		return fmt.Errorf("%w: not on the curve", ErrBadPublicKey)
	case p.IsZero():
		return fmt.Errorf("%w: identity", ErrBadPublicKey)
	case !p.IsInSubGroup():
		return fmt.Errorf("%w: not in the prime-order subgroup", ErrBadPublicKey)
	}
	return nil
}

// Sign signs the message element with EdDSA over Poseidon2 (gnark-crypto's
// Merkle–Damgård hasher: H(R.x, R.y, A.x, A.y, msg)), which gnark's
// std/signature/eddsa recomputes in the circuit.
func Sign(k *PrivateKey, msg fr.Element) (Signature, error) {
	var sig Signature
	b := msg.Bytes()
	raw, err := k.Sign(b[:], poseidon2.NewMerkleDamgardHasher())
	if err != nil {
		return sig, err
	}
	copy(sig[:], raw)
	return sig, nil
}

// VerifySignature checks sig over msg for key pk. S must be below the subgroup
// order (S+ℓ is the classic malleability) and the key a valid subgroup point.
// An S ≥ ℓ is ErrSignatureMalleable only when S mod ℓ makes a valid
// signature (someone re-encoded a real one); any other S ≥ ℓ (most random
// 64-byte strings) is ErrBadSignature.
func VerifySignature(pk PubKey, msg fr.Element, sig Signature) error {
	var s big.Int
	s.SetBytes(sig[32:])
	if s.Cmp(&subgroupOrder) >= 0 {
		var canon Signature
		copy(canon[:32], sig[:32])
		s.Mod(&s, &subgroupOrder).FillBytes(canon[32:])
		if verifySignature(pk, msg, canon) == nil {
			return ErrSignatureMalleable
		}
		return fmt.Errorf("%w: S not below the subgroup order", ErrBadSignature)
	}
	return verifySignature(pk, msg, sig)
}

// verifySignature checks a signature whose S is below the subgroup order.
func verifySignature(pk PubKey, msg fr.Element, sig Signature) error {
	if pk.IsZero() {
		return ErrBadPublicKey
	}
	pub := eddsa.PublicKey{A: twistededwards.PointAffine{X: pk.X, Y: pk.Y}}
	b := msg.Bytes()
	ok, err := pub.Verify(sig[:], b[:], poseidon2.NewMerkleDamgardHasher())
	if err != nil {
		// classify on the error path only, with the library's own point checks
		if !pub.A.IsOnCurve() || pub.A.IsZero() || !pub.A.IsInSubGroup() {
			return fmt.Errorf("%w: %v", ErrBadPublicKey, err)
		}
		return fmt.Errorf("%w: %v", ErrBadSignature, err)
	}
	if !ok {
		return ErrBadSignature
	}
	return nil
}

// Packer lays message fields into field elements: fields fill a 248-bit word
// from the least-significant bit upward in the listed order; a field that does
// not fit starts the next word. Full field elements take a word of their own.
// The circuit rebuilds each word as the same linear combination.
//
// A value wider than its field is refused, never truncated: it would
// otherwise sign alike with its low bits (v and v + 2^bits, or v and v + r
// for a value alone in a word). The first such error sticks (Err) and makes
// MessageHash fail; the kinds' CheckWidths report the same with a typed
// error before any message is built.
type Packer struct {
	words []fr.Element
	cur   uint256.Int
	used  uint
	open  bool
	err   error
}

const wordBits = 248

// Add appends v as a field of `bits` bits (bits <= 248). A value that does not
// fit, or a field wider than a word, records an error (see Err) and appends
// nothing.
func (p *Packer) Add(v *uint256.Int, bits uint) *Packer {
	if p.err != nil {
		return p
	}
	if bits > wordBits {
		p.err = fmt.Errorf("%w: a %d-bit field does not fit a %d-bit word", ErrMalformed, bits, wordBits)
		return p
	}
	if !Fits(v, bits) {
		p.err = fmt.Errorf("%w: %s is wider than its %d-bit message field", ErrAmountTooLarge, v.Dec(), bits)
		return p
	}
	if p.used+bits > wordBits {
		p.flush()
	}
	var t uint256.Int
	t.Lsh(v, p.used)
	p.cur.Or(&p.cur, &t)
	p.used += bits
	p.open = true
	return p
}

// Err is the first field that did not fit, or nil.
func (p *Packer) Err() error { return p.err }

// AddU64 appends a small field.
func (p *Packer) AddU64(v uint64, bits uint) *Packer { return p.Add(uint256.NewInt(v), bits) }

// AddElem appends a whole field element as its own word.
func (p *Packer) AddElem(e fr.Element) *Packer {
	p.flush()
	p.words = append(p.words, e)
	return p
}

func (p *Packer) flush() {
	if p.open {
		p.words = append(p.words, Elem(&p.cur))
	}
	p.cur.Clear()
	p.used, p.open = 0, false
}

// Words returns the packed words.
func (p *Packer) Words() []fr.Element {
	p.flush()
	return p.words
}

// MessageHash is HashChain(domain, words...): the element that is signed. It
// fails if a field did not fit (Packer.Err).
func MessageHash(d Domain, p *Packer) (fr.Element, error) {
	if p.err != nil {
		return fr.Element{}, p.err
	}
	return HashChain(append([]fr.Element{d.Element()}, p.Words()...)...), nil
}

// VerifyTx checks a signed transaction's signature under the domain: its
// message must build (every signed field within its width, CheckWidths) and
// verify under pk.
func VerifyTx(pk PubKey, d Domain, tx SignedTx) error {
	msg, err := tx.Message(d)
	if err != nil {
		return err
	}
	return VerifySignature(pk, msg, *tx.Sig())
}

// VerifyOrder is VerifyTx for a signed order.
func VerifyOrder(pk PubKey, d Domain, o *Order) error {
	msg, err := o.Message(d)
	if err != nil {
		return err
	}
	return VerifySignature(pk, msg, o.Signature)
}
