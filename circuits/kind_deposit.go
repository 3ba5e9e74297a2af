package circuits

import (
	"fmt"
	"math/big"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	edbn254 "github.com/consensys/gnark-crypto/ecc/bn254/twistededwards"
	tedwards "github.com/consensys/gnark-crypto/ecc/twistededwards"
	"github.com/consensys/gnark/constraint/solver"
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/std/algebra/native/twistededwards"

	"github.com/modex/modex/state"
	"github.com/modex/modex/types"
)

func init() { solver.RegisterHint(dwTorsionHint) }

// Deposit is an L1 deposit (docs/protocol.md §5.1), credited or refused.
// Updates: Acct with one balance (Token); for a refusal both leaves are
// reads (New = Old), and the circuit proves the reason from them.
//
// Credited: the account leaf is either empty (key (0, 0), nonce 0, address
// 0; it becomes (PkX, PkY, L1Address) with nonce 0) or already holds the
// pair (PkX, PkY, L1Address); its nonce never moves; the balance becomes
// old + Amount, which must stay below 2^96.
//
// Refused exactly when one of the reasons of state.deposit (state/kind_deposit.go) holds (Refused is
// not the prover's choice: a credited deposit with a reason, or a refusal
// without one, cannot be proven):
//   - the account is new and its key cannot sign: off the curve (the empty key
//     (0, 0) is off the curve), the identity (0, 1), or on the curve but
//     outside the prime-order subgroup (see dwKeyCannotSign);
//   - old + Amount ≥ 2^96 (ErrBalanceOverflow).
//
// Account 0 (the fee account) is decided the same way, on its balance
// alone: a deposit is in a Priority batch, whose fee book is empty (§8), and
// state.deposit refuses to meet pending fees at all (ErrFamily), so the
// batch's fees never enter the decision on either side
// (TestDepositFeeAccountOverflow runs both on the edge).
//
// The bridge's guarantees (amount < 2^96, token < 2^BalanceDepth, account <
// 2^AccountDepth, l1Address ≠ 0, the leaf empty or bound to the pair) are
// asserted too: the pubdata decomposition bounds the amount, the paths bound
// the ids, and the account selector refuses a leaf bound to another pair.
type Deposit struct {
	Acct      AccountUpdate
	Token     frontend.Variable
	Amount    frontend.Variable // 96 bits, as in pubdata
	L1Address frontend.Variable
	PkX, PkY  frontend.Variable // the deposit's key (published)
	Refused   frontend.Variable // 0 or 1, as in pubdata
}

// NewDeposit allocates the gadget's shape.
func NewDeposit(p types.Params) Deposit {
	return Deposit{Acct: NewAccountUpdate(p, AccountShape{Balances: 1})}
}

// AssignDeposit fills the gadget from a native deposit (after Apply set
// Refused) and its witness.
func AssignDeposit(tx *types.Deposit, w *state.TxWitness) (Deposit, error) {
	var g Deposit
	_, accts, err := Assign(w)
	if err != nil {
		return g, err
	}
	if len(accts) != 1 || len(accts[0].Balances) != 1 || len(accts[0].Positions) != 0 {
		return g, fmt.Errorf("circuits: deposit witness of shape %v", dwShapeOf(accts))
	}
	refused := 0
	if tx.Refused {
		refused = 1
	}
	return Deposit{Acct: accts[0], Token: tx.Token, Amount: tx.Amount.ToBig(),
		L1Address: new(big.Int).SetBytes(tx.L1Address[:]), PkX: tx.PubKey.X, PkY: tx.PubKey.Y, Refused: refused}, nil
}

// dwShapeOf describes account updates for error messages.
func dwShapeOf(accts []AccountUpdate) []AccountShape {
	var s []AccountShape
	for _, a := range accts {
		sh := AccountShape{Balances: len(a.Balances)}
		for _, p := range a.Positions {
			sh.Slots = append(sh.Slots, len(p.Slots))
		}
		s = append(s, sh)
	}
	return s
}

var dwTwo96 = new(big.Int).Lsh(big.NewInt(1), types.AmountBits)

