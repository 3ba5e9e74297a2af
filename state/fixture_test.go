package state

import (
	"errors"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/ethereum/go-ethereum/common"
	"github.com/holiman/uint256"

	"github.com/modex/modex/state/store"
	"github.com/modex/modex/types"
)

// world is a test rollup: an in-memory store, deterministic user keys and an
// open batch. User 0 is the operator, whose first deposit creates account 0,
// the fee account.
type world struct {
	t      testing.TB
	db     *DB
	p      types.Params
	d      types.Domain
	keys   []*types.PrivateKey
	acct   map[int]uint32 // user -> account id
	batch  *Batch
	prio   uint64
	ts     uint64
	sealed []*SealedBatch

	bridgeIDs map[string]uint32 // the bridge's account assignment per (address, key)
	nextID    uint32
}

// accountFor is the id the bridge assigns to a pair: the next one on first use.
func (w *world) accountFor(addr common.Address, pk types.PubKey) uint32 {
	x, y := pk.X.Bytes(), pk.Y.Bytes()
	k := string(addr[:]) + string(x[:]) + string(y[:])
	id, ok := w.bridgeIDs[k]
	if !ok {
		id = w.nextID
		w.bridgeIDs[k] = id
		w.nextID++
	}
	return id
}

var testDomain = types.Domain{ChainID: 31337, Bridge: common.HexToAddress("0x00000000000000000000000000000000000b1d6e")}

type seededReader struct{ r *rand.ChaCha8 }

func (s seededReader) Read(p []byte) (int, error) { return s.r.Read(p) }

func testKey(t testing.TB, i int) *types.PrivateKey {
	var seed [32]byte
	seed[0], seed[1] = byte(i), byte(i>>8)
	k, err := types.GenerateKey(seededReader{rand.NewChaCha8(seed)})
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func userAddr(i int) common.Address {
	var a common.Address
	a[0], a[18], a[19] = 0xAA, byte(i>>8), byte(i)+1
	return a
}

func newWorld(t testing.TB, p types.Params, users int) *world {
	t.Helper()
	db, err := Open(p, testDomain, store.Options{InMemory: true, KeepBatches: 16})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	w := &world{t: t, db: db, p: p, d: testDomain, acct: map[int]uint32{}, ts: 1_700_000_000, bridgeIDs: map[string]uint32{}}
	for i := 0; i < users; i++ {
		w.keys = append(w.keys, testKey(t, i))
	}
	w.open()
	return w
}

func (w *world) open() {
	w.t.Helper()
	b, err := w.db.NewBatch(w.ts)
	if err != nil {
		w.t.Fatal(err)
	}
	w.batch = b
}

// st is the open batch's state.
func (w *world) st() *State { return w.batch.State() }

// add applies tx in the open batch, sealing first when it is full.
func (w *world) add(tx types.Tx) (*Receipt, error) {
	w.t.Helper()
	r, err := w.batch.Add(tx)
	if errors.Is(err, ErrBatchFull) || errors.Is(err, types.ErrFeeAssetsFull) || errors.Is(err, ErrFamily) {
		w.seal()
		r, err = w.batch.Add(tx)
	}
	return r, err
}

// fit seals the open batch when it holds transactions of another family
// than tx (docs/protocol.md §8), so that a direct w.batch.Add(tx) meets the
// rules of tx's own kind rather than ErrFamily. A nil transaction or a Noop
// (no family) leaves the batch as it is.
func (w *world) fit(tx types.Tx) {
	w.t.Helper()
	if tx == nil || reflect.ValueOf(tx).IsNil() {
		return
	}
	if f := types.FamilyOf(tx); f != types.FamilyNone && w.batch.Len() > 0 && w.batch.header.Family != f {
		w.seal()
	}
}

func (w *world) mustAdd(tx types.Tx) *Receipt {
	w.t.Helper()
	r, err := w.add(tx)
	if err != nil {
		w.t.Fatalf("apply %s: %v", tx.Kind(), err)
	}
	if err := VerifyWitness(w.p, r.Witness); err != nil {
		w.t.Fatalf("witness of %s: %v", tx.Kind(), err)
	}
	return r
}

func (w *world) seal() *SealedBatch {
	w.t.Helper()
	sb, err := w.batch.Seal()
	if err != nil {
		w.t.Fatal(err)
	}
	w.sealed = append(w.sealed, sb)
	w.ts += 12
	w.open()
	return sb
}

func (w *world) depositTx(user int, token uint16, amount uint64) *types.Deposit {
	pk := types.PublicKeyOf(w.keys[user])
	d := &types.Deposit{PriorityID: w.prio, Account: w.accountFor(userAddr(user), pk), L1Address: userAddr(user), PubKey: pk, Token: token}
	d.Amount.SetUint64(amount)
	return d
}

// deposit credits a user, creating the account on first use.
func (w *world) deposit(user int, token uint16, amount uint64) {
	w.t.Helper()
	d := w.depositTx(user, token, amount)
	w.mustAdd(d)
	w.prio++
	if d.Refused {
		w.t.Fatalf("deposit refused")
	}
	w.acct[user] = d.Account
}

func (w *world) nonce(user int) uint32 {
	a, err := w.st().Account(w.acct[user])
	if err != nil {
		w.t.Fatal(err)
	}
	return a.Nonce
}

// sign fills nonce-independent signing for an L2 tx of a user.
func (w *world) sign(user int, tx types.SignedTx) types.SignedTx {
	w.t.Helper()
	if err := types.SignTx(w.keys[user], w.d, tx); err != nil && tx.CheckWidths() == nil { // a too-wide field has no message: unsigned
		w.t.Fatal(err)
	}
	return tx
}

func (w *world) order(user int, model uint16, side types.Side, id uint32, amount, price uint64, maxFee uint8) types.Order {
	w.t.Helper()
	o := types.Order{Account: w.acct[user], Model: model, Side: side, OrderID: id, Amount: amount,
		MaxFeeBips: maxFee, ValidUntil: uint32(w.ts + 3600)}
	o.Price.SetUint64(price)
	if err := types.SignOrder(w.keys[user], w.d, &o); err != nil && o.CheckWidths() == nil {
		w.t.Fatal(err)
	}
	return o
}

func (w *world) balance(user int, token uint16) uint64 {
	w.t.Helper()
	b, err := w.st().Balance(w.acct[user], token)
	if err != nil {
		w.t.Fatal(err)
	}
	return b.Uint64()
}

func (w *world) position(user int, model uint16) *Position {
	w.t.Helper()
	p, err := w.st().Position(w.acct[user], model)
	if err != nil {
		w.t.Fatal(err)
	}
	return p
}

func u256(v uint64) uint256.Int { return *uint256.NewInt(v) }

func elem(v uint64) fr.Element { return types.FromUint64(v) }
