package circuits

import (
	"errors"
	"math/big"
	mrand "math/rand/v2"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	edbn254 "github.com/consensys/gnark-crypto/ecc/bn254/twistededwards"
	"github.com/consensys/gnark/frontend"
	"github.com/ethereum/go-ethereum/common"
	"github.com/holiman/uint256"

	"github.com/modex/modex/bench/workload"
	"github.com/modex/modex/state"
	"github.com/modex/modex/types"
)

type depositHarness = harness[Deposit, *Deposit]

// dwPubdataBits is the native pubdata of tx as bits, most significant first.
func dwPubdataBits(t *testing.T, tx types.Tx) []frontend.Variable {
	t.Helper()
	pd, err := types.Pubdata(tx)
	if err != nil {
		t.Fatal(err)
	}
	bits := make([]frontend.Variable, 0, len(pd)*8)
	for _, b := range pd {
		for i := 7; i >= 0; i-- {
			bits = append(bits, (b>>uint(i))&1)
		}
	}
	return bits
}

// dwDeposit applies a deposit natively (consuming the next priority id) and
// builds its gadget assignment.
func dwDeposit(t *testing.T, b *workload.Bench, d *types.Deposit) (*state.Receipt, Deposit) {
	t.Helper()
	d.PriorityID = b.Prio
	r, err := b.Add(d)
	if err != nil {
		t.Fatal(err)
	}
	b.Prio++
	g, err := AssignDeposit(d, r.Witness)
	if err != nil {
		t.Fatal(err)
	}
	return r, g
}

// dwNewDeposit is a deposit of amount token 0 from a fresh pair (user i's
// address, key pk): the bridge assigns it the next account id.
func dwNewDeposit(b *workload.Bench, i int, pk types.PubKey, amount *uint256.Int) *types.Deposit {
	d := &types.Deposit{Account: b.AccountFor(workload.Addr(i), pk), L1Address: workload.Addr(i), PubKey: pk, Token: 0}
	d.Amount.Set(amount)
	return d
}

func dwPoint(x, y string) types.PubKey {
	var k types.PubKey
	if _, err := k.X.SetString(x); err != nil {
		panic(err)
	}
	if _, err := k.Y.SetString(y); err != nil {
		panic(err)
	}
	return k
}

