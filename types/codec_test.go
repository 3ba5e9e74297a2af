package types

import (
	"bytes"
	"errors"
	"math/big"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/ethereum/go-ethereum/common"
	"github.com/holiman/uint256"
)

// ---- random values within their bit widths ----

func rndBits(rng *rand.Rand, bits uint) uint64 {
	if bits >= 64 {
		return rng.Uint64()
	}
	// bias towards edge values now and then
	switch rng.IntN(8) {
	case 0:
		return 0
	case 1:
		return 1<<bits - 1
	}
	return rng.Uint64() & (1<<bits - 1)
}

func rndU256(rng *rand.Rand, bits uint) uint256.Int {
	var v uint256.Int
	switch rng.IntN(8) {
	case 0:
		return v
	case 1:
		v.Sub(Bound(bits), uint256.NewInt(1))
		return v
	}
	v = uint256.Int{rng.Uint64(), rng.Uint64(), rng.Uint64(), rng.Uint64()}
	if bits < 256 {
		v.And(&v, new(uint256.Int).Sub(Bound(bits), uint256.NewInt(1)))
	}
	return v
}

// rndFloat returns a value packable in f and below 2^bound.
func rndFloat(rng *rand.Rand, f FloatFormat, bound uint) uint256.Int {
	for {
		m := rng.Uint64() & (1<<f.MantissaBits - 1)
		if rng.IntN(4) == 0 {
			m = uint64(rng.IntN(1000))
		}
		e := rng.IntN(1 << f.ExponentBits)
		if rng.IntN(2) == 0 {
			e = rng.IntN(4)
		}
		v := new(uint256.Int).Mul(uint256.NewInt(m), new(uint256.Int).Exp(uint256.NewInt(10), uint256.NewInt(uint64(e))))
		if Fits(v, bound) && m < 1<<f.MantissaBits {
			return *v
		}
	}
}

func rndElem(rng *rand.Rand) fr.Element {
	var b [32]byte
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	var e fr.Element
	e.SetBytes(b[:]) // reduced mod r: canonical
	return e
}

func rndAddr(rng *rand.Rand) common.Address {
	var a common.Address
	for i := range a {
		a[i] = byte(rng.Uint32())
	}
	return a
}

func rndSig(rng *rand.Rand) Signature {
	var s Signature
	for i := range s {
		s[i] = byte(rng.Uint32())
	}
	return s
}

func rndOrder(rng *rand.Rand, side Side) Order {
	return Order{
		Account: uint32(rndBits(rng, AccountBits)), Model: uint16(rndBits(rng, ModelBits)), Side: side,
		OrderID: uint32(rndBits(rng, OrderIDBits)), Amount: rndBits(rng, ShareBits), Price: rndU256(rng, AmountBits),
		MaxFeeBips: uint8(rndBits(rng, FeeBipsBits)), ValidUntil: uint32(rndBits(rng, TimeBits)), Signature: rndSig(rng),
	}
}

