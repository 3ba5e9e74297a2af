package types

import (
	"errors"
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr/poseidon2"
	"github.com/consensys/gnark-crypto/ecc/bn254/twistededwards"
	"github.com/ethereum/go-ethereum/common"
	"github.com/holiman/uint256"
)

type chachaReader struct{ r *rand.ChaCha8 }

func (c chachaReader) Read(p []byte) (int, error) { return c.r.Read(p) }

func seededKey(t testing.TB, i byte) *PrivateKey {
	t.Helper()
	var seed [32]byte
	seed[0] = i
	k, err := GenerateKey(chachaReader{rand.NewChaCha8(seed)})
	if err != nil {
		t.Fatal(err)
	}
	return k
}

var signDomain = Domain{ChainID: 31337, Bridge: common.HexToAddress("0x00000000000000000000000000000000000b1d6e")}

// malleate returns sig with S replaced by S+ℓ (still 32 bytes: ℓ < 2^252).
func malleate(t *testing.T, sig Signature) Signature {
	t.Helper()
	order := twistededwards.GetEdwardsCurve().Order
	var s big.Int
	s.SetBytes(sig[32:])
	s.Add(&s, &order)
	if s.BitLen() > 256 {
		t.Fatal("S+ℓ does not fit 32 bytes")
	}
	s.FillBytes(sig[32:])
	return sig
}

func TestSignVerify(t *testing.T) {
	k, other := seededKey(t, 1), seededKey(t, 2)
	pk := PublicKeyOf(k)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 20; i++ {
		msg := rndElem(rng)
		sig, err := Sign(k, msg)
		if err != nil {
			t.Fatal(err)
		}
		if err := VerifySignature(pk, msg, sig); err != nil {
			t.Fatalf("valid signature: %v", err)
		}
		// S+ℓ verifies under plain EdDSA; the protocol refuses it
		if err := VerifySignature(pk, msg, malleate(t, sig)); !errors.Is(err, ErrSignatureMalleable) {
			t.Fatalf("S+ℓ: %v", err)
		}
		// wrong key
		if err := VerifySignature(PublicKeyOf(other), msg, sig); !errors.Is(err, ErrBadSignature) {
			t.Fatalf("wrong key: %v", err)
		}
		// altered message
		m2 := FromUint64(1)
		m2.Add(&msg, &m2)
		if err := VerifySignature(pk, m2, sig); !errors.Is(err, ErrBadSignature) {
			t.Fatalf("altered message: %v", err)
		}
		// zero key
		if err := VerifySignature(PubKey{}, msg, sig); !errors.Is(err, ErrBadPublicKey) {
			t.Fatalf("zero key: %v", err)
		}
		// flipped bits in R and in S
		bad := sig
		bad[40] ^= 1
		if err := VerifySignature(pk, msg, bad); err == nil {
			t.Fatal("altered S verified")
		}
		bad = sig
		bad[5] ^= 1
		if err := VerifySignature(pk, msg, bad); err == nil {
			t.Fatal("altered R verified")
		}
	}
	// S exactly ℓ, and all ones: S ≥ ℓ, but S mod ℓ is no signature, so
	// this is a bad signature, not a re-encoded (malleated) valid one
	sig, _ := Sign(k, FromUint64(5))
	order := twistededwards.GetEdwardsCurve().Order
	order.FillBytes(sig[32:])
	if err := VerifySignature(pk, FromUint64(5), sig); !errors.Is(err, ErrBadSignature) || errors.Is(err, ErrSignatureMalleable) {
		t.Fatalf("S = ℓ: %v", err)
	}
	for i := 32; i < 64; i++ {
		sig[i] = 0xff
	}
	if err := VerifySignature(pk, FromUint64(5), sig); !errors.Is(err, ErrBadSignature) || errors.Is(err, ErrSignatureMalleable) {
		t.Fatalf("S = 2^256-1: %v", err)
	}
	// random 64-byte signatures (most have S ≥ ℓ): bad signatures, never
	// "malleable"
	for i := 0; i < 50; i++ {
		var r Signature
		for j := range r {
			r[j] = byte(rng.Uint32())
		}
		if err := VerifySignature(pk, FromUint64(5), r); !errors.Is(err, ErrBadSignature) && !errors.Is(err, ErrBadPublicKey) || errors.Is(err, ErrSignatureMalleable) {
			t.Fatalf("random signature %x: %v", r, err)
		}
	}
}

