package circuits

import (
	"math/big"
	"testing"

	"github.com/holiman/uint256"

	"github.com/modex/modex/state"
	"github.com/modex/modex/types"
)

var mdScale = new(big.Int).SetUint64(types.RevenueScale)

// ---- BuyCredits ----

type buyHarness = harness[BuyCredits, *BuyCredits]

func cloneBuy(g BuyCredits) BuyCredits { g.Acct = cloneAccount(g.Acct); return g }

// TestBuyCredits: a purchase at exactly maxPrice is proven with the native
// roots, pubdata and fee; each tamper is refused by the rule it names. All
// tampers touch only new leaves (noRoots) or rebuild the old model root.
func TestBuyCredits(t *testing.T) {
	b := kindWorld(t)
	txi, r := mdApply(t, b, types.KindBuyCredits, 0, func(tx types.Tx) {
		tx.(*types.BuyCredits).MaxPrice = *uint256.NewInt(1000) // the model's price: the boundary
	})
	tx := txi.(*types.BuyCredits)
	g, err := AssignBuyCredits(tx, r.Witness)
	if err != nil {
		t.Fatal(err)
	}
	om := mdOldModel(t, r)
	if om.CreditPrice.Uint64() != 1000 || om.HolderBps == 0 || om.HolderBps == 10000 {
		t.Fatalf("unexpected bench model: price %s, bps %d", om.CreditPrice.Dec(), om.HolderBps)
	}
	cases := []mdCase[BuyCredits, *BuyCredits]{
		{"price above maxPrice", "creditPrice <= maxPrice (ErrCreditPrice)", true, func(h *buyHarness) {
			// the model's price is 1001 before and after; everything the
			// price drives (split, distribution, treasury, balance) follows natively
			m := om
			m.CreditPrice.SetUint64(1001)
			h.G.Model.Old = AssignModel(&m)
			h.ModelRoot = mdModelRoot(r, &m)
			cost := new(uint256.Int).Mul(uint256.NewInt(tx.Credits), &m.CreditPrice)
			holders, dao := state.SplitRevenue(cost, m.HolderBps)
			if err := state.Distribute(&m, holders); err != nil {
				t.Fatal(err)
			}
			m.Treasury.Add(&m.Treasury, dao)
			h.G.Model.New = AssignModel(&m)
			bal := &h.G.Acct.Balances[0]
			bal.New = new(big.Int).Sub(new(big.Int).Sub(toBig(bal.Old), cost.ToBig()), tx.Fee.ToBig())
		}},
		{"accumulator moved by more than the distribution", "acc = acc + ⌊(holders·10^18 + carry)/supply⌋", true, func(h *buyHarness) {
			h.G.Model.New.Acc = addBig(h.G.Model.New.Acc, 1)
		}},
		{"carry off the remainder", "carry = (holders·10^18 + carry) mod supply", true, func(h *buyHarness) {
			h.G.Model.New.Carry = addBig(h.G.Model.New.Carry, 1)
		}},
		{"treasury credited more than cost − holders", "treasury += cost − holders", true, func(h *buyHarness) {
			h.G.Model.New.Treasury = addBig(h.G.Model.New.Treasury, 1)
		}},
		{"holders' part rounded up", "holders = ⌊cost·bps/10^4⌋ (acc and treasury moved together)", true, func(h *buyHarness) {
			// one unit moves from the treasury to the holders: acc grows by 10^18/supply
			m := om
			cost := new(uint256.Int).Mul(uint256.NewInt(tx.Credits), &m.CreditPrice)
			holders, dao := state.SplitRevenue(cost, m.HolderBps)
			holders.AddUint64(holders, 1)
			dao.SubUint64(dao, 1)
			if err := state.Distribute(&m, holders); err != nil {
				t.Fatal(err)
			}
			m.Treasury.Add(&m.Treasury, dao)
			h.G.Model.New = AssignModel(&m)
		}},
		{"buyer credited more credits", "credits += amount", true, func(h *buyHarness) {
			h.G.Acct.Positions[0].New.Credits = addBig(h.G.Acct.Positions[0].New.Credits, 1)
		}},
		{"buyer charged less than the cost", "balance = old − cost − fee", true, func(h *buyHarness) {
			h.G.Acct.Balances[0].New = addBig(h.G.Acct.Balances[0].New, 1)
		}},
		{"price changed by the purchase", "other model fields unchanged", true, func(h *buyHarness) {
			h.G.Model.New.CreditPrice = addBig(h.G.Model.New.CreditPrice, 1)
		}},
	}
	mdRunTampers(t, b, NewBuyCredits(b.P), g, r, cloneBuy, cases)
}

