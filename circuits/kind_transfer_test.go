package circuits

import (
	"math/big"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/twistededwards"

	"github.com/modex/modex/types"
)

type transferHarness = harness[TransferBase, *TransferBase]

// TestTransferBase: a native base transfer is proven by the gadget with the
// native roots, pubdata and fee; each tampered witness is refused. Tampers of
// the receiver (the last update) run without the root check, so only the
// rule under test can refuse them.
func TestTransferBase(t *testing.T) {
	b := kindWorld(t)
	st, err := b.Next(types.KindTransfer, 0)
	if err != nil {
		t.Fatal(err)
	}
	tx := st.Tx.(*types.Transfer)
	r, err := b.Add(tx)
	if err != nil {
		t.Fatal(err)
	}
	g, err := AssignTransferBase(tx, r.Witness)
	if err != nil {
		t.Fatal(err)
	}
	shape, full := newHarness[TransferBase](b.P, b.D, b.TS, NewTransferBase(b.P), g, r)
	if err := solved(t, shape, full); err != nil {
		t.Fatalf("native transfer refused: %v", err)
	}
	order := twistededwards.GetEdwardsCurve().Order
	minusOne := new(big.Int).Sub(field, big.NewInt(1))
	two96 := new(big.Int).Lsh(big.NewInt(1), 96)
	cases := []struct {
		name    string
		noRoots bool
		tamper  func(h *transferHarness)
	}{
		{"receiver balance at old + 2^96", true, func(h *transferHarness) {
			h.G.To.Balances[0].New = new(big.Int).Add(toBig(h.G.To.Balances[0].New), two96)
		}},
		{"receiver credited more than sent", true, func(h *transferHarness) {
			h.G.To.Balances[0].New = addBig(h.G.To.Balances[0].New, 1)
		}},
		{"receiver nonce moved", true, func(h *transferHarness) { h.G.To.New.Nonce = addBig(h.G.To.New.Nonce, 1) }},
		{"receiver key swapped", true, func(h *transferHarness) { h.G.To.New.PkX = h.G.From.Old.PkX }},
		{"sender balance wraps negative", false, func(h *transferHarness) { h.G.From.Balances[0].New = minusOne }},
		{"nonce reused", false, func(h *transferHarness) { h.G.From.New.Nonce = h.G.From.Old.Nonce }},
		{"nonce skipped", false, func(h *transferHarness) { h.G.From.New.Nonce = addBig(h.G.From.Old.Nonce, 2) }},
		{"S+l", false, func(h *transferHarness) { h.G.Sig.S = new(big.Int).Add(toBigBytes(h.G.Sig.S), &order) }},
		{"amount altered after signing", false, func(h *transferHarness) { h.G.AmountRaw = addBig(h.G.AmountRaw, 1) }},
		{"fee altered after signing", false, func(h *transferHarness) { h.G.FeeRaw = addBig(h.G.FeeRaw, 1) }},
		{"amount 1000 as 100·10^1 (non-canonical)", false, func(h *transferHarness) {
			h.G.AmountRaw = new(big.Int).Or(new(big.Int).Lsh(big.NewInt(1), 33), big.NewInt(100))
		}},
		{"receiver is the sender", false, func(h *transferHarness) { h.G.To.ID = h.G.From.ID }},
		{"token differs from the balance leaf", false, func(h *transferHarness) { h.G.Token = addBig(h.G.Token, 1) }},
	}
	if tx.Amount.Uint64() != 1000 {
		t.Fatalf("the non-canonical case assumes the bench's amount 1000, got %d", tx.Amount.Uint64())
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, bad := newHarness[TransferBase](b.P, b.D, b.TS, NewTransferBase(b.P), g, r)
			bad.G.From, bad.G.To = cloneAccount(g.From), cloneAccount(g.To)
			bad.noRoots = c.noRoots
			sh := *shape
			sh.noRoots = c.noRoots
			if err := solved(t, &sh, bad); err != nil {
				t.Fatalf("untampered witness refused: %v", err)
			}
			c.tamper(bad)
			if err := solved(t, &sh, bad); err == nil {
				t.Fatal("tampered witness accepted")
			}
		})
	}
}