// TestSignBadKeys: a key that is not a non-identity point of the prime-order
// subgroup is refused (§1); keys off the curve are ErrBadPublicKey.
func TestSignBadKeys(t *testing.T) {
	k := seededKey(t, 3)
	msg := FromUint64(77)
	sig, _ := Sign(k, msg)
	pk := PublicKeyOf(k)
	offCurve := pk
	one := FromUint64(1)
	offCurve.Y.Add(&offCurve.Y, &one)
	if err := VerifySignature(offCurve, msg, sig); !errors.Is(err, ErrBadPublicKey) {
		t.Fatalf("off-curve key: %v", err)
	}
	for name, bad := range badSubgroupKeys(pk) {
		if err := VerifySignature(bad, msg, sig); err == nil {
			t.Fatalf("%s key accepted", name)
		}
	}
}

// badSubgroupKeys are on-curve keys outside the prime-order subgroup or the identity.
func badSubgroupKeys(pk PubKey) map[string]PubKey {
	one := FromUint64(1)
	var minusOne fr.Element
	minusOne.Neg(&one)
	// (0, −1) has order 2; A + (0, −1) is on the curve but not in the subgroup
	t2 := twistededwards.PointAffine{X: fr.Element{}, Y: minusOne}
	a := twistededwards.PointAffine{X: pk.X, Y: pk.Y}
	var mixed twistededwards.PointAffine
	mixed.Add(&a, &t2)
	return map[string]PubKey{
		"identity (0,1)":    {Y: one},
		"order-2 (0,-1)":    {Y: minusOne},
		"A + order-2 point": {X: mixed.X, Y: mixed.Y},
	}
}

// TestSignBadKeysClassified: identity and non-subgroup keys are
// ErrBadPublicKey ("public key is not a valid subgroup point"), not
// ErrBadSignature (at commit 3f190b7 they were ErrBadSignature).
func TestSignBadKeysClassified(t *testing.T) {
	k := seededKey(t, 3)
	msg := FromUint64(77)
	sig, _ := Sign(k, msg)
	for name, bad := range badSubgroupKeys(PublicKeyOf(k)) {
		if err := VerifySignature(bad, msg, sig); !errors.Is(err, ErrBadPublicKey) {
			t.Errorf("%s: %v, want ErrBadPublicKey", name, err)
		}
	}
}

// TestCheckPublicKey: only a non-identity point of the prime-order subgroup
// passes; deposits refuse to open an account with any other key.
func TestCheckPublicKey(t *testing.T) {
	for i := 0; i < 8; i++ {
		if err := CheckPublicKey(PublicKeyOf(seededKey(t, byte(10+i)))); err != nil {
			t.Fatalf("generated key %d: %v", i, err)
		}
	}
	pk := PublicKeyOf(seededKey(t, 3))
	offCurve := pk
	one := FromUint64(1)
	offCurve.Y.Add(&offCurve.Y, &one)
	bad := badSubgroupKeys(pk)
	bad["empty (0,0)"] = PubKey{}
	bad["off the curve"] = offCurve
	bad["(1,2)"] = PubKey{X: FromUint64(1), Y: FromUint64(2)}
	for name, k := range bad {
		if err := CheckPublicKey(k); !errors.Is(err, ErrBadPublicKey) {
			t.Errorf("%s: %v, want ErrBadPublicKey", name, err)
		}
	}
}