// rndTx returns a transaction of kind k whose every field fits both its wire
// and its pubdata width (floats packable), so both encodings round-trip.
func rndTx(rng *rand.Rand, k Kind) Tx {
	fee := func() uint256.Int { return rndFloat(rng, Fee16, AmountBits) }
	acct := func() uint32 { return uint32(rndBits(rng, AccountBits)) }
	mdl := func() uint16 { return uint16(rndBits(rng, ModelBits)) }
	nonce := func() uint32 { return uint32(rndBits(rng, NonceBits)) }
	switch k {
	case KindNoop:
		return &Noop{}
	case KindDeposit:
		return &Deposit{PriorityID: rng.Uint64(), L1Address: rndAddr(rng), PubKey: PubKey{rndElem(rng), rndElem(rng)},
			Token: uint16(rndBits(rng, BaseAssetBits)), Amount: rndU256(rng, AmountBits), Account: acct(), Refused: rng.IntN(2) == 0}
	case KindForcedWithdraw:
		return &ForcedWithdraw{PriorityID: rng.Uint64(), Requester: rndAddr(rng), Account: acct(),
			Token: uint16(rndBits(rng, BaseAssetBits)), Amount: rndU256(rng, AmountBits)}
	case KindTransfer:
		return &Transfer{From: acct(), To: acct(), Asset: AssetID(rndBits(rng, AssetBits)), Amount: rndFloat(rng, Amount38, AmountBits),
			Fee: fee(), Nonce: nonce(), Signature: rndSig(rng)}
	case KindWithdraw:
		return &Withdraw{Account: acct(), Token: uint16(rndBits(rng, BaseAssetBits)), Amount: rndU256(rng, AmountBits), Fee: fee(),
			To: rndAddr(rng), Nonce: nonce(), Signature: rndSig(rng)}
	case KindCreateModel:
		return &CreateModel{Account: acct(), Model: mdl(), QuoteToken: uint16(rndBits(rng, BaseAssetBits)), Supply: rndBits(rng, ShareBits),
			MaxSupply: rndBits(rng, ShareBits), CreditPrice: rndU256(rng, AmountBits), HolderBps: uint16(rndBits(rng, BpsBits)),
			Weights: rndElem(rng), Metadata: rndElem(rng), Fee: fee(), Nonce: nonce(), Signature: rndSig(rng)}
	case KindMintShares:
		return &MintShares{Account: acct(), Model: mdl(), Amount: rndBits(rng, ShareBits), Fee: fee(), Nonce: nonce(), Signature: rndSig(rng)}
	case KindSetModelParams:
		return &SetModelParams{Account: acct(), Model: mdl(), CreditPrice: rndU256(rng, AmountBits), HolderBps: uint16(rndBits(rng, BpsBits)),
			Fee: fee(), Nonce: nonce(), Signature: rndSig(rng)}
	case KindTrade:
		fill := rndFloat(rng, Amount38, ShareBits)
		t := &Trade{Buy: rndOrder(rng, Buy), Sell: rndOrder(rng, Sell), Fill: fill.Uint64(), Price: rndFloat(rng, Amount38, AmountBits),
			BuyFeeBips: uint8(rndBits(rng, FeeBipsBits)), SellFeeBips: uint8(rndBits(rng, FeeBipsBits))}
		t.Sell.Model = t.Buy.Model
		return t
	case KindCancelOrder:
		return &CancelOrder{Account: acct(), Model: mdl(), OrderID: uint32(rndBits(rng, OrderIDBits)), Fee: fee(), Nonce: nonce(), Signature: rndSig(rng)}
	case KindBuyCredits:
		return &BuyCredits{Account: acct(), Model: mdl(), Credits: rndBits(rng, CreditBits), MaxPrice: rndU256(rng, AmountBits), Fee: fee(),
			Nonce: nonce(), Signature: rndSig(rng)}
	case KindRedeemCredits:
		return &RedeemCredits{Account: acct(), Model: mdl(), Credits: rndBits(rng, CreditBits), Request: rndElem(rng), Fee: fee(),
			Nonce: nonce(), Signature: rndSig(rng)}
	case KindClaimRevenue:
		return &ClaimRevenue{Account: acct(), Model: mdl(), Fee: fee(), Nonce: nonce(), Signature: rndSig(rng)}
	}
	panic("unknown kind")
}

// wireOnly clears the fields apply fills in, which the wire format does not
// carry: a deposit's Refused flag (its Account is the bridge's input and is
// carried) and a forced withdrawal's amount.
func wireOnly(tx Tx) Tx {
	switch t := tx.(type) {
	case *Deposit:
		c := *t
		c.Refused = false
		return &c
	case *ForcedWithdraw:
		c := *t
		c.Amount.Clear()
		return &c
	}
	return tx
}

// publishedOnly keeps exactly the fields docs/protocol.md §6 publishes.
func publishedOnly(tx Tx) Tx {
	switch t := tx.(type) {
	case *Noop:
		return &Noop{}
	case *Deposit:
		return &Deposit{L1Address: t.L1Address, PubKey: t.PubKey, Token: t.Token, Amount: t.Amount, Account: t.Account, Refused: t.Refused}
	case *ForcedWithdraw:
		return &ForcedWithdraw{Requester: t.Requester, Account: t.Account, Token: t.Token, Amount: t.Amount}
	case *Transfer:
		return &Transfer{From: t.From, To: t.To, Asset: t.Asset, Amount: t.Amount, Fee: t.Fee}
	case *Withdraw:
		return &Withdraw{Account: t.Account, Token: t.Token, Amount: t.Amount, Fee: t.Fee, To: t.To}
	case *CreateModel:
		return &CreateModel{Account: t.Account, Model: t.Model, QuoteToken: t.QuoteToken, Supply: t.Supply, MaxSupply: t.MaxSupply,
			CreditPrice: t.CreditPrice, HolderBps: t.HolderBps, Weights: t.Weights, Metadata: t.Metadata, Fee: t.Fee}
	case *MintShares:
		return &MintShares{Model: t.Model, Amount: t.Amount, Fee: t.Fee}
	case *SetModelParams:
		return &SetModelParams{Model: t.Model, CreditPrice: t.CreditPrice, HolderBps: t.HolderBps, Fee: t.Fee}
	case *Trade:
		return &Trade{
			Buy:  Order{Account: t.Buy.Account, Model: t.Buy.Model, Side: Buy, OrderID: t.Buy.OrderID},
			Sell: Order{Account: t.Sell.Account, Model: t.Buy.Model, Side: Sell, OrderID: t.Sell.OrderID},
			Fill: t.Fill, Price: t.Price, BuyFeeBips: t.BuyFeeBips, SellFeeBips: t.SellFeeBips}
	case *CancelOrder:
		return &CancelOrder{Account: t.Account, Model: t.Model, OrderID: t.OrderID, Fee: t.Fee}
	case *BuyCredits:
		return &BuyCredits{Account: t.Account, Model: t.Model, Credits: t.Credits, Fee: t.Fee}
	case *RedeemCredits:
		return &RedeemCredits{Account: t.Account, Model: t.Model, Credits: t.Credits, Request: t.Request, Fee: t.Fee}
	case *ClaimRevenue:
		return &ClaimRevenue{Account: t.Account, Model: t.Model, Fee: t.Fee}
	}
	panic("unknown tx")
}

