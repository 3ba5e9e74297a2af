package state

import (
	"encoding/binary"
	"fmt"
	"sort"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/holiman/uint256"

	"github.com/modex/modex/state/smt"
	"github.com/modex/modex/types"
)

// TreeKind names the tree a witness entry belongs to.
type TreeKind uint8

const (
	TreeAccounts TreeKind = iota
	TreeModels
	TreeBalances  // of Account
	TreePositions // of Account
	TreeOrders    // of Account, Model
)

// LeafUpdate is one leaf write (or read, when Old == New) with its Merkle
// path: the witness the circuit needs to recompute both roots. OldData and
// NewData are the leaf preimages (*Account, *Position, *Model, OrderSlot or
// *uint256.Int balance).
type LeafUpdate struct {
	Tree     TreeKind
	Account  uint32
	Model    uint16
	Index    uint64
	Old, New fr.Element
	Siblings []fr.Element // bottom-up
	OldData  any
	NewData  any
	// Subtree roots under the leaf: for an account, [balance root, position
	// root]; for a position, [order root]. The leaf hash commits to them.
	OldSub, NewSub []fr.Element
}

// TxWitness is everything the circuit needs to replay one transaction.
type TxWitness struct {
	Tx                    types.Tx // nil for the batch's fee settlement
	RootBefore, RootAfter fr.Element
	// The two halves of RootBefore: RootBefore = C(AccountRoot, ModelRoot).
	AccountRoot, ModelRoot fr.Element
	Updates                []LeafUpdate
}

// State is the rollup state over one store transaction. It is not safe for
// concurrent use; the sequencer owns it.
type State struct {
	p      types.Params
	domain types.Domain
	kv     smt.Writer
	zero   zeroLeaves

	accounts, models *smt.Tree
	fees             *FeeBook
	timestamp        uint64 // batch timestamp, for order expiry

	// replay is set only by DB.Replay, on the State of the batch it opens
	// and never exposes: operations rebuilt from L1 pubdata carry no
	// signatures (a proof stood for them), so signer and checkOrder skip
	// signature verification, and nothing else. Every other rule applies.
	replay bool

	// flat is set only on the State of a soft batch (NewSoftBatch): writes
	// go to the leaf preimages and to tree leaves, never up the trees, so
	// nothing is hashed and there is no root (ErrFlatState); the same
	// transactions applied by a tree batch then hash it (docs/node.md §1).
	flat bool

	wit    *TxWitness            // recording target of the transaction being applied
	subOld map[subKey]fr.Element // subtree roots before the transaction's first write
}

// New wraps kv (a store transaction or snapshot) as rollup state.
func New(p types.Params, d types.Domain, kv smt.Writer) (*State, error) {
	if err := p.Check(); err != nil {
		return nil, err
	}
	z := computeZeros(p)
	return &State{
		p: p, domain: d, kv: kv, zero: z,
		accounts: smt.New([]byte{nsAccounts}, p.AccountDepth, z.account),
		models:   smt.New([]byte{nsModels}, p.ModelDepth, z.model),
		fees:     NewFeeBook(p.MaxFeeAssets),
	}, nil
}

// Params returns the tree parameters.
func (s *State) Params() types.Params { return s.p }

// Domain returns the signing domain.
func (s *State) Domain() types.Domain { return s.domain }

// SetTimestamp sets the batch timestamp used for order expiry.
func (s *State) SetTimestamp(ts uint64) { s.timestamp = ts }

// Fees returns the batch fee book.
func (s *State) Fees() *FeeBook { return s.fees }

func (s *State) balanceTree(id uint32) *smt.Tree {
	return smt.New(balanceNS(id), s.p.BalanceDepth, s.zero.balance)
}
func (s *State) positionTree(id uint32) *smt.Tree {
	return smt.New(positionNS(id), s.p.ModelDepth, s.zero.position)
}
func (s *State) orderTree(id uint32, model uint16) *smt.Tree {
	return smt.New(orderNS(id, model), s.p.OrderDepth, s.zero.order)
}

// Root is the state root: C(accountRoot, modelRoot).
func (s *State) Root() (fr.Element, error) {
	if s.flat {
		return fr.Element{}, ErrFlatState
	}
	a, err := s.accounts.Root(s.kv)
	if err != nil {
		return fr.Element{}, err
	}
	m, err := s.models.Root(s.kv)
	if err != nil {
		return fr.Element{}, err
	}
	return types.Compress(a, m), nil
}

// EmptyRoot is the genesis root for the parameters.
func EmptyRoot(p types.Params) fr.Element {
	z := computeZeros(p)
	return types.Compress(emptyRoot(p.AccountDepth, z.account), emptyRoot(p.ModelDepth, z.model))
}