// TestSignDomainSeparation: a signature under one domain fails under another
// chain id or bridge address, for transactions and orders.
func TestSignDomainSeparation(t *testing.T) {
	k := seededKey(t, 4)
	pk := PublicKeyOf(k)
	otherChain := signDomain
	otherChain.ChainID++
	otherBridge := signDomain
	otherBridge.Bridge[19] ^= 1
	tx := &Transfer{From: 1, To: 2, Asset: ETH, Amount: *uint256.NewInt(100), Fee: *uint256.NewInt(1), Nonce: 3}
	if err := SignTx(k, signDomain, tx); err != nil {
		t.Fatal(err)
	}
	if err := VerifySignature(pk, msgOf(t, tx, signDomain), tx.Signature); err != nil {
		t.Fatalf("own domain: %v", err)
	}
	o := &Order{Account: 1, Model: 2, Side: Sell, OrderID: 9, Amount: 10, Price: *uint256.NewInt(5), MaxFeeBips: 3, ValidUntil: 100}
	if err := SignOrder(k, signDomain, o); err != nil {
		t.Fatal(err)
	}
	if err := VerifySignature(pk, msgOf(t, o, signDomain), o.Signature); err != nil {
		t.Fatalf("order, own domain: %v", err)
	}
	for name, d := range map[string]Domain{"chain": otherChain, "bridge": otherBridge} {
		if d.Element() == signDomain.Element() {
			t.Fatalf("%s: domain elements equal", name)
		}
		if err := VerifySignature(pk, msgOf(t, tx, d), tx.Signature); !errors.Is(err, ErrBadSignature) {
			t.Fatalf("tx under other %s: %v", name, err)
		}
		if err := VerifySignature(pk, msgOf(t, o, d), o.Signature); !errors.Is(err, ErrBadSignature) {
			t.Fatalf("order under other %s: %v", name, err)
		}
	}
	// domain = C(chainId, bridge as a 160-bit integer)
	var br fr.Element
	br.SetBigInt(new(big.Int).SetBytes(signDomain.Bridge[:]))
	if signDomain.Element() != Compress(FromUint64(signDomain.ChainID), br) {
		t.Fatal("domain element is not C(chainId, bridge)")
	}
}

