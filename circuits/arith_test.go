package circuits

import (
	"math/big"
	mrand "math/rand/v2"
	"testing"

	"github.com/consensys/gnark/backend/witness"
	"github.com/consensys/gnark/constraint/solver"
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/frontend/cs/r1cs"
	"github.com/holiman/uint256"

	"github.com/modex/modex/state"
	"github.com/modex/modex/types"
)

type divModCircuit struct {
	X, D frontend.Variable
	Q, R frontend.Variable `gnark:",public"`
}

func (c *divModCircuit) Define(api frontend.API) error {
	q, r := DivMod(api, c.X, c.D, 157, 64)
	api.AssertIsEqual(q, c.Q)
	api.AssertIsEqual(r, c.R)
	return nil
}

func TestDivModMatchesNative(t *testing.T) {
	rng := mrand.New(mrand.NewPCG(11, 12))
	for i := 0; i < 20; i++ {
		x := rndBits(rng, 156).ToBig()
		d := new(big.Int).SetUint64(1 + rng.Uint64N(1<<63))
		q, r := new(big.Int).DivMod(x, d, new(big.Int))
		if err := solved(t, &divModCircuit{}, &divModCircuit{X: x, D: d, Q: q, R: r}); err != nil {
			t.Fatal(err)
		}
		if err := solved(t, &divModCircuit{}, &divModCircuit{X: x, D: d, Q: new(big.Int).Add(q, big.NewInt(1)), R: r}); err == nil {
			t.Fatal("wrong quotient accepted")
		}
	}
	if err := solved(t, &divModCircuit{}, &divModCircuit{X: 5, D: 0, Q: 0, R: 5}); err == nil {
		t.Fatal("division by zero accepted")
	}
}

// TestDivModMaliciousHint runs the compiled constraint system with hints
// that lie: every lie must leave the system unsatisfied (SECURITY item 4).
func TestDivModMaliciousHint(t *testing.T) {
	ccs, err := frontend.Compile(field, r1cs.NewBuilder, &divModCircuit{})
	if err != nil {
		t.Fatal(err)
	}
	x, d := big.NewInt(1_000_003), big.NewInt(1000)
	q, r := new(big.Int).DivMod(x, d, new(big.Int))
	lies := map[string]func(q, r *big.Int) (*big.Int, *big.Int){
		"q+1, r-d": func(q, r *big.Int) (*big.Int, *big.Int) {
			return new(big.Int).Add(q, big.NewInt(1)), new(big.Int).Mod(new(big.Int).Sub(r, d), field)
		},
		"q-1, r+d": func(q, r *big.Int) (*big.Int, *big.Int) {
			return new(big.Int).Sub(q, big.NewInt(1)), new(big.Int).Add(r, d)
		},
		"q=0, r=x": func(q, r *big.Int) (*big.Int, *big.Int) { return big.NewInt(0), new(big.Int).Set(x) },
	}
	honest := &divModCircuit{X: x, D: d, Q: q, R: r}
	w, err := frontend.NewWitness(honest, field)
	if err != nil {
		t.Fatal(err)
	}
	if err := ccs.IsSolved(w); err != nil {
		t.Fatalf("honest hint refused: %v", err)
	}
	for name, lie := range lies {
		lq, lr := lie(q, r)
		// the lying witness claims the lying outputs as its public values
		lw, err := frontend.NewWitness(&divModCircuit{X: x, D: d, Q: lq, R: lr}, field)
		if err != nil {
			t.Fatal(err)
		}
		evil := func(_ *big.Int, in, out []*big.Int) error {
			out[0].Set(lq)
			out[1].Set(lr)
			return nil
		}
		if err := ccs.IsSolved(lw, solver.OverrideHint(solver.GetHintID(DivModHint), evil)); err == nil {
			t.Fatalf("malicious hint %q accepted", name)
		}
	}
	var _ witness.Witness = w
}

