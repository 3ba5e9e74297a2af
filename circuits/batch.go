package circuits

import (
	"fmt"
	"math/big"

	"github.com/consensys/gnark/frontend"

	"github.com/modex/modex/state"
	"github.com/modex/modex/types"
)

// The batch circuit (docs/protocol.md §8): BatchCapacity slots of one
// family, then the fee settlement, then the public input. A slot runs one of
// its family's kind gadgets (a member) or none (a Noop); the slots in use
// come first.
//
// Every member's gadget is laid out in every slot. A member that a slot does
// not run is fed a dummy: a valid transaction of that kind against a state of
// its own (see Dummies), whose roots enter through a free input instead of
// the running root, and whose outputs (roots, pubdata, fee) are multiplied by
// its selector 0. So the kind gadgets need no "enabled" flags, and a slot
// costs the sum of its family's gadgets plus a few hundred constraints.

// Member is a kind gadget a slot can run.
type Member uint8

const (
	MemberDeposit Member = iota + 1
	MemberForcedWithdraw
	MemberForcedWithdrawOutside
	MemberTransferBase
	MemberTransferPosition
	MemberWithdraw
	MemberCreateModel
	MemberMintShares
	MemberSetModelParams
	MemberTrade
	MemberCancelOrder
	MemberBuyCredits
	MemberRedeemCredits
	MemberClaimRevenue
)

// memberColumn is a member's gadget column in Batch (one gadget per slot):
// how to grow it, how to reach slot i's gadget, which transactions the member
// runs and how to assign its gadget from one. Each kind file declares its
// members' columns (circuits/kind_<name>.go), the table below lists them, so
// the batch circuit and its assignment need no switch on the member.
type memberColumn struct {
	name   string
	alloc  func(c *Batch, p types.Params)
	gadget func(c *Batch, i int) Gadget
	// runs reports whether the member runs the transaction at the parameters;
	// exactly one member runs each transaction.
	runs func(p types.Params, tx types.Tx) bool
	// assign sets slot i's gadget from a transaction the member runs and its witness.
	assign func(c *Batch, i int, tx types.Tx, w *state.TxWitness) error
}

// column builds a member's column from its Batch field, allocator and
// assigner. The member runs the transactions of type T for which when holds
// (every one of them when it is nil).
func column[G any, PG interface {
	*G
	Gadget
}, T types.Tx](name string, field func(*Batch) *[]G, newG func(types.Params) G,
	when func(types.Params, T) bool, assign func(types.Params, T, *state.TxWitness) (G, error)) memberColumn {
	return memberColumn{name: name,
		alloc:  func(c *Batch, p types.Params) { f := field(c); *f = append(*f, newG(p)) },
		gadget: func(c *Batch, i int) Gadget { return PG(&(*field(c))[i]) },
		runs: func(p types.Params, tx types.Tx) bool {
			t, ok := tx.(T)
			return ok && (when == nil || when(p, t))
		},
		assign: func(c *Batch, i int, tx types.Tx, w *state.TxWitness) error {
			t, ok := tx.(T)
			if !ok {
				return fmt.Errorf("circuits: %s gadget given a %T", name, tx)
			}
			g, err := assign(c.p, t, w)
			(*field(c))[i] = g
			return err
		}}
}

// paramless adapts a kind's assigner that needs no parameters to column's.
func paramless[T types.Tx, G any](f func(T, *state.TxWitness) (G, error)) func(types.Params, T, *state.TxWitness) (G, error) {
	return func(_ types.Params, tx T, w *state.TxWitness) (G, error) { return f(tx, w) }
}

var columns = [...]memberColumn{
	MemberDeposit:               depositColumn,
	MemberForcedWithdraw:        forcedWithdrawColumn,
	MemberForcedWithdrawOutside: forcedWithdrawOutsideColumn,
	MemberTransferBase:          transferBaseColumn,
	MemberTransferPosition:      transferPositionColumn,
	MemberWithdraw:              withdrawColumn,
	MemberCreateModel:           createModelColumn,
	MemberMintShares:            mintSharesColumn,
	MemberSetModelParams:        setModelParamsColumn,
	MemberTrade:                 tradeColumn,
	MemberCancelOrder:           cancelOrderColumn,
	MemberBuyCredits:            buyCreditsColumn,
	MemberRedeemCredits:         redeemCreditsColumn,
	MemberClaimRevenue:          claimRevenueColumn,
}

