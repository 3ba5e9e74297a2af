package circuits

import (
	"math/big"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/frontend/cs/r1cs"
	"github.com/holiman/uint256"

	"github.com/modex/modex/bench/workload"
	"github.com/modex/modex/state"
	"github.com/modex/modex/state/smt"
	"github.com/modex/modex/types"
)

// ---- test helpers for the model and credit kinds (md prefix) ----

// mdCase is one tampered witness: tamper edits the harness; noRoots drops
// the root check (for New-side tampers: the model and the signer's account
// are the last update of their trees, so their new leaves feed nothing else).
type mdCase[G any, PG interface {
	*G
	kindGadget
}] struct {
	name    string
	rule    string // the rule that must refuse it
	noRoots bool
	tamper  func(h *harness[G, PG])
}

// mdApply applies the bench's i-th transaction of kind k (and its prep).
func mdApply(t *testing.T, b *workload.Bench, k types.Kind, i int, edit func(tx types.Tx)) (types.Tx, *state.Receipt) {
	t.Helper()
	st, err := b.Next(k, i)
	if err != nil {
		t.Fatal(err)
	}
	for _, pre := range st.Prep {
		if _, err := b.Add(pre); err != nil {
			t.Fatalf("prep %s: %v", pre.Kind(), err)
		}
	}
	if edit != nil {
		edit(st.Tx)
		mdResign(t, b, st.Tx.(types.SignedTx))
	}
	r, err := b.Add(st.Tx)
	if err != nil {
		t.Fatalf("%s: %v", k, err)
	}
	return st.Tx, r
}

// mdResign signs tx again (same nonce) after a field changed.
func mdResign(t *testing.T, b *workload.Bench, tx types.SignedTx) {
	t.Helper()
	for u, id := range b.Acct {
		if id == tx.Signer() {
			if _, err := b.Sign(u, tx); err != nil {
				t.Fatal(err)
			}
			return
		}
	}
	t.Fatalf("no key for account %d", tx.Signer())
}

// mdPubdataBits is the native pubdata of tx as bits, most significant first.
func mdPubdataBits(t *testing.T, tx types.Tx) []frontend.Variable {
	t.Helper()
	pd, err := types.Pubdata(tx)
	if err != nil {
		t.Fatal(err)
	}
	var bits []frontend.Variable
	for _, b := range pd {
		for i := 7; i >= 0; i-- {
			bits = append(bits, (b>>uint(i))&1)
		}
	}
	return bits
}

// mdModelRoot is the model root before the transaction with the model leaf
// replaced by m: it lets a tamper change the OLD model leaf consistently, so
// only the rule under test can refuse it.
func mdModelRoot(r *state.Receipt, m *state.Model) fr.Element {
	u := r.Witness.Updates[0]
	return smt.Proof{Index: u.Index, Leaf: state.ModelLeaf(m), Siblings: u.Siblings}.ComputeRoot()
}

// mdOldModel copies the native model before the transaction.
func mdOldModel(t *testing.T, r *state.Receipt) state.Model {
	t.Helper()
	m, ok := r.Witness.Updates[0].OldData.(*state.Model)
	if !ok {
		t.Fatal("first update is not a model")
	}
	return *m
}

// mdMod reduces v into the field (for "negative" values).
func mdMod(v *big.Int) *big.Int { return new(big.Int).Mod(v, field) }

// mdRunTampers checks the native witness is accepted, then each tamper is
// refused (and the same harness untampered accepted, so the refusal is the
// tamper's).
func mdRunTampers[G any, PG interface {
	*G
	kindGadget
}](t *testing.T, b *workload.Bench, shape, g G, r *state.Receipt, clone func(G) G, cases []mdCase[G, PG]) {
	t.Helper()
	sh, full := newHarness[G, PG](b.P, b.D, b.TS, shape, g, r)
	if err := solved(t, sh, full); err != nil {
		t.Fatalf("native witness refused: %v", err)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, bad := newHarness[G, PG](b.P, b.D, b.TS, shape, clone(g), r)
			bad.noRoots = c.noRoots
			s := *sh
			s.noRoots = c.noRoots
			if err := solved(t, &s, bad); err != nil {
				t.Fatalf("untampered witness refused: %v", err)
			}
			c.tamper(bad)
			err := solved(t, &s, bad)
			if err == nil {
				t.Fatalf("tampered witness accepted (rule: %s)", c.rule)
			}
			t.Logf("refused (rule: %s): %v", c.rule, err)
		})
	}
}