// ---- reads ----

func (s *State) checkAccountID(id uint32) error {
	if uint64(id) >= 1<<s.p.AccountDepth {
		return fmt.Errorf("%w: %d >= 2^%d", types.ErrAccountRange, id, s.p.AccountDepth)
	}
	return nil
}

// Account reads an account; a missing one is ErrAccountNotFound.
func (s *State) Account(id uint32) (*Account, error) {
	if err := s.checkAccountID(id); err != nil {
		return nil, err
	}
	b, err := s.kv.Get(accountKey(id))
	if err != nil {
		return nil, err
	}
	if b == nil {
		return nil, fmt.Errorf("%w: %d", types.ErrAccountNotFound, id)
	}
	a := new(Account)
	return a, a.decode(b)
}

// Balance reads a base-token balance.
func (s *State) Balance(id uint32, token uint16) (*uint256.Int, error) {
	e, err := s.balanceTree(id).Leaf(s.kv, uint64(token))
	if err != nil {
		return nil, err
	}
	return balanceFromLeaf(e), nil
}

// Position reads an account's position in a model (zero if none).
func (s *State) Position(id uint32, model uint16) (*Position, error) {
	p := new(Position)
	b, err := s.kv.Get(positionKey(id, model))
	if err != nil || b == nil {
		return p, err
	}
	return p, p.decode(b)
}

// Model reads a model; a missing one is ErrModelNotFound.
func (s *State) Model(id uint16) (*Model, error) {
	if uint64(id) >= 1<<s.p.ModelDepth {
		return nil, fmt.Errorf("%w: %d >= 2^%d", types.ErrModelRange, id, s.p.ModelDepth)
	}
	m := new(Model)
	b, err := s.kv.Get(modelKey(id))
	if err != nil {
		return nil, err
	}
	if b == nil {
		return m, fmt.Errorf("%w: %d", types.ErrModelNotFound, id)
	}
	return m, m.decode(b)
}

// Slot reads an order slot.
func (s *State) Slot(id uint32, model uint16, slot uint64) (OrderSlot, error) {
	e, err := s.orderTree(id, model).Leaf(s.kv, slot)
	return slotFromLeaf(e), err
}

// AccountByKey finds the account bound to (L1 address, key).
func (s *State) AccountByKey(a *Account) (uint32, bool, error) {
	b, err := s.kv.Get(indexKey(a))
	if err != nil || b == nil {
		return 0, false, err
	}
	return binary.BigEndian.Uint32(b), true, nil
}

func (s *State) counter(key []byte) (uint64, error) {
	b, err := s.kv.Get(key)
	if err != nil || b == nil {
		return 0, err
	}
	return binary.BigEndian.Uint64(b), nil
}

func (s *State) setCounter(key []byte, v uint64) error {
	return s.kv.Set(key, binary.BigEndian.AppendUint64(nil, v))
}

// NextPriority is the id of the next L1 priority operation to process.
func (s *State) NextPriority() (uint64, error) { return s.counter(keyNextPriority) }

// ---- writes; each records its witness entry ----

func (s *State) record(u LeafUpdate, proof smt.Proof) {
	if s.wit == nil {
		return
	}
	u.Index, u.Old, u.Siblings = proof.Index, proof.Leaf, proof.Siblings
	s.wit.Updates = append(s.wit.Updates, u)
}

func (s *State) setBalance(id uint32, token uint16, v *uint256.Int) error {
	old, err := s.Balance(id, token)
	if err != nil {
		return err
	}
	leaf := BalanceLeaf(v)
	t := s.balanceTree(id)
	if s.flat {
		return t.SetLeaf(s.kv, uint64(token), leaf)
	}
	if err := s.noteSubtree(subKey{TreeBalances, id, 0}, t); err != nil {
		return err
	}
	pr, err := t.Update(s.kv, uint64(token), leaf)
	if err != nil {
		return err
	}
	s.record(LeafUpdate{Tree: TreeBalances, Account: id, New: leaf, OldData: old, NewData: new(uint256.Int).Set(v)}, pr)
	return nil
}

func (s *State) setSlot(id uint32, model uint16, slot uint64, o OrderSlot) error {
	t := s.orderTree(id, model)
	leaf := o.Leaf()
	if s.flat {
		return t.SetLeaf(s.kv, slot, leaf)
	}
	if err := s.noteSubtree(subKey{TreeOrders, id, model}, t); err != nil {
		return err
	}
	pr, err := t.Update(s.kv, slot, leaf)
	if err != nil {
		return err
	}
	s.record(LeafUpdate{Tree: TreeOrders, Account: id, Model: model, New: leaf, OldData: slotFromLeaf(pr.Leaf), NewData: o}, pr)
	return nil
}