// columnOf is the member's column; an unknown member is a programmer error.
func columnOf(m Member) *memberColumn {
	if m == 0 || int(m) >= len(columns) {
		panic(fmt.Sprintf("circuits: member %d", m))
	}
	return &columns[m]
}

func (m Member) String() string {
	if m == 0 || int(m) >= len(columns) {
		return fmt.Sprintf("Member(%d)", m)
	}
	return columns[m].name
}

// priority reports whether the member consumes an L1 priority operation.
func (m Member) priority() bool {
	return m == MemberDeposit || m == MemberForcedWithdraw || m == MemberForcedWithdrawOutside
}

// outsideExists reports whether a forced withdrawal can name an account or a
// token outside the trees at these depths.
func outsideExists(p types.Params) bool {
	return p.AccountDepth < types.AccountBits || p.BalanceDepth < types.BaseAssetBits
}

// Members are the gadgets of a family's slots at the parameters.
func Members(f types.Family, p types.Params) []Member {
	switch f {
	case types.FamilyPriority:
		if outsideExists(p) {
			return []Member{MemberDeposit, MemberForcedWithdraw, MemberForcedWithdrawOutside}
		}
		return []Member{MemberDeposit, MemberForcedWithdraw}
	case types.FamilyTransfer:
		return []Member{MemberTransferBase}
	case types.FamilyAssetTransfer:
		return []Member{MemberTransferPosition}
	case types.FamilyWithdraw:
		return []Member{MemberWithdraw}
	case types.FamilyModelAdmin:
		return []Member{MemberCreateModel, MemberMintShares, MemberSetModelParams}
	case types.FamilyTrade:
		return []Member{MemberTrade}
	case types.FamilyCancel:
		return []Member{MemberCancelOrder}
	case types.FamilyBuyCredits:
		return []Member{MemberBuyCredits}
	case types.FamilyRedeemCredits:
		return []Member{MemberRedeemCredits}
	case types.FamilyClaimRevenue:
		return []Member{MemberClaimRevenue}
	}
	return nil
}

// Batch is the batch circuit of one family at some parameters. Its gadget
// slices hold one gadget per slot for each member of the family (and are
// empty for the others).
type Batch struct {
	Deposit               []Deposit
	ForcedWithdraw        []ForcedWithdraw
	ForcedWithdrawOutside []ForcedWithdrawOutside
	TransferBase          []TransferBase
	TransferPosition      []TransferPosition
	Withdraw              []Withdraw
	CreateModel           []CreateModel
	MintShares            []MintShares
	SetModelParams        []SetModelParams
	Trade                 []Trade
	CancelOrder           []CancelOrder
	BuyCredits            []BuyCredits
	RedeemCredits         []RedeemCredits
	ClaimRevenue          []ClaimRevenue

	// per slot, per member (in Members order)
	Sel                    [][]frontend.Variable // 1: the slot runs this member
	FreeAccount, FreeModel [][]frontend.Variable // a dummy's own roots

	// the fee book and its settlement to account 0 (§7)
	FeeTokens, FeeActive []frontend.Variable // MaxFeeAssets each
	Settle               AccountUpdate       // account 0, MaxFeeAssets balances
	SettleFree           frontend.Variable   // the dummy settlement's root, used when the book is empty

	Domain, Number, Timestamp, FirstPriority frontend.Variable
	PrevAccountRoot, PrevModelRoot           frontend.Variable
	PublicInput                              frontend.Variable `gnark:",public"`

	family types.Family
	p      types.Params
}

// CircuitVersion names the batch circuit's constraints; bump it with any
// change to them, so cached constraint systems and keys are not reused.
const CircuitVersion = "batch-1"

