package circuits

import (
	"crypto/rand"
	"fmt"
	"math/big"
	mrand "math/rand/v2"
	"strings"
	"testing"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark-crypto/ecc/bn254/twistededwards"
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/test"
	"github.com/ethereum/go-ethereum/common"
	"github.com/holiman/uint256"

	"github.com/modex/modex/state"
	"github.com/modex/modex/state/smt"
	"github.com/modex/modex/types"
)

var field = ecc.BN254.ScalarField()

func solved(t *testing.T, shape, assignment frontend.Circuit) error {
	t.Helper()
	return test.IsSolved(shape, assignment, field)
}

// ---- leaves ----

type leavesCircuit struct {
	Acct                AccountVars
	BalRoot, PosRoot    frontend.Variable
	Pos                 PositionVars
	OrderRoot           frontend.Variable
	Model               ModelVars
	Slot                SlotVars
	Bal                 frontend.Variable
	WantAcct, WantPos   frontend.Variable `gnark:",public"`
	WantModel, WantSlot frontend.Variable `gnark:",public"`
	WantBal             frontend.Variable `gnark:",public"`
	mode                Mode
}

func (c *leavesCircuit) Define(api frontend.API) error {
	h, err := NewHasher(api)
	if err != nil {
		return err
	}
	api.AssertIsEqual(AccountLeaf(api, h, c.mode, c.Acct, c.BalRoot, c.PosRoot), c.WantAcct)
	api.AssertIsEqual(PositionLeaf(api, h, c.mode, c.Pos, c.OrderRoot), c.WantPos)
	api.AssertIsEqual(ModelLeaf(api, h, c.mode, c.Model), c.WantModel)
	api.AssertIsEqual(SlotLeaf(api, c.Slot), c.WantSlot)
	api.AssertIsEqual(BalanceLeaf(api, c.mode, c.Bal), c.WantBal)
	return nil
}

func rndBits(r *mrand.Rand, bits uint) *uint256.Int {
	var b [32]byte
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	v := new(uint256.Int).SetBytes(b[:])
	return v.Rsh(v, 256-bits)
}

func rndElem() fr.Element {
	var e fr.Element
	e.SetRandom()
	return e
}

func nativeLeaves(r *mrand.Rand) (*state.Account, *state.Position, *state.Model, state.OrderSlot, *uint256.Int) {
	a := &state.Account{PubKey: types.PubKey{X: rndElem(), Y: rndElem()}, Nonce: r.Uint32()}
	copy(a.L1Address[:], rndBits(r, 160).Bytes())
	p := &state.Position{Shares: r.Uint64(), Credits: r.Uint64()}
	p.LastAcc.Set(rndBits(r, types.AccBits))
	p.Pending.Set(rndBits(r, types.PendingBits))
	m := &state.Model{DAO: r.Uint32() >> 8, QuoteToken: uint16(r.Uint32()), HolderBps: uint16(r.IntN(10001)),
		Supply: r.Uint64(), MaxSupply: r.Uint64(), Weights: rndElem(), Metadata: rndElem()}
	m.Acc.Set(rndBits(r, types.AccBits))
	m.Carry.SetUint64(r.Uint64())
	m.CreditPrice.Set(rndBits(r, types.AmountBits))
	m.Treasury.Set(rndBits(r, types.AmountBits))
	s := state.OrderSlot{OrderID: r.Uint32() >> 8, Filled: r.Uint64()}
	return a, p, m, s, rndBits(r, types.AmountBits)
}

func leavesAssignment(a *state.Account, p *state.Position, m *state.Model, s state.OrderSlot, bal *uint256.Int) *leavesCircuit {
	br, pr, or := rndElem(), rndElem(), rndElem()
	return &leavesCircuit{
		Acct: AssignAccount(a), BalRoot: br, PosRoot: pr, Pos: AssignPosition(p), OrderRoot: or,
		Model: AssignModel(m), Slot: AssignSlot(s), Bal: bal.ToBig(),
		WantAcct: state.AccountLeaf(a, br, pr), WantPos: state.PositionLeaf(p, or), WantModel: state.ModelLeaf(m),
		WantSlot: s.Leaf(), WantBal: state.BalanceLeaf(bal),
	}
}