type revenueCircuit struct {
	Shares, LastAcc, Pending, Acc frontend.Variable
	Carry, Supply, Revenue        frontend.Variable
	Amount, Bips                  frontend.Variable
	WantOwed                      frontend.Variable `gnark:",public"`
	WantAcc, WantCarry            frontend.Variable `gnark:",public"`
	WantPayout, WantRest          frontend.Variable `gnark:",public"`
	WantBips                      frontend.Variable `gnark:",public"`
}

func (c *revenueCircuit) Define(api frontend.API) error {
	owed := Settle(api, c.Shares, c.LastAcc, c.Pending, c.Acc)
	api.AssertIsEqual(owed, c.WantOwed)
	acc, carry := Distribute(api, c.Acc, c.Carry, c.Supply, c.Revenue)
	api.AssertIsEqual(acc, c.WantAcc)
	api.AssertIsEqual(carry, c.WantCarry)
	p, rest := Payout(api, owed)
	api.AssertIsEqual(p, c.WantPayout)
	api.AssertIsEqual(rest, c.WantRest)
	api.AssertIsEqual(BipsOf(api, c.Amount, c.Bips), c.WantBips)
	return nil
}

// TestRevenueMatchesNative runs Settle, Distribute, Payout and BipsOf against
// state.Settle, state.Distribute and state.BipsFee on random inputs.
func TestRevenueMatchesNative(t *testing.T) {
	rng := mrand.New(mrand.NewPCG(13, 14))
	for i := 0; i < 20; i++ {
		m := &state.Model{Supply: 1 + rng.Uint64N(1<<40)}
		m.Acc.Set(rndBits(rng, 100))
		m.Carry.SetUint64(rng.Uint64N(m.Supply))
		pos := &state.Position{Shares: rng.Uint64N(1 << 40)}
		pos.LastAcc.Sub(&m.Acc, rndBits(rng, 60))
		if pos.LastAcc.Gt(&m.Acc) {
			pos.LastAcc.Clear()
		}
		pos.Pending.Set(rndBits(rng, 150))
		c := &revenueCircuit{Shares: pos.Shares, LastAcc: pos.LastAcc.ToBig(), Pending: pos.Pending.ToBig(), Acc: m.Acc.ToBig(),
			Carry: m.Carry.ToBig(), Supply: m.Supply}
		if err := state.Settle(pos, m); err != nil {
			t.Fatal(err)
		}
		c.WantOwed = pos.Pending.ToBig()
		rev := rndBits(rng, 90)
		c.Revenue = rev.ToBig()
		if err := state.Distribute(m, rev); err != nil {
			t.Fatal(err)
		}
		c.WantAcc, c.WantCarry = m.Acc.ToBig(), m.Carry.ToBig()
		var payout, rest uint256.Int
		payout.DivMod(&pos.Pending, uint256.NewInt(types.RevenueScale), &rest)
		c.WantPayout, c.WantRest = payout.ToBig(), rest.ToBig()
		amt := rndBits(rng, 96)
		bips := uint8(rng.Uint32())
		c.Amount, c.Bips, c.WantBips = amt.ToBig(), bips, state.BipsFee(amt, bips).ToBig()
		if err := solved(t, &revenueCircuit{}, c); err != nil {
			t.Fatalf("round %d: %v", i, err)
		}
	}
}

type lessCircuit struct {
	A, B frontend.Variable
	Want frontend.Variable `gnark:",public"`
}

func (c *lessCircuit) Define(api frontend.API) error {
	api.AssertIsEqual(IsLess(api, c.A, c.B, 32), c.Want)
	return nil
}

func TestIsLess(t *testing.T) {
	for _, tc := range [][3]uint64{{0, 0, 0}, {0, 1, 1}, {1, 0, 0}, {5, 5, 0}, {1<<32 - 1, 0, 0}, {0, 1<<32 - 1, 1}, {7, 8, 1}} {
		if err := solved(t, &lessCircuit{}, &lessCircuit{A: tc[0], B: tc[1], Want: tc[2]}); err != nil {
			t.Fatalf("%v: %v", tc, err)
		}
		if err := solved(t, &lessCircuit{}, &lessCircuit{A: tc[0], B: tc[1], Want: 1 - tc[2]}); err == nil {
			t.Fatalf("%v: wrong answer accepted", tc)
		}
	}
}
