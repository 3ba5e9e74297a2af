package types

import (
	"github.com/ethereum/go-ethereum/common"
	"github.com/holiman/uint256"
)

// Deposit comes from the L1 priority queue (docs/protocol.md §5.1): it
// credits Account, which the bridge contract assigned to the pair (L1Address,
// PubKey) when the pair first deposited (ids are sequential on L1, so the
// circuit never has to prove a pair is new). Refused is set by apply when the
// deposit cannot be credited (the bridge then refunds it on L1).
type Deposit struct {
	PriorityID uint64
	Account    uint32
	L1Address  common.Address
	PubKey     PubKey
	Token      uint16
	Amount     uint256.Int
	// filled in by apply
	Refused bool
}

func (*Deposit) Kind() Kind         { return KindDeposit }
func (*Deposit) family() Family     { return FamilyPriority }
func (t *Deposit) Priority() uint64 { return t.PriorityID }

// CheckWidths: the bridge queues only 24-bit ids and amounts below 2^96.
func (t *Deposit) CheckWidths() error {
	return firstErr(
		checkBits(uint64(t.Account), AccountBits, ErrAccountRange, "account"),
		checkAmountBits(&t.Amount, AmountBits, "deposit amount"))
}

func (t *Deposit) wire(c fieldCodec) {
	c.U64(&t.PriorityID, 64)
	c.U32(&t.Account, AccountBits)
	c.Addr(&t.L1Address)
	pubKey(c, &t.PubKey)
	c.U16(&t.Token, BaseAssetBits)
	c.U256(&t.Amount, 256)
}

func (t *Deposit) pubdata(c fieldCodec) {
	c.Flag(&t.Refused)
	c.U32(&t.Account, AccountBits)
	c.U16(&t.Token, BaseAssetBits)
	c.U256(&t.Amount, AmountBits)
	c.Addr(&t.L1Address)
	pubKey(c, &t.PubKey)
}
