package circuits

import (
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/holiman/uint256"

	"github.com/modex/modex/bench/workload"
	"github.com/modex/modex/types"
)

// tamperWorld seals a Transfer batch with fees in two tokens (slots 0–1 used,
// slot 2 empty) and a Priority batch (a deposit and a forced withdrawal).
func tamperWorld(t *testing.T) *bworld {
	p := types.TestParams()
	p.BatchCapacity = 3
	p.MaxFeeAssets = 2
	w := newBWorld(t, p, 4)
	for u := 0; u < 3; u++ {
		for tok := uint16(0); tok < 2; tok++ {
			w.deposit(u, tok, 1000)
		}
	}
	w.seal()
	for _, tok := range []uint16{0, 1} {
		tx := &types.Transfer{From: 1, To: 2, Asset: types.BaseAsset(tok), Amount: *uint256.NewInt(10), Fee: *uint256.NewInt(3)}
		if _, err := w.signed(1, tx); err != nil {
			t.Fatal(err)
		}
	}
	w.seal()
	w.deposit(3, 0, 5)
	if _, err := w.add(&types.ForcedWithdraw{PriorityID: w.prio, Requester: workload.Addr(2), Account: 2, Token: 1}); err != nil {
		t.Fatal(err)
	}
	w.prio++
	w.seal()
	return w
}

func fe(x uint64) fr.Element { return types.FromUint64(x) }