// TestMessagesBindEveryField: changing any signed field changes the message,
// so the signature stops verifying (every kind, and orders).
func TestMessagesBindEveryField(t *testing.T) {
	one := uint256.NewInt(1)
	base := func() []SignedTx {
		return []SignedTx{
			&Transfer{From: 1, To: 2, Asset: 3, Amount: *uint256.NewInt(10), Fee: *uint256.NewInt(1), Nonce: 4},
			&Withdraw{Account: 1, Token: 2, Amount: *uint256.NewInt(10), Fee: *uint256.NewInt(1), To: common.Address{1}, Nonce: 4},
			&CreateModel{Account: 1, Model: 2, QuoteToken: 3, Supply: 4, MaxSupply: 5, CreditPrice: *uint256.NewInt(6), HolderBps: 7,
				Weights: FromUint64(8), Metadata: FromUint64(9), Fee: *uint256.NewInt(1), Nonce: 4},
			&MintShares{Account: 1, Model: 2, Amount: 3, Fee: *uint256.NewInt(1), Nonce: 4},
			&SetModelParams{Account: 1, Model: 2, CreditPrice: *uint256.NewInt(3), HolderBps: 4, Fee: *uint256.NewInt(1), Nonce: 4},
			&CancelOrder{Account: 1, Model: 2, OrderID: 3, Fee: *uint256.NewInt(1), Nonce: 4},
			&BuyCredits{Account: 1, Model: 2, Credits: 3, MaxPrice: *uint256.NewInt(5), Fee: *uint256.NewInt(1), Nonce: 4},
			&RedeemCredits{Account: 1, Model: 2, Credits: 3, Request: FromUint64(5), Fee: *uint256.NewInt(1), Nonce: 4},
			&ClaimRevenue{Account: 1, Model: 2, Fee: *uint256.NewInt(1), Nonce: 4},
		}
	}
	mutators := map[Kind][]func(SignedTx){
		KindTransfer: {func(x SignedTx) { x.(*Transfer).From++ }, func(x SignedTx) { x.(*Transfer).To++ }, func(x SignedTx) { x.(*Transfer).Asset++ },
			func(x SignedTx) { x.(*Transfer).Amount.Add(&x.(*Transfer).Amount, one) }, func(x SignedTx) { x.(*Transfer).Fee.Add(&x.(*Transfer).Fee, one) },
			func(x SignedTx) { x.(*Transfer).Nonce++ }},
		KindWithdraw: {func(x SignedTx) { x.(*Withdraw).Account++ }, func(x SignedTx) { x.(*Withdraw).Token++ },
			func(x SignedTx) { x.(*Withdraw).Amount.Add(&x.(*Withdraw).Amount, one) }, func(x SignedTx) { x.(*Withdraw).Fee.Add(&x.(*Withdraw).Fee, one) },
			func(x SignedTx) { x.(*Withdraw).To[19] ^= 1 }, func(x SignedTx) { x.(*Withdraw).Nonce++ }},
		KindCreateModel: {func(x SignedTx) { x.(*CreateModel).Account++ }, func(x SignedTx) { x.(*CreateModel).Model++ },
			func(x SignedTx) { x.(*CreateModel).QuoteToken++ }, func(x SignedTx) { x.(*CreateModel).Supply++ },
			func(x SignedTx) { x.(*CreateModel).MaxSupply++ }, func(x SignedTx) { x.(*CreateModel).CreditPrice.Add(&x.(*CreateModel).CreditPrice, one) },
			func(x SignedTx) { x.(*CreateModel).HolderBps++ }, func(x SignedTx) { x.(*CreateModel).Weights = FromUint64(80) },
			func(x SignedTx) { x.(*CreateModel).Metadata = FromUint64(90) }, func(x SignedTx) { x.(*CreateModel).Fee.Add(&x.(*CreateModel).Fee, one) },
			func(x SignedTx) { x.(*CreateModel).Nonce++ }},
		KindMintShares: {func(x SignedTx) { x.(*MintShares).Account++ }, func(x SignedTx) { x.(*MintShares).Model++ },
			func(x SignedTx) { x.(*MintShares).Amount++ }, func(x SignedTx) { x.(*MintShares).Fee.Add(&x.(*MintShares).Fee, one) },
			func(x SignedTx) { x.(*MintShares).Nonce++ }},
		KindSetModelParams: {func(x SignedTx) { x.(*SetModelParams).Account++ }, func(x SignedTx) { x.(*SetModelParams).Model++ },
			func(x SignedTx) { x.(*SetModelParams).CreditPrice.Add(&x.(*SetModelParams).CreditPrice, one) },
			func(x SignedTx) { x.(*SetModelParams).HolderBps++ }, func(x SignedTx) { x.(*SetModelParams).Fee.Add(&x.(*SetModelParams).Fee, one) },
			func(x SignedTx) { x.(*SetModelParams).Nonce++ }},
		KindCancelOrder: {func(x SignedTx) { x.(*CancelOrder).Account++ }, func(x SignedTx) { x.(*CancelOrder).Model++ },
			func(x SignedTx) { x.(*CancelOrder).OrderID++ }, func(x SignedTx) { x.(*CancelOrder).Fee.Add(&x.(*CancelOrder).Fee, one) },
			func(x SignedTx) { x.(*CancelOrder).Nonce++ }},
		KindBuyCredits: {func(x SignedTx) { x.(*BuyCredits).Account++ }, func(x SignedTx) { x.(*BuyCredits).Model++ },
			func(x SignedTx) { x.(*BuyCredits).Credits++ }, func(x SignedTx) { x.(*BuyCredits).MaxPrice.Add(&x.(*BuyCredits).MaxPrice, one) },
			func(x SignedTx) { x.(*BuyCredits).Fee.Add(&x.(*BuyCredits).Fee, one) }, func(x SignedTx) { x.(*BuyCredits).Nonce++ }},
		KindRedeemCredits: {func(x SignedTx) { x.(*RedeemCredits).Account++ }, func(x SignedTx) { x.(*RedeemCredits).Model++ },
			func(x SignedTx) { x.(*RedeemCredits).Credits++ }, func(x SignedTx) { x.(*RedeemCredits).Request = FromUint64(50) },
			func(x SignedTx) { x.(*RedeemCredits).Fee.Add(&x.(*RedeemCredits).Fee, one) }, func(x SignedTx) { x.(*RedeemCredits).Nonce++ }},
		KindClaimRevenue: {func(x SignedTx) { x.(*ClaimRevenue).Account++ }, func(x SignedTx) { x.(*ClaimRevenue).Model++ },
			func(x SignedTx) { x.(*ClaimRevenue).Fee.Add(&x.(*ClaimRevenue).Fee, one) }, func(x SignedTx) { x.(*ClaimRevenue).Nonce++ }},
	}
	seen := map[fr.Element]Kind{}
	for i, tx := range base() {
		orig := msgOf(t, tx, signDomain)
		if k, dup := seen[orig]; dup {
			t.Fatalf("%s and %s sign the same message", tx.Kind(), k)
		}
		seen[orig] = tx.Kind()
		ms := mutators[tx.Kind()]
		if len(ms) == 0 {
			t.Fatalf("%s: no mutators", tx.Kind())
		}
		for j, m := range ms {
			c := base()[i]
			m(c)
			if msgOf(t, c, signDomain) == orig {
				t.Fatalf("%s: field %d is not signed", tx.Kind(), j)
			}
		}
	}
	o := func() *Order {
		return &Order{Account: 1, Model: 2, Side: Buy, OrderID: 3, Amount: 4, Price: *uint256.NewInt(5), MaxFeeBips: 6, ValidUntil: 7}
	}
	orig := msgOf(t, o(), signDomain)
	for j, m := range []func(*Order){func(x *Order) { x.Account++ }, func(x *Order) { x.Model++ }, func(x *Order) { x.Side = Sell },
		func(x *Order) { x.OrderID++ }, func(x *Order) { x.Amount++ }, func(x *Order) { x.Price.Add(&x.Price, one) },
		func(x *Order) { x.MaxFeeBips++ }, func(x *Order) { x.ValidUntil++ }} {
		c := o()
		m(c)
		if msgOf(t, c, signDomain) == orig {
			t.Fatalf("order field %d is not signed", j)
		}
	}
}