// ---- an independent reading of docs/protocol.md §6 ----

type fieldKind uint8

const (
	fInt fieldKind = iota
	fAmount38
	fFee16
	fElem
)

type specField struct {
	name string
	bits uint
	kind fieldKind
}

func sf(name string, bits uint) specField { return specField{name, bits, fInt} }

var (
	fAmt  = specField{"amount", 38, fAmount38}
	fFee  = specField{"fee", 16, fFee16}
	fType = sf("type", 8)
)

// specLayout is the §6 table, field by field.
var specLayout = map[Kind][]specField{
	KindNoop:           {fType},
	KindDeposit:        {fType, sf("refused", 8), sf("account", 24), sf("token", 16), sf("amount", 96), sf("l1Address", 160), {"pkX", 256, fElem}, {"pkY", 256, fElem}},
	KindTransfer:       {fType, sf("from", 24), sf("to", 24), sf("asset", 18), fAmt, fFee},
	KindWithdraw:       {fType, sf("account", 24), sf("token", 16), sf("amount", 96), fFee, sf("to", 160)},
	KindForcedWithdraw: {fType, sf("account", 24), sf("token", 16), sf("requester", 160), sf("amount", 96)},
	KindCreateModel: {fType, sf("account", 24), sf("model", 16), sf("quote", 16), sf("holderBps", 14), sf("supply", 64), sf("maxSupply", 64),
		sf("creditPrice", 96), fFee, {"weights", 256, fElem}, {"metadata", 256, fElem}},
	KindMintShares:     {fType, sf("model", 16), sf("amount", 64), fFee},
	KindSetModelParams: {fType, sf("model", 16), sf("holderBps", 14), sf("creditPrice", 96), fFee},
	KindTrade: {fType, sf("model", 16), sf("buyer", 24), sf("seller", 24), sf("buyOrderId", 24), sf("sellOrderId", 24),
		{"fill", 38, fAmount38}, {"price", 38, fAmount38}, sf("buyFeeBips", 8), sf("sellFeeBips", 8)},
	KindCancelOrder:   {fType, sf("account", 24), sf("model", 16), sf("orderId", 24), fFee},
	KindBuyCredits:    {fType, sf("account", 24), sf("model", 16), sf("credits", 64), fFee},
	KindRedeemCredits: {fType, sf("account", 24), sf("model", 16), sf("credits", 64), fFee, {"request", 256, fElem}},
	KindClaimRevenue:  {fType, sf("account", 24), sf("model", 16), fFee},
}

// specSize is the §6 table's byte column.
var specSize = map[Kind]int{
	KindNoop: 1, KindDeposit: 103, KindTransfer: 16, KindWithdraw: 40, KindForcedWithdraw: 38, KindCreateModel: 104,
	KindMintShares: 13, KindSetModelParams: 19, KindTrade: 27, KindCancelOrder: 11, KindBuyCredits: 16,
	KindRedeemCredits: 48, KindClaimRevenue: 8,
}

func bu(v uint64) *big.Int          { return new(big.Int).SetUint64(v) }
func bu256(v *uint256.Int) *big.Int { return v.ToBig() }
func belem(e fr.Element) *big.Int {
	var b big.Int
	e.BigInt(&b)
	return &b
}
func baddr(a common.Address) *big.Int { return new(big.Int).SetBytes(a[:]) }