// TestBatchTampered: batch-level cheats on a valid assignment must fail,
// each against a control that passes.
func TestBatchTampered(t *testing.T) {
	w := tamperWorld(t)
	transfers, priority := w.sealed[len(w.sealed)-2], w.sealed[len(w.sealed)-1]
	if len(transfers.Txs) != 2 || len(priority.Txs) != 2 {
		t.Fatalf("fixture: %d transfers, %d priority operations", len(transfers.Txs), len(priority.Txs))
	}
	assign := func(sb any) *Batch {
		c, err := AssignBatch(w.p, w.d, w.sealed[sb.(int)])
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	ti, pi := len(w.sealed)-2, len(w.sealed)-1
	for _, i := range []int{ti, pi} {
		if err := solveBatch(t, assign(i)); err != nil {
			t.Fatalf("control batch %d: %v", i, err)
		}
	}
	cases := []struct {
		name  string
		batch int
		mut   func(c *Batch)
	}{
		{"public input + 1", ti, func(c *Batch) {
			x := c.PublicInput.(fr.Element)
			c.PublicInput = *x.Add(&x, new(fr.Element).SetOne())
		}},
		{"a transaction dropped (selector 0, its own roots as the free input)", ti, func(c *Batch) {
			c.Sel[1][0] = 0
			c.FreeAccount[1][0], c.FreeModel[1][0] = w.sealed[ti].Witnesses[1].AccountRoot, w.sealed[ti].Witnesses[1].ModelRoot
		}},
		{"selector 2", ti, func(c *Batch) { c.Sel[0][0] = 2 }},
		{"a wrong previous root", ti, func(c *Batch) { c.PrevAccountRoot = fe(1) }},
		{"wrong batch number", ti, func(c *Batch) { c.Number = w.sealed[ti].Header.Number + 1 }},
		{"batch number + 2^64 (range)", ti, func(c *Batch) {
			c.Number = new(uint256.Int).Add(uint256.NewInt(w.sealed[ti].Header.Number), new(uint256.Int).Lsh(uint256.NewInt(1), 64)).ToBig()
		}},
		{"wrong timestamp", ti, func(c *Batch) { c.Timestamp = w.sealed[ti].Header.Timestamp + 1 }},
		{"wrong domain", ti, func(c *Batch) { c.Domain = fe(5) }},
		{"a fee whose token is not in the book", ti, func(c *Batch) { c.FeeActive[1] = 0 }},
		{"the book token changed", ti, func(c *Batch) { c.FeeTokens[1] = 3 }},
		{"both book entries on one token", ti, func(c *Batch) { c.FeeTokens[1] = c.FeeTokens[0] }},
		{"settlement credits one unit less", ti, func(c *Batch) {
			b := &c.Settle.Balances[0]
			b.New = new(uint256.Int).SubUint64(uint256.MustFromBig(toBig(b.New)), 1).ToBig()
		}},
		{"settlement to another account", ti, func(c *Batch) { c.Settle.ID = 1 }},
		{"priority count: first id + 1", pi, func(c *Batch) { c.FirstPriority = w.sealed[pi].Header.FirstPriority + 1 }},
		{"a priority operation dropped", pi, func(c *Batch) {
			c.Sel[1][1] = 0 // the forced withdrawal
			c.FreeAccount[1][1], c.FreeModel[1][1] = w.sealed[pi].Witnesses[1].AccountRoot, w.sealed[pi].Witnesses[1].ModelRoot
		}},
		{"two members in one slot", pi, func(c *Batch) {
			c.Sel[0][1] = 1
			c.FreeAccount[0][1], c.FreeModel[0][1] = 0, 0
		}},
		{"a dummy's pubdata leaks (selector of the dummy 1, real 0)", pi, func(c *Batch) {
			c.Sel[0][0], c.Sel[0][1] = 0, 1
			c.FreeAccount[0][0], c.FreeModel[0][0] = w.sealed[pi].Witnesses[0].AccountRoot, w.sealed[pi].Witnesses[0].ModelRoot
		}},
	}
	// Cheats with a consistent claim: the public input is recomputed for
	// what the cheating prover claims, so only the rule under test stops it.
	claim := func(c *Batch, sb int, newRoot fr.Element, pubdata []byte) {
		h := w.sealed[sb].Header
		h.NewRoot = newRoot
		var err error
		if h.PubdataCommitment, err = types.PubdataCommitment(h.Family, pubdata); err != nil {
			t.Fatal(err)
		}
		c.PublicInput = h.PublicInput(w.d)
	}
	sbT := w.sealed[ti]
	settle := sbT.Witnesses[len(sbT.Witnesses)-1]
	cases = append(cases,
		struct {
			name  string
			batch int
			mut   func(c *Batch)
		}{"fees kept out of the settlement (empty book claimed, fees charged)", ti, func(c *Batch) {
			c.FeeActive[0], c.FeeActive[1] = 0, 0
			ds, err := DummiesFor(w.p, w.d)
			if err != nil {
				t.Fatal(err)
			}
			if err := c.assignSettlement(ds.settle, ds); err != nil {
				t.Fatal(err)
			}
			c.FeeActive[0], c.FeeActive[1], c.FeeTokens[0] = 0, 0, 0
			c.SettleFree = ds.settle.AccountRoot
			claim(c, ti, settle.RootBefore, sbT.Pubdata) // the root before the settlement
		}},
		struct {
			name  string
			batch int
			mut   func(c *Batch)
		}{"a gap: the second transfer in slot 2 after an empty slot 1", ti, func(c *Batch) {
			c.TransferBase[1], c.TransferBase[2] = c.TransferBase[2], c.TransferBase[1]
			c.Sel[1][0], c.Sel[2][0] = 0, 1
			c.FreeAccount[1][0], c.FreeAccount[2][0] = c.FreeAccount[2][0], 0
			c.FreeModel[1][0], c.FreeModel[2][0] = c.FreeModel[2][0], 0
			sb := types.FamilyTransfer.SlotBytes()
			pd := append([]byte(nil), sbT.Pubdata...)
			copy(pd[2*sb:3*sb], pd[sb:2*sb])
			clear(pd[sb : 2*sb])
			claim(c, ti, sbT.Header.NewRoot, pd) // same transition, pubdata with a gap
		}},
	)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := assign(tc.batch)
			tc.mut(c)
			err := solveBatch(t, c)
			if err == nil {
				t.Fatal("tampered batch solved")
			}
			t.Log(err)
		})
	}
}