func mdUser(t *testing.T, b *workload.Bench, id uint32) int {
	for u, a := range b.Acct {
		if a == id {
			return u
		}
	}
	t.Fatalf("no user for account %d", id)
	return 0
}

// ---- CreateModel ----

type createHarness = harness[CreateModel, *CreateModel]

func cloneCreate(g CreateModel) CreateModel { g.Acct = cloneAccount(g.Acct); return g }

// TestCreateModel: a native CreateModel is proven with the native roots,
// pubdata and fee; each tamper is refused by the rule it names.
func TestCreateModel(t *testing.T) {
	b := kindWorld(t)
	txi, r := mdApply(t, b, types.KindCreateModel, 0, nil)
	tx := txi.(*types.CreateModel)
	g, err := AssignCreateModel(tx, r.Witness)
	if err != nil {
		t.Fatal(err)
	}
	shape := NewCreateModel(b.P)
	other := b.Acct[mdUser(t, b, tx.Account)%(b.Users-1)+1]
	// resigned returns the gadget and pubdata of tx changed by edit and signed again
	resigned := func(h *createHarness, edit func(c *types.CreateModel)) {
		c := *tx
		edit(&c)
		mdResign(t, b, &c)
		sig, err := AssignSignature(c.Signature)
		if err != nil {
			t.Fatal(err)
		}
		h.G.Sig = sig
		h.Pubdata = mdPubdataBits(t, &c)
	}
	cases := []mdCase[CreateModel, *CreateModel]{
		{"over an existing model", "old model leaf is the empty model (ErrModelExists)", false, func(h *createHarness) {
			m := state.Model{DAO: other, Supply: 5, MaxSupply: 5, HolderBps: 1, CreditPrice: *uint256.NewInt(3)}
			h.G.Model.Old = AssignModel(&m)
			h.ModelRoot = mdModelRoot(r, &m)
		}},
		{"bps 10001", "holderBps <= 10,000 (ErrBadBps)", true, func(h *createHarness) {
			resigned(h, func(c *types.CreateModel) { c.HolderBps = 10001 })
			h.G.Model.New.HolderBps = 10001
		}},
		{"max supply below supply", "supply <= maxSupply (ErrSupplyCap)", true, func(h *createHarness) {
			resigned(h, func(c *types.CreateModel) { c.MaxSupply = c.Supply - 1 })
			h.G.Model.New.MaxSupply = tx.Supply - 1
		}},
		{"supply 0", "supply > 0 (ErrZeroSupply)", true, func(h *createHarness) {
			resigned(h, func(c *types.CreateModel) { c.Supply = 0 })
			h.G.Model.New.Supply = 0
			h.G.Acct.Positions[0].New.Shares = 0
		}},
		{"DAO is not the signer", "dao = signer", true, func(h *createHarness) { h.G.Model.New.DAO = other }},
		{"treasury at creation", "new model has no revenue", true, func(h *createHarness) { h.G.Model.New.Treasury = 5 }},
		{"DAO position over-credited", "position gets exactly supply", true, func(h *createHarness) {
			h.G.Acct.Positions[0].New.Shares = addBig(h.G.Acct.Positions[0].New.Shares, 1)
		}},
		{"fee not charged", "balance = old − fee", true, func(h *createHarness) {
			h.G.Acct.Balances[0].New = addBig(h.G.Acct.Balances[0].New, 1)
		}},
		{"weights altered after signing", "signature over the message", true, func(h *createHarness) {
			h.G.Model.New.Weights = addBig(h.G.Model.New.Weights, 1)
		}},
	}
	mdRunTampers(t, b, shape, g, r, cloneCreate, cases)
}

// ---- MintShares ----

type mintHarness = harness[MintShares, *MintShares]