func packedWords(p *Packer) []*big.Int {
	var out []*big.Int
	for _, w := range p.Words() {
		out = append(out, belem(w))
	}
	return out
}

// TestPackerLayout: fields fill 248-bit words LSB first; a field that would
// cross bit 248 starts the next word; AddElem takes a word of its own.
func TestPackerLayout(t *testing.T) {
	eq := func(name string, got []*big.Int, want ...*big.Int) {
		t.Helper()
		if len(got) != len(want) {
			t.Fatalf("%s: %d words, want %d", name, len(got), len(want))
		}
		for i := range got {
			if got[i].Cmp(want[i]) != 0 {
				t.Fatalf("%s: word %d = %x, want %x", name, i, got[i], want[i])
			}
		}
	}
	eq("empty", packedWords(new(Packer)))
	// 0xAB (8 bits) then 0x123456 (24 bits) then 1 (1 bit): 0xAB + 0x123456·2^8 + 1·2^32
	eq("lsb first", packedWords(new(Packer).AddU64(0xab, 8).AddU64(0x123456, 24).AddU64(1, 1)),
		big.NewInt(0xab+0x123456<<8+1<<32))
	// a zero-valued field still takes its bits
	eq("zero field", packedWords(new(Packer).AddU64(0, 10).AddU64(1, 1)), big.NewInt(1<<10))
	// 200 + 48 = 248 fits exactly; one more bit spills
	v200 := new(uint256.Int).Sub(Bound(200), uint256.NewInt(1))
	w0 := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 248), big.NewInt(1))
	eq("exact fit", packedWords(new(Packer).Add(v200, 200).AddU64(1<<48-1, 48)), w0)
	eq("spill", packedWords(new(Packer).Add(v200, 200).AddU64(5, 49)), v200.ToBig(), big.NewInt(5))
	eq("spill then fill", packedWords(new(Packer).Add(v200, 200).AddU64(5, 49).AddU64(3, 2)), v200.ToBig(), big.NewInt(5+3<<49))
	// a full-width 248-bit field alone
	v248 := new(uint256.Int).Sub(Bound(248), uint256.NewInt(1))
	eq("248", packedWords(new(Packer).AddU64(1, 1).Add(v248, 248).AddU64(2, 8)), big.NewInt(1), w0, big.NewInt(2))
	// elements take their own word, flushing the open one; no empty words
	e := FromUint64(99)
	eq("elem", packedWords(new(Packer).AddU64(1, 8).AddElem(e).AddElem(e).AddU64(2, 8)),
		big.NewInt(1), big.NewInt(99), big.NewInt(99), big.NewInt(2))
	eq("elem first", packedWords(new(Packer).AddElem(e).AddU64(0, 8)), big.NewInt(99), big.NewInt(0))
	eq("elem last", packedWords(new(Packer).AddU64(7, 3).AddElem(e)), big.NewInt(7), big.NewInt(99))
}

