package circuits

import (
	"errors"
	"math/big"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/twistededwards"
	"github.com/consensys/gnark/frontend"
	"github.com/holiman/uint256"

	"github.com/modex/modex/bench/workload"
	"github.com/modex/modex/state"
	"github.com/modex/modex/types"
)

type cancelHarness = harness[CancelOrder, *CancelOrder]

// trCancel signs user's cancel of order id at the account's nonce.
func trCancel(t *testing.T, b *workload.Bench, user int, id uint32, fee uint64) *types.CancelOrder {
	t.Helper()
	nonce, err := b.Nonce(user)
	if err != nil {
		t.Fatal(err)
	}
	tx := &types.CancelOrder{Account: b.Acct[user], Model: 1, OrderID: id, Fee: *uint256.NewInt(fee), Nonce: nonce}
	if err := types.SignTx(b.Keys[user], b.D, tx); err != nil {
		t.Fatal(err)
	}
	return tx
}

// trApplyCancel applies a cancel natively and proves it through the harness.
func trApplyCancel(t *testing.T, b *workload.Bench, tx *types.CancelOrder) (*state.Receipt, CancelOrder) {
	t.Helper()
	r, err := b.Add(tx)
	if err != nil {
		t.Fatalf("native cancel: %v", err)
	}
	g, err := AssignCancelOrder(tx, r.Witness)
	if err != nil {
		t.Fatal(err)
	}
	shape, full := newHarness[CancelOrder](b.P, b.D, b.TS, NewCancelOrder(b.P), g, r)
	if err := solved(t, shape, full); err != nil {
		t.Fatalf("native cancel refused: %v", err)
	}
	return r, g
}

type trCancelTamper struct {
	name    string
	noRoots bool
	tx      func(tx *types.CancelOrder) // re-signed replacement of the native cancel
	tamper  func(h *cancelHarness)
}

func trRunCancelTampers(t *testing.T, b *workload.Bench, native *types.CancelOrder, r *state.Receipt, g CancelOrder, cases []trCancelTamper) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cg := g
			cg.Model.Siblings = append([]frontend.Variable(nil), g.Model.Siblings...)
			cg.Account = cloneAccount(g.Account)
			shape, bad := newHarness[CancelOrder](b.P, b.D, b.TS, NewCancelOrder(b.P), cg, r)
			bad.noRoots, shape.noRoots = c.noRoots, c.noRoots
			if c.tx != nil {
				tx := *native
				c.tx(&tx)
				user := -1
				for u, id := range b.Acct {
					if id == tx.Account {
						user = u
					}
				}
				if err := types.SignTx(b.Keys[user], b.D, &tx); err != nil {
					t.Fatal(err)
				}
				tg, err := AssignCancelOrder(&tx, r.Witness)
				if err != nil {
					t.Fatal(err)
				}
				bad.G.OrderID, bad.G.FeeRaw, bad.G.Sig = tg.OrderID, tg.FeeRaw, tg.Sig
				bad.Pubdata = trPubdataBits(t, &tx)
			} else if err := solved(t, shape, bad); err != nil {
				t.Fatalf("untampered witness refused: %v", err)
			}
			if c.tamper != nil {
				c.tamper(bad)
			}
			err := solved(t, shape, bad)
			if err == nil {
				t.Fatal("tampered witness accepted")
			}
			if testing.Verbose() {
				t.Logf("refused: %.400s", err)
			}
		})
	}
}

