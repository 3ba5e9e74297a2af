package main

// The wallet's read-only commands: status, tx, book, trades, model show.

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/modex/modex/rpc"
	"github.com/modex/modex/rpc/client"
)

func runStatus(args []string) error {
	f := newCmdFlags("status", false)
	var o walletOpts
	o.register(f, true)
	if err := f.parse(args); err != nil {
		return err
	}
	if err := o.check(); err != nil {
		return err
	}
	var k *walletKey
	if o.keyPath != "" {
		var err error
		if k, err = loadKey(o.keyPath); err != nil {
			return err
		}
	}
	s, err := o.open(nil, false)
	if err != nil {
		return err
	}
	defer s.close()
	st, err := s.c.SyncStatus(s.ctx)
	if err != nil {
		return err
	}
	h, _ := s.c.Health(s.ctx)
	ct, err := s.c.Contracts(s.ctx)
	if err != nil {
		return err
	}
	fmt.Printf("node        %s", o.rpcURL)
	if h != nil {
		fmt.Printf("  version %s, healthy %v", h.Version, h.OK)
	}
	fmt.Printf("\nbridge      %s on chain %d (L1 head %d)\n", ct.Bridge, ct.ChainID, st.L1Head)
	fmt.Printf("batches     sealed %d, committed %d, proven %d, submitted %d, verified %d\n", st.Sealed, st.Committed, st.Proven, st.Submitted, st.Verified)
	fmt.Printf("L1 requests seen %d, applied %d; sequencing %v\n", st.PriorityIn, st.PriorityDone, st.Sequencing)
	if st.Halted != "" {
		fmt.Printf("HALTED      %s\n", st.Halted)
	}
	if k == nil && o.account < 0 {
		return nil
	}
	if k != nil {
		s.key = k
	}
	if o.account >= 0 {
		s.account = uint32(o.account)
	} else if s.account, err = s.findAccount(); err != nil {
		return err
	}
	info, err := s.c.Account(s.ctx, s.account)
	if err != nil {
		return err
	}
	printAccount(info)
	return nil
}

func printAccount(info *rpc.AccountInfo) {
	fmt.Printf("\naccount %d  (L1 %s)  nonce %d (proven %d)\n", info.ID, info.L1Address, info.Nonce, info.ProvenNonce)
	tw := tabwriter.NewWriter(os.Stdout, 2, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "  asset\tsoft\tproven\t")
	for _, b := range info.Balances {
		if b.Soft.IsZero() && b.Proven.IsZero() {
			continue
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t\n", b.Name, b.Soft.Dec(), b.Proven.Dec())
	}
	tw.Flush()
	if len(info.Orders) == 0 {
		fmt.Println("open orders: none")
		return
	}
	fmt.Println("open orders:")
	tw = tabwriter.NewWriter(os.Stdout, 2, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "  model\tid\tside\tprice\tamount\tremaining\tvalid until\t")
	for _, o := range info.Orders {
		fmt.Fprintf(tw, "  %d\t%d\t%s\t%s\t%d\t%d\t%s\t\n", o.Model, o.OrderID, o.Side, o.Price.Dec(), o.Amount, o.Remaining,
			time.Unix(int64(o.ValidUntil), 0).Format(time.DateTime))
	}
	tw.Flush()
}

func runTx(args []string) error {
	f := newCmdFlags("tx", false)
	var o walletOpts
	o.register(f, false)
	hash := f.fs.String("hash", "", "transaction hash")
	if err := f.parse(args); err != nil {
		return err
	}
	if err := o.check(); err != nil {
		return err
	}
	h, err := parseHash(*hash)
	if err != nil {
		return err
	}
	s, err := o.open(nil, false)
	if err != nil {
		return err
	}
	defer s.close()
	info, err := s.c.Tx(s.ctx, h)
	if err != nil {
		return err
	}
	b, err := json.MarshalIndent(info, "", "  ")
	if err != nil {
		return err
	}
	fmt.Println(string(b))
	return nil
}

func parseHash(s string) (common.Hash, error) {
	if s == "" {
		return common.Hash{}, cfgErr("hash", "", "required")
	}
	b := trim0x(s)
	if len(b) != 64 || strings.Trim(strings.ToLower(b), "0123456789abcdef") != "" {
		return common.Hash{}, cfgErr("hash", s, "want 32 bytes of hex")
	}
	return common.HexToHash(s), nil
}

func runBook(args []string) error {
	f := newCmdFlags("book", false)
	var o walletOpts
	o.register(f, false)
	model := f.fs.String("model", "", "model id")
	depth := f.fs.Int("depth", 10, "price levels per side")
	watch := f.fs.Bool("watch", false, "subscribe (websocket) and print every change")
	if err := f.parse(args); err != nil {
		return err
	}
	if err := o.check(); err != nil {
		return err
	}
	m, err := parseModel(*model)
	if err != nil {
		return err
	}
	if *depth < 1 || *depth > rpc.MaxBookDepth {
		return cfgErr("depth", fmt.Sprint(*depth), "want 1..%d", rpc.MaxBookDepth)
	}
	if !*watch {
		s, err := o.open(nil, false)
		if err != nil {
			return err
		}
		defer s.close()
		b, err := s.c.Book(s.ctx, m, *depth)
		if err != nil {
			return err
		}
		printBook(b, *depth)
		return nil
	}
	return watchBook(o.rpcURL, m, *depth)
}

func printBook(b *rpc.BookSnapshot, depth int) {
	fmt.Printf("model %d order book (version %d)\n", b.Model, b.Seq)
	tw := tabwriter.NewWriter(os.Stdout, 2, 4, 2, ' ', tabwriter.AlignRight)
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

func watchBook(rpcURL string, model uint16, depth int) error {
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
	fmt.Fprintln(os.Stderr, "watching (Ctrl-C stops)")
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-sub.Err():
			return fmt.Errorf("subscription: %w", err)
		case ev := <-ch:
			switch {
			case ev.Snapshot != nil:
				printBook(ev.Snapshot, depth)
			case ev.Delta != nil:
				d := ev.Delta
				if d.Orders == 0 {
					fmt.Printf("%s  v%d  %s %s: level gone\n", time.Now().Format(time.TimeOnly), d.Seq, d.Side, d.Price.Dec())
				} else {
					fmt.Printf("%s  v%d  %s %s: %s shares, %d orders\n", time.Now().Format(time.TimeOnly), d.Seq, d.Side, d.Price.Dec(), d.Amount.Dec(), d.Orders)
				}
			}
		}
	}
}