// TestLeavesMatchNative: every leaf gadget hashes exactly like state/leaves.go,
// reading and writing.
func TestLeavesMatchNative(t *testing.T) {
	r := mrand.New(mrand.NewPCG(1, 2))
	for _, mode := range []Mode{Read, Write} {
		for i := 0; i < 10; i++ {
			if err := solved(t, &leavesCircuit{mode: mode}, leavesAssignment(nativeLeaves(r))); err != nil {
				t.Fatalf("mode %v round %d: circuit and native leaves disagree: %v", mode, i, err)
			}
		}
	}
}

func bigOf(e fr.Element) *big.Int { return e.BigInt(new(big.Int)) }

func frOf(x *big.Int) fr.Element {
	var e fr.Element
	e.SetBigInt(x)
	return e
}

// TestLeafFieldsBound: moving bits between packed fields keeps the packed
// word (and so the native hash) but must fail the circuit's range checks,
// reading or writing; an unpacked field out of its range must fail when the
// circuit writes it. Read mode does not re-check unpacked fields: the hash
// binds them to their last write, which was checked (docs/circuit.md "Lean
// circuit"), and the last case pins that this is the design, not an accident.
func TestLeafFieldsBound(t *testing.T) {
	r := mrand.New(mrand.NewPCG(3, 4))
	two := func(k uint) *big.Int { return new(big.Int).Lsh(big.NewInt(1), k) }
	add := func(x *big.Int, y *big.Int) *big.Int { return new(big.Int).Add(x, y) }
	sub1 := func(x *big.Int) *big.Int { return new(big.Int).Sub(x, big.NewInt(1)) }
	// accountWith recomputes the account leaf natively from raw fields
	accountWith := func(c *leavesCircuit, nonce, addr *big.Int) fr.Element {
		ax, ay := c.Acct.PkX.(fr.Element), c.Acct.PkY.(fr.Element)
		return types.Compress4(types.Compress4(ax, ay, frOf(nonce), frOf(addr)), c.BalRoot.(fr.Element), c.PosRoot.(fr.Element), fr.Element{})
	}
	type tc struct {
		modes  []Mode
		tamper func(c *leavesCircuit, a *state.Account, p *state.Position, m *state.Model, s state.OrderSlot)
	}
	both := []Mode{Read, Write}
	cases := map[string]tc{
		"position: shares+2^64, credits-1": {both, func(c *leavesCircuit, _ *state.Account, p *state.Position, _ *state.Model, _ state.OrderSlot) {
			c.Pos.Shares = add(new(big.Int).SetUint64(p.Shares), two(64))
			c.Pos.Credits = sub1(new(big.Int).SetUint64(p.Credits))
		}},
		"model: dao+2^24, quoteToken-1": {both, func(c *leavesCircuit, _ *state.Account, _ *state.Position, m *state.Model, _ state.OrderSlot) {
			c.Model.DAO = add(big.NewInt(int64(m.DAO)), two(24))
			c.Model.QuoteToken = sub1(big.NewInt(int64(m.QuoteToken)))
		}},
		"model: supply+2^64, maxSupply-1": {both, func(c *leavesCircuit, _ *state.Account, _ *state.Position, m *state.Model, _ state.OrderSlot) {
			c.Model.Supply = add(new(big.Int).SetUint64(m.Supply), two(64))
			c.Model.MaxSupply = sub1(new(big.Int).SetUint64(m.MaxSupply))
		}},
		"slot: orderId+2^24, filled-1": {both, func(c *leavesCircuit, _ *state.Account, _ *state.Position, _ *state.Model, s state.OrderSlot) {
			c.Slot.OrderID = add(big.NewInt(int64(s.OrderID)), two(24))
			c.Slot.Filled = sub1(new(big.Int).SetUint64(s.Filled))
		}},
		"written balance at 2^96": {[]Mode{Write}, func(c *leavesCircuit, _ *state.Account, _ *state.Position, _ *state.Model, _ state.OrderSlot) {
			c.Bal, c.WantBal = two(96), two(96)
		}},
		"written nonce at 2^32": {[]Mode{Write}, func(c *leavesCircuit, a *state.Account, _ *state.Position, _ *state.Model, _ state.OrderSlot) {
			addr := new(big.Int).SetBytes(a.L1Address[:])
			c.Acct.Nonce = two(32)
			c.WantAcct = accountWith(c, two(32), addr)
		}},
		"written address at 2^160": {[]Mode{Write}, func(c *leavesCircuit, a *state.Account, _ *state.Position, _ *state.Model, _ state.OrderSlot) {
			c.Acct.L1Address = two(160)
			c.WantAcct = accountWith(c, big.NewInt(int64(a.Nonce)), two(160))
		}},
		"written pending at 2^224": {[]Mode{Write}, func(c *leavesCircuit, _ *state.Account, p *state.Position, _ *state.Model, _ state.OrderSlot) {
			p.Pending.Lsh(uint256.NewInt(1), 224)
			c.Pos.Pending = two(224)
			c.WantPos = state.PositionLeaf(p, c.OrderRoot.(fr.Element))
		}},
		"written treasury at 2^96": {[]Mode{Write}, func(c *leavesCircuit, _ *state.Account, _ *state.Position, m *state.Model, _ state.OrderSlot) {
			m.Treasury.Lsh(uint256.NewInt(1), 96)
			c.Model.Treasury = two(96)
			c.WantModel = state.ModelLeaf(m)
		}},
	}
	for name, k := range cases {
		for _, mode := range k.modes {
			t.Run(fmt.Sprintf("%s/write=%v", name, mode), func(t *testing.T) {
				a, p, m, s, bal := nativeLeaves(r)
				c := leavesAssignment(a, p, m, s, bal)
				if err := solved(t, &leavesCircuit{mode: mode}, c); err != nil {
					t.Fatalf("untampered leaves rejected: %v", err)
				}
				k.tamper(c, a, p, m, s)
				if err := solved(t, &leavesCircuit{mode: mode}, c); err == nil {
					t.Fatal("circuit accepted a leaf field out of its range")
				}
			})
		}
	}
	t.Run("read leaves unpacked fields to the hash", func(t *testing.T) {
		a, p, m, s, bal := nativeLeaves(r)
		c := leavesAssignment(a, p, m, s, bal)
		c.Bal, c.WantBal = two(96), two(96)
		if err := solved(t, &leavesCircuit{mode: Read}, c); err != nil {
			t.Fatalf("read mode range-checks an unpacked field: %v", err)
		}
	})
}

