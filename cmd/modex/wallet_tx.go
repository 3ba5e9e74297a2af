package main

// The wallet's signed L2 commands: transfer, order place|cancel, model
// create|mint|set-price, credits buy|redeem, revenue claim, withdraw.

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/holiman/uint256"

	"github.com/modex/modex/rpc"
	"github.com/modex/modex/types"
)

// signedCmd is a command that signs one transaction.
type signedCmd struct {
	f   *cmdFlags
	o   walletOpts
	fee *string
}

func newSignedCmd(name, feeHelp string) *signedCmd {
	c := &signedCmd{f: newCmdFlags(name, false)}
	c.o.register(c.f, true)
	c.fee = c.f.fs.String("fee", "0", feeHelp+" (this sequencer asks none)")
	return c
}

// parse parses and validates the shared flags and loads the key (no network).
func (c *signedCmd) parse(args []string) (*walletKey, *uint256.Int, error) {
	if err := c.f.parse(args); err != nil {
		return nil, nil, err
	}
	if err := c.o.check(); err != nil {
		return nil, nil, err
	}
	fee, err := parseAmount("fee", *c.fee, true)
	if err != nil {
		return nil, nil, err
	}
	if err := packable("fee", fee, types.Fee16); err != nil {
		return nil, nil, err
	}
	k, err := loadKey(c.o.keyPath)
	if err != nil {
		return nil, nil, err
	}
	return k, fee, nil
}

// run opens the session, builds the transaction for the account and sends it.
func (c *signedCmd) run(k *walletKey, build func(s *session) (types.SignedTx, error)) (*session, *rpc.TxInfo, error) {
	s, err := c.o.open(k, true)
	if err != nil {
		return nil, nil, err
	}
	tx, err := build(s)
	if err != nil {
		s.close()
		return nil, nil, err
	}
	info, err := s.send(tx)
	if err != nil {
		s.close()
		return nil, nil, err
	}
	return s, info, nil
}

func parseModel(s string) (uint16, error) {
	v, err := parseUint("model", s, types.ModelBits, true)
	return uint16(v), err
}

// --- transfer ----------------------------------------------------------------

func runTransfer(args []string) error {
	c := newSignedCmd("transfer", "fee in the asset (base tokens) or the model's quote token (shares, credits)")
	to := c.f.fs.String("to", "", "receiving account id")
	amount := c.f.fs.String("amount", "", "amount in base units (wei for ETH; 1.5eth works too)")
	asset := c.f.fs.String("asset", "eth", "eth, token:N, shares:MODEL or credits:MODEL")
	k, fee, err := c.parse(args)
	if err != nil {
		return err
	}
	tx, err := buildTransfer(*to, *amount, *asset, fee)
	if err != nil {
		return err
	}
	s, _, err := c.run(k, func(s *session) (types.SignedTx, error) {
		if tx.To == s.account {
			return nil, cfgErr("to", *to, "is the sender's own account")
		}
		tx.From = s.account
		return tx, nil
	})
	if err != nil {
		return err
	}
	defer s.close()
	fmt.Printf("transferred %s %s from account %d to account %d\n", tx.Amount.Dec(), assetName(tx.Asset), tx.From, tx.To)
	return nil
}

func buildTransfer(to, amount, asset string, fee *uint256.Int) (*types.Transfer, error) {
	id, err := parseUint("to", to, types.AccountBits, true)
	if err != nil {
		return nil, err
	}
	a, err := parseAsset("asset", asset)
	if err != nil {
		return nil, err
	}
	v, err := parseAmount("amount", amount, false)
	if err != nil {
		return nil, err
	}
	if err := packable("amount", v, types.Amount38); err != nil {
		return nil, err
	}
	tx := &types.Transfer{To: uint32(id), Asset: a}
	tx.Amount.Set(v)
	tx.Fee.Set(fee)
	return tx, nil
}

func assetName(a types.AssetID) string {
	switch a.Kind() {
	case types.AssetBase:
		if a.Index() == 0 {
			return "ETH (wei)"
		}
		return fmt.Sprintf("token:%d", a.Index())
	case types.AssetShare:
		return fmt.Sprintf("shares of model %d", a.Index())
	case types.AssetCredit:
		return fmt.Sprintf("credits of model %d", a.Index())
	}
	return a.String()
}

