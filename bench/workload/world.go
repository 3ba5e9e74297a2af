package workload

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"

	"github.com/ethereum/go-ethereum/common"
	"github.com/holiman/uint256"

	"github.com/modex/modex/state"
	"github.com/modex/modex/state/store"
	"github.com/modex/modex/types"
)

// DevDomain is the signing domain of local runs (the devnet's chain id 31337).
var DevDomain = types.Domain{ChainID: 31337, Bridge: common.HexToAddress("0x00000000000000000000000000000000000b1d6e")}

// World is a rollup with deterministic users. User 0 is the operator: its
// first deposit creates account 0, the fee account.
type World struct {
	DB      *state.DB
	P       types.Params
	D       types.Domain
	Keys    []*types.PrivateKey
	Acct    map[int]uint32 // user -> account id
	Batch   *state.Batch
	Prio    uint64
	TS      uint64
	Headers []state.Header // of every batch sealed (witnesses are not kept: they are large)

	// OnSeal, if set, sees every batch Seal seals, including those Add seals
	// when a transaction of another family arrives.
	OnSeal func(*state.SealedBatch)

	// the bridge's account assignment: the first deposit of an (L1 address,
	// key) pair gets the next id
	bridgeIDs map[pairKey]uint32
	nextID    uint32
}

type pairKey struct {
	addr common.Address
	key  types.PubKey
}

// AccountFor returns the account id the bridge assigns to the pair, assigning
// the next one on first use.
func (w *World) AccountFor(addr common.Address, pk types.PubKey) uint32 {
	k := pairKey{addr, pk}
	id, ok := w.bridgeIDs[k]
	if !ok {
		id = w.nextID
		w.bridgeIDs[k] = id
		w.nextID++
	}
	return id
}

type seeded struct{ r *rand.ChaCha8 }

func (s seeded) Read(p []byte) (int, error) { return s.r.Read(p) }

// Key returns user i's deterministic key.
func Key(i int) (*types.PrivateKey, error) {
	var seed [32]byte
	seed[0], seed[1] = byte(i), byte(i>>8)
	return types.GenerateKey(seeded{rand.NewChaCha8(seed)})
}

// Addr returns user i's L1 address: 0xAA, then i+1 in the low 8 bytes.
func Addr(i int) common.Address {
	var a common.Address
	a[0] = 0xAA
	binary.BigEndian.PutUint64(a[12:], uint64(i)+1)
	return a
}

// NewWorld opens a state DB with the options and makes `users` keys.
func NewWorld(p types.Params, opts store.Options, users int) (*World, error) {
	db, err := state.Open(p, DevDomain, opts)
	if err != nil {
		return nil, err
	}
	w := &World{DB: db, P: p, D: DevDomain, Acct: map[int]uint32{}, TS: 1_700_000_000, bridgeIDs: map[pairKey]uint32{}}
	for i := 0; i < users; i++ {
		k, err := Key(i)
		if err != nil {
			return nil, err
		}
		w.Keys = append(w.Keys, k)
	}
	if err := w.open(); err != nil {
		return nil, err
	}
	return w, nil
}

// Close discards the open batch and closes the DB.
func (w *World) Close() error {
	w.Batch.Discard()
	return w.DB.Close()
}

func (w *World) open() error {
	b, err := w.DB.NewBatch(w.TS)
	if err != nil {
		return err
	}
	w.Batch = b
	return nil
}

// State is the open batch's state.
func (w *World) State() *state.State { return w.Batch.State() }

// Add applies tx in the open batch, sealing first when the batch is full, out
// of fee tokens, or of another family than tx (docs/protocol.md §8).
func (w *World) Add(tx types.Tx) (*state.Receipt, error) {
	r, err := w.Batch.Add(tx)
	if errors.Is(err, state.ErrBatchFull) || errors.Is(err, types.ErrFeeAssetsFull) || errors.Is(err, state.ErrFamily) {
		if _, err := w.Seal(); err != nil {
			return nil, err
		}
		r, err = w.Batch.Add(tx)
	}
	return r, err
}

// Seal seals the open batch and opens the next one, 12 seconds later.
func (w *World) Seal() (*state.SealedBatch, error) {
	sb, err := w.Batch.Seal()
	if err != nil {
		return nil, err
	}
	w.Headers = append(w.Headers, sb.Header)
	if w.OnSeal != nil {
		w.OnSeal(sb)
	}
	w.TS += 12
	return sb, w.open()
}

// DepositTx builds user's next deposit (not applied), with the account id the
// bridge assigns.
func (w *World) DepositTx(user int, token uint16, amount *uint256.Int) *types.Deposit {
	pk := types.PublicKeyOf(w.Keys[user])
	d := &types.Deposit{PriorityID: w.Prio, Account: w.AccountFor(Addr(user), pk), L1Address: Addr(user), PubKey: pk, Token: token}
	d.Amount.Set(amount)
	return d
}

// Deposit credits user, creating the account on first use.
func (w *World) Deposit(user int, token uint16, amount uint64) error {
	d := w.DepositTx(user, token, uint256.NewInt(amount))
	if _, err := w.Add(d); err != nil {
		return err
	}
	w.Prio++
	if d.Refused {
		return fmt.Errorf("deposit of user %d refused", user)
	}
	w.Acct[user] = d.Account
	return nil
}

// Nonce is user's current account nonce.
func (w *World) Nonce(user int) (uint32, error) {
	a, err := w.State().Account(w.Acct[user])
	if err != nil {
		return 0, err
	}
	return a.Nonce, nil
}

// Sign signs tx as user.
func (w *World) Sign(user int, tx types.SignedTx) (types.SignedTx, error) {
	return tx, types.SignTx(w.Keys[user], w.D, tx)
}

// Order makes a signed order of user, valid for an hour.
func (w *World) Order(user int, model uint16, side types.Side, id uint32, amount, price uint64, maxFee uint8) (types.Order, error) {
	o := types.Order{Account: w.Acct[user], Model: model, Side: side, OrderID: id, Amount: amount,
		MaxFeeBips: maxFee, ValidUntil: uint32(w.TS + 3600)}
	o.Price.SetUint64(price)
	return o, types.SignOrder(w.Keys[user], w.D, &o)
}