// specValues are the values of a transaction's §6 fields.
func specValues(tx Tx) map[string]*big.Int {
	v := map[string]*big.Int{"type": bu(uint64(tx.Kind()))}
	switch t := tx.(type) {
	case *Deposit:
		r := uint64(0)
		if t.Refused {
			r = 1
		}
		v["refused"], v["account"], v["token"], v["amount"] = bu(r), bu(uint64(t.Account)), bu(uint64(t.Token)), bu256(&t.Amount)
		v["l1Address"], v["pkX"], v["pkY"] = baddr(t.L1Address), belem(t.PubKey.X), belem(t.PubKey.Y)
	case *Transfer:
		v["from"], v["to"], v["asset"], v["amount"], v["fee"] = bu(uint64(t.From)), bu(uint64(t.To)), bu(uint64(t.Asset)), bu256(&t.Amount), bu256(&t.Fee)
	case *Withdraw:
		v["account"], v["token"], v["amount"], v["fee"], v["to"] = bu(uint64(t.Account)), bu(uint64(t.Token)), bu256(&t.Amount), bu256(&t.Fee), baddr(t.To)
	case *ForcedWithdraw:
		v["account"], v["token"], v["requester"], v["amount"] = bu(uint64(t.Account)), bu(uint64(t.Token)), baddr(t.Requester), bu256(&t.Amount)
	case *CreateModel:
		v["account"], v["model"], v["quote"], v["holderBps"] = bu(uint64(t.Account)), bu(uint64(t.Model)), bu(uint64(t.QuoteToken)), bu(uint64(t.HolderBps))
		v["supply"], v["maxSupply"], v["creditPrice"], v["fee"] = bu(t.Supply), bu(t.MaxSupply), bu256(&t.CreditPrice), bu256(&t.Fee)
		v["weights"], v["metadata"] = belem(t.Weights), belem(t.Metadata)
	case *MintShares:
		v["model"], v["amount"], v["fee"] = bu(uint64(t.Model)), bu(t.Amount), bu256(&t.Fee)
	case *SetModelParams:
		v["model"], v["holderBps"], v["creditPrice"], v["fee"] = bu(uint64(t.Model)), bu(uint64(t.HolderBps)), bu256(&t.CreditPrice), bu256(&t.Fee)
	case *Trade:
		v["model"], v["buyer"], v["seller"] = bu(uint64(t.Buy.Model)), bu(uint64(t.Buy.Account)), bu(uint64(t.Sell.Account))
		v["buyOrderId"], v["sellOrderId"] = bu(uint64(t.Buy.OrderID)), bu(uint64(t.Sell.OrderID))
		v["fill"], v["price"], v["buyFeeBips"], v["sellFeeBips"] = bu(t.Fill), bu256(&t.Price), bu(uint64(t.BuyFeeBips)), bu(uint64(t.SellFeeBips))
	case *CancelOrder:
		v["account"], v["model"], v["orderId"], v["fee"] = bu(uint64(t.Account)), bu(uint64(t.Model)), bu(uint64(t.OrderID)), bu256(&t.Fee)
	case *BuyCredits:
		v["account"], v["model"], v["credits"], v["fee"] = bu(uint64(t.Account)), bu(uint64(t.Model)), bu(t.Credits), bu256(&t.Fee)
	case *RedeemCredits:
		v["account"], v["model"], v["credits"], v["fee"], v["request"] = bu(uint64(t.Account)), bu(uint64(t.Model)), bu(t.Credits), bu256(&t.Fee), belem(t.Request)
	case *ClaimRevenue:
		v["account"], v["model"], v["fee"] = bu(uint64(t.Account)), bu(uint64(t.Model)), bu256(&t.Fee)
	}
	return v
}

// refFloatEncode is the canonical packed float of §2: the smallest exponent
// whose mantissa fits.
func refFloatEncode(v *big.Int, mant, exp uint) (uint64, bool) {
	ten := big.NewInt(10)
	p := big.NewInt(1)
	maxMant := new(big.Int).Lsh(big.NewInt(1), mant)
	for e := uint64(0); e < 1<<exp; e++ {
		q, r := new(big.Int).QuoRem(v, p, new(big.Int))
		if r.Sign() != 0 {
			return 0, false
		}
		if q.Cmp(maxMant) < 0 {
			return e<<mant | q.Uint64(), true
		}
		p.Mul(p, ten)
	}
	return 0, false
}

// refFloatDecode is mantissa·10^exponent.
func refFloatDecode(raw uint64, mant uint) *big.Int {
	m := raw & (1<<mant - 1)
	e := raw >> mant
	return new(big.Int).Mul(bu(m), new(big.Int).Exp(big.NewInt(10), bu(e), nil))
}

func floatFormatOf(k fieldKind) (mant, exp uint) {
	if k == fAmount38 {
		return 33, 5
	}
	return 11, 5
}

// bitBuf writes fields most-significant bit first, as §6 describes.
type bitBuf struct {
	v big.Int
	n uint
}

func (b *bitBuf) put(x *big.Int, bits uint) {
	if x.BitLen() > int(bits) {
		panic("field too wide")
	}
	b.v.Lsh(&b.v, bits)
	b.v.Or(&b.v, x)
	b.n += bits
}

func (b *bitBuf) bytes() []byte {
	pad := (8 - b.n%8) % 8
	v := new(big.Int).Lsh(&b.v, pad)
	return v.FillBytes(make([]byte, (b.n+pad)/8))
}