// BatchKey names a family's batch circuit at some parameters: the compile
// cache key (prover.Compile) and the name of its proving and verifying keys.
func BatchKey(f types.Family, p types.Params) string {
	return fmt.Sprintf("%s/%v/a%d-b%d-m%d-o%d-f%d-c%d", CircuitVersion, f, p.AccountDepth, p.BalanceDepth, p.ModelDepth,
		p.OrderDepth, p.MaxFeeAssets, p.BatchCapacity)
}

// NewBatch allocates the circuit of a family at the parameters.
func NewBatch(f types.Family, p types.Params) (*Batch, error) {
	ms := Members(f, p)
	if len(ms) == 0 {
		return nil, fmt.Errorf("circuits: no batch circuit for family %v", f)
	}
	if err := p.Check(); err != nil {
		return nil, err
	}
	c := &Batch{family: f, p: p}
	n := p.BatchCapacity
	for _, m := range ms {
		for i := 0; i < n; i++ {
			c.allocMember(m, p)
		}
	}
	c.Sel = matrix(n, len(ms))
	c.FreeAccount = matrix(n, len(ms))
	c.FreeModel = matrix(n, len(ms))
	c.FeeTokens = make([]frontend.Variable, p.MaxFeeAssets)
	c.FeeActive = make([]frontend.Variable, p.MaxFeeAssets)
	c.Settle = NewAccountUpdate(p, AccountShape{Balances: p.MaxFeeAssets})
	return c, nil
}

func matrix(n, m int) [][]frontend.Variable {
	out := make([][]frontend.Variable, n)
	for i := range out {
		out[i] = make([]frontend.Variable, m)
	}
	return out
}

// allocMember appends one gadget of the member's shape.
func (c *Batch) allocMember(m Member, p types.Params) { columnOf(m).alloc(c, p) }

// gadget returns slot i's gadget of a member.
func (c *Batch) gadget(m Member, i int) Gadget { return columnOf(m).gadget(c, i) }

// Family is the circuit's family.
func (c *Batch) Family() types.Family { return c.family }

// Params are the circuit's parameters.
func (c *Batch) Params() types.Params { return c.p }