// ---- RedeemCredits ----

type redeemHarness = harness[RedeemCredits, *RedeemCredits]

func cloneRedeem(g RedeemCredits) RedeemCredits { g.Acct = cloneAccount(g.Acct); return g }

func TestRedeemCredits(t *testing.T) {
	b := kindWorld(t)
	txi, r := mdApply(t, b, types.KindRedeemCredits, 0, func(tx types.Tx) {
		tx.(*types.RedeemCredits).Request = types.FromUint64(0xdeadbeef) // a request in pubdata
	})
	tx := txi.(*types.RedeemCredits)
	g, err := AssignRedeemCredits(tx, r.Witness)
	if err != nil {
		t.Fatal(err)
	}
	resigned := func(h *redeemHarness, edit func(c *types.RedeemCredits)) *types.RedeemCredits {
		c := *tx
		edit(&c)
		mdResign(t, b, &c)
		sig, err := AssignSignature(c.Signature)
		if err != nil {
			t.Fatal(err)
		}
		h.G.Sig = sig
		return &c
	}
	cases := []mdCase[RedeemCredits, *RedeemCredits]{
		{"model changed by the read", "model read: every field unchanged", true, func(h *redeemHarness) {
			h.G.Model.New.Treasury = addBig(h.G.Model.New.Treasury, 1)
		}},
		{"model accumulator moved by the read", "model read: every field unchanged", true, func(h *redeemHarness) {
			h.G.Model.New.Acc = addBig(h.G.Model.New.Acc, 1)
		}},
		{"credits not burned", "credits −= amount", true, func(h *redeemHarness) {
			h.G.Acct.Positions[0].New.Credits = h.G.Acct.Positions[0].Old.Credits
		}},
		{"more credits than held", "credits >= amount (ErrInsufficientCredits)", true, func(h *redeemHarness) {
			held := toBig(h.G.Acct.Positions[0].Old.Credits).Uint64()
			c := resigned(h, func(c *types.RedeemCredits) { c.Credits = held + 1 })
			h.Pubdata = mdPubdataBits(t, c)
			h.G.Credits = held + 1
			h.G.Acct.Positions[0].New.Credits = mdMod(big.NewInt(-1))
		}},
		{"published request differs from the signed one", "request in pubdata", true, func(h *redeemHarness) {
			c := resigned(h, func(c *types.RedeemCredits) { c.Request = types.FromUint64(7) })
			h.G.Request = c.Request // signed and published: the native pubdata has the other one
		}},
		{"request altered after signing", "signature over the request word", true, func(h *redeemHarness) {
			h.G.Request = types.FromUint64(7)
		}},
	}
	mdRunTampers(t, b, NewRedeemCredits(b.P), g, r, cloneRedeem, cases)
}

// ---- ClaimRevenue ----

type claimHarness = harness[ClaimRevenue, *ClaimRevenue]

func cloneClaim(g ClaimRevenue) ClaimRevenue { g.Acct = cloneAccount(g.Acct); return g }