// specEncode builds a §6 encoding from field values; override replaces
// values (raw, already encoded) by field name.
func specEncode(k Kind, vals map[string]*big.Int, override map[string]*big.Int) []byte {
	var b bitBuf
	for _, f := range specLayout[k] {
		if x, ok := override[f.name]; ok {
			b.put(x, f.bits)
			continue
		}
		x := vals[f.name]
		if f.kind == fAmount38 || f.kind == fFee16 {
			m, e := floatFormatOf(f.kind)
			raw, ok := refFloatEncode(x, m, e)
			if !ok {
				panic("value not packable")
			}
			x = bu(raw)
		}
		b.put(x, f.bits)
	}
	return b.bytes()
}

// specNormalize reads one §6 operation of kind k from the front of b and
// rebuilds it with the Deposit refused byte as 0/1 (the one place where
// distinct bytes still decode to the same operation: see
// TestDecodePubdataDepositRefusedByte). It returns the normalized bytes and
// the bytes consumed.
func specNormalize(k Kind, b []byte) (norm []byte, n int, ok bool) {
	size := 0
	for _, f := range specLayout[k] {
		size += int(f.bits)
	}
	nbytes := (size + 7) / 8
	if len(b) < nbytes {
		return nil, 0, false
	}
	all := new(big.Int).SetBytes(b[:nbytes])
	all.Rsh(all, uint(nbytes*8-size))
	var out bitBuf
	off := uint(size)
	for _, f := range specLayout[k] {
		off -= f.bits
		x := new(big.Int).Rsh(all, off)
		x.And(x, new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), f.bits), big.NewInt(1)))
		if k == KindDeposit && f.name == "refused" && x.Sign() != 0 {
			x = big.NewInt(1)
		}
		out.put(x, f.bits)
	}
	return out.bytes(), nbytes, true
}

// ---- tests ----

func kindRng(k Kind, salt uint64) *rand.Rand { return rand.New(rand.NewPCG(uint64(k)+1, salt)) }

// TestWireRoundTrip: DecodeTx(EncodeTx(tx)) == tx for every kind, random fields.
func TestWireRoundTrip(t *testing.T) {
	for _, k := range AllKinds() {
		rng := kindRng(k, 1)
		for i := 0; i < 200; i++ {
			tx := rndTx(rng, k)
			enc, err := EncodeTx(tx)
			if err != nil {
				t.Fatalf("%s: encode: %v", k, err)
			}
			if Kind(enc[0]) != k {
				t.Fatalf("%s: first byte %d", k, enc[0])
			}
			got, err := DecodeTx(enc)
			if err != nil {
				t.Fatalf("%s: decode: %v", k, err)
			}
			if want := wireOnly(tx); !reflect.DeepEqual(got, want) {
				t.Fatalf("%s: round trip\n got %+v\nwant %+v", k, got, want)
			}
			again, err := EncodeTx(got)
			if err != nil || !bytes.Equal(again, enc) {
				t.Fatalf("%s: re-encoding differs (%v)", k, err)
			}
		}
	}
}

// TestOrderRoundTrip: DecodeOrder(EncodeOrder(o)) == o.
func TestOrderRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	for i := 0; i < 200; i++ {
		o := rndOrder(rng, Side(rng.IntN(2)))
		enc, err := EncodeOrder(&o)
		if err != nil {
			t.Fatal(err)
		}
		got, err := DecodeOrder(enc)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(*got, o) {
			t.Fatalf("round trip\n got %+v\nwant %+v", *got, o)
		}
		if _, err := DecodeOrder(append(enc, 0)); !errors.Is(err, ErrMalformed) {
			t.Fatalf("trailing byte: %v", err)
		}
		for n := 0; n < len(enc); n++ {
			if _, err := DecodeOrder(enc[:n]); !errors.Is(err, ErrMalformed) {
				t.Fatalf("truncated to %d of %d: %v", n, len(enc), err)
			}
		}
	}
	// side is one bit of meaning: anything but 0/1 is malformed
	o := rndOrder(rng, Sell)
	enc, _ := EncodeOrder(&o)
	enc[3+2] = 2 // account 3 bytes, model 2 bytes, then side
	if _, err := DecodeOrder(enc); !errors.Is(err, ErrMalformed) {
		t.Fatalf("side 2: %v", err)
	}
}