// ---- Merkle paths ----

type memKV map[string][]byte

func (m memKV) Get(k []byte) ([]byte, error) { return m[string(k)], nil }
func (m memKV) Set(k, v []byte) error        { m[string(k)] = append([]byte(nil), v...); return nil }
func (m memKV) Delete(k []byte) error        { delete(m, string(k)); return nil }

type pathCircuit struct {
	Index            frontend.Variable
	Siblings         []frontend.Variable
	Old, New         frontend.Variable
	OldRoot, NewRoot frontend.Variable `gnark:",public"`
	depth            int
}

func (c *pathCircuit) Define(api frontend.API) error {
	h, err := NewHasher(api)
	if err != nil {
		return err
	}
	o, n := PathUpdate(api, h, c.Index, c.depth, c.Siblings, c.Old, c.New)
	api.AssertIsEqual(o, c.OldRoot)
	api.AssertIsEqual(n, c.NewRoot)
	api.AssertIsEqual(PathRoot(api, h, c.Index, c.depth, c.Siblings, c.Old), c.OldRoot)
	return nil
}

// TestPathUpdateMatchesTree: the 4-ary path gadget computes the roots of
// state/smt at an even and an odd depth, for leaves at every position of a
// level, and rejects every tampered path (SECURITY.md circuit classes 1 and
// 3: position bits bound to the index, siblings bound to their positions).
func TestPathUpdateMatchesTree(t *testing.T) {
	for _, depth := range []int{8, 7} {
		kv := memKV{}
		tree := smt.New([]byte{'T'}, depth, fr.Element{})
		r := mrand.New(mrand.NewPCG(5, uint64(depth)))
		// a full tree: every sibling differs from the others, so a swap shows
		for i := uint64(0); i < 1<<depth; i++ {
			if _, err := tree.Update(kv, i, rndElem()); err != nil {
				t.Fatal(err)
			}
		}
		shape := func() *pathCircuit {
			return &pathCircuit{Siblings: make([]frontend.Variable, smt.SiblingCount(depth)), depth: depth}
		}
		// indices 0..3 put the leaf at each position of the bottom level;
		// the last ones are random and the largest index of the tree
		idxs := []uint64{0, 1, 2, 3, r.Uint64N(1 << depth), r.Uint64N(1 << depth), 1<<depth - 1}
		for i, idx := range idxs {
			before, _ := tree.Root(kv)
			leaf := rndElem()
			pr, err := tree.Update(kv, idx, leaf)
			if err != nil {
				t.Fatal(err)
			}
			after, _ := tree.Root(kv)
			c := &pathCircuit{Index: idx, Old: pr.Leaf, New: leaf, OldRoot: before, NewRoot: after, Siblings: vars(pr.Siblings)}
			if err := solved(t, shape(), c); err != nil {
				t.Fatalf("depth %d update %d: circuit roots differ from the tree's: %v", depth, i, err)
			}
			top := len(c.Siblings) - 3
			tampers := map[string]func(c *pathCircuit){
				"swapped siblings":           func(c *pathCircuit) { c.Siblings[0], c.Siblings[1] = c.Siblings[1], c.Siblings[0] },
				"swapped top siblings":       func(c *pathCircuit) { c.Siblings[top], c.Siblings[top+1] = c.Siblings[top+1], c.Siblings[top] },
				"index disagrees (bit 0)":    func(c *pathCircuit) { c.Index = idx ^ 1 },
				"index disagrees (bit 1)":    func(c *pathCircuit) { c.Index = idx ^ 2 },
				"index disagrees (top bit)":  func(c *pathCircuit) { c.Index = idx ^ 1<<(depth-1) },
				"index beyond the depth":     func(c *pathCircuit) { c.Index = idx + 1<<depth },
				"index beyond the 4-ary top": func(c *pathCircuit) { c.Index = idx + 1<<(2*smt.Levels(depth)) },
				"wrong new root":             func(c *pathCircuit) { c.NewRoot = before },
				"old leaf not the stored":    func(c *pathCircuit) { c.Old = leaf },
			}
			for name, f := range tampers {
				bad := *c
				bad.Siblings = append([]frontend.Variable(nil), c.Siblings...)
				f(&bad)
				if err := solved(t, shape(), &bad); err == nil {
					t.Fatalf("depth %d update %d: %s accepted", depth, i, name)
				}
			}
		}
	}
}

