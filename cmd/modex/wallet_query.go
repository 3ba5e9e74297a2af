package main

// The wallet's read-only commands: status, tx, book, trades, model show.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v3"

	"github.com/modex/modex/rpc"
	"github.com/modex/modex/rpc/client"
	"github.com/modex/modex/types"
	"github.com/modex/modex/wallet"
)

// query is a read-only wallet command: its flags besides --rpc and
// --timeout, check (the arguments, no network) and show (with the session).
type query struct {
	name, usage string
	signs       bool // takes --key/--account (status)
	flags       func(s flagSource) []cli.Flag
	check       func(cmd *cli.Command) error
	show        func(ctx context.Context, cmd *cli.Command, o *walletOpts, s *wallet.Session) error
}

// flagSource gives a flag its env twin.
type flagSource func(name string) cli.ValueSourceChain

func (a *app) queryCommand(q query) *cli.Command {
	s := a.newSettings(false)
	flags := walletFlags(s, q.signs)
	if q.flags != nil {
		flags = append(flags, q.flags(s.Sources)...)
	}
	return a.command(s, q.name, q.usage, flags, func(ctx context.Context, cmd *cli.Command) error {
		o, err := readWalletOpts(cmd)
		if err != nil {
			return err
		}
		if q.check != nil {
			if err := q.check(cmd); err != nil {
				return err
			}
		}
		return o.with(ctx, nil, false, func(ctx context.Context, sess *wallet.Session) error { return q.show(ctx, cmd, o, sess) })
	})
}

func modelFlag(src flagSource) *cli.StringFlag {
	return &cli.StringFlag{Name: "model", Usage: "model id", Sources: src("model")}
}

func checkModel(cmd *cli.Command) error { _, err := wallet.ParseModel(cmd.String("model")); return err }

func (a *app) statusCommand() *cli.Command {
	return a.queryCommand(query{
		name: "status", usage: "the node's heads and, with --key or --account, the account's balances and orders", signs: true,
		check: func(cmd *cli.Command) error {
			if p := cmd.String("key"); p != "" {
				_, err := wallet.LoadKey(p)
				return err
			}
			return nil
		},
		show: a.showStatus,
	})
}

func (a *app) showStatus(ctx context.Context, cmd *cli.Command, o *walletOpts, s *wallet.Session) error {
	st, err := s.Client.SyncStatus(ctx)
	if err != nil {
		return err
	}
	h, _ := s.Client.Health(ctx)
	ct, err := s.Client.Contracts(ctx)
	if err != nil {
		return err
	}
	w := a.out
	fmt.Fprintf(w, "node        %s", o.rpcURL)
	if h != nil {
		fmt.Fprintf(w, "  version %s, healthy %v", h.Version, h.OK)
	}
	fmt.Fprintf(w, "\nbridge      %s on chain %d (L1 head %d)\n", ct.Bridge, ct.ChainID, st.L1Head)
	fmt.Fprintf(w, "batches     sealed %d, committed %d, proven %d, submitted %d, verified %d\n", st.Sealed, st.Committed, st.Proven, st.Submitted, st.Verified)
	fmt.Fprintf(w, "L1 requests seen %d, applied %d; sequencing %v\n", st.PriorityIn, st.PriorityDone, st.Sequencing)
	if st.Clock > 0 {
		fmt.Fprintf(w, "clock       %s (the sequencer's: batch timestamps and order expiry)\n", types.FormatTime(st.Clock))
	}
	if st.Halted != "" {
		fmt.Fprintf(w, "HALTED      %s\n", st.Halted)
	}
	if o.keyPath == "" && o.account < 0 {
		return nil
	}
	if o.keyPath != "" {
		k, err := wallet.LoadKey(o.keyPath)
		if err != nil {
			return err
		}
		s.Key = k
	}
	if err := s.UseAccount(ctx, o.account); err != nil {
		return err
	}
	info, err := s.Client.Account(ctx, s.Account)
	if err != nil {
		return err
	}
	printAccount(w, info)
	return nil
}

func printAccount(w io.Writer, info *rpc.AccountInfo) {
	fmt.Fprintf(w, "\naccount %d  (L1 %s)  nonce %d (proven %d)\n", info.ID, info.L1Address, info.Nonce, info.ProvenNonce)
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "  asset\tsoft\tproven\t")
	for _, b := range info.Balances {
		if b.Soft.IsZero() && b.Proven.IsZero() {
			continue
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t\n", b.Name, b.Soft.Dec(), b.Proven.Dec())
	}
	tw.Flush()
	if len(info.Orders) == 0 {
		fmt.Fprintln(w, "open orders: none")
		return
	}
	fmt.Fprintln(w, "open orders:")
	tw = tabwriter.NewWriter(w, 2, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "  model\tid\tside\tprice\tamount\tremaining\tvalid until\t")
	for _, o := range info.Orders {
		fmt.Fprintf(tw, "  %d\t%d\t%s\t%s\t%d\t%d\t%s\t\n", o.Model, o.OrderID, o.Side, o.Price.Dec(), o.Amount, o.Remaining,
			time.Unix(int64(o.ValidUntil), 0).Format(time.DateTime))
	}
	tw.Flush()
}