func cloneMint(g MintShares) MintShares { g.Acct = cloneAccount(g.Acct); return g }

func TestMintShares(t *testing.T) {
	b := kindWorld(t)
	txi, r := mdApply(t, b, types.KindMintShares, 0, nil)
	tx := txi.(*types.MintShares)
	g, err := AssignMintShares(tx, r.Witness)
	if err != nil {
		t.Fatal(err)
	}
	om := mdOldModel(t, r)
	if toBig(g.Acct.Positions[0].Old.LastAcc).Cmp(om.Acc.ToBig()) == 0 {
		t.Fatal("the settle case needs a DAO position behind the accumulator")
	}
	other := b.Acct[2]
	// oldModel replaces the old (and new) model leaf consistently
	oldModel := func(h *mintHarness, edit func(m *state.Model)) {
		m := om
		edit(&m)
		h.G.Model.Old = AssignModel(&m)
		m.Supply += tx.Amount
		h.G.Model.New = AssignModel(&m)
		m.Supply -= tx.Amount
		h.ModelRoot = mdModelRoot(r, &m)
	}
	cases := []mdCase[MintShares, *MintShares]{
		{"not the DAO", "signer is the DAO (ErrNotModelDAO)", true, func(h *mintHarness) {
			oldModel(h, func(m *state.Model) { m.DAO = other })
		}},
		{"supply past the cap", "supply + amount <= maxSupply (ErrSupplyCap)", true, func(h *mintHarness) {
			oldModel(h, func(m *state.Model) { m.MaxSupply = m.Supply })
		}},
		{"supply not increased", "new supply = supply + amount", true, func(h *mintHarness) { h.G.Model.New.Supply = h.G.Model.Old.Supply }},
		{"position over-credited", "shares += amount", true, func(h *mintHarness) {
			h.G.Acct.Positions[0].New.Shares = addBig(h.G.Acct.Positions[0].New.Shares, 1)
		}},
		{"position not settled", "settle before the share count changes", true, func(h *mintHarness) {
			p := &h.G.Acct.Positions[0]
			p.New.LastAcc, p.New.Pending = p.Old.LastAcc, p.Old.Pending
		}},
		{"cap raised", "other model fields unchanged", true, func(h *mintHarness) {
			h.G.Model.New.MaxSupply = addBig(h.G.Model.New.MaxSupply, 1)
		}},
		{"amount 0", "amount > 0 (ErrZeroAmount)", true, func(h *mintHarness) { h.G.Amount = 0 }},
	}
	mdRunTampers(t, b, NewMintShares(b.P), g, r, cloneMint, cases)
}

// ---- SetModelParams ----

type paramsHarness = harness[SetModelParams, *SetModelParams]

func cloneParams(g SetModelParams) SetModelParams { g.Acct = cloneAccount(g.Acct); return g }