// TestClaimRevenue: the DAO's claim (payout plus the treasury) and a holder's
// claim are proven with the native roots, pubdata and fee; each tamper is
// refused by the rule it names.
func TestClaimRevenue(t *testing.T) {
	b := kindWorld(t)
	// i = 0: the bench's user 1, the DAO of model 1; i = 1: user 2, a holder
	daoTx, daoR := mdApply(t, b, types.KindClaimRevenue, 0, nil)
	holderTx, holderR := mdApply(t, b, types.KindClaimRevenue, 1, nil)
	for _, c := range []struct {
		name string
		tx   types.Tx
		r    *state.Receipt
		dao  bool
	}{{"DAO", daoTx, daoR, true}, {"holder", holderTx, holderR, false}} {
		t.Run(c.name, func(t *testing.T) {
			tx, r := c.tx.(*types.ClaimRevenue), c.r
			om := mdOldModel(t, r)
			if (om.DAO == tx.Account) != c.dao || om.Treasury.IsZero() {
				t.Fatalf("bench setup: DAO %d, signer %d, treasury %s", om.DAO, tx.Account, om.Treasury.Dec())
			}
			g, err := AssignClaimRevenue(tx, r.Witness)
			if err != nil {
				t.Fatal(err)
			}
			pos, bal := &g.Acct.Positions[0], &g.Acct.Balances[0]
			// the native payout (without the treasury) and the kept remainder
			paid := new(big.Int).Add(new(big.Int).Sub(toBig(bal.New), toBig(bal.Old)), tx.Fee.ToBig())
			if c.dao {
				paid.Sub(paid, om.Treasury.ToBig())
			}
			rest := toBig(pos.New.Pending)
			if paid.Sign() <= 0 {
				t.Fatalf("no revenue payout in the bench claim: %s", paid)
			}
			cases := []mdCase[ClaimRevenue, *ClaimRevenue]{
				{"revenue claimed twice", "pending = owed mod 10^18 after the payout", true, func(h *claimHarness) {
					// the paid-out pending is kept: a later claim would pay it again
					h.G.Acct.Positions[0].New.Pending = new(big.Int).Add(rest, new(big.Int).Mul(paid, mdScale))
				}},
				{"payout rounded up", "payout = ⌊owed/10^18⌋ (rest −10^18 is no remainder)", true, func(h *claimHarness) {
					h.G.Acct.Balances[0].New = addBig(h.G.Acct.Balances[0].New, 1)
					h.G.Acct.Positions[0].New.Pending = mdMod(new(big.Int).Sub(rest, mdScale))
				}},
				{"payout rounded up, remainder kept", "balance = old + payout − fee", true, func(h *claimHarness) {
					h.G.Acct.Balances[0].New = addBig(h.G.Acct.Balances[0].New, 1)
				}},
				{"position not settled to acc", "lastAcc = acc", true, func(h *claimHarness) {
					h.G.Acct.Positions[0].New.LastAcc = h.G.Acct.Positions[0].Old.LastAcc
				}},
				{"model field moved", "model fields but the treasury unchanged", true, func(h *claimHarness) {
					h.G.Model.New.Acc = addBig(h.G.Model.New.Acc, 1)
				}},
			}
			treasury := om.Treasury.ToBig()
			if c.dao {
				cases = append(cases,
					mdCase[ClaimRevenue, *ClaimRevenue]{"treasury claimed twice", "the DAO's treasury becomes 0", true, func(h *claimHarness) {
						h.G.Model.New.Treasury = treasury
					}},
					mdCase[ClaimRevenue, *ClaimRevenue]{"DAO's treasury left out", "the DAO's payout includes the treasury", true, func(h *claimHarness) {
						h.G.Model.New.Treasury = treasury
						h.G.Acct.Balances[0].New = new(big.Int).Sub(toBig(h.G.Acct.Balances[0].New), treasury)
					}})
			} else {
				cases = append(cases,
					mdCase[ClaimRevenue, *ClaimRevenue]{"not the DAO takes the treasury", "treasury only when signer = DAO", true, func(h *claimHarness) {
						h.G.Model.New.Treasury = 0
						h.G.Acct.Balances[0].New = new(big.Int).Add(toBig(h.G.Acct.Balances[0].New), treasury)
					}})
			}
			mdRunTampers(t, b, NewClaimRevenue(b.P), g, r, cloneClaim, cases)
		})
	}
}