// TestDeposit: credited deposits (new account, existing account) and refused
// ones (a new account whose key cannot sign: empty, off the curve, the
// identity, a small-order point; a balance overflow) are proven with the
// native roots and pubdata; tampered witnesses are refused. The deposit's
// one account update is the last update, so every tamper runs without the
// root check (noRoots); a tamper that changes a published field also
// publishes it (the expected pubdata is re-encoded natively), so only the
// rule named in the case can refuse it. Account 0's overflow:
// TestDepositFeeAccountOverflow.
func TestDeposit(t *testing.T) {
	b := kindWorld(t)
	key, err := workload.Key(10)
	if err != nil {
		t.Fatal(err)
	}
	goodKey := types.PublicKeyOf(key)
	two96 := new(uint256.Int).Lsh(uint256.NewInt(1), 96)
	type native struct {
		name    string
		tx      *types.Deposit
		refused bool
	}
	existing, err := b.Next(types.KindDeposit, 0)
	if err != nil {
		t.Fatal(err)
	}
	overflow := b.DepositTx(2, 0, new(uint256.Int).Sub(two96, uint256.NewInt(1)))
	natives := []native{
		{"credited, new account", dwNewDeposit(b, 10, goodKey, uint256.NewInt(777)), false},
		{"credited, existing account", existing.Tx.(*types.Deposit), false},
		{"refused, empty key", dwNewDeposit(b, 11, types.PubKey{}, uint256.NewInt(5)), true},
		{"refused, off the curve", dwNewDeposit(b, 12, dwPoint("1", "2"), uint256.NewInt(5)), true},
		{"refused, identity", dwNewDeposit(b, 13, dwPoint("0", "1"), uint256.NewInt(5)), true},
		{"refused, small order (0,-1)", dwNewDeposit(b, 14, dwPoint("0", "-1"), uint256.NewInt(5)), true},
		{"refused, balance overflow", overflow, true},
	}
	type built struct {
		tx *types.Deposit
		r  *state.Receipt
		g  Deposit
	}
	all := map[string]built{}
	for _, n := range natives {
		r, g := dwDeposit(t, b, n.tx)
		if n.tx.Refused != n.refused {
			t.Fatalf("%s: native refused=%v (%v)", n.name, n.tx.Refused, r.Refusal)
		}
		all[n.name] = built{n.tx, r, g}
		t.Run(n.name, func(t *testing.T) {
			shape, full := newHarness[Deposit](b.P, b.D, b.TS, NewDeposit(b.P), g, r)
			if err := solved(t, shape, full); err != nil {
				t.Fatalf("native deposit refused by the circuit: %v", err)
			}
		})
	}

	otherKey := types.PublicKeyOf(b.Keys[3])
	two96b := new(big.Int).Lsh(big.NewInt(1), 96)
	cases := []struct {
		name, base string
		tamper     func(h *depositHarness, tx *types.Deposit) // tx: the published deposit, to re-encode
	}{
		// the pair binding: an existing leaf takes only its own pair
		{"credited into a leaf bound to another key (rebinding it)", "credited, existing account", func(h *depositHarness, tx *types.Deposit) {
			h.G.PkX, h.G.PkY, tx.PubKey = otherKey.X, otherKey.Y, otherKey
			h.G.Acct.New.PkX, h.G.Acct.New.PkY = otherKey.X, otherKey.Y
		}},
		{"credited into a leaf bound to another address (rebinding it)", "credited, existing account", func(h *depositHarness, tx *types.Deposit) {
			tx.L1Address = common.Address{0x99}
			h.G.L1Address = new(big.Int).SetBytes(tx.L1Address[:])
			h.G.Acct.New.L1Address = h.G.L1Address
		}},
		// the refusal rule: Refused equals the reason, both ways
		{"refusal claimed without a reason (good key, room)", "credited, new account", func(h *depositHarness, tx *types.Deposit) {
			tx.Refused, h.G.Refused = true, 1
			h.G.Acct.New = h.G.Acct.Old
			h.G.Acct.Balances[0].New = h.G.Acct.Balances[0].Old
		}},
		{"refusal claimed without a reason (existing account)", "credited, existing account", func(h *depositHarness, tx *types.Deposit) {
			tx.Refused, h.G.Refused = true, 1
			h.G.Acct.New = h.G.Acct.Old
			h.G.Acct.Balances[0].New = h.G.Acct.Balances[0].Old
		}},
		{"off-curve key credited", "refused, off the curve", func(h *depositHarness, tx *types.Deposit) {
			tx.Refused, h.G.Refused = false, 0
			h.G.Acct.New.PkX, h.G.Acct.New.PkY, h.G.Acct.New.L1Address = h.G.PkX, h.G.PkY, h.G.L1Address
			h.G.Acct.Balances[0].New = addBig(h.G.Acct.Balances[0].Old, 5)
		}},
		{"identity key credited", "refused, identity", func(h *depositHarness, tx *types.Deposit) {
			tx.Refused, h.G.Refused = false, 0
			h.G.Acct.New.PkX, h.G.Acct.New.PkY, h.G.Acct.New.L1Address = h.G.PkX, h.G.PkY, h.G.L1Address
			h.G.Acct.Balances[0].New = addBig(h.G.Acct.Balances[0].Old, 5)
		}},
		{"small-order key credited", "refused, small order (0,-1)", func(h *depositHarness, tx *types.Deposit) {
			tx.Refused, h.G.Refused = false, 0
			h.G.Acct.New.PkX, h.G.Acct.New.PkY, h.G.Acct.New.L1Address = h.G.PkX, h.G.PkY, h.G.L1Address
			h.G.Acct.Balances[0].New = addBig(h.G.Acct.Balances[0].Old, 5)
		}},
		{"balance wrap: overflow credited modulo 2^96", "refused, balance overflow", func(h *depositHarness, tx *types.Deposit) {
			tx.Refused, h.G.Refused = false, 0
			s := new(big.Int).Add(toBig(h.G.Acct.Balances[0].Old), toBig(h.G.Amount))
			h.G.Acct.Balances[0].New = s.Sub(s, two96b)
		}},
		{"balance overflow credited past 2^96", "refused, balance overflow", func(h *depositHarness, tx *types.Deposit) {
			tx.Refused, h.G.Refused = false, 0
			h.G.Acct.Balances[0].New = new(big.Int).Add(toBig(h.G.Acct.Balances[0].Old), toBig(h.G.Amount))
		}},
		// a refusal is a read
		{"refused deposit still credits", "refused, balance overflow", func(h *depositHarness, tx *types.Deposit) {
			h.G.Acct.Balances[0].New = addBig(h.G.Acct.Balances[0].Old, -1)
		}},
		{"refused deposit still creates the account", "refused, identity", func(h *depositHarness, tx *types.Deposit) {
			h.G.Acct.New.PkX, h.G.Acct.New.PkY, h.G.Acct.New.L1Address = h.G.PkX, h.G.PkY, h.G.L1Address
		}},
		// the credited amount is the published one
		{"credited more than published", "credited, existing account", func(h *depositHarness, tx *types.Deposit) {
			h.G.Acct.Balances[0].New = addBig(h.G.Acct.Balances[0].New, 1)
		}},
		{"published amount differs from the credit", "credited, new account", func(h *depositHarness, tx *types.Deposit) {
			tx.Amount.AddUint64(&tx.Amount, 1)
			h.G.Amount = tx.Amount.ToBig()
		}},
		{"nonce moved", "credited, existing account", func(h *depositHarness, tx *types.Deposit) {
			h.G.Acct.New.Nonce = addBig(h.G.Acct.New.Nonce, 1)
		}},
		{"refused flag 2", "refused, identity", func(h *depositHarness, tx *types.Deposit) {
			h.G.Refused = 2
			h.Pubdata[15] = 0
			h.Pubdata[14] = 1
		}},
		{"token differs from the balance leaf", "credited, existing account", func(h *depositHarness, tx *types.Deposit) {
			tx.Token++
			h.G.Token = tx.Token
		}},
		{"zero l1Address", "credited, new account", func(h *depositHarness, tx *types.Deposit) {
			tx.L1Address = common.Address{}
			h.G.L1Address, h.G.Acct.New.L1Address = 0, 0
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			base := all[c.base]
			_, bad := newHarness[Deposit](b.P, b.D, b.TS, NewDeposit(b.P), base.g, base.r)
			bad.G.Acct = cloneAccount(base.g.Acct)
			bad.noRoots = true
			sh := NewDeposit(b.P)
			shape := &depositHarness{G: sh, p: b.P, Pubdata: make([]frontend.Variable, len(bad.Pubdata)), noRoots: true}
			if err := solved(t, shape, bad); err != nil {
				t.Fatalf("untampered witness refused: %v", err)
			}
			tx := *base.tx
			c.tamper(bad, &tx)
			if c.name != "refused flag 2" {
				bad.Pubdata = dwPubdataBits(t, &tx)
			}
			if err := solved(t, shape, bad); err == nil {
				t.Fatal("tampered witness accepted")
			}
		})
	}
}