// --- orders ----------------------------------------------------------------

func runOrder(args []string) error {
	if len(args) == 0 {
		return cfgErr("order", "", "want a subcommand: place or cancel")
	}
	switch args[0] {
	case "place":
		return runOrderPlace(args[1:])
	case "cancel":
		return runOrderCancel(args[1:])
	}
	return cfgErr("order", args[0], "unknown subcommand (place, cancel)")
}

// orderArgs are order place's validated arguments.
type orderArgs struct {
	model      uint16
	side       types.Side
	amount     uint64
	price      *uint256.Int
	id         uint32 // 0: pick one
	valid      time.Duration
	maxFeeBips uint8
}

func parseOrderArgs(model, side, amount, price, id string, valid time.Duration, maxFee uint) (*orderArgs, error) {
	a := &orderArgs{valid: valid}
	var err error
	if a.model, err = parseModel(model); err != nil {
		return nil, err
	}
	switch strings.ToLower(side) {
	case "buy":
		a.side = types.Buy
	case "sell":
		a.side = types.Sell
	case "":
		return nil, cfgErr("side", "", "required: buy or sell")
	default:
		return nil, cfgErr("side", side, "want buy or sell")
	}
	if a.amount, err = parseUint("amount", amount, types.ShareBits, false); err != nil {
		return nil, err
	}
	if a.price, err = parseAmount("price", price, false); err != nil {
		return nil, err
	}
	if err := packable("price", a.price, types.Amount38); err != nil {
		return nil, err
	}
	if id != "" {
		v, err := parseUint("id", id, types.OrderIDBits, false)
		if err != nil {
			return nil, err
		}
		a.id = uint32(v)
	}
	if valid <= 0 || valid > 365*24*time.Hour {
		return nil, cfgErr("valid", valid.String(), "want a positive duration up to a year")
	}
	if maxFee > 255 {
		return nil, cfgErr("max-fee-bips", strconv.FormatUint(uint64(maxFee), 10), "want 0..255")
	}
	a.maxFeeBips = uint8(maxFee)
	return a, nil
}

func runOrderPlace(args []string) error {
	f := newCmdFlags("order place", false)
	var o walletOpts
	o.register(f, true)
	model := f.fs.String("model", "", "model id (its share market)")
	side := f.fs.String("side", "", "buy or sell")
	amount := f.fs.String("amount", "", "shares")
	price := f.fs.String("price", "", "quote-token units per share (a limit: the order trades at this price or better)")
	id := f.fs.String("id", "", "order id (default: one above the account's highest order id on this market)")
	valid := f.fs.Duration("valid", time.Hour, "how long the order stays valid")
	maxFee := f.fs.Uint("max-fee-bips", 10, "the highest trade fee accepted (basis points)")
	if err := f.parse(args); err != nil {
		return err
	}
	if err := o.check(); err != nil {
		return err
	}
	a, err := parseOrderArgs(*model, *side, *amount, *price, *id, *valid, *maxFee)
	if err != nil {
		return err
	}
	k, err := loadKey(o.keyPath)
	if err != nil {
		return err
	}
	s, err := o.open(k, true)
	if err != nil {
		return err
	}
	defer s.close()
	if a.id == 0 {
		if a.id, err = s.nextOrderID(a.model); err != nil {
			return err
		}
	}
	ord := &types.Order{Account: s.account, Model: a.model, Side: a.side, OrderID: a.id, Amount: a.amount,
		MaxFeeBips: a.maxFeeBips, ValidUntil: uint32(time.Now().Add(a.valid).Unix())}
	ord.Price.Set(a.price)
	if err := types.SignOrder(k.l2, s.domain, ord); err != nil {
		return err
	}
	res, err := s.c.PlaceOrder(s.ctx, ord)
	if err != nil {
		return fmt.Errorf("order: %w", err)
	}
	sideName := map[types.Side]string{types.Buy: "buy", types.Sell: "sell"}[a.side]
	fmt.Printf("order %d placed: %s %d shares of model %d at %s (account %d, valid until %s)\n", res.OrderID, sideName,
		a.amount, a.model, a.price.Dec(), s.account, time.Unix(int64(ord.ValidUntil), 0).Format(time.RFC3339))
	var filled uint64
	for _, t := range res.Trades {
		filled += t.Fill
		fmt.Printf("  trade #%d: %d shares at %s, buyer %d (order %d), seller %d (order %d), maker %s, tx %s\n",
			t.Seq, t.Fill, t.Price.Dec(), t.Buyer, t.BuyOrder, t.Seller, t.SellOrder, t.Maker, t.Hash)
	}
	for _, d := range res.Dropped {
		fmt.Printf("  dropped: %s\n", d)
	}
	fmt.Printf("  filled %d, resting %d\n", filled, res.Rested)
	if w := s.o.wait.status; len(res.Trades) > 0 && statusRank(w) > statusRank(rpc.TxIncluded) {
		for _, t := range res.Trades {
			if _, err := s.waitTx(t.Hash, w); err != nil {
				return err
			}
		}
	}
	return nil
}