// TestPubdataRoundTrip: DecodePubdata(Pubdata(tx)) is tx's published part;
// the bytes equal an independent §6 encoding; sizes match the §6 table.
func TestPubdataRoundTrip(t *testing.T) {
	if len(AllKinds()) != len(specSize) {
		t.Fatalf("%d kinds, §6 lists %d", len(AllKinds()), len(specSize))
	}
	for _, k := range AllKinds() {
		if PubdataSize[k] != specSize[k] {
			t.Errorf("%s: PubdataSize %d, §6 says %d", k, PubdataSize[k], specSize[k])
		}
		bits := uint(0)
		for _, f := range specLayout[k] {
			bits += f.bits
		}
		if int(bits+7)/8 != specSize[k] {
			t.Fatalf("%s: test layout has %d bits for %d bytes", k, bits, specSize[k])
		}
		rng := kindRng(k, 2)
		for i := 0; i < 200; i++ {
			tx := rndTx(rng, k)
			pd, err := Pubdata(tx)
			if err != nil {
				t.Fatalf("%s: %v", k, err)
			}
			if len(pd) != specSize[k] {
				t.Fatalf("%s: %d bytes, want %d", k, len(pd), specSize[k])
			}
			if want := specEncode(k, specValues(tx), nil); !bytes.Equal(pd, want) {
				t.Fatalf("%s: pubdata differs from §6 layout\n got %x\nwant %x", k, pd, want)
			}
			ops, err := DecodePubdata(pd)
			if err != nil {
				t.Fatalf("%s: decode: %v", k, err)
			}
			if len(ops) != 1 {
				t.Fatalf("%s: %d ops", k, len(ops))
			}
			if want := publishedOnly(tx); !reflect.DeepEqual(ops[0], want) {
				t.Fatalf("%s: round trip\n got %+v\nwant %+v", k, ops[0], want)
			}
			again, err := Pubdata(ops[0])
			if err != nil || !bytes.Equal(again, pd) {
				t.Fatalf("%s: re-encoding differs (%v)", k, err)
			}
		}
	}
}

// TestPubdataConcatenation: a batch's pubdata (ops then Noop padding) splits
// back into the same ops.
func TestPubdataConcatenation(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	var all []byte
	var want []Tx
	for i := 0; i < 60; i++ {
		tx := rndTx(rng, AllKinds()[rng.IntN(len(AllKinds()))])
		pd, err := Pubdata(tx)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, pd...)
		want = append(want, publishedOnly(tx))
	}
	for i := 0; i < 4; i++ {
		all = append(all, byte(KindNoop))
		want = append(want, &Noop{})
	}
	got, err := DecodePubdata(all)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatal("concatenated pubdata does not split back")
	}
	if got, err := DecodePubdata(nil); err != nil || len(got) != 0 {
		t.Fatalf("empty pubdata: %v %v", got, err)
	}
}

// TestDecodeRejectsTruncated: every strict prefix of an encoding is malformed.
func TestDecodeRejectsTruncated(t *testing.T) {
	for _, k := range AllKinds() {
		rng := kindRng(k, 3)
		tx := rndTx(rng, k)
		enc, _ := EncodeTx(tx)
		for n := 0; n < len(enc); n++ {
			if _, err := DecodeTx(enc[:n]); !errors.Is(err, ErrMalformed) {
				t.Fatalf("%s wire truncated to %d/%d: %v", k, n, len(enc), err)
			}
		}
		pd, _ := Pubdata(tx)
		for n := 1; n < len(pd); n++ {
			if _, err := DecodePubdata(pd[:n]); !errors.Is(err, ErrMalformed) {
				t.Fatalf("%s pubdata truncated to %d/%d: %v", k, n, len(pd), err)
			}
			// a truncated op after a good one
			two := append(append([]byte{}, pd...), pd[:n]...)
			if _, err := DecodePubdata(two); !errors.Is(err, ErrMalformed) {
				t.Fatalf("%s: second op truncated to %d: %v", k, n, err)
			}
		}
	}
}

// TestDecodeRejectsTrailing: the wire decoder takes exactly one transaction.
func TestDecodeRejectsTrailing(t *testing.T) {
	for _, k := range AllKinds() {
		enc, _ := EncodeTx(rndTx(kindRng(k, 4), k))
		for _, extra := range [][]byte{{0}, {1}, {0, 0, 0}} {
			if _, err := DecodeTx(append(append([]byte{}, enc...), extra...)); !errors.Is(err, ErrMalformed) {
				t.Fatalf("%s with %d trailing bytes: %v", k, len(extra), err)
			}
		}
	}
}

func TestDecodeRejectsUnknownKind(t *testing.T) {
	good, _ := Pubdata(&Noop{})
	for _, k := range []byte{13, 14, 0x40, 0x7f, 0x80, 0xff} {
		for _, b := range [][]byte{{k}, append([]byte{k}, make([]byte, 300)...)} {
			if _, err := DecodeTx(b); !errors.Is(err, ErrUnknownKind) {
				t.Fatalf("wire kind %#x: %v", k, err)
			}
			if _, err := DecodePubdata(append(append([]byte{}, good...), b...)); !errors.Is(err, ErrUnknownKind) {
				t.Fatalf("pubdata kind %#x: %v", k, err)
			}
		}
		if _, err := NewTx(Kind(k)); !errors.Is(err, ErrUnknownKind) {
			t.Fatalf("NewTx(%#x): %v", k, err)
		}
	}
}

