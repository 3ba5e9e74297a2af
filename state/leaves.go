package state

import (
	"encoding/binary"
	"fmt"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/ethereum/go-ethereum/common"
	"github.com/holiman/uint256"

	"github.com/modex/modex/types"
)

// Leaf layouts (docs/protocol.md §3). Most fields are hash inputs of their
// own (Compress4), so a leaf's hash binds each field by itself and the circuit
// range-checks a field only where it writes it. A few small fields are packed
// into one element as Σ field·2^offset (offsets below); the circuit rebuilds
// those linear combinations from fields it range-checks on every read and
// write, since only bounded fields make a packing unique.

// Account is an account leaf's preimage (its two subtree roots live in the trees).
type Account struct {
	PubKey    types.PubKey
	Nonce     uint32
	L1Address common.Address
}

// AccountLeaf = C4(C4(pkX, pkY, nonce, l1Address), balanceRoot, positionRoot, 0).
func AccountLeaf(a *Account, balanceRoot, positionRoot fr.Element) fr.Element {
	var addr fr.Element
	addr.SetBytes(a.L1Address[:])
	return types.Compress4(types.Compress4(a.PubKey.X, a.PubKey.Y, types.FromUint64(uint64(a.Nonce)), addr),
		balanceRoot, positionRoot, fr.Element{})
}

// Position is an account's holding in one model: shares, credits and revenue state.
type Position struct {
	Shares  uint64      // < 2^64
	Credits uint64      // < 2^64
	LastAcc uint256.Int // model accumulator at the last settlement, < 2^160
	Pending uint256.Int // unclaimed revenue × 10^18, < 2^224
}

// PositionLeaf = C4(shares + credits·2^64, lastAcc, pending, orderRoot).
func PositionLeaf(p *Position, orderRoot fr.Element) fr.Element {
	p1 := new(uint256.Int).Lsh(uint256.NewInt(p.Credits), types.ShareBits)
	p1.Or(p1, uint256.NewInt(p.Shares))
	return types.Compress4(types.Elem(p1), types.Elem(&p.LastAcc), types.Elem(&p.Pending), orderRoot)
}

// Model is a registered model's leaf preimage.
type Model struct {
	DAO         uint32 // 24 bits
	QuoteToken  uint16
	HolderBps   uint16 // 14 bits, <= 10,000
	Supply      uint64
	MaxSupply   uint64
	Acc         uint256.Int // revenue per share × 10^18, < 2^160
	Carry       uint256.Int // remainder of the last distribution, < Supply
	CreditPrice uint256.Int // < 2^96
	Treasury    uint256.Int // DAO's unclaimed revenue, < 2^96
	Weights     fr.Element
	Metadata    fr.Element
}

// Exists reports whether the slot holds a model (supply is never 0 once created).
func (m *Model) Exists() bool { return m.Supply != 0 }

// ModelLeaf = C4(C4(m1, acc, carry, creditPrice), treasury, weights, metadata)
// with m1 = dao + quote·2^24 + bps·2^40 + supply·2^54 + maxSupply·2^118.
func ModelLeaf(m *Model) fr.Element {
	m1 := uint256.NewInt(m.MaxSupply)
	m1.Lsh(m1, 64).Or(m1, uint256.NewInt(m.Supply))
	m1.Lsh(m1, types.BpsBits).Or(m1, uint256.NewInt(uint64(m.HolderBps)))
	m1.Lsh(m1, types.BaseAssetBits).Or(m1, uint256.NewInt(uint64(m.QuoteToken)))
	m1.Lsh(m1, types.AccountBits).Or(m1, uint256.NewInt(uint64(m.DAO)))
	return types.Compress4(types.Compress4(types.Elem(m1), types.Elem(&m.Acc), types.Elem(&m.Carry), types.Elem(&m.CreditPrice)),
		types.Elem(&m.Treasury), m.Weights, m.Metadata)
}

// OrderSlot is an order-slot leaf: the latest order id using the slot and how
// much of it is filled. Filled == SlotClosed marks a cancelled order.
type OrderSlot struct {
	OrderID uint32
	Filled  uint64
}

// SlotClosed is the fill value a cancel writes: no order amount exceeds it.
const SlotClosed = ^uint64(0)