// TestCancelOrder: native cancels (of an empty slot, of a partly filled
// order, of a newer order over an older one) are proven with the native
// roots, pubdata and fee; each tampered witness is refused. Tampers of the
// account's leaves (the last update) run without the root check.
func TestCancelOrder(t *testing.T) {
	b := kindWorld(t)
	const user = 2
	step := uint32(1) << b.P.OrderDepth
	// an empty slot
	c1 := trCancel(t, b, user, 3, 1)
	trApplyCancel(t, b, c1)
	// a partly filled order: the slot holds (6, 10)
	sell, err := b.Order(user, 1, types.Sell, 6, 30, 100, 50)
	if err != nil {
		t.Fatal(err)
	}
	buy, err := b.Order(3, 1, types.Buy, 6, 30, 100, 50)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Add(&types.Trade{Buy: buy, Sell: sell, Fill: 10, Price: *uint256.NewInt(100)}); err != nil {
		t.Fatal(err)
	}
	c2 := trCancel(t, b, user, 6, 1)
	r2, g2 := trApplyCancel(t, b, c2)
	// a newer order over the cancelled one (slot (6, closed)), with no fee
	c3 := trCancel(t, b, user, 6+step, 0)
	r3, g3 := trApplyCancel(t, b, c3)
	for _, c := range []struct {
		id   uint32
		want error
	}{{6 + step, types.ErrOrderClosed}, {6, types.ErrOrderSlotTaken}} {
		if _, err := b.Add(trCancel(t, b, user, c.id, 1)); !errors.Is(err, c.want) {
			t.Fatalf("native cancel of %d: got %v, want %v", c.id, err, c.want)
		}
	}

	order := twistededwards.GetEdwardsCurve().Order
	closed := new(big.Int).SetUint64(state.SlotClosed)
	trRunCancelTampers(t, b, c2, r2, g2, []trCancelTamper{
		{name: "nonce reused", tamper: func(h *cancelHarness) { h.G.Account.New.Nonce = h.G.Account.Old.Nonce }},
		{name: "S+l", tamper: func(h *cancelHarness) { h.G.Sig.S = new(big.Int).Add(toBigBytes(h.G.Sig.S), &order) }},
		{name: "order id altered after signing", noRoots: true, tamper: func(h *cancelHarness) {
			h.G.OrderID = addBig(h.G.OrderID, int64(step))
			h.G.Account.Positions[0].Slots[0].New.OrderID = h.G.OrderID
		}},
		{name: "fee altered after signing", noRoots: true, tamper: func(h *cancelHarness) {
			h.G.FeeRaw = addBig(h.G.FeeRaw, 1) // fee 1 → 2, charged
			h.G.Account.Balances[0].New = addBig(h.G.Account.Balances[0].New, -1)
		}},
		{name: "signed by another account's key", tamper: func(h *cancelHarness) {
			tx := *c2
			if err := types.SignTx(b.Keys[3], b.D, &tx); err != nil {
				t.Fatal(err)
			}
			sig, err := AssignSignature(tx.Signature)
			if err != nil {
				t.Fatal(err)
			}
			h.G.Sig = sig
		}},
		{name: "slot left open", noRoots: true, tamper: func(h *cancelHarness) {
			h.G.Account.Positions[0].Slots[0].New.Filled = h.G.Account.Positions[0].Slots[0].Old.Filled
		}},
		{name: "slot index is not the order id's", noRoots: true, tamper: func(h *cancelHarness) {
			s := &h.G.Account.Positions[0].Slots[0]
			s.Slot = addBig(s.Slot, 1)
		}},
		{name: "position shares moved", noRoots: true, tamper: func(h *cancelHarness) {
			p := &h.G.Account.Positions[0]
			p.New.Shares = addBig(p.New.Shares, 1)
		}},
		{name: "fee not charged", noRoots: true, tamper: func(h *cancelHarness) {
			h.G.Account.Balances[0].New = h.G.Account.Balances[0].Old
		}},
		{name: "model changed during the read", tamper: func(h *cancelHarness) { h.G.Model.New.DAO = addBig(h.G.Model.New.DAO, 1) }},
	})
	// over the cancelled slot (6, closed)
	trRunCancelTampers(t, b, c3, r3, g3, []trCancelTamper{
		{name: "order already cancelled", noRoots: true, tx: func(tx *types.CancelOrder) { tx.OrderID = 6 }, tamper: func(h *cancelHarness) {
			h.G.Account.Positions[0].Slots[0].New = SlotVars{OrderID: 6, Filled: closed}
		}},
		{name: "slot holds a newer order id", noRoots: true, tx: func(tx *types.CancelOrder) { tx.OrderID = 2 }, tamper: func(h *cancelHarness) {
			h.G.Account.Positions[0].Slots[0].New = SlotVars{OrderID: 2, Filled: closed}
		}},
	})
}