// dwKeyCircuit checks dwKeyCannotSign against an expected answer.
type dwKeyCircuit struct{ X, Y, Bad frontend.Variable }

func (c *dwKeyCircuit) Define(api frontend.API) error {
	bad, err := dwKeyCannotSign(api, c.X, c.Y)
	if err != nil {
		return err
	}
	api.AssertIsEqual(bad, c.Bad)
	return nil
}

// TestKeyCannotSignMatchesNative: the circuit's key check agrees with
// types.CheckPublicKey on subgroup points, every torsion coset, points off
// the curve, the identity and the empty key; the opposite answer is never
// provable.
func TestKeyCannotSignMatchesNative(t *testing.T) {
	params := edbn254.GetEdwardsCurve()
	// the completeness the gadget relies on: a = −1 a square, d not
	if params.A.Legendre() != 1 || params.D.Legendre() != -1 {
		t.Fatal("twisted Edwards formulas not complete")
	}
	rng := mrand.New(mrand.NewPCG(1, 2))
	// a random curve point (any coset): y random, x² = (1 − y²)/(a − d·y²)
	randomPoint := func() edbn254.PointAffine {
		for {
			var p edbn254.PointAffine
			p.Y.SetUint64(rng.Uint64())
			var yy, num, den fr.Element
			yy.Square(&p.Y)
			num.SetOne()
			num.Sub(&num, &yy)
			den.Mul(&params.D, &yy)
			den.Sub(&params.A, &den)
			den.Inverse(&den)
			num.Mul(&num, &den)
			if p.X.Sqrt(&num) != nil && p.IsOnCurve() {
				return p
			}
		}
	}
	var pts []types.PubKey
	for i := 0; i < 6; i++ {
		p := randomPoint() // generic: order 8ℓ or a divisor
		var sub, tor edbn254.PointAffine
		sub.ScalarMultiplication(&p, big.NewInt(8)) // in the subgroup
		tor.ScalarMultiplication(&p, &params.Order) // 8-torsion
		var mixed edbn254.PointAffine
		mixed.Add(&sub, &tor)
		for _, q := range []edbn254.PointAffine{p, sub, tor, mixed} {
			pts = append(pts, types.PubKey{X: q.X, Y: q.Y})
		}
	}
	var off types.PubKey
	off.X.SetUint64(3)
	off.Y.SetUint64(4)
	pts = append(pts, off, types.PubKey{}, dwPoint("0", "1"), dwPoint("0", "-1"), types.PubKey{X: params.Base.X, Y: params.Base.Y})
	goods, bads := 0, 0
	for _, k := range pts {
		want := 0
		if types.CheckPublicKey(k) != nil {
			want = 1
			bads++
		} else {
			goods++
		}
		if err := solved(t, &dwKeyCircuit{}, &dwKeyCircuit{X: k.X, Y: k.Y, Bad: want}); err != nil {
			t.Fatalf("key %v: circuit disagrees with native (want bad=%d): %v", k, want, err)
		}
		if err := solved(t, &dwKeyCircuit{}, &dwKeyCircuit{X: k.X, Y: k.Y, Bad: 1 - want}); err == nil {
			t.Fatalf("key %v: opposite answer proven", k)
		}
	}
	if goods < 6 || bads < 10 {
		t.Fatalf("weak sample: %d good, %d bad keys", goods, bads)
	}
}