// ---- packed floats ----

type floatCircuit struct {
	Raw38, Raw16 frontend.Variable
	V38, V16     frontend.Variable `gnark:",public"`
}

func (c *floatCircuit) Define(api frontend.API) error {
	api.AssertIsEqual(DecodeFloat(api, c.Raw38, types.Amount38), c.V38)
	api.AssertIsEqual(DecodeFloat(api, c.Raw16, types.Fee16), c.V16)
	return nil
}

func TestDecodeFloatMatchesNative(t *testing.T) {
	r := mrand.New(mrand.NewPCG(7, 8))
	for i := 0; i < 20; i++ {
		v38 := types.Amount38.RoundDown(rndBits(r, uint(1+r.IntN(96))))
		v16 := types.Fee16.RoundDown(rndBits(r, uint(1+r.IntN(96))))
		raw38, err := types.Amount38.Encode(v38)
		if err != nil {
			t.Fatal(err)
		}
		raw16, err := types.Fee16.Encode(v16)
		if err != nil {
			t.Fatal(err)
		}
		ok := &floatCircuit{Raw38: raw38, Raw16: raw16, V38: v38.ToBig(), V16: v16.ToBig()}
		if err := solved(t, &floatCircuit{}, ok); err != nil {
			t.Fatalf("%s / %s: %v", v38.Dec(), v16.Dec(), err)
		}
	}
	// 10 encoded as 1·10^1 decodes to the right value but is not canonical
	nonCanonical := &floatCircuit{Raw38: 0, V38: 0, Raw16: uint64(1)<<11 | 1, V16: 10}
	if err := solved(t, &floatCircuit{}, nonCanonical); err == nil {
		t.Fatal("non-canonical float accepted")
	}
	wide := &floatCircuit{Raw38: 0, V38: 0, Raw16: uint64(1) << 16, V16: 0}
	if err := solved(t, &floatCircuit{}, wide); err == nil {
		t.Fatal("raw float wider than its format accepted")
	}
}

// ---- messages and signatures ----

type transferMsgCircuit struct {
	Domain                              frontend.Variable
	From, To, Asset, Nonce, Amount, Fee frontend.Variable
	PK                                  PubKeyVars
	Sig                                 SigVars
	Msg                                 frontend.Variable `gnark:",public"`
}

func (c *transferMsgCircuit) Define(api frontend.API) error {
	h, err := NewHasher(api)
	if err != nil {
		return err
	}
	words := MessageWords(api, Field{int(types.KindTransfer), 8}, Field{c.From, types.AccountBits}, Field{c.To, types.AccountBits},
		Field{c.Asset, types.AssetBits}, Field{c.Nonce, types.NonceBits}, Field{c.Amount, types.AmountBits}, Field{c.Fee, types.AmountBits})
	msg := MessageHash(h, c.Domain, words)
	api.AssertIsEqual(msg, c.Msg)
	return VerifySignature(api, c.PK, c.Sig, msg)
}