// nonCanonical are 256-bit values that are not canonical field elements.
func nonCanonical() []*big.Int {
	r := fr.Modulus()
	max := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 256), big.NewInt(1))
	return []*big.Int{r, new(big.Int).Add(r, big.NewInt(1)), new(big.Int).Lsh(big.NewInt(1), 255), max}
}

// TestDecodeRejectsNonCanonicalElement: field elements ≥ r are refused in
// both encodings (Deposit key, CreateModel weights/metadata, RedeemCredits
// request, in pubdata at their non-byte-aligned §6 offsets too).
func TestDecodeRejectsNonCanonicalElement(t *testing.T) {
	cases := map[Kind][]string{KindDeposit: {"pkX", "pkY"}, KindCreateModel: {"weights", "metadata"}, KindRedeemCredits: {"request"}}
	for k, names := range cases {
		tx := rndTx(kindRng(k, 5), k)
		vals := specValues(tx)
		wire, _ := EncodeTx(tx)
		for _, name := range names {
			for _, bad := range nonCanonical() {
				pd := specEncode(k, vals, map[string]*big.Int{name: bad})
				if _, err := DecodePubdata(pd); !errors.Is(err, ErrFieldElement) {
					t.Fatalf("%s pubdata %s=%x: %v", k, name, bad, err)
				}
				// wire: elements are byte aligned; find this one and overwrite it
				cur := vals[name].FillBytes(make([]byte, 32))
				i := bytes.Index(wire, cur)
				if i < 0 {
					t.Fatalf("%s: %s not found in wire encoding", k, name)
				}
				w := append([]byte{}, wire...)
				bad.FillBytes(w[i : i+32])
				if _, err := DecodeTx(w); !errors.Is(err, ErrFieldElement) {
					t.Fatalf("%s wire %s=%x: %v", k, name, bad, err)
				}
			}
		}
	}
	// and an element just below r is fine
	tx := rndTx(kindRng(KindRedeemCredits, 6), KindRedeemCredits).(*RedeemCredits)
	tx.Request.SetBigInt(new(big.Int).Sub(fr.Modulus(), big.NewInt(1)))
	pd, _ := Pubdata(tx)
	if _, err := DecodePubdata(pd); err != nil {
		t.Fatalf("r-1: %v", err)
	}
}

// TestDecodeRejectsPaddingBits: the zero bits that pad an op to a byte must be zero.
func TestDecodeRejectsPaddingBits(t *testing.T) {
	padded := 0
	for _, k := range AllKinds() {
		bits := uint(0)
		for _, f := range specLayout[k] {
			bits += f.bits
		}
		pad := (8 - bits%8) % 8
		if pad == 0 {
			continue
		}
		padded++
		pd, _ := Pubdata(rndTx(kindRng(k, 7), k))
		for b := uint(0); b < pad; b++ {
			bad := append([]byte{}, pd...)
			bad[len(bad)-1] |= 1 << b
			if _, err := DecodePubdata(bad); !errors.Is(err, ErrMalformed) {
				t.Fatalf("%s padding bit %d set: %v", k, b, err)
			}
		}
		// the bit just above the padding is data, not padding
		ok := append([]byte{}, pd...)
		ok[len(ok)-1] ^= 1 << pad
		if _, err := DecodePubdata(ok); errors.Is(err, ErrMalformed) {
			t.Fatalf("%s: last data bit treated as padding: %v", k, err)
		}
	}
	if padded != 3 { // CreateModel, SetModelParams, Trade
		t.Fatalf("%d kinds have padding, want 3", padded)
	}
}

// TestEncodeRejectsOutOfRange: a field wider than its width, or a float that
// is not exact, does not encode.
func TestEncodeRejectsOutOfRange(t *testing.T) {
	cases := []struct {
		tx   Tx
		want error
		wire bool
	}{
		{&Transfer{From: 1 << AccountBits}, ErrAmountTooLarge, true},
		{&Transfer{Asset: 1 << AssetBits}, ErrAmountTooLarge, false},
		{&Transfer{Amount: *uint256.NewInt(1<<33 + 1)}, ErrNotPackable, false},
		{&Transfer{Fee: *uint256.NewInt(2049)}, ErrNotPackable, false},
		{&Withdraw{Amount: *Bound(AmountBits)}, ErrAmountTooLarge, true},
		{&CreateModel{HolderBps: 1 << BpsBits}, ErrAmountTooLarge, false},
		{&Trade{Fill: 1<<33 + 1}, ErrNotPackable, false},
		{&ForcedWithdraw{Account: 1 << AccountBits}, ErrAmountTooLarge, false},
		{&Deposit{Account: 1 << AccountBits}, ErrAmountTooLarge, true},
		{&CancelOrder{OrderID: 1 << OrderIDBits}, ErrAmountTooLarge, true},
	}
	for _, c := range cases {
		if _, err := Pubdata(c.tx); !errors.Is(err, c.want) {
			t.Errorf("pubdata %T %+v: %v, want %v", c.tx, c.tx, err, c.want)
		}
		if c.wire {
			if _, err := EncodeTx(c.tx); !errors.Is(err, c.want) {
				t.Errorf("wire %T: %v, want %v", c.tx, err, c.want)
			}
		}
	}
}