// nextOrderID is one above the highest order id the account has used on
// the market: its open orders, its trades there and its cancellations.
func (s *session) nextOrderID(model uint16) (uint32, error) {
	var top uint32
	info, err := s.c.Account(s.ctx, s.account)
	if err != nil {
		return 0, err
	}
	for _, o := range info.Orders {
		if o.Model == model {
			top = max(top, o.OrderID)
		}
	}
	cursor := ""
	for range 20 { // the newest 10,000 trades of the market
		page, err := s.c.Trades(s.ctx, model, cursor, rpc.MaxPageLimit)
		if err != nil {
			return 0, err
		}
		for _, t := range page.Items {
			if t.Buyer == s.account {
				top = max(top, t.BuyOrder)
			}
			if t.Seller == s.account {
				top = max(top, t.SellOrder)
			}
		}
		if page.Next == "" {
			break
		}
		cursor = page.Next
	}
	cursor = ""
	for range 20 {
		page, err := s.c.History(s.ctx, s.account, cursor, rpc.MaxPageLimit)
		if err != nil {
			return 0, err
		}
		for _, t := range page.Items {
			if t.Kind != types.KindCancelOrder.String() || len(t.Raw) == 0 {
				continue
			}
			if tx, err := types.DecodeTx(t.Raw); err == nil {
				if c, ok := tx.(*types.CancelOrder); ok && c.Model == model {
					top = max(top, c.OrderID)
				}
			}
		}
		if page.Next == "" {
			break
		}
		cursor = page.Next
	}
	if top+1 >= 1<<types.OrderIDBits {
		return 0, cfgErr("id", "", "the account's order ids are used up on model %d", model)
	}
	return top + 1, nil
}

func runOrderCancel(args []string) error {
	c := newSignedCmd("order cancel", "fee in the model's quote token")
	model := c.f.fs.String("model", "", "model id")
	id := c.f.fs.String("id", "", "the order id to cancel")
	k, fee, err := c.parse(args)
	if err != nil {
		return err
	}
	m, err := parseModel(*model)
	if err != nil {
		return err
	}
	oid, err := parseUint("id", *id, types.OrderIDBits, false)
	if err != nil {
		return err
	}
	tx := &types.CancelOrder{Model: m, OrderID: uint32(oid)}
	tx.Fee.Set(fee)
	s, _, err := c.run(k, func(s *session) (types.SignedTx, error) { tx.Account = s.account; return tx, nil })
	if err != nil {
		return err
	}
	defer s.close()
	fmt.Printf("order %d on model %d cancelled\n", oid, m)
	return nil
}

// --- models ----------------------------------------------------------------

func runModel(args []string) error {
	if len(args) == 0 {
		return cfgErr("model", "", "want a subcommand: create, mint, set-price or show")
	}
	switch args[0] {
	case "create":
		return runModelCreate(args[1:])
	case "mint":
		return runModelMint(args[1:])
	case "set-price":
		return runModelSetPrice(args[1:])
	case "show":
		return runModelShow(args[1:])
	}
	return cfgErr("model", args[0], "unknown subcommand (create, mint, set-price, show)")
}