// setPosition writes a position; its leaf commits to the current order root,
// so order slots are written first.
func (s *State) setPosition(id uint32, model uint16, p *Position) error {
	if s.flat {
		return s.kv.Set(positionKey(id, model), p.encode())
	}
	old, err := s.Position(id, model)
	if err != nil {
		return err
	}
	or, err := s.orderTree(id, model).Root(s.kv)
	if err != nil {
		return err
	}
	leaf := PositionLeaf(p, or)
	t := s.positionTree(id)
	if err := s.noteSubtree(subKey{TreePositions, id, 0}, t); err != nil {
		return err
	}
	pr, err := t.Update(s.kv, uint64(model), leaf)
	if err != nil {
		return err
	}
	if err := s.kv.Set(positionKey(id, model), p.encode()); err != nil {
		return err
	}
	cp := *p
	oldOr := s.subRootBefore(subKey{TreeOrders, id, model}, or)
	s.record(LeafUpdate{Tree: TreePositions, Account: id, Model: model, New: leaf, OldData: old, NewData: &cp,
		OldSub: []fr.Element{oldOr}, NewSub: []fr.Element{or}}, pr)
	return nil
}

// setAccount writes an account leaf over its current subtree roots; it is the
// last write for an account in every transaction.
func (s *State) setAccount(id uint32, a *Account) error {
	if s.flat {
		return s.kv.Set(accountKey(id), a.encode())
	}
	var old Account
	if b, err := s.kv.Get(accountKey(id)); err != nil {
		return err
	} else if b != nil {
		if err := old.decode(b); err != nil {
			return err
		}
	}
	br, err := s.balanceTree(id).Root(s.kv)
	if err != nil {
		return err
	}
	pr, err := s.positionTree(id).Root(s.kv)
	if err != nil {
		return err
	}
	leaf := AccountLeaf(a, br, pr)
	proof, err := s.accounts.Update(s.kv, uint64(id), leaf)
	if err != nil {
		return err
	}
	if err := s.kv.Set(accountKey(id), a.encode()); err != nil {
		return err
	}
	cp := *a
	s.record(LeafUpdate{Tree: TreeAccounts, Account: id, New: leaf, OldData: &old, NewData: &cp,
		OldSub: []fr.Element{s.subRootBefore(subKey{TreeBalances, id, 0}, br), s.subRootBefore(subKey{TreePositions, id, 0}, pr)},
		NewSub: []fr.Element{br, pr}}, proof)
	return nil
}

func (s *State) setModel(id uint16, m *Model) error {
	if s.flat {
		return s.kv.Set(modelKey(id), m.encode())
	}
	old, err := s.Model(id)
	if err != nil && !m.Exists() {
		return err
	}
	leaf := ModelLeaf(m)
	pr, err := s.models.Update(s.kv, uint64(id), leaf)
	if err != nil {
		return err
	}
	if err := s.kv.Set(modelKey(id), m.encode()); err != nil {
		return err
	}
	cp := *m
	s.record(LeafUpdate{Tree: TreeModels, Model: id, New: leaf, OldData: old, NewData: &cp}, pr)
	return nil
}

// subKey names one subtree (balances or positions of an account, orders of a position).
type subKey struct {
	tree    TreeKind
	account uint32
	model   uint16
}

// noteSubtree remembers a subtree's root before this transaction's first
// write to it (one read), so the parent leaf's witness can carry it.
func (s *State) noteSubtree(k subKey, t *smt.Tree) error {
	if s.wit == nil {
		return nil
	}
	if _, ok := s.subOld[k]; ok {
		return nil
	}
	r, err := t.Root(s.kv)
	if err != nil {
		return err
	}
	s.subOld[k] = r
	return nil
}

// subRootBefore returns the root a subtree had before this transaction.
func (s *State) subRootBefore(k subKey, current fr.Element) fr.Element {
	if r, ok := s.subOld[k]; ok {
		return r
	}
	return current
}

// readBalance records a read of a balance leaf (an update that keeps it).
func (s *State) readBalance(id uint32, token uint16) error {
	if s.wit == nil {
		return nil
	}
	pr, err := s.balanceTree(id).Prove(s.kv, uint64(token))
	if err != nil {
		return err
	}
	v := balanceFromLeaf(pr.Leaf)
	s.record(LeafUpdate{Tree: TreeBalances, Account: id, New: pr.Leaf, OldData: v, NewData: new(uint256.Int).Set(v)}, pr)
	return nil
}