// specWords packs (value, bits) fields per §1 with big.Int arithmetic.
func specWords(fields ...[2]*big.Int) []fr.Element {
	var words []fr.Element
	cur, used := new(big.Int), uint(0)
	open := false
	flush := func() {
		if open {
			var e fr.Element
			e.SetBigInt(cur)
			words = append(words, e)
		}
		cur, used, open = new(big.Int), 0, false
	}
	for _, f := range fields {
		if f[1] == nil { // element
			flush()
			var e fr.Element
			e.SetBigInt(f[0])
			words = append(words, e)
			continue
		}
		bits := uint(f[1].Uint64())
		if used+bits > 248 {
			flush()
		}
		cur.Or(cur, new(big.Int).Lsh(f[0], used))
		used += bits
		open = true
	}
	flush()
	return words
}

func fw(v *big.Int, bits uint) [2]*big.Int { return [2]*big.Int{v, bu(uint64(bits))} }

// TestMessageLayout: messages are H(domain, words of the §5 fields in order).
func TestMessageLayout(t *testing.T) {
	tr := &Transfer{From: 0xabcdef, To: 0x123456, Asset: 0x2ffff, Amount: *uint256.NewInt(123456789), Fee: *uint256.NewInt(2040), Nonce: 0xfffffffe}
	words := specWords(fw(bu(uint64(KindTransfer)), 8), fw(bu(uint64(tr.From)), 24), fw(bu(uint64(tr.To)), 24), fw(bu(uint64(tr.Asset)), 18),
		fw(bu(uint64(tr.Nonce)), 32), fw(tr.Amount.ToBig(), 96), fw(tr.Fee.ToBig(), 96))
	if len(words) != 2 {
		t.Fatalf("transfer: %d words", len(words))
	}
	if got, want := msgOf(t, tr, signDomain), HashChain(append([]fr.Element{signDomain.Element()}, words...)...); got != want {
		t.Fatal("transfer message differs from §1/§5.2 layout")
	}
	o := &Order{Account: 7, Model: 3, Side: Sell, OrderID: 0xfffff, MaxFeeBips: 200, ValidUntil: 1_800_000_000, Amount: 1 << 60, Price: *uint256.NewInt(1e15)}
	words = specWords(fw(bu(0x40), 8), fw(bu(uint64(o.Account)), 24), fw(bu(uint64(o.Model)), 16), fw(bu(uint64(o.Side)), 1),
		fw(bu(uint64(o.OrderID)), 24), fw(bu(uint64(o.MaxFeeBips)), 8), fw(bu(uint64(o.ValidUntil)), 32), fw(bu(o.Amount), 64), fw(o.Price.ToBig(), 96))
	if got, want := msgOf(t, o, signDomain), HashChain(append([]fr.Element{signDomain.Element()}, words...)...); got != want {
		t.Fatal("order message differs from §5.8 layout")
	}
	cm := &CreateModel{Account: 5, Model: 6, QuoteToken: 1, Nonce: 2, HolderBps: 6000, Supply: 1000, MaxSupply: 2000,
		CreditPrice: *uint256.NewInt(100), Fee: *uint256.NewInt(10), Weights: FromUint64(11), Metadata: FromUint64(12)}
	words = specWords(fw(bu(uint64(KindCreateModel)), 8), fw(bu(5), 24), fw(bu(6), 16), fw(bu(1), 16), fw(bu(2), 32), fw(bu(6000), 14),
		fw(bu(1000), 64), fw(bu(2000), 64), fw(bu(100), 96), fw(bu(10), 96), [2]*big.Int{bu(11), nil}, [2]*big.Int{bu(12), nil})
	if got, want := msgOf(t, cm, signDomain), HashChain(append([]fr.Element{signDomain.Element()}, words...)...); got != want {
		t.Fatal("create-model message differs from §5.5 layout")
	}
	rd := &RedeemCredits{Account: 5, Model: 6, Nonce: 2, Credits: 9, Fee: *uint256.NewInt(3), Request: FromUint64(42)}
	words = specWords(fw(bu(uint64(KindRedeemCredits)), 8), fw(bu(5), 24), fw(bu(6), 16), fw(bu(2), 32), fw(bu(9), 64), fw(bu(3), 96),
		[2]*big.Int{bu(42), nil})
	if got, want := msgOf(t, rd, signDomain), HashChain(append([]fr.Element{signDomain.Element()}, words...)...); got != want {
		t.Fatal("redeem message differs from §5.12 layout")
	}
}