func signedTransfer(t *testing.T) (*types.Transfer, types.Domain, *types.PrivateKey) {
	k, err := types.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	d := types.Domain{ChainID: 31337, Bridge: common.Address{19: 0xb1}}
	tx := &types.Transfer{From: 3, To: 9, Asset: types.ShareAsset(2), Nonce: 7}
	tx.Amount.SetUint64(123_000)
	tx.Fee.SetUint64(15)
	if err := types.SignTx(k, d, tx); err != nil {
		t.Fatal(err)
	}
	return tx, d, k
}

func transferAssignment(t *testing.T, tx *types.Transfer, d types.Domain, pk types.PubKey) *transferMsgCircuit {
	sig, err := AssignSignature(tx.Signature)
	if err != nil {
		t.Fatal(err)
	}
	msg, err := tx.Message(d)
	if err != nil {
		t.Fatal(err)
	}
	return &transferMsgCircuit{Domain: d.Element(), From: tx.From, To: tx.To, Asset: uint32(tx.Asset), Nonce: tx.Nonce,
		Amount: tx.Amount.ToBig(), Fee: tx.Fee.ToBig(), PK: AssignPubKey(pk), Sig: sig, Msg: msg}
}

// TestSignedMessageMatchesNative: the circuit rebuilds the native message
// words and hash, and verifies the native signature; the classic forgeries
// fail.
func TestSignedMessageMatchesNative(t *testing.T) {
	tx, d, k := signedTransfer(t)
	pk := types.PublicKeyOf(k)
	if err := solved(t, &transferMsgCircuit{}, transferAssignment(t, tx, d, pk)); err != nil {
		t.Fatalf("native signature rejected by the circuit: %v", err)
	}
	t.Run("S+l", func(t *testing.T) {
		c := transferAssignment(t, tx, d, pk)
		s := new(big.Int).SetBytes(tx.Signature[32:])
		order := twistededwards.GetEdwardsCurve().Order
		c.Sig.S = s.Add(s, &order)
		if err := solved(t, &transferMsgCircuit{}, c); err == nil {
			t.Fatal("malleated S+l accepted")
		}
	})
	t.Run("wrong key", func(t *testing.T) {
		other, _ := types.GenerateKey(rand.Reader)
		if err := solved(t, &transferMsgCircuit{}, transferAssignment(t, tx, d, types.PublicKeyOf(other))); err == nil {
			t.Fatal("signature accepted under another key")
		}
	})
	t.Run("altered after signing", func(t *testing.T) {
		c := transferAssignment(t, tx, d, pk)
		c.Amount = big.NewInt(999_000)
		c.Msg = nil
		bad := *tx
		bad.Amount.SetUint64(999_000)
		msg, err := bad.Message(d)
		if err != nil {
			t.Fatal(err)
		}
		c.Msg = msg
		if err := solved(t, &transferMsgCircuit{}, c); err == nil {
			t.Fatal("altered transfer accepted")
		}
	})
	t.Run("other domain", func(t *testing.T) {
		other := types.Domain{ChainID: 1, Bridge: d.Bridge}
		c := transferAssignment(t, tx, other, pk)
		if err := solved(t, &transferMsgCircuit{}, c); err == nil {
			t.Fatal("signature accepted under another chain id")
		}
	})
}

// TestSignatureROnCurve pins the review's fix: R off the curve fails at the
// on-curve assertion in sig.go itself, not only later (where a malicious
// solver could satisfy gnark's unchecked divisions with R = (0, 0)).
func TestSignatureROnCurve(t *testing.T) {
	tx, d, k := signedTransfer(t)
	for name, r := range map[string][2]int64{"(0,0)": {0, 0}, "(1,2)": {1, 2}} {
		c := transferAssignment(t, tx, d, types.PublicKeyOf(k))
		c.Sig.RX, c.Sig.RY = r[0], r[1]
		err := solved(t, &transferMsgCircuit{}, c)
		if err == nil {
			t.Fatalf("R = %s accepted", name)
		}
		// the on-curve check must refuse it before gnark's eddsa.Verify runs
		if msg := err.Error(); !strings.Contains(msg, "AssertIsOnCurve") || strings.Contains(msg, "eddsa.Verify") {
			t.Fatalf("R = %s refused, but not by VerifySignature's on-curve check: %v", name, err)
		}
	}
}