// Apply constrains the deposit and returns the new roots.
func (g *Deposit) Apply(e Env, r Roots) (Roots, Out, error) {
	api := e.API
	u := &g.Acct
	bal := &u.Balances[0]
	api.AssertIsEqual(bal.Token, g.Token)
	api.AssertIsDifferent(g.L1Address, 0) // ErrMalformed: the bridge never queues one
	api.AssertIsBoolean(g.Refused)

	// pubdata first: its decomposition range-checks Amount (96), the ids and
	// the address (160) before any arithmetic relies on them
	pd := newPubdata(api, types.KindDeposit)
	pd.field(g.Refused, 8)
	pd.field(u.ID, types.AccountBits)
	pd.field(g.Token, types.BaseAssetBits)
	pd.field(g.Amount, types.AmountBits)
	pd.field(g.L1Address, types.AddressBits)
	pd.field(g.PkX, 256)
	pd.field(g.PkY, 256)

	// the leaf is empty (isNew) or bound to this pair (ErrAccountMismatch)
	isNew := api.Mul(api.IsZero(u.Old.PkX), api.IsZero(u.Old.PkY))
	api.AssertIsEqual(api.Mul(isNew, u.Old.Nonce), 0)
	api.AssertIsEqual(api.Mul(isNew, u.Old.L1Address), 0)
	notNew := api.Sub(1, isNew)
	api.AssertIsEqual(api.Mul(notNew, api.Sub(u.Old.PkX, g.PkX)), 0)
	api.AssertIsEqual(api.Mul(notNew, api.Sub(u.Old.PkY, g.PkY)), 0)
	api.AssertIsEqual(api.Mul(notNew, api.Sub(u.Old.L1Address, g.L1Address)), 0)

	// the refusal reasons
	badKey, err := dwKeyCannotSign(api, g.PkX, g.PkY)
	if err != nil {
		return r, Out{}, err
	}
	sum := api.Add(bal.Old, g.Amount)                                     // < 2^97: both range-checked to 96 bits
	overflow := api.Sub(1, IsLess(api, sum, dwTwo96, types.AmountBits+1)) // ErrBalanceOverflow
	noReason := api.Mul(api.Sub(1, api.Mul(isNew, badKey)), api.Sub(1, overflow))
	api.AssertIsEqual(g.Refused, api.Sub(1, noReason))

	// credited: the balance grows, the leaf takes the pair; refused: reads
	credited := noReason
	api.AssertIsEqual(bal.New, api.Add(bal.Old, api.Mul(credited, g.Amount)))
	api.AssertIsEqual(u.New.PkX, api.Add(u.Old.PkX, api.Mul(credited, api.Sub(g.PkX, u.Old.PkX))))
	api.AssertIsEqual(u.New.PkY, api.Add(u.Old.PkY, api.Mul(credited, api.Sub(g.PkY, u.Old.PkY))))
	api.AssertIsEqual(u.New.L1Address, api.Add(u.Old.L1Address, api.Mul(credited, api.Sub(g.L1Address, u.Old.L1Address))))
	api.AssertIsEqual(u.New.Nonce, u.Old.Nonce)

	r.Account = u.Apply(api, e.H, r.Account)
	return r, Out{Pubdata: pd.done(), FeeToken: 0, Fee: 0}, nil
}