// TestDecodePubdataNonCanonicalFloat: a packed float not in canonical form
// is malformed, so one operation has one pubdata encoding (at commit 3f190b7
// the decoder accepted it).
func TestDecodePubdataNonCanonicalFloat(t *testing.T) {
	tx := &ClaimRevenue{Account: 1, Model: 2, Fee: *uint256.NewInt(10)}
	canon, _ := Pubdata(tx)
	// fee 10 as mantissa 1, exponent 1 instead of mantissa 10, exponent 0
	alt := specEncode(KindClaimRevenue, specValues(tx), map[string]*big.Int{"fee": big.NewInt(1<<11 | 1)})
	if bytes.Equal(alt, canon) {
		t.Fatal("test setup: encodings equal")
	}
	if _, err := DecodePubdata(alt); !errors.Is(err, ErrMalformed) {
		t.Fatalf("non-canonical fee: %v", err)
	}
	// a transfer amount 0 as 0·10^5, a trade fill as 5·10^2
	tr := &Transfer{From: 1, To: 2, Amount: *uint256.NewInt(7)}
	alt = specEncode(KindTransfer, specValues(tr), map[string]*big.Int{"amount": big.NewInt(5 << 33)})
	if _, err := DecodePubdata(alt); !errors.Is(err, ErrMalformed) {
		t.Fatalf("amount 0·10^5: %v", err)
	}
	trade := &Trade{Fill: 500, Price: *uint256.NewInt(3)}
	alt = specEncode(KindTrade, specValues(trade), map[string]*big.Int{"fill": big.NewInt(2<<33 | 5)})
	if _, err := DecodePubdata(alt); !errors.Is(err, ErrMalformed) {
		t.Fatalf("fill 5·10^2: %v", err)
	}
}

// TestDecodePubdataDepositRefusedByte: the Deposit "refused" byte is 0 or 1;
// any other value is malformed, so decoding is one-to-one.
func TestDecodePubdataDepositRefusedByte(t *testing.T) {
	d := &Deposit{Token: 1, Amount: *uint256.NewInt(5), Account: 3, Refused: true}
	alt := specEncode(KindDeposit, specValues(d), map[string]*big.Int{"refused": big.NewInt(2)})
	if _, err := DecodePubdata(alt); !errors.Is(err, ErrMalformed) {
		t.Fatalf("refused byte 2: %v", err)
	}
}

// TestWireDepositAccount: the bridge assigns a deposit's account id, so the
// wire encoding carries it, 24 bits right after the 64-bit priority id; the
// Refused flag (set by apply) is not carried.
func TestWireDepositAccount(t *testing.T) {
	d := &Deposit{PriorityID: 0x0102030405060708, Account: 0xabcdef, L1Address: common.Address{19: 0x42},
		PubKey: PubKey{X: FromUint64(5), Y: FromUint64(6)}, Token: 0x1234, Amount: *uint256.NewInt(99), Refused: true}
	enc, err := EncodeTx(d)
	if err != nil {
		t.Fatal(err)
	}
	// kind, priority id 64, account 24, address 160, key 2×256, token 16, amount 256
	if want := 1 + 8 + 3 + 20 + 64 + 2 + 32; len(enc) != want {
		t.Fatalf("deposit wire of %d bytes, want %d", len(enc), want)
	}
	if Kind(enc[0]) != KindDeposit || !bytes.Equal(enc[1:9], []byte{1, 2, 3, 4, 5, 6, 7, 8}) ||
		!bytes.Equal(enc[9:12], []byte{0xab, 0xcd, 0xef}) || enc[12+19] != 0x42 {
		t.Fatalf("deposit wire layout %x", enc[:32])
	}
	got, err := DecodeTx(enc)
	if err != nil {
		t.Fatal(err)
	}
	g := got.(*Deposit)
	if g.Account != d.Account || g.Refused {
		t.Fatalf("decoded account %#x refused %v", g.Account, g.Refused)
	}
	// the refused flag does not change the wire bytes
	d.Refused = false
	if again, _ := EncodeTx(d); !bytes.Equal(again, enc) {
		t.Fatal("Refused is in the wire encoding")
	}
	// the largest 24-bit id encodes, the next does not
	d.Account = 1<<AccountBits - 1
	if _, err := EncodeTx(d); err != nil {
		t.Fatalf("account 2^24-1: %v", err)
	}
	d.Account = 1 << AccountBits
	if _, err := EncodeTx(d); !errors.Is(err, ErrAmountTooLarge) {
		t.Fatalf("account 2^24: %v", err)
	}
}