// TestDepositFeeAccountOverflow: a deposit to account 0 (the fee account)
// at the edge of 2^96 is decided the same way natively and in the circuit:
// refused one unit past the room, credited at exactly the room. A deposit
// is in a Priority batch, whose fee book is empty (§8), so the batch's
// pending fees never enter the decision on either side; the native rule
// refuses to meet pending fees at all (state's TestDepositNeverMeetsPendingFees).
func TestDepositFeeAccountOverflow(t *testing.T) {
	b := kindWorld(t)
	if b.Acct[0] != types.FeeAccount {
		t.Fatalf("operator at account %d", b.Acct[0])
	}
	bal, err := b.State().Balance(types.FeeAccount, 0)
	if err != nil {
		t.Fatal(err)
	}
	max96 := new(uint256.Int).SubUint64(new(uint256.Int).Lsh(uint256.NewInt(1), types.AmountBits), 1)
	room := new(uint256.Int).Sub(max96, bal) // bal + room = 2^96 − 1
	for _, c := range []struct {
		name    string
		amount  *uint256.Int
		refused bool
	}{
		{"one past the room: refused", new(uint256.Int).AddUint64(room, 1), true},
		{"exactly the room: credited", room, false},
		{"full: refused", uint256.NewInt(1), true},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := b.DepositTx(0, 0, c.amount)
			r, g := dwDeposit(t, b, d)
			if d.Refused != c.refused {
				t.Fatalf("native refused=%v (%v), want %v", d.Refused, r.Refusal, c.refused)
			}
			if c.refused && !errors.Is(r.Refusal, types.ErrBalanceOverflow) {
				t.Fatalf("refusal %v, want ErrBalanceOverflow", r.Refusal)
			}
			if err := state.VerifyWitness(b.P, r.Witness); err != nil {
				t.Fatalf("native witness check: %v", err)
			}
			shape, full := newHarness[Deposit](b.P, b.D, b.TS, NewDeposit(b.P), g, r)
			if err := solved(t, shape, full); err != nil {
				t.Fatalf("native outcome not provable: %v", err)
			}
			// and the opposite flag is not provable
			h := *full
			h.G.Refused = 1 - toBig(h.G.Refused).Int64()
			if err := solved(t, shape, &h); err == nil {
				t.Fatal("the circuit also proves the opposite outcome")
			}
		})
	}
}