// Leaf = orderID + filled·2^24 (the leaf is the packed element itself).
func (o OrderSlot) Leaf() fr.Element {
	v := uint256.NewInt(o.Filled)
	v.Lsh(v, types.OrderIDBits).Or(v, uint256.NewInt(uint64(o.OrderID)))
	return types.Elem(v)
}

func slotFromLeaf(e fr.Element) OrderSlot {
	b := e.Bytes()
	v := new(uint256.Int).SetBytes(b[:])
	id := uint32(v.Uint64() & (1<<types.OrderIDBits - 1))
	v.Rsh(v, types.OrderIDBits)
	return OrderSlot{OrderID: id, Filled: v.Uint64()}
}

// BalanceLeaf is the balance itself.
func BalanceLeaf(v *uint256.Int) fr.Element { return types.Elem(v) }

func balanceFromLeaf(e fr.Element) *uint256.Int {
	b := e.Bytes()
	return new(uint256.Int).SetBytes(b[:])
}

// Storage encodings of leaf preimages (not hashed; fixed sizes).

func (a *Account) encode() []byte {
	b := make([]byte, 0, 88)
	x, y := a.PubKey.X.Bytes(), a.PubKey.Y.Bytes()
	b = append(b, x[:]...)
	b = append(b, y[:]...)
	b = binary.BigEndian.AppendUint32(b, a.Nonce)
	return append(b, a.L1Address[:]...)
}

func (a *Account) decode(b []byte) error {
	if len(b) != 88 {
		return fmt.Errorf("state: account record of %d bytes", len(b))
	}
	var err error
	if a.PubKey.X, err = types.ElemFromBytes(b[:32]); err != nil {
		return err
	}
	if a.PubKey.Y, err = types.ElemFromBytes(b[32:64]); err != nil {
		return err
	}
	a.Nonce = binary.BigEndian.Uint32(b[64:68])
	copy(a.L1Address[:], b[68:])
	return nil
}

func (p *Position) encode() []byte {
	b := make([]byte, 0, 80)
	b = binary.BigEndian.AppendUint64(b, p.Shares)
	b = binary.BigEndian.AppendUint64(b, p.Credits)
	l, q := p.LastAcc.Bytes32(), p.Pending.Bytes32()
	b = append(b, l[:]...)
	return append(b, q[:]...)
}

func (p *Position) decode(b []byte) error {
	if len(b) != 80 {
		return fmt.Errorf("state: position record of %d bytes", len(b))
	}
	p.Shares = binary.BigEndian.Uint64(b[:8])
	p.Credits = binary.BigEndian.Uint64(b[8:16])
	p.LastAcc.SetBytes(b[16:48])
	p.Pending.SetBytes(b[48:80])
	return nil
}

func (m *Model) encode() []byte {
	b := make([]byte, 0, 256)
	b = binary.BigEndian.AppendUint32(b, m.DAO)
	b = binary.BigEndian.AppendUint16(b, m.QuoteToken)
	b = binary.BigEndian.AppendUint16(b, m.HolderBps)
	b = binary.BigEndian.AppendUint64(b, m.Supply)
	b = binary.BigEndian.AppendUint64(b, m.MaxSupply)
	for _, v := range []*uint256.Int{&m.Acc, &m.Carry, &m.CreditPrice, &m.Treasury} {
		x := v.Bytes32()
		b = append(b, x[:]...)
	}
	w, md := m.Weights.Bytes(), m.Metadata.Bytes()
	b = append(b, w[:]...)
	return append(b, md[:]...)
}

func (m *Model) decode(b []byte) error {
	if len(b) != 24+6*32 {
		return fmt.Errorf("state: model record of %d bytes", len(b))
	}
	m.DAO = binary.BigEndian.Uint32(b[:4])
	m.QuoteToken = binary.BigEndian.Uint16(b[4:6])
	m.HolderBps = binary.BigEndian.Uint16(b[6:8])
	m.Supply = binary.BigEndian.Uint64(b[8:16])
	m.MaxSupply = binary.BigEndian.Uint64(b[16:24])
	o := 24
	for _, v := range []*uint256.Int{&m.Acc, &m.Carry, &m.CreditPrice, &m.Treasury} {
		v.SetBytes(b[o : o+32])
		o += 32
	}
	var err error
	if m.Weights, err = types.ElemFromBytes(b[o : o+32]); err != nil {
		return err
	}
	m.Metadata, err = types.ElemFromBytes(b[o+32 : o+64])
	return err
}