// readAccount records a read of an account leaf, which may be empty.
func (s *State) readAccount(id uint32) error {
	if s.wit == nil {
		return nil
	}
	var a Account
	if b, err := s.kv.Get(accountKey(id)); err != nil {
		return err
	} else if b != nil {
		if err := a.decode(b); err != nil {
			return err
		}
	}
	br, pr, err := s.Subroots(id)
	if err != nil {
		return err
	}
	proof, err := s.accounts.Prove(s.kv, uint64(id))
	if err != nil {
		return err
	}
	cp := a
	s.record(LeafUpdate{Tree: TreeAccounts, Account: id, New: proof.Leaf, OldData: &a, NewData: &cp,
		OldSub: []fr.Element{br, pr}, NewSub: []fr.Element{br, pr}}, proof)
	return nil
}

// readModel records a read of a model leaf (its accumulator is used).
func (s *State) readModel(id uint16, m *Model) error {
	if s.wit == nil {
		return nil
	}
	pr, err := s.models.Prove(s.kv, uint64(id))
	if err != nil {
		return err
	}
	cp := *m
	s.record(LeafUpdate{Tree: TreeModels, Model: id, New: pr.Leaf, OldData: &cp, NewData: &cp}, pr)
	return nil
}

// ProveAccount returns the Merkle proof of an account leaf (for exits).
func (s *State) ProveAccount(id uint32) (smt.Proof, error) { return s.accounts.Prove(s.kv, uint64(id)) }

// ProveBalance returns the Merkle proof of a balance leaf in an account's balance tree.
func (s *State) ProveBalance(id uint32, token uint16) (smt.Proof, error) {
	return s.balanceTree(id).Prove(s.kv, uint64(token))
}

// ProvePosition returns the proof of a position leaf in an account's position tree.
func (s *State) ProvePosition(id uint32, model uint16) (smt.Proof, error) {
	return s.positionTree(id).Prove(s.kv, uint64(model))
}

// ProveSlot returns the proof of an order-slot leaf in a position's order tree.
func (s *State) ProveSlot(id uint32, model uint16, slot uint64) (smt.Proof, error) {
	return s.orderTree(id, model).Prove(s.kv, slot)
}

// ProveModel returns the proof of a model leaf in the model tree.
func (s *State) ProveModel(model uint16) (smt.Proof, error) {
	return s.models.Prove(s.kv, uint64(model))
}

// Roots returns the two halves of the state root: C(account, model) = Root().
func (s *State) Roots() (account, model fr.Element, err error) {
	if s.flat {
		err = ErrFlatState
		return
	}
	if account, err = s.accounts.Root(s.kv); err != nil {
		return
	}
	model, err = s.models.Root(s.kv)
	return
}

// Subroots returns an account's balance and position roots.
func (s *State) Subroots(id uint32) (balance, position fr.Element, err error) {
	if balance, err = s.balanceTree(id).Root(s.kv); err != nil {
		return
	}
	position, err = s.positionTree(id).Root(s.kv)
	return
}

// FeeBook accumulates one batch's fees per base token; at most max distinct
// tokens (docs/protocol.md §7).
type FeeBook struct {
	max  int
	fees map[uint16]*uint256.Int
}

// NewFeeBook makes an empty book.
func NewFeeBook(max int) *FeeBook { return &FeeBook{max: max, fees: map[uint16]*uint256.Int{}} }

func (f *FeeBook) check(token uint16, fee *uint256.Int) error {
	if fee.IsZero() {
		return nil
	}
	if _, ok := f.fees[token]; !ok && len(f.fees) >= f.max {
		return fmt.Errorf("%w: %d tokens", types.ErrFeeAssetsFull, f.max)
	}
	return nil
}

func (f *FeeBook) add(token uint16, fee *uint256.Int) {
	if fee.IsZero() {
		return
	}
	if v, ok := f.fees[token]; ok {
		v.Add(v, fee)
		return
	}
	f.fees[token] = new(uint256.Int).Set(fee)
}

// Tokens lists collected fee tokens in ascending order.
func (f *FeeBook) Tokens() []uint16 {
	ts := make([]uint16, 0, len(f.fees))
	for t := range f.fees {
		ts = append(ts, t)
	}
	sort.Slice(ts, func(i, j int) bool { return ts[i] < ts[j] })
	return ts
}

// Amount is the fee collected in a token.
func (f *FeeBook) Amount(token uint16) *uint256.Int {
	if v, ok := f.fees[token]; ok {
		return new(uint256.Int).Set(v)
	}
	return new(uint256.Int)
}

// Reset empties the book for the next batch.
func (f *FeeBook) Reset() { f.fees = map[uint16]*uint256.Int{} }