// Define implements frontend.Circuit.
func (c *Batch) Define(api frontend.API) error {
	h, err := NewHasher(api)
	if err != nil {
		return err
	}
	p := c.p
	ms := Members(c.family, p)
	e := Env{API: api, H: h, P: p, Domain: c.Domain, Timestamp: c.Timestamp}
	// the header's integers, each range-checked so the word packs them uniquely
	RangeCheck(api, c.Number, 64)
	RangeCheck(api, c.Timestamp, 64)
	RangeCheck(api, c.FirstPriority, 64)

	run := Roots{Account: c.PrevAccountRoot, Model: c.PrevModelRoot}
	prevRoot := h.Compress(run.Account, run.Model)
	slotBits := 8 * c.family.SlotBytes()
	nChunks := c.family.SlotChunks()

	for j := range c.FeeActive {
		api.AssertIsBoolean(c.FeeActive[j])
	}
	acc := make([]frontend.Variable, p.MaxFeeAssets)
	for j := range acc {
		acc[j] = 0
	}
	var chunks []frontend.Variable
	var count frontend.Variable = 0
	var prevOn frontend.Variable = 1
	for i := 0; i < p.BatchCapacity; i++ {
		next := run
		slot := make([]frontend.Variable, nChunks)
		for k := range slot {
			slot[k] = 0
		}
		var on, fee, tok frontend.Variable = 0, 0, 0
		for mi, m := range ms {
			sel := c.Sel[i][mi]
			api.AssertIsBoolean(sel)
			in := Roots{Account: api.Select(sel, run.Account, c.FreeAccount[i][mi]),
				Model: api.Select(sel, run.Model, c.FreeModel[i][mi])}
			out, o, err := c.gadget(m, i).Apply(e, in)
			if err != nil {
				return fmt.Errorf("slot %d, %v: %w", i, m, err)
			}
			next.Account = api.Add(next.Account, api.Mul(sel, api.Sub(out.Account, run.Account)))
			next.Model = api.Add(next.Model, api.Mul(sel, api.Sub(out.Model, run.Model)))
			if len(o.Pubdata) > slotBits {
				return fmt.Errorf("circuits: %v pubdata of %d bits in a %d-bit slot", m, len(o.Pubdata), slotBits)
			}
			for k, ch := range pubdataChunks(api, o.Pubdata, slotBits) {
				slot[k] = api.Add(slot[k], api.Mul(sel, ch))
			}
			fee = api.Add(fee, api.Mul(sel, o.Fee))
			tok = api.Add(tok, api.Mul(sel, o.FeeToken))
			on = api.Add(on, sel)
			if m.priority() {
				count = api.Add(count, sel)
			}
		}
		api.AssertIsBoolean(on)                               // at most one member
		api.AssertIsEqual(api.Mul(api.Sub(1, prevOn), on), 0) // used slots first
		prevOn = on
		run = next
		chunks = append(chunks, slot...)

		// the fee goes to the book entry of its token (ErrFeeAssetsFull when none)
		var hit frontend.Variable = 0
		for j := range acc {
			eq := api.Mul(c.FeeActive[j], api.IsZero(api.Sub(tok, c.FeeTokens[j])))
			hit = api.Add(hit, eq)
			acc[j] = api.Add(acc[j], api.Mul(eq, fee))
		}
		api.AssertIsEqual(api.Mul(fee, api.Sub(1, hit)), 0)
	}

	// settlement: account 0 takes each book entry; with an empty book the
	// gadget runs on a dummy (any valid settlement) and its roots are dropped
	var idle frontend.Variable = 1
	for j := range c.FeeActive {
		idle = api.Mul(idle, api.Sub(1, c.FeeActive[j]))
	}
	on := api.Sub(1, idle)
	u := &c.Settle
	api.AssertIsEqual(u.ID, types.FeeAccount)
	for j := range u.Balances {
		b := &u.Balances[j]
		api.AssertIsEqual(api.Mul(c.FeeActive[j], api.Sub(b.Token, c.FeeTokens[j])), 0)
		// the new leaf's 96-bit range check is the settlement's overflow check
		api.AssertIsEqual(api.Mul(on, api.Sub(b.New, api.Add(b.Old, acc[j]))), 0)
	}
	api.AssertIsEqual(api.Mul(on, api.Mul(api.IsZero(u.Old.PkX), api.IsZero(u.Old.PkY))), 0) // no fee before account 0
	assertUnchangedAccount(api, u.Old, u.New)
	settled := u.Apply(api, h, api.Select(on, run.Account, c.SettleFree))
	run.Account = api.Select(on, settled, run.Account)

	newRoot := h.Compress(run.Account, run.Model)
	commitment := h.Chain(chunks...)
	word := api.Add(api.Mul(c.Number, pow2(160)), api.Mul(c.Timestamp, pow2(96)), api.Mul(c.FirstPriority, pow2(32)), count)
	api.AssertIsEqual(h.Chain(c.Domain, word, prevRoot, newRoot, commitment), c.PublicInput)
	return nil
}

// pubdataChunks cuts an operation's pubdata bits (most significant first),
// zero-padded to the slot, into 248-bit chunks, each a big-endian integer
// (§6). The bits are already boolean-constrained by their decomposition.
func pubdataChunks(api frontend.API, bits []frontend.Variable, slotBits int) []frontend.Variable {
	var out []frontend.Variable
	for s := 0; s < slotBits; s += 8 * types.ChunkBytes {
		le := make([]frontend.Variable, 8*types.ChunkBytes)
		for k := range le {
			idx := s + 8*types.ChunkBytes - 1 - k // bit k (least significant first) of the chunk
			if idx < len(bits) {
				le[k] = bits[idx]
			} else {
				le[k] = 0
			}
		}
		out = append(out, api.FromBinary(le...))
	}
	return out
}

func pow2(n uint) *big.Int { return new(big.Int).Lsh(big.NewInt(1), n) }