func parseBps(field, s string) (uint16, error) {
	v, err := parseUint(field, s, 16, true)
	if err != nil {
		return 0, err
	}
	if v > 10_000 {
		return 0, cfgErr(field, s, "basis points above 10,000")
	}
	return uint16(v), nil
}

func runModelCreate(args []string) error {
	c := newSignedCmd("model create", "fee in the quote token")
	model := c.f.fs.String("model", "", "the new model's id")
	supply := c.f.fs.String("supply", "", "initial shares (to the DAO, the signer)")
	maxSupply := c.f.fs.String("max-supply", "", "share cap (default: --supply)")
	price := c.f.fs.String("credit-price", "", "price of one inference credit in the quote token")
	holderBps := c.f.fs.String("holder-bps", "", "share of credit revenue paid to shareholders (basis points; the rest goes to the treasury)")
	quote := c.f.fs.String("quote-token", "0", "base token of the market, credit price and revenue (0 = ETH)")
	weights := c.f.fs.String("weights", "", "commitment to the model weights (field element, 0x-hex)")
	metadata := c.f.fs.String("metadata", "", "commitment to the model metadata (field element, 0x-hex)")
	k, fee, err := c.parse(args)
	if err != nil {
		return err
	}
	tx := &types.CreateModel{}
	if tx.Model, err = parseModel(*model); err != nil {
		return err
	}
	if tx.Supply, err = parseUint("supply", *supply, types.ShareBits, false); err != nil {
		return err
	}
	tx.MaxSupply = tx.Supply
	if *maxSupply != "" {
		if tx.MaxSupply, err = parseUint("max-supply", *maxSupply, types.ShareBits, false); err != nil {
			return err
		}
		if tx.MaxSupply < tx.Supply {
			return cfgErr("max-supply", *maxSupply, "below --supply %d", tx.Supply)
		}
	}
	p, err := parseAmount("credit-price", *price, true)
	if err != nil {
		return err
	}
	tx.CreditPrice.Set(p)
	if tx.HolderBps, err = parseBps("holder-bps", *holderBps); err != nil {
		return err
	}
	q, err := parseUint("quote-token", *quote, 16, true)
	if err != nil {
		return err
	}
	tx.QuoteToken = uint16(q)
	if tx.Weights, err = parseElem("weights", *weights); err != nil {
		return err
	}
	if tx.Metadata, err = parseElem("metadata", *metadata); err != nil {
		return err
	}
	tx.Fee.Set(fee)
	s, _, err := c.run(k, func(s *session) (types.SignedTx, error) { tx.Account = s.account; return tx, nil })
	if err != nil {
		return err
	}
	defer s.close()
	fmt.Printf("model %d created: DAO account %d, %d shares (cap %d), credits at %s, %d bps to holders\n",
		tx.Model, tx.Account, tx.Supply, tx.MaxSupply, tx.CreditPrice.Dec(), tx.HolderBps)
	return nil
}

func runModelMint(args []string) error {
	c := newSignedCmd("model mint", "fee in the quote token")
	model := c.f.fs.String("model", "", "model id")
	amount := c.f.fs.String("amount", "", "new shares (to the DAO, up to the cap)")
	k, fee, err := c.parse(args)
	if err != nil {
		return err
	}
	tx := &types.MintShares{}
	if tx.Model, err = parseModel(*model); err != nil {
		return err
	}
	if tx.Amount, err = parseUint("amount", *amount, types.ShareBits, false); err != nil {
		return err
	}
	tx.Fee.Set(fee)
	s, _, err := c.run(k, func(s *session) (types.SignedTx, error) { tx.Account = s.account; return tx, nil })
	if err != nil {
		return err
	}
	defer s.close()
	fmt.Printf("minted %d shares of model %d\n", tx.Amount, tx.Model)
	return nil
}

