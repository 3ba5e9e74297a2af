package circuitcost

import (
	"fmt"
	"math/big"
	"sort"
	"strings"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark/constraint"
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/frontend/cs/r1cs"

	"github.com/modex/modex/circuits"
	"github.com/modex/modex/state"
	"github.com/modex/modex/state/smt"
	"github.com/modex/modex/types"
)

// Standalone wraps one kind gadget as a whole circuit: roots, domain and
// timestamp are inputs, and the new roots, the fee and a digest of the
// pubdata bits are bound to one public input so nothing is left dangling.
// It measures a kind's cost and proves a single transaction for benchmarks
// only: its digest binds just the first 253 pubdata bits and not the fee
// token, so it must never carry a real proof. The batch circuit composes the
// same gadgets with the full public input.
type Standalone[G any, PG interface {
	*G
	circuits.Gadget
}] struct {
	G                                         G
	AccountRoot, ModelRoot, Domain, Timestamp frontend.Variable
	Digest                                    frontend.Variable `gnark:",public"`
	p                                         types.Params
}

// Define implements frontend.Circuit.
func (c *Standalone[G, PG]) Define(api frontend.API) error {
	h, err := circuits.NewHasher(api)
	if err != nil {
		return err
	}
	e := circuits.Env{API: api, H: h, P: c.p, Domain: c.Domain, Timestamp: c.Timestamp}
	r, out, err := PG(&c.G).Apply(e, circuits.Roots{Account: c.AccountRoot, Model: c.ModelRoot})
	if err != nil {
		return err
	}
	d := h.Compress(r.Account, r.Model)
	d = h.Compress(d, out.Fee)
	d = h.Compress(d, api.FromBinary(reverse(out.Pubdata[:min(len(out.Pubdata), 253)])...))
	api.AssertIsEqual(d, c.Digest)
	return nil
}

func reverse(b []frontend.Variable) []frontend.Variable {
	r := make([]frontend.Variable, len(b))
	for i := range b {
		r[len(b)-1-i] = b[i]
	}
	return r
}

func standalone[G any, PG interface {
	*G
	circuits.Gadget
}](p types.Params, g G) frontend.Circuit {
	return &Standalone[G, PG]{G: g, p: p}
}

// KindCircuits returns the standalone circuit shape of every kind gadget at
// the parameters, by kind name.
func KindCircuits(p types.Params) map[string]frontend.Circuit {
	return map[string]frontend.Circuit{
		"Deposit":          standalone[circuits.Deposit](p, circuits.NewDeposit(p)),
		"Transfer(base)":   standalone[circuits.TransferBase](p, circuits.NewTransferBase(p)),
		"Transfer(shares)": standalone[circuits.TransferPosition](p, circuits.NewTransferPosition(p)),
		"Withdraw":         standalone[circuits.Withdraw](p, circuits.NewWithdraw(p)),
		"ForcedWithdraw":   standalone[circuits.ForcedWithdraw](p, circuits.NewForcedWithdraw(p)),
		"CreateModel":      standalone[circuits.CreateModel](p, circuits.NewCreateModel(p)),
		"MintShares":       standalone[circuits.MintShares](p, circuits.NewMintShares(p)),
		"SetModelParams":   standalone[circuits.SetModelParams](p, circuits.NewSetModelParams(p)),
		"Trade":            standalone[circuits.Trade](p, circuits.NewTrade(p)),
		"CancelOrder":      standalone[circuits.CancelOrder](p, circuits.NewCancelOrder(p)),
		"BuyCredits":       standalone[circuits.BuyCredits](p, circuits.NewBuyCredits(p)),
		"RedeemCredits":    standalone[circuits.RedeemCredits](p, circuits.NewRedeemCredits(p)),
		"ClaimRevenue":     standalone[circuits.ClaimRevenue](p, circuits.NewClaimRevenue(p)),
	}
}

// KindCost is one kind's R1CS size.
type KindCost struct {
	Kind        string `json:"kind"`
	Constraints int    `json:"constraints"`
}

// compile compiles a circuit to BN254 R1CS.
func compile(c frontend.Circuit) (constraint.ConstraintSystem, error) {
	return frontend.Compile(ecc.BN254.ScalarField(), r1cs.NewBuilder, c)
}

// KindCosts compiles every kind gadget at the parameters.
func KindCosts(p types.Params) ([]KindCost, error) {
	var out []KindCost
	for name, c := range KindCircuits(p) {
		cs, err := compile(c)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		out = append(out, KindCost{Kind: name, Constraints: cs.GetNbConstraints()})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Kind < out[j].Kind })
	return out, nil
}

// AssignStandalone fills a standalone circuit from a gadget assignment, the
// native witness and receipt it came from, the domain and the batch
// timestamp; the digest is computed natively the way Define computes it.
func AssignStandalone[G any, PG interface {
	*G
	circuits.Gadget
}](p types.Params, g G, w *state.TxWitness, r *state.Receipt, d types.Domain, ts uint64) *Standalone[G, PG] {
	acc, mod := w.AccountRoot, w.ModelRoot
	for _, u := range w.Updates {
		root := smt.Proof{Index: u.Index, Leaf: u.New, Siblings: u.Siblings}.ComputeRoot()
		switch u.Tree {
		case state.TreeAccounts:
			acc = root
		case state.TreeModels:
			mod = root
		}
	}
	digest := types.Compress(acc, mod)
	digest = types.Compress(digest, types.Elem(&r.Fee))
	pd := new(big.Int).SetBytes(r.Pubdata)
	if n := len(r.Pubdata) * 8; n > 253 {
		pd.Rsh(pd, uint(n-253))
	}
	var pde fr.Element
	pde.SetBigInt(pd)
	digest = types.Compress(digest, pde)
	return &Standalone[G, PG]{G: g, p: p, AccountRoot: w.AccountRoot, ModelRoot: w.ModelRoot,
		Domain: d.Element(), Timestamp: ts, Digest: digest}
}

// BatchCost is one family's batch circuit size: compiled at capacities 1 and
// 2, which gives the exact per-slot and fixed parts (slots are identical), and
// from them the size at the parameters' capacity.
type BatchCost struct {
	Family      string `json:"family"`
	Members     string `json:"members"`
	PerSlot     int    `json:"constraints_per_slot"`
	Fixed       int    `json:"constraints_fixed"` // header, public input, fee settlement
	Capacity    int    `json:"capacity"`
	AtCapacity  int    `json:"constraints_at_capacity"` // Fixed + Capacity·PerSlot
	PubdataHash int    `json:"pubdata_chunks_per_slot"`
}

// BatchCosts compiles every family's batch circuit at capacities 1 and 2.
func BatchCosts(p types.Params) ([]BatchCost, error) {
	var out []BatchCost
	for _, f := range types.AllFamilies() {
		var n [2]int
		for i := range n {
			q := p
			q.BatchCapacity = i + 1
			c, err := circuits.NewBatch(f, q)
			if err != nil {
				return nil, err
			}
			cs, err := compile(c)
			if err != nil {
				return nil, fmt.Errorf("%v: %w", f, err)
			}
			n[i] = cs.GetNbConstraints()
		}
		var ms []string
		for _, m := range circuits.Members(f, p) {
			ms = append(ms, m.String())
		}
		slot := n[1] - n[0]
		out = append(out, BatchCost{Family: f.String(), Members: strings.Join(ms, "+"), PerSlot: slot, Fixed: n[0] - slot,
			Capacity: p.BatchCapacity, AtCapacity: n[0] - slot + p.BatchCapacity*slot, PubdataHash: f.SlotChunks()})
	}
	return out, nil
}