func (a *app) txCommand() *cli.Command {
	return a.queryCommand(query{
		name: "tx", usage: "a transaction: kind, parties, amounts, status and batch (--hash H [--json])",
		flags: func(src flagSource) []cli.Flag {
			return []cli.Flag{
				&cli.StringFlag{Name: "hash", Usage: "transaction hash", Sources: src("hash")},
				&cli.BoolFlag{Name: "json", Usage: "print the API's tx_info as JSON"},
			}
		},
		check: func(cmd *cli.Command) error { _, err := wallet.ParseHash("hash", cmd.String("hash")); return err },
		show: func(ctx context.Context, cmd *cli.Command, _ *walletOpts, s *wallet.Session) error {
			h, _ := wallet.ParseHash("hash", cmd.String("hash"))
			info, err := s.Client.Tx(ctx, h)
			if err != nil {
				return err
			}
			if cmd.Bool("json") {
				b, err := json.MarshalIndent(info, "", "  ")
				if err != nil {
					return err
				}
				fmt.Fprintln(a.out, string(b))
				return nil
			}
			tw := tabwriter.NewWriter(a.out, 2, 4, 2, ' ', 0)
			for _, l := range wallet.DescribeTx(info) {
				fmt.Fprintf(tw, "%s\t%s\n", l.Label, l.Text)
			}
			return tw.Flush()
		},
	})
}

func (a *app) bookCommand() *cli.Command {
	depth := func(cmd *cli.Command) error {
		if d := cmd.Int("depth"); d < 1 || d > rpc.MaxBookDepth {
			return wallet.ArgErr("depth", fmt.Sprint(d), "want 1..%d", rpc.MaxBookDepth)
		}
		return checkModel(cmd)
	}
	return a.queryCommand(query{
		name: "book", usage: "a market's order book (--model M [--depth 10] [--watch])",
		flags: func(src flagSource) []cli.Flag {
			return []cli.Flag{modelFlag(src),
				&cli.IntFlag{Name: "depth", Value: 10, Usage: "price levels per side", Sources: src("depth")},
				&cli.BoolFlag{Name: "watch", Usage: "subscribe (websocket) and print every change", Sources: src("watch")},
			}
		},
		check: depth,
		show: func(ctx context.Context, cmd *cli.Command, o *walletOpts, s *wallet.Session) error {
			m, _ := wallet.ParseModel(cmd.String("model"))
			if cmd.Bool("watch") {
				return a.watchBook(o.rpcURL, m, cmd.Int("depth"))
			}
			b, err := s.Client.Book(ctx, m, cmd.Int("depth"))
			if err != nil {
				return err
			}
			printBook(a.out, b, cmd.Int("depth"))
			return nil
		},
	})
}

func printBook(w io.Writer, b *rpc.BookSnapshot, depth int) {
	fmt.Fprintf(w, "model %d order book (version %d)\n", b.Model, b.Seq)
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "  side\tprice\tshares\torders\t")
	asks := b.Asks
	if len(asks) > depth {
		asks = asks[:depth]
	}
	for i := len(asks) - 1; i >= 0; i-- {
		l := asks[i]
		fmt.Fprintf(tw, "  ask\t%s\t%s\t%d\t\n", l.Price.Dec(), l.Amount.Dec(), l.Orders)
	}
	fmt.Fprintln(tw, "  ---\t\t\t\t")
	for i, l := range b.Bids {
		if i == depth {
			break
		}
		fmt.Fprintf(tw, "  bid\t%s\t%s\t%d\t\n", l.Price.Dec(), l.Amount.Dec(), l.Orders)
	}
	tw.Flush()
}

// wsURL is the websocket URL of an http(s) API URL.
func wsURL(u string) string {
	switch l := strings.ToLower(u); {
	case strings.HasPrefix(l, "http://"):
		return "ws://" + u[len("http://"):]
	case strings.HasPrefix(l, "https://"):
		return "wss://" + u[len("https://"):]
	}
	return u
}