func runModelSetPrice(args []string) error {
	c := newSignedCmd("model set-price", "fee in the quote token")
	model := c.f.fs.String("model", "", "model id")
	price := c.f.fs.String("credit-price", "", "new price of one credit")
	holderBps := c.f.fs.String("holder-bps", "", "new holders' share of credit revenue (default: unchanged)")
	k, fee, err := c.parse(args)
	if err != nil {
		return err
	}
	tx := &types.SetModelParams{}
	if tx.Model, err = parseModel(*model); err != nil {
		return err
	}
	p, err := parseAmount("credit-price", *price, true)
	if err != nil {
		return err
	}
	tx.CreditPrice.Set(p)
	keepBps := *holderBps == ""
	if !keepBps {
		if tx.HolderBps, err = parseBps("holder-bps", *holderBps); err != nil {
			return err
		}
	}
	tx.Fee.Set(fee)
	s, _, err := c.run(k, func(s *session) (types.SignedTx, error) {
		tx.Account = s.account
		if keepBps {
			m, err := s.c.Model(s.ctx, tx.Model)
			if err != nil {
				return nil, err
			}
			tx.HolderBps = m.HolderBps
		}
		return tx, nil
	})
	if err != nil {
		return err
	}
	defer s.close()
	fmt.Printf("model %d: credits at %s, %d bps to holders\n", tx.Model, tx.CreditPrice.Dec(), tx.HolderBps)
	return nil
}

// --- credits and revenue -----------------------------------------------------

func runCredits(args []string) error {
	if len(args) == 0 {
		return cfgErr("credits", "", "want a subcommand: buy or redeem")
	}
	switch args[0] {
	case "buy":
		return runCreditsBuy(args[1:])
	case "redeem":
		return runCreditsRedeem(args[1:])
	}
	return cfgErr("credits", args[0], "unknown subcommand (buy, redeem)")
}

func runCreditsBuy(args []string) error {
	c := newSignedCmd("credits buy", "fee in the quote token")
	model := c.f.fs.String("model", "", "model id")
	credits := c.f.fs.String("credits", "", "credits to buy")
	maxPrice := c.f.fs.String("max-price", "", "the highest price per credit accepted (default: the model's current price)")
	k, fee, err := c.parse(args)
	if err != nil {
		return err
	}
	tx := &types.BuyCredits{}
	if tx.Model, err = parseModel(*model); err != nil {
		return err
	}
	if tx.Credits, err = parseUint("credits", *credits, 64, false); err != nil {
		return err
	}
	usePrice := *maxPrice == ""
	if !usePrice {
		p, err := parseAmount("max-price", *maxPrice, true)
		if err != nil {
			return err
		}
		tx.MaxPrice.Set(p)
	}
	tx.Fee.Set(fee)
	s, _, err := c.run(k, func(s *session) (types.SignedTx, error) {
		tx.Account = s.account
		if usePrice {
			m, err := s.c.Model(s.ctx, tx.Model)
			if err != nil {
				return nil, err
			}
			tx.MaxPrice = m.CreditPrice
		}
		return tx, nil
	})
	if err != nil {
		return err
	}
	defer s.close()
	fmt.Printf("bought %d credits of model %d (at most %s each)\n", tx.Credits, tx.Model, tx.MaxPrice.Dec())
	return nil
}

func runCreditsRedeem(args []string) error {
	c := newSignedCmd("credits redeem", "fee in the quote token")
	model := c.f.fs.String("model", "", "model id")
	credits := c.f.fs.String("credits", "", "credits to burn")
	request := c.f.fs.String("request", "", "commitment to the inference request (field element, 0x-hex): the model's operator sees it")
	k, fee, err := c.parse(args)
	if err != nil {
		return err
	}
	tx := &types.RedeemCredits{}
	if tx.Model, err = parseModel(*model); err != nil {
		return err
	}
	if tx.Credits, err = parseUint("credits", *credits, 64, false); err != nil {
		return err
	}
	if *request == "" {
		return cfgErr("request", "", "required: the request commitment (0x-hex)")
	}
	if tx.Request, err = parseElem("request", *request); err != nil {
		return err
	}
	tx.Fee.Set(fee)
	s, _, err := c.run(k, func(s *session) (types.SignedTx, error) { tx.Account = s.account; return tx, nil })
	if err != nil {
		return err
	}
	defer s.close()
	fmt.Printf("redeemed %d credits of model %d for request %s\n", tx.Credits, tx.Model, elemHex(tx.Request))
	return nil
}

