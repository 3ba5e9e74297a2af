package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/holiman/uint256"
	"github.com/urfave/cli/v3"

	"github.com/modex/modex/bench/workload"
	"github.com/modex/modex/state"
	"github.com/modex/modex/state/store"
	"github.com/modex/modex/types"
)

func (a *app) demoCommand() *cli.Command {
	s := a.newSettings(false)
	flags := []cli.Flag{
		&cli.StringFlag{Name: "dir", Usage: "Badger directory (default: a fresh temporary one)", Sources: s.Sources("dir"), TakesFile: true},
		&cli.BoolFlag{Name: "prod", Usage: "production tree depths (2^24 accounts) instead of small demo depths", Sources: s.Sources("prod")},
	}
	return a.command(s, "demo", "the native state transition demo (no L1, no proofs): [--dir DIR] [--prod]", flags,
		func(_ context.Context, cmd *cli.Command) error {
			if err := noArgs(cmd); err != nil {
				return err
			}
			return runDemo(a.out, cmd.String("dir"), cmd.Bool("prod"))
		})
}

// runDemo drives the native state transition through the product's main
// flow on a real Badger store and prints every batch to out. It is honest
// about its scope: no L1, no proofs, no API yet.
func runDemo(out io.Writer, dir string, prod bool) error {
	if dir == "" {
		d, err := os.MkdirTemp("", "modex-demo")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	p := types.TestParams()
	if prod {
		p = types.DefaultParams()
	}
	fmt.Fprintln(out, "Modex native state demo: the Badger-backed Poseidon2 state and the state transition of")
	fmt.Fprintln(out, "every batch. Not yet here: batch proofs, the embedded L1 and the API (see README).")
	fmt.Fprintf(out, "store: %s  depths: accounts 2^%d, base tokens 2^%d, models 2^%d, order slots 2^%d\n\n",
		dir, p.AccountDepth, p.BalanceDepth, p.ModelDepth, p.OrderDepth)

	w, err := workload.NewWorld(p, store.DefaultOptions(dir), 5)
	if err != nil {
		return err
	}
	// a batch holds one family of transactions: Add seals the open batch when
	// the next transaction is of another family, so every seal is printed here
	w.OnSeal = func(sb *state.SealedBatch) { printBatch(out, w, sb) }
	const op, dao, alice, bob, carol = 0, 1, 2, 3, 4
	names := []string{"operator", "dao", "alice", "bob", "carol"}
	step := func(who int, tx types.Tx) (*state.Receipt, error) {
		if st, ok := tx.(types.SignedTx); ok {
			n, err := w.Nonce(who)
			if err != nil {
				return nil, err
			}
			st.SetNonce(n)
			if _, err := w.Sign(who, st); err != nil {
				return nil, err
			}
		}
		r, err := w.Add(tx)
		if err != nil {
			return nil, fmt.Errorf("%s by %s: %w", tx.Kind(), names[who], err)
		}
		if err := state.VerifyWitness(p, r.Witness); err != nil {
			return nil, err
		}
		fmt.Fprintf(out, "  %-15s %-9s pubdata %3d bytes, %2d leaf updates\n", tx.Kind(), names[who], len(r.Pubdata), len(r.Witness.Updates))
		return r, nil
	}
	u := func(v uint64) uint256.Int { return *uint256.NewInt(v) }

	fmt.Fprintln(out, "deposits from L1 (priority queue): one Priority batch")
	for i, amt := range []uint64{0, 2e18, 5e18, 5e18, 1e18} {
		if err := w.Deposit(i, 0, amt); err != nil {
			return err
		}
		fmt.Fprintf(out, "  %-15s %-9s %d wei -> account %d\n", "Deposit", names[i], amt, w.Acct[i])
	}
	if err := sealAndPrint(w); err != nil {
		return err
	}

	fmt.Fprintln(out, "a model, its market, credits: a batch per family")
	if _, err := step(dao, &types.CreateModel{Account: w.Acct[dao], Model: 1, QuoteToken: 0, Supply: 1_000_000, MaxSupply: 2_000_000,
		CreditPrice: u(1e12), HolderBps: 7000, Weights: types.FromUint64(0xbeef), Metadata: types.FromUint64(0xcafe), Fee: u(1e9)}); err != nil {
		return err
	}
	sell, err := w.Order(dao, 1, types.Sell, 1, 400_000, 1e12, 30)
	if err != nil {
		return err
	}
	buy, err := w.Order(alice, 1, types.Buy, 1, 250_000, 2e12, 30)
	if err != nil {
		return err
	}
	if _, err := step(alice, &types.Trade{Buy: buy, Sell: sell, Fill: 250_000, Price: u(1e12), BuyFeeBips: 10, SellFeeBips: 20}); err != nil {
		return err
	}
	buy2, err := w.Order(bob, 1, types.Buy, 1, 100_000, 1e12, 30)
	if err != nil {
		return err
	}
	if _, err := step(bob, &types.Trade{Buy: buy2, Sell: sell, Fill: 100_000, Price: u(1e12), BuyFeeBips: 10, SellFeeBips: 20}); err != nil {
		return err
	}
	if _, err := step(carol, &types.BuyCredits{Account: w.Acct[carol], Model: 1, Credits: 500, MaxPrice: u(1e12), Fee: u(1e9)}); err != nil {
		return err
	}
	if _, err := step(carol, &types.RedeemCredits{Account: w.Acct[carol], Model: 1, Credits: 3, Request: types.FromUint64(42), Fee: u(1e9)}); err != nil {
		return err
	}
	if err := sealAndPrint(w); err != nil {
		return err
	}

	fmt.Fprintln(out, "revenue claims and a withdrawal: a batch per family")
	for _, who := range []int{alice, bob, dao} {
		before, _ := w.State().Balance(w.Acct[who], 0)
		if _, err := step(who, &types.ClaimRevenue{Account: w.Acct[who], Model: 1, Fee: u(0)}); err != nil {
			return err
		}
		after, _ := w.State().Balance(w.Acct[who], 0)
		fmt.Fprintf(out, "    %s received %s wei of revenue\n", names[who], new(uint256.Int).Sub(after, before).Dec())
	}
	r, err := step(alice, &types.Withdraw{Account: w.Acct[alice], Token: 0, Amount: u(1e18), Fee: u(1e9), To: workload.Addr(alice)})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "    withdrawal pending on L1 once proven: %s wei to %s\n", r.Withdrawal.Amount.Dec(), r.Withdrawal.To)
	if err := sealAndPrint(w); err != nil {
		return err
	}

	head := w.DB.Head()
	root, err := w.DB.Root(head)
	if err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	db, err := state.Open(p, workload.DevDomain, store.DefaultOptions(dir))
	if err != nil {
		return err
	}
	defer db.Close()
	again, err := db.Root(db.Head())
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "reopened the store: head batch %d, root %s (same as before close: %v)\n", db.Head(), short(again.Bytes()), again == root)
	return nil
}

// sealAndPrint seals the open batch; w.OnSeal prints it.
func sealAndPrint(w *workload.World) error {
	_, err := w.Seal()
	return err
}

func printBatch(out io.Writer, w *workload.World, sb *state.SealedBatch) {
	h := sb.Header
	pi := h.PublicInput(w.D)
	fmt.Fprintf(out, "  sealed %s batch %d: %d txs, %d pubdata bytes (%d slots of %d, zero-padded), priority ops: first %d, count %d\n",
		h.Family, h.Number, len(sb.Txs), len(sb.Pubdata), w.P.BatchCapacity, h.Family.SlotBytes(), h.FirstPriority, h.PriorityCount)
	fmt.Fprintf(out, "    root %s -> %s, pubdata commitment %s, public input %s\n\n", short(h.PrevRoot.Bytes()), short(h.NewRoot.Bytes()),
		short(h.PubdataCommitment.Bytes()), short(pi.Bytes()))
}

func short(b [32]byte) string { return fmt.Sprintf("0x%x…", b[:6]) }
