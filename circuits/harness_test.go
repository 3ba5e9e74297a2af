package circuits

import (
	"math/big"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark/frontend"

	"github.com/modex/modex/bench/workload"
	"github.com/modex/modex/state"
	"github.com/modex/modex/state/smt"
	"github.com/modex/modex/state/store"
	"github.com/modex/modex/types"
)

// kindGadget is any kind gadget.
type kindGadget interface {
	Apply(e Env, r Roots) (Roots, Out, error)
}

// harness wraps one kind gadget: it feeds the roots before, and checks the
// roots after, the exact native pubdata bits and the fee. With noRoots the
// roots after are not checked, so a tamper of the LAST update applied (whose
// new leaf feeds nothing else) fails only on the rule under test.
type harness[G any, PG interface {
	*G
	kindGadget
}] struct {
	G                            G
	AccountRoot, ModelRoot       frontend.Variable
	NewAccountRoot, NewModelRoot frontend.Variable `gnark:",public"`
	Domain, Timestamp            frontend.Variable
	Pubdata                      []frontend.Variable
	Fee, FeeToken                frontend.Variable
	p                            types.Params
	noRoots                      bool
}

func (c *harness[G, PG]) Define(api frontend.API) error {
	h, err := NewHasher(api)
	if err != nil {
		return err
	}
	e := Env{API: api, H: h, P: c.p, Domain: c.Domain, Timestamp: c.Timestamp}
	r, out, err := PG(&c.G).Apply(e, Roots{Account: c.AccountRoot, Model: c.ModelRoot})
	if err != nil {
		return err
	}
	if !c.noRoots {
		api.AssertIsEqual(r.Account, c.NewAccountRoot)
		api.AssertIsEqual(r.Model, c.NewModelRoot)
	}
	if len(out.Pubdata) != len(c.Pubdata) {
		panic("harness: pubdata width differs from the native encoding")
	}
	for i := range out.Pubdata {
		api.AssertIsEqual(out.Pubdata[i], c.Pubdata[i])
	}
	api.AssertIsEqual(out.Fee, c.Fee)
	api.AssertIsEqual(api.Mul(out.Fee, api.Sub(out.FeeToken, c.FeeToken)), 0)
	return nil
}

// newHarness builds the shape and the assignment of a kind gadget for a
// native transaction: shape is the gadget's allocated shape, g its
// assignment, r the native receipt.
func newHarness[G any, PG interface {
	*G
	kindGadget
}](p types.Params, d types.Domain, ts uint64, shape, g G, r *state.Receipt) (*harness[G, PG], *harness[G, PG]) {
	w := r.Witness
	bits := make([]frontend.Variable, 0, len(r.Pubdata)*8)
	for _, b := range r.Pubdata {
		for i := 7; i >= 0; i-- {
			bits = append(bits, (b>>uint(i))&1)
		}
	}
	accAfter, modAfter := rootsAfter(w)
	empty := &harness[G, PG]{G: shape, p: p, Pubdata: make([]frontend.Variable, len(bits))}
	full := &harness[G, PG]{G: g, p: p, AccountRoot: w.AccountRoot, ModelRoot: w.ModelRoot,
		NewAccountRoot: accAfter, NewModelRoot: modAfter, Domain: d.Element(), Timestamp: ts,
		Pubdata: bits, Fee: r.Fee.ToBig(), FeeToken: r.FeeToken}
	return empty, full
}

// rootsAfter replays the witness's account and model paths natively.
func rootsAfter(w *state.TxWitness) (acc, mod fr.Element) {
	acc, mod = w.AccountRoot, w.ModelRoot
	for _, u := range w.Updates {
		switch u.Tree {
		case state.TreeAccounts:
			acc = smt.Proof{Index: u.Index, Leaf: u.New, Siblings: u.Siblings}.ComputeRoot()
		case state.TreeModels:
			mod = smt.Proof{Index: u.Index, Leaf: u.New, Siblings: u.Siblings}.ComputeRoot()
		}
	}
	return acc, mod
}

// cloneAccount deep-copies an account update (its slices), so a tamper does
// not reach the shared assignment.
func cloneAccount(u AccountUpdate) AccountUpdate {
	c := u
	c.Siblings = append([]frontend.Variable(nil), u.Siblings...)
	c.Balances = append([]BalanceUpdate(nil), u.Balances...)
	c.Positions = nil
	for _, p := range u.Positions {
		q := p
		q.Slots = append([]SlotUpdate(nil), p.Slots...)
		c.Positions = append(c.Positions, q)
	}
	return c
}

func toBigBytes(v frontend.Variable) *big.Int {
	if b, ok := v.([]byte); ok {
		return new(big.Int).SetBytes(b)
	}
	return toBig(v)
}

// kindWorld is a small rollup with funded users and model 1, for kind tests.
func kindWorld(t *testing.T) *workload.Bench {
	t.Helper()
	p := types.TestParams()
	p.BatchCapacity = 256
	b, err := workload.NewBench(p, store.Options{InMemory: true}, 6)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

func addBig(v frontend.Variable, d int64) *big.Int { return new(big.Int).Add(toBig(v), big.NewInt(d)) }

// gadgetCircuit wraps a few gadget calls over 40 free inputs, to count what
// they cost alone.
type gadgetCircuit struct {
	build func(api frontend.API, h *Hasher, in []frontend.Variable)
	In    [64]frontend.Variable
}

func (c *gadgetCircuit) Define(api frontend.API) error {
	h, err := NewHasher(api)
	if err != nil {
		return err
	}
	c.build(api, h, c.In[:])
	return nil
}