// dwKeyCannotSign returns 1 if (x, y) is not a non-identity point of the
// prime-order subgroup of the BN254 twisted Edwards curve (the twin of
// types.CheckPublicKey failing), else 0. The result is fixed by (x, y): the
// prover cannot choose it.
//
//   - onCurve: a·x² + y² = 1 + d·x²·y² (the empty key (0, 0) is off it);
//   - identity: (0, 1);
//   - subgroup: E(F_r) = E[ℓ] ⊕ E[8] (cofactor 8, gcd(8, ℓ) = 1), so every
//     curve point is uniquely P = S + T with S in the prime-order subgroup and
//     T in the 8-torsion. The hint gives Q = [8⁻¹ mod ℓ]P and T = P − [8]Q;
//     the circuit checks Q and T on the curve, [8]T = identity and, when P is
//     on the curve, P = [8]Q + T. [8]Q is in E[ℓ] for any curve point Q, so T
//     is P's torsion part and P is outside the subgroup exactly when T is not
//     the identity. (Off the curve the hint returns identities, and the sum
//     is not checked.)
//
// gnark's ScalarMul cannot test [ℓ]P ≠ identity: it requires its input in
// the prime-order subgroup and binds its hinted result into it, so for a
// torsion point it is unsatisfiable rather than an answer. This check costs
// 6 doublings and one addition (gnark's own assertInSubgroup uses the same
// [cofactor] trick). The Edwards formulas are complete on E(F_r) (a = −1 is
// a square, d is not), so the unchecked divisions are sound for curve points.
func dwKeyCannotSign(api frontend.API, x, y frontend.Variable) (frontend.Variable, error) {
	curve, err := twistededwards.NewEdCurve(api, tedwards.BN254)
	if err != nil {
		return nil, err
	}
	cp := curve.Params()
	xx, yy := api.Mul(x, x), api.Mul(y, y)
	lhs := api.Add(api.Mul(xx, cp.A), yy)
	rhs := api.Add(1, api.Mul(api.Mul(xx, cp.D), yy))
	onCurve := api.IsZero(api.Sub(lhs, rhs))
	identity := api.Mul(api.IsZero(x), api.IsZero(api.Sub(y, 1)))

	h, err := api.Compiler().NewHint(dwTorsionHint, 4, x, y)
	if err != nil {
		return nil, err
	}
	q := twistededwards.Point{X: h[0], Y: h[1]}
	t := twistededwards.Point{X: h[2], Y: h[3]}
	curve.AssertIsOnCurve(q)
	curve.AssertIsOnCurve(t)
	q8, t8 := q, t
	for i := 0; i < 3; i++ {
		q8 = curve.Double(q8)
		t8 = curve.Double(t8)
	}
	api.AssertIsEqual(t8.X, 0)
	api.AssertIsEqual(t8.Y, 1)
	sum := curve.Add(q8, t)
	api.AssertIsEqual(api.Mul(onCurve, api.Sub(sum.X, x)), 0)
	api.AssertIsEqual(api.Mul(onCurve, api.Sub(sum.Y, y)), 0)
	torsionFree := api.Mul(api.IsZero(t.X), api.IsZero(api.Sub(t.Y, 1)))

	good := api.Mul(api.Mul(onCurve, api.Sub(1, identity)), torsionFree)
	return api.Sub(1, good), nil
}

// dwTorsionHint splits a curve point P into Q = [8⁻¹ mod ℓ]P and T = P −
// [8]Q (its 8-torsion part). Off the curve it returns two identities. Its
// outputs are never trusted: dwKeyCannotSign checks them.
func dwTorsionHint(_ *big.Int, in, out []*big.Int) error {
	if len(in) != 2 || len(out) != 4 {
		return fmt.Errorf("torsion hint: want 2 inputs and 4 outputs")
	}
	var p edbn254.PointAffine
	p.X.SetBigInt(in[0])
	p.Y.SetBigInt(in[1])
	var q, t edbn254.PointAffine
	q.Y.SetOne()
	t.Y.SetOne()
	if p.IsOnCurve() {
		params := edbn254.GetEdwardsCurve()
		inv8 := new(big.Int).ModInverse(big.NewInt(8), &params.Order)
		q.ScalarMultiplication(&p, inv8)
		var q8 edbn254.PointAffine
		q8.ScalarMultiplication(&q, big.NewInt(8))
		q8.Neg(&q8)
		t.Add(&p, &q8)
	}
	for i, e := range []fr.Element{q.X, q.Y, t.X, t.Y} {
		e.BigInt(out[i])
	}
	return nil
}

// depositColumn is the Deposit member's column in Batch.
var depositColumn = column("Deposit", func(c *Batch) *[]Deposit { return &c.Deposit }, NewDeposit, nil, paramless(AssignDeposit))