func TestSetModelParams(t *testing.T) {
	b := kindWorld(t)
	txi, r := mdApply(t, b, types.KindSetModelParams, 1, nil) // price 1000 → 1001: a real change
	tx := txi.(*types.SetModelParams)
	g, err := AssignSetModelParams(tx, r.Witness)
	if err != nil {
		t.Fatal(err)
	}
	om := mdOldModel(t, r)
	cases := []mdCase[SetModelParams, *SetModelParams]{
		{"bps 10001", "holderBps <= 10,000 (ErrBadBps)", true, func(h *paramsHarness) {
			c := *tx
			c.HolderBps = 10001
			mdResign(t, b, &c)
			sig, err := AssignSignature(c.Signature)
			if err != nil {
				t.Fatal(err)
			}
			h.G.Sig, h.Pubdata = sig, mdPubdataBits(t, &c)
			h.G.Model.New.HolderBps = 10001
		}},
		{"not the DAO", "signer is the DAO (ErrNotModelDAO)", true, func(h *paramsHarness) {
			m := om
			m.DAO = b.Acct[2]
			h.G.Model.Old = AssignModel(&m)
			h.G.Model.New.DAO = m.DAO
			h.ModelRoot = mdModelRoot(r, &m)
		}},
	}
	immutable := map[string]func(m *ModelVars){
		"weights":    func(m *ModelVars) { m.Weights = addBig(m.Weights, 1) },
		"metadata":   func(m *ModelVars) { m.Metadata = addBig(m.Metadata, 1) },
		"quoteToken": func(m *ModelVars) { m.QuoteToken = addBig(m.QuoteToken, 1) },
		"maxSupply":  func(m *ModelVars) { m.MaxSupply = addBig(m.MaxSupply, 1) },
		"supply":     func(m *ModelVars) { m.Supply = addBig(m.Supply, 1) },
		"treasury":   func(m *ModelVars) { m.Treasury = addBig(m.Treasury, 1) },
		"acc":        func(m *ModelVars) { m.Acc = addBig(m.Acc, 1) },
		"carry":      func(m *ModelVars) { m.Carry = addBig(m.Carry, 1) },
		"dao":        func(m *ModelVars) { m.DAO = addBig(m.DAO, 1) },
	}
	for name, f := range immutable {
		cases = append(cases, mdCase[SetModelParams, *SetModelParams]{"model " + name + " changed", "only price and bps change", true,
			func(h *paramsHarness) { f(&h.G.Model.New) }})
	}
	mdRunTampers(t, b, NewSetModelParams(b.P), g, r, cloneParams, cases)
}

// ---- costs at production depths ----

type mdCostCircuit[G any, PG interface {
	*G
	kindGadget
}] struct {
	G                      G
	AccountRoot, ModelRoot frontend.Variable
	Domain, Timestamp      frontend.Variable
	p                      types.Params
}

func (c *mdCostCircuit[G, PG]) Define(api frontend.API) error {
	h, err := NewHasher(api)
	if err != nil {
		return err
	}
	e := Env{API: api, H: h, P: c.p, Domain: c.Domain, Timestamp: c.Timestamp}
	_, _, err = PG(&c.G).Apply(e, Roots{Account: c.AccountRoot, Model: c.ModelRoot})
	return err
}

func mdCost[G any, PG interface {
	*G
	kindGadget
}](t *testing.T, name string, p types.Params, g G) int {
	t.Helper()
	cs, err := frontend.Compile(field, r1cs.NewBuilder, &mdCostCircuit[G, PG]{G: g, p: p})
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	t.Logf("%-16s %7d constraints (R1CS, depths %d/%d/%d/%d)", name, cs.GetNbConstraints(),
		p.AccountDepth, p.BalanceDepth, p.ModelDepth, p.OrderDepth)
	return cs.GetNbConstraints()
}

// TestMdKindCosts compiles the model and credit kind gadgets at production
// depths and pins their constraint counts (R1CS, BN254, gnark v0.16.3).
// Counts are deterministic, so the pins are exact: a rise is a cost
// regression, a drop may be a lost constraint (a soundness bug); either way
// the pin changes only on purpose, with docs/benchmarks.md.
func TestMdKindCosts(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles six circuits")
	}
	p := types.DefaultParams()
	for _, c := range []struct {
		name  string
		count func() int
		want  int
	}{
		{"CreateModel", func() int { return mdCost[CreateModel](t, "CreateModel", p, NewCreateModel(p)) }, 33_776},
		{"MintShares", func() int { return mdCost[MintShares](t, "MintShares", p, NewMintShares(p)) }, 32_154},
		{"SetModelParams", func() int { return mdCost[SetModelParams](t, "SetModelParams", p, NewSetModelParams(p)) }, 26_485},
		{"BuyCredits", func() int { return mdCost[BuyCredits](t, "BuyCredits", p, NewBuyCredits(p)) }, 32_784},
		{"RedeemCredits", func() int { return mdCost[RedeemCredits](t, "RedeemCredits", p, NewRedeemCredits(p)) }, 32_420},
		{"ClaimRevenue", func() int { return mdCost[ClaimRevenue](t, "ClaimRevenue", p, NewClaimRevenue(p)) }, 32_372},
	} {
		if n := c.count(); n != c.want {
			t.Errorf("%s: %d constraints, pinned %d", c.name, n, c.want)
		}
	}
}
