package circuits

import (
	"github.com/consensys/gnark/frontend"

	"github.com/modex/modex/types"
)

// Kind gadgets constrain one transaction of their kind: every rule of
// docs/protocol.md §5 that state.Apply enforces, over the kind's update
// gadgets (whose shape is state.Shape's), producing the new roots, the exact
// pubdata bits of types.Pubdata and the fee for the batch's fee book. The
// batch circuit lays kind gadgets out in order; these are its building
// blocks, each tested against native witnesses.

// Env is what every kind gadget gets from the batch circuit.
type Env struct {
	API       frontend.API
	H         *Hasher
	P         types.Params
	Domain    frontend.Variable // types.Domain.Element(): C(chainId, bridge)
	Timestamp frontend.Variable // the batch timestamp (order expiry)
}

// Roots are the running halves of the state root.
type Roots struct{ Account, Model frontend.Variable }

// Out is what a kind gadget produces besides the new roots.
type Out struct {
	Pubdata  []frontend.Variable // bits, most significant first, 8·types.PubdataSize[kind] of them
	FeeToken frontend.Variable   // base token of the fee (any value when Fee is 0)
	Fee      frontend.Variable
}

// pubdataWriter collects pubdata bits in the order of types' pubdata visitor.
type pubdataWriter struct {
	api  frontend.API
	bits []frontend.Variable
}

func newPubdata(api frontend.API, k types.Kind) *pubdataWriter {
	w := &pubdataWriter{api: api}
	w.constant(uint64(k), 8)
	return w
}

// field appends v as n bits, most significant first; the decomposition
// range-checks v to n bits.
func (w *pubdataWriter) field(v frontend.Variable, n int) {
	b := Bits(w.api, v, n)
	for i := n - 1; i >= 0; i-- {
		w.bits = append(w.bits, b[i])
	}
}

// constant appends a known value as n bits.
func (w *pubdataWriter) constant(v uint64, n int) {
	for i := n - 1; i >= 0; i-- {
		w.bits = append(w.bits, (v>>uint(i))&1)
	}
}

// done pads to a whole byte.
func (w *pubdataWriter) done() []frontend.Variable {
	for len(w.bits)%8 != 0 {
		w.bits = append(w.bits, 0)
	}
	return w.bits
}

// assertSameAccount asserts an account's key and address do not change.
func assertSameAccount(api frontend.API, o, n AccountVars) {
	api.AssertIsEqual(n.PkX, o.PkX)
	api.AssertIsEqual(n.PkY, o.PkY)
	api.AssertIsEqual(n.L1Address, o.L1Address)
}

// assertUnchangedAccount asserts an account leaf's fields do not change.
func assertUnchangedAccount(api frontend.API, o, n AccountVars) {
	assertSameAccount(api, o, n)
	api.AssertIsEqual(n.Nonce, o.Nonce)
}

// assertExists asserts the leaf holds an account: every account key is a
// valid subgroup point (deposits refuse others), never (0, 0).
func assertExists(api frontend.API, a AccountVars) {
	api.AssertIsEqual(api.Mul(api.IsZero(a.PkX), api.IsZero(a.PkY)), 0)
}

// signedBy checks the account's signature over msg and the nonce step: the
// transaction's nonce is the account's, and it advances by one (the range
// check of the new leaf refuses 2^32: the nonce is exhausted at 2^32−1).
func signedBy(e Env, u *AccountUpdate, sig SigVars, msg frontend.Variable) error {
	api := e.API
	assertExists(api, u.Old) // explicit, not left to how the EdDSA formulas treat (0, 0)
	assertSameAccount(api, u.Old, u.New)
	api.AssertIsEqual(u.New.Nonce, api.Add(u.Old.Nonce, 1))
	return VerifySignature(api, PubKeyVars{X: u.Old.PkX, Y: u.Old.PkY}, sig, msg)
}

// Gadget is any kind gadget.
type Gadget interface {
	Apply(e Env, r Roots) (Roots, Out, error)
}