func runTrades(args []string) error {
	f := newCmdFlags("trades", false)
	var o walletOpts
	o.register(f, false)
	model := f.fs.String("model", "", "model id")
	limit := f.fs.Int("limit", 20, "newest trades to list")
	if err := f.parse(args); err != nil {
		return err
	}
	if err := o.check(); err != nil {
		return err
	}
	m, err := parseModel(*model)
	if err != nil {
		return err
	}
	if *limit < 1 || *limit > rpc.MaxPageLimit {
		return cfgErr("limit", fmt.Sprint(*limit), "want 1..%d", rpc.MaxPageLimit)
	}
	s, err := o.open(nil, false)
	if err != nil {
		return err
	}
	defer s.close()
	page, err := s.c.Trades(s.ctx, m, "", *limit)
	if err != nil {
		return err
	}
	if len(page.Items) == 0 {
		fmt.Printf("model %d: no trades yet\n", m)
		return nil
	}
	tw := tabwriter.NewWriter(os.Stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "#\ttime\tprice\tshares\tbuyer (order)\tseller (order)\tmaker\tbatch\ttx")
	for _, t := range page.Items {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%d (%d)\t%d (%d)\t%s\t%d\t%s\n", t.Seq, time.Unix(int64(t.Time), 0).Format(time.TimeOnly),
			t.Price.Dec(), t.Fill, t.Buyer, t.BuyOrder, t.Seller, t.SellOrder, t.Maker, t.Batch, t.Hash)
	}
	return tw.Flush()
}

func runModelShow(args []string) error {
	f := newCmdFlags("model show", false)
	var o walletOpts
	o.register(f, false)
	model := f.fs.String("model", "", "model id")
	if err := f.parse(args); err != nil {
		return err
	}
	if err := o.check(); err != nil {
		return err
	}
	m, err := parseModel(*model)
	if err != nil {
		return err
	}
	s, err := o.open(nil, false)
	if err != nil {
		return err
	}
	defer s.close()
	mi, err := s.c.Model(s.ctx, m)
	if err != nil {
		return err
	}
	fmt.Printf("model %d\n  DAO account   %d\n  quote token   %d\n  shares        %d (cap %d)\n  credit price  %s\n  holders get   %d bps of credit revenue\n  treasury      %s\n  weights       %s\n  metadata      %s\n",
		mi.ID, mi.DAO, mi.QuoteToken, mi.Supply, mi.MaxSupply, mi.CreditPrice.Dec(), mi.HolderBps, mi.Treasury.Dec(), mi.Weights, mi.Metadata)
	markets, err := s.c.Markets(s.ctx)
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
		fmt.Printf("  market        best bid %s, best ask %s, %d resting orders, fees maker %d / taker %d bps\n",
			bid, ask, mk.Orders, mk.MakerFeeBips, mk.TakerFeeBips)
	}
	return nil
}
