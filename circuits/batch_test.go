package circuits

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark/constraint"
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/frontend/cs/r1cs"
	"github.com/ethereum/go-ethereum/common"
	"github.com/holiman/uint256"

	"github.com/modex/modex/bench/workload"
	"github.com/modex/modex/state"
	"github.com/modex/modex/state/store"
	"github.com/modex/modex/types"
)

// batchParams are the batch tests' parameters: test depths, 2 slots.
func batchParams() types.Params {
	p := types.TestParams()
	p.BatchCapacity = 2
	return p
}

type csKey struct {
	f types.Family
	p types.Params
}

var (
	csMu    sync.Mutex
	csCache = map[csKey]constraint.ConstraintSystem{}
)

// batchCS compiles (once per test binary) a family's batch circuit.
func batchCS(f types.Family, p types.Params) (constraint.ConstraintSystem, error) {
	csMu.Lock()
	defer csMu.Unlock()
	k := csKey{f, p}
	if cs, ok := csCache[k]; ok {
		return cs, nil
	}
	c, err := NewBatch(f, p)
	if err != nil {
		return nil, err
	}
	cs, err := frontend.Compile(field, r1cs.NewBuilder, c)
	if err != nil {
		return nil, fmt.Errorf("compile %v: %w", f, err)
	}
	csCache[k] = cs
	return cs, nil
}

// solveBatch solves the batch circuit on an assignment. Safe for concurrent use.
func solveBatch(t testing.TB, c *Batch) error {
	cs, err := batchCS(c.Family(), c.Params())
	if err != nil {
		return err
	}
	w, err := frontend.NewWitness(c, field)
	if err != nil {
		return fmt.Errorf("witness: %w", err)
	}
	return cs.IsSolved(w)
}

// proveSealed assigns a sealed batch and solves it. Safe for concurrent use.
func proveSealed(t testing.TB, p types.Params, d types.Domain, sb *state.SealedBatch) error {
	c, err := AssignBatch(p, d, sb)
	if err != nil {
		return fmt.Errorf("assign: %w", err)
	}
	return solveBatch(t, c)
}

// bworld drives a rollup and keeps every sealed batch (with witnesses).
type bworld struct {
	t      testing.TB
	p      types.Params
	d      types.Domain
	db     *state.DB
	b      *state.Batch
	ts     uint64
	keys   []*types.PrivateKey
	nonce  map[uint32]uint32
	prio   uint64
	sealed []*state.SealedBatch
}