func runRevenue(args []string) error {
	if len(args) == 0 || args[0] != "claim" {
		return cfgErr("revenue", strings.Join(args, " "), "want: modex revenue claim --key FILE --model M")
	}
	c := newSignedCmd("revenue claim", "fee in the quote token")
	model := c.f.fs.String("model", "", "model id")
	k, fee, err := c.parse(args[1:])
	if err != nil {
		return err
	}
	tx := &types.ClaimRevenue{}
	if tx.Model, err = parseModel(*model); err != nil {
		return err
	}
	tx.Fee.Set(fee)
	var before *uint256.Int
	s, _, err := c.run(k, func(s *session) (types.SignedTx, error) {
		tx.Account = s.account
		m, err := s.c.Model(s.ctx, tx.Model)
		if err != nil {
			return nil, err
		}
		before, _ = s.balance(types.BaseAsset(m.QuoteToken))
		return tx, nil
	})
	if err != nil {
		return err
	}
	defer s.close()
	m, err := s.c.Model(s.ctx, tx.Model)
	if err != nil {
		return err
	}
	after, err := s.balance(types.BaseAsset(m.QuoteToken))
	if err == nil && before != nil {
		var d uint256.Int
		d.Sub(after, before)
		d.Add(&d, &tx.Fee)
		fmt.Printf("claimed %s of token %d from model %d (balance now %s)\n", d.Dec(), m.QuoteToken, tx.Model, after.Dec())
	}
	return nil
}

// balance is the account's soft balance of an asset.
func (s *session) balance(a types.AssetID) (*uint256.Int, error) {
	info, err := s.c.Account(s.ctx, s.account)
	if err != nil {
		return nil, err
	}
	for _, b := range info.Balances {
		if b.Asset == uint32(a) {
			v := b.Soft
			return &v, nil
		}
	}
	return new(uint256.Int), nil
}

// --- withdraw --------------------------------------------------------------

func runWithdraw(args []string) error {
	c := newSignedCmd("withdraw", "fee in the token")
	amount := c.f.fs.String("amount", "", "amount in base units (wei for ETH; 0.5eth works too)")
	token := c.f.fs.String("token", "0", "base token id (0 = ETH)")
	to := c.f.fs.String("to", "", "L1 address paid on L1 (default: the key's L1 address)")
	k, fee, err := c.parse(args)
	if err != nil {
		return err
	}
	tx := &types.Withdraw{}
	v, err := parseAmount("amount", *amount, false)
	if err != nil {
		return err
	}
	tx.Amount.Set(v)
	t, err := parseUint("token", *token, 16, true)
	if err != nil {
		return err
	}
	tx.Token = uint16(t)
	switch {
	case *to != "":
		if !common.IsHexAddress(*to) {
			return cfgErr("to", *to, "not an L1 address")
		}
		tx.To = common.HexToAddress(*to)
	default:
		addr, ok := k.address()
		if !ok {
			return cfgErr("to", "", "required: the key file has no L1 key")
		}
		tx.To = addr
	}
	tx.Fee.Set(fee)
	s, info, err := c.run(k, func(s *session) (types.SignedTx, error) { tx.Account = s.account; return tx, nil })
	if err != nil {
		return err
	}
	defer s.close()
	w, err := s.c.Withdrawal(s.ctx, info.Hash)
	if err != nil {
		return err
	}
	fmt.Printf("withdrawal of %s (token %d) to %s: %s", w.Amount.Dec(), w.Token, w.To, w.Status)
	if w.Claimable {
		fmt.Printf(", claimable on L1: modex claim --key %s --owner %s\n", c.o.keyPath, w.To)
	} else {
		fmt.Printf("; claimable on L1 once its batch is verified (modex withdraw ... --wait, or modex tx --hash %s)\n", info.Hash)
	}
	return nil
}