// TestHashChainMatchesGnark: HashChain equals gnark-crypto's Merkle–Damgård
// Poseidon2 hasher over the 32-byte encodings, and Compress its Compress.
func TestHashChainMatchesGnark(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	perm := poseidon2.NewDefaultPermutation()
	for n := 0; n <= 6; n++ {
		for i := 0; i < 5; i++ {
			xs := make([]fr.Element, n)
			h := poseidon2.NewMerkleDamgardHasher()
			for j := range xs {
				xs[j] = rndElem(rng)
				b := xs[j].Bytes()
				if _, err := h.Write(b[:]); err != nil {
					t.Fatal(err)
				}
			}
			var want fr.Element
			want.SetBytes(h.Sum(nil))
			if got := HashChain(xs...); got != want {
				t.Fatalf("%d elements: HashChain differs from gnark's MD hasher", n)
			}
		}
	}
	for i := 0; i < 20; i++ {
		l, r := rndElem(rng), rndElem(rng)
		lb, rb := l.Bytes(), r.Bytes()
		out, err := perm.Compress(lb[:], rb[:])
		if err != nil {
			t.Fatal(err)
		}
		var want fr.Element
		want.SetBytes(out)
		if got := Compress(l, r); got != want {
			t.Fatal("Compress differs from gnark's Permutation.Compress")
		}
	}
	// C(l, r) = P(l, r)[1] + r
	l, r := rndElem(rng), rndElem(rng)
	x := []fr.Element{l, r}
	if err := perm.Permutation(x); err != nil {
		t.Fatal(err)
	}
	x[1].Add(&x[1], &r)
	if Compress(l, r) != x[1] {
		t.Fatal("Compress is not P(l, r)[1] + r")
	}
	if HashChain() != (fr.Element{}) {
		t.Fatal("empty chain is not the zero IV")
	}
}

// TestSignMatchesGnarkHasher: the challenge hash is gnark's MD hasher (a
// signature from eddsa.PrivateKey.Sign with it verifies here, and vice versa).
func TestSignMatchesGnarkHasher(t *testing.T) {
	k := seededKey(t, 6)
	msg := FromUint64(123)
	b := msg.Bytes()
	raw, err := k.Sign(b[:], poseidon2.NewMerkleDamgardHasher())
	if err != nil {
		t.Fatal(err)
	}
	var sig Signature
	copy(sig[:], raw)
	if err := VerifySignature(PublicKeyOf(k), msg, sig); err != nil {
		t.Fatal(err)
	}
	mine, _ := Sign(k, msg)
	ok, err := k.PublicKey.Verify(mine[:], b[:], poseidon2.NewMerkleDamgardHasher())
	if err != nil || !ok {
		t.Fatalf("gnark rejects our signature: %v", err)
	}
}

// msgOf is a message that must build.
func msgOf(tb testing.TB, x interface {
	Message(Domain) (fr.Element, error)
}, d Domain) fr.Element {
	tb.Helper()
	m, err := x.Message(d)
	if err != nil {
		tb.Fatal(err)
	}
	return m
}