func newBWorld(t testing.TB, p types.Params, users int) *bworld {
	t.Helper()
	db, err := state.Open(p, workload.DevDomain, store.Options{InMemory: true, KeepBatches: 1 << 20, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	w := &bworld{t: t, p: p, d: workload.DevDomain, db: db, ts: 1_700_000_000, nonce: map[uint32]uint32{}}
	for i := 0; i < users; i++ {
		k, err := workload.Key(i)
		if err != nil {
			t.Fatal(err)
		}
		w.keys = append(w.keys, k)
	}
	w.open()
	t.Cleanup(func() { w.b.Discard(); db.Close() })
	return w
}

func (w *bworld) open() {
	b, err := w.db.NewBatch(w.ts)
	if err != nil {
		w.t.Fatal(err)
	}
	w.b = b
}

// seal seals the open batch if it holds anything.
func (w *bworld) seal() {
	if w.b.Len() == 0 {
		return
	}
	sb, err := w.b.Seal()
	if err != nil {
		w.t.Fatal(err)
	}
	w.sealed = append(w.sealed, sb)
	w.ts += 12
	w.open()
}

// add applies tx, sealing first on a full batch, a new family or a full fee book.
func (w *bworld) add(tx types.Tx) (*state.Receipt, error) {
	r, err := w.b.Add(tx)
	if errors.Is(err, state.ErrBatchFull) || errors.Is(err, state.ErrFamily) || errors.Is(err, types.ErrFeeAssetsFull) {
		w.seal()
		r, err = w.b.Add(tx)
	}
	return r, err
}

func (w *bworld) deposit(u int, token uint16, amount uint64) *types.Deposit {
	pk := types.PublicKeyOf(w.keys[u])
	d := &types.Deposit{PriorityID: w.prio, Account: uint32(u), L1Address: workload.Addr(u), PubKey: pk, Token: token}
	d.Amount.SetUint64(amount)
	if _, err := w.add(d); err != nil {
		w.t.Fatal(err)
	}
	w.prio++
	return d
}

// signed sets the signer's nonce, signs as user u and adds.
func (w *bworld) signed(u int, tx types.SignedTx) (*state.Receipt, error) {
	tx.SetNonce(w.nonce[tx.Signer()])
	if err := types.SignTx(w.keys[u], w.d, tx); err != nil {
		w.t.Fatal(err)
	}
	r, err := w.add(tx)
	if err == nil {
		w.nonce[tx.Signer()]++
	}
	return r, err
}

// order makes user u's signed order that never expires.
func (w *bworld) order(u int, model uint16, side types.Side, id uint32, amount, price uint64) types.Order {
	o := types.Order{Account: uint32(u), Model: model, Side: side, OrderID: id, Amount: amount, MaxFeeBips: 50, ValidUntil: 1<<32 - 1}
	o.Price.SetUint64(price)
	if err := types.SignOrder(w.keys[u], w.d, &o); err != nil {
		w.t.Fatal(err)
	}
	return o
}

// proveAll solves every sealed batch not yet proven.
func (w *bworld) proveAll(from int) int {
	w.t.Helper()
	for i := from; i < len(w.sealed); i++ {
		sb := w.sealed[i]
		if err := proveSealed(w.t, w.p, w.d, sb); err != nil {
			w.t.Fatalf("batch %d (%v, %d txs): %v", sb.Header.Number, sb.Header.Family, len(sb.Txs), err)
		}
	}
	return len(w.sealed)
}

func TestBatchSmoke(t *testing.T) {
	w := newBWorld(t, batchParams(), 4)
	for u := 0; u < 3; u++ {
		w.deposit(u, 0, 1000)
	}
	for i := 0; i < 3; i++ {
		if _, err := w.signed(1, &types.Transfer{From: 1, To: 2, Asset: types.ETH, Amount: *uint256.NewInt(10), Fee: *uint256.NewInt(1)}); err != nil {
			t.Fatal(err)
		}
	}
	w.seal()
	w.proveAll(0)
}

func TestBatchSmokeTamperedPI(t *testing.T) {
	w := newBWorld(t, batchParams(), 4)
	for u := 0; u < 3; u++ {
		w.deposit(u, 0, 1000)
	}
	w.seal()
	c, err := AssignBatch(w.p, w.d, w.sealed[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := solveBatch(t, c); err != nil {
		t.Fatal(err)
	}
	pi := c.PublicInput.(fr.Element)
	pi.Add(&pi, new(fr.Element).SetOne())
	c.PublicInput = pi
	if err := solveBatch(t, c); err == nil {
		t.Fatal("tampered public input accepted")
	}
}

// TestBatchMemberColumns checks the kind files' claims in the column table:
// each member's dummy is run by that member and no other, every member
// belongs to a family, and a member handed another kind's transaction
// refuses it with an error.
func TestBatchMemberColumns(t *testing.T) {
	p := batchParams()
	if !outsideExists(p) {
		t.Fatal("test parameters leave no forced withdrawal outside the trees")
	}
	ds, err := DummiesFor(p, types.Domain{ChainID: 31337, Bridge: common.Address{19: 0xb1}})
	if err != nil {
		t.Fatal(err)
	}
	inFamily := map[Member]bool{}
	for f := types.Family(0); f < 64; f++ {
		for _, m := range Members(f, p) {
			inFamily[m] = true
		}
	}
	for i := 1; i < len(columns); i++ {
		m := Member(i)
		if !inFamily[m] {
			t.Errorf("%v: in no family", m)
		}
		dm, ok := ds.tx[m]
		if !ok {
			t.Errorf("%v: no dummy", m)
			continue
		}
		var runs []Member
		for j := 1; j < len(columns); j++ {
			if columns[j].runs(p, dm.tx) {
				runs = append(runs, Member(j))
			}
		}
		if len(runs) != 1 || runs[0] != m {
			t.Errorf("%v's dummy (%T) is run by %v", m, dm.tx, runs)
		}
		c, err := NewBatch(types.FamilyOf(dm.tx), p)
		if err != nil {
			t.Fatal(err)
		}
		other := ds.tx[MemberDeposit]
		if m == MemberDeposit {
			other = ds.tx[MemberTrade]
		}
		if err := c.setMember(m, 0, other.tx, other.w); err == nil {
			t.Errorf("%v assigned from a %T", m, other.tx)
		}
	}
}