func (a *app) watchBook(rpcURL string, model uint16, depth int) error {
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	c, err := client.Dial(ctx, wsURL(rpcURL))
	if err != nil {
		return fmt.Errorf("API %s: %w", wsURL(rpcURL), err)
	}
	defer c.Close()
	ch := make(chan *rpc.BookEvent, 256)
	sub, err := c.SubscribeBook(ctx, model, ch)
	if err != nil {
		return err
	}
	defer sub.Unsubscribe()
	fmt.Fprintln(a.errOut, "watching (Ctrl-C stops)")
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-sub.Err():
			return fmt.Errorf("subscription: %w", err)
		case ev := <-ch:
			switch {
			case ev.Snapshot != nil:
				printBook(a.out, ev.Snapshot, depth)
			case ev.Delta != nil:
				d := ev.Delta
				if d.Orders == 0 {
					fmt.Fprintf(a.out, "%s  v%d  %s %s: level gone\n", time.Now().Format(time.TimeOnly), d.Seq, d.Side, d.Price.Dec())
				} else {
					fmt.Fprintf(a.out, "%s  v%d  %s %s: %s, %s\n", time.Now().Format(time.TimeOnly), d.Seq, d.Side, d.Price.Dec(),
						wallet.Plural(d.Amount.Uint64(), "share"), wallet.Plural(uint64(d.Orders), "order"))
				}
			}
		}
	}
}

func (a *app) tradesCommand() *cli.Command {
	return a.queryCommand(query{
		name: "trades", usage: "a market's newest trades (--model M [--limit 20])",
		flags: func(src flagSource) []cli.Flag {
			return []cli.Flag{modelFlag(src), &cli.IntFlag{Name: "limit", Value: 20, Usage: "newest trades to list", Sources: src("limit")}}
		},
		check: func(cmd *cli.Command) error {
			if l := cmd.Int("limit"); l < 1 || l > rpc.MaxPageLimit {
				return wallet.ArgErr("limit", fmt.Sprint(l), "want 1..%d", rpc.MaxPageLimit)
			}
			return checkModel(cmd)
		},
		show: func(ctx context.Context, cmd *cli.Command, _ *walletOpts, s *wallet.Session) error {
			m, _ := wallet.ParseModel(cmd.String("model"))
			page, err := s.Client.Trades(ctx, m, "", cmd.Int("limit"))
			if err != nil {
				return err
			}
			if len(page.Items) == 0 {
				fmt.Fprintf(a.out, "model %d: no trades yet\n", m)
				return nil
			}
			tw := tabwriter.NewWriter(a.out, 2, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "#\ttime\tprice\tshares\tbuyer (order)\tseller (order)\tmaker\tbatch\ttx")
			for _, t := range page.Items {
				fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%d (%d)\t%d (%d)\t%s\t%d\t%s\n", t.Seq, time.Unix(int64(t.Time), 0).Format(time.TimeOnly),
					t.Price.Dec(), t.Fill, t.Buyer, t.BuyOrder, t.Seller, t.SellOrder, t.Maker, t.Batch, t.Hash)
			}
			return tw.Flush()
		},
	})
}

func (a *app) modelShowCommand() *cli.Command {
	return a.queryCommand(query{
		name: "show", usage: "a model and its market (--model M)",
		flags: func(src flagSource) []cli.Flag { return []cli.Flag{modelFlag(src)} },
		check: checkModel,
		show: func(ctx context.Context, cmd *cli.Command, _ *walletOpts, s *wallet.Session) error {
			m, _ := wallet.ParseModel(cmd.String("model"))
			mi, err := s.Client.Model(ctx, m)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.out, "model %d\n  DAO account   %d\n  quote token   %d\n  shares        %d (cap %d)\n  credit price  %s\n  holders get   %d bps of credit revenue\n  treasury      %s\n  weights       %s\n  metadata      %s\n",
				mi.ID, mi.DAO, mi.QuoteToken, mi.Supply, mi.MaxSupply, mi.CreditPrice.Dec(), mi.HolderBps, mi.Treasury.Dec(), mi.Weights, mi.Metadata)
			markets, err := s.Client.Markets(ctx)
			if err != nil {
				return err
			}
			for _, mk := range markets {
				if mk.Model != m {
					continue
				}
				bid, ask := "-", "-"
				if mk.BestBid != nil {
					bid = mk.BestBid.Dec()
				}
				if mk.BestAsk != nil {
					ask = mk.BestAsk.Dec()
				}
				fmt.Fprintf(a.out, "  market        best bid %s, best ask %s, %d resting orders, fees maker %d / taker %d bps\n",
					bid, ask, mk.Orders, mk.MakerFeeBips, mk.TakerFeeBips)
			}
			return nil
		},
	})
}
