package main

// The wallet's signed L2 commands: transfer, order place|cancel, model
// create|mint|set-price, credits buy|redeem, revenue claim, withdraw.

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/holiman/uint256"
	"github.com/urfave/cli/v3"

	"github.com/modex/modex/rpc"
	"github.com/modex/modex/rpc/client"
	"github.com/modex/modex/types"
	"github.com/modex/modex/wallet"
)

// --- transfer ----------------------------------------------------------------

func (a *app) transferCommand() *cli.Command {
	return a.signedCommand(signed{
		name: "transfer", usage: "move an asset to another account (--to ACCOUNT --amount N [--asset eth|token:N|shares:M|credits:M])",
		feeHelp: "fee in the asset (base tokens) or the model's quote token (shares, credits)",
		flags: []cli.Flag{
			str("to", "", "receiving account id"),
			str("amount", "", "amount in base units (wei for ETH; 1.5eth works too)"),
			str("asset", "eth", "eth, token:N, shares:MODEL or credits:MODEL"),
		},
		build: func(cmd *cli.Command, _ *wallet.Key, fee *uint256.Int) (types.SignedTx, error) {
			return buildTransfer(cmd.String("to"), cmd.String("amount"), cmd.String("asset"), fee)
		},
		complete: func(_ context.Context, s *wallet.Session, tx types.SignedTx) error {
			if t := tx.(*types.Transfer); t.To == s.Account {
				return wallet.ArgErr("to", strconv.FormatUint(uint64(t.To), 10), "is the sender's own account")
			}
			return nil
		},
		report: func(_ context.Context, w io.Writer, _ *wallet.Session, _ *walletOpts, tx types.SignedTx, _ *rpc.TxInfo) error {
			t := tx.(*types.Transfer)
			fmt.Fprintf(w, "transferred %s from account %d to account %d\n", wallet.FormatAsset(&t.Amount, t.Asset), t.From, t.To)
			return nil
		},
	})
}

func buildTransfer(to, amount, asset string, fee *uint256.Int) (*types.Transfer, error) {
	id, err := wallet.ParseUint("to", to, types.AccountBits, true)
	if err != nil {
		return nil, err
	}
	as, err := wallet.ParseAsset("asset", asset)
	if err != nil {
		return nil, err
	}
	v, err := wallet.ParseAmount("amount", amount, false)
	if err != nil {
		return nil, err
	}
	if err := wallet.Packable("amount", v, types.Amount38); err != nil {
		return nil, err
	}
	tx := &types.Transfer{To: uint32(id), Asset: as}
	tx.Amount.Set(v)
	tx.Fee.Set(fee)
	return tx, nil
}

// --- orders ----------------------------------------------------------------

func (a *app) orderCommand() *cli.Command {
	return group("order", "limit orders on a model's share market: place, cancel", a.orderPlaceCommand(), a.signedCommand(onModel(signed{
		name: "cancel", usage: "cancel an order (--model M --id N)", feeHelp: "fee in the model's quote token",
		report: func(_ context.Context, w io.Writer, _ *wallet.Session, _ *walletOpts, tx types.SignedTx, _ *rpc.TxInfo) error {
			t := tx.(*types.CancelOrder)
			fmt.Fprintf(w, "order %d on model %d cancelled\n", t.OrderID, t.Model)
			return nil
		},
	}, &countArg{"id", "the order id to cancel", types.OrderIDBits},
		func(_ *cli.Command, m uint16, id uint64, fee uint256.Int) (types.SignedTx, error) {
			return &types.CancelOrder{Model: m, OrderID: uint32(id), Fee: fee}, nil
		})))
}

// orderArgs are order place's checked arguments.
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
	if a.model, err = wallet.ParseModel(model); err != nil {
		return nil, err
	}
	switch strings.ToLower(side) {
	case "buy":
		a.side = types.Buy
	case "sell":
		a.side = types.Sell
	case "":
		return nil, wallet.ArgErr("side", "", "required: buy or sell")
	default:
		return nil, wallet.ArgErr("side", side, "want buy or sell")
	}
	if a.amount, err = wallet.ParseUint("amount", amount, types.ShareBits, false); err != nil {
		return nil, err
	}
	if a.price, err = wallet.ParseAmount("price", price, false); err != nil {
		return nil, err
	}
	if err := wallet.Packable("price", a.price, types.Amount38); err != nil {
		return nil, err
	}
	if id != "" {
		v, err := wallet.ParseUint("id", id, types.OrderIDBits, false)
		if err != nil {
			return nil, err
		}
		a.id = uint32(v)
	}
	if valid <= 0 || valid > 365*24*time.Hour {
		return nil, wallet.ArgErr("valid", valid.String(), "want a positive duration up to a year")
	}
	if maxFee > 255 {
		return nil, wallet.ArgErr("max-fee-bips", strconv.FormatUint(uint64(maxFee), 10), "want 0..255")
	}
	a.maxFeeBips = uint8(maxFee)
	return a, nil
}

func (a *app) orderPlaceCommand() *cli.Command {
	s := a.newSettings(false)
	flags := append(walletFlags(s, true),
		&cli.StringFlag{Name: "model", Usage: "model id (its share market)", Sources: s.Sources("model")},
		&cli.StringFlag{Name: "side", Usage: "buy or sell", Sources: s.Sources("side")},
		&cli.StringFlag{Name: "amount", Usage: "shares", Sources: s.Sources("amount")},
		&cli.StringFlag{Name: "price", Usage: "quote-token units per share (a limit: the order trades at this price or better)", Sources: s.Sources("price")},
		&cli.StringFlag{Name: "id", Usage: "order id (default: one above the account's highest order id on this market)", Sources: s.Sources("id")},
		&cli.DurationFlag{Name: "valid", Value: time.Hour, Usage: "how long the order stays valid, from the node's clock (the time its batches carry)", Sources: s.Sources("valid")},
		&cli.UintFlag{Name: "max-fee-bips", Value: 10, Usage: "the highest trade fee accepted (basis points)", Sources: s.Sources("max-fee-bips")},
	)
	return a.command(s, "place", "a signed limit order (--model M --side buy|sell --amount N --price P); it trades at once against the book, the rest rests", flags,
		func(ctx context.Context, cmd *cli.Command) error {
			o, err := readWalletOpts(cmd)
			if err != nil {
				return err
			}
			oa, err := parseOrderArgs(cmd.String("model"), cmd.String("side"), cmd.String("amount"), cmd.String("price"), cmd.String("id"), cmd.Duration("valid"), cmd.Uint("max-fee-bips"))
			if err != nil {
				return err
			}
			k, err := wallet.LoadKey(o.keyPath)
			if err != nil {
				return err
			}
			return o.with(ctx, k, true, func(ctx context.Context, s *wallet.Session) error { return a.placeOrder(ctx, s, o, oa) })
		})
}

// placeOrder signs and places the order and prints what it did.
func (a *app) placeOrder(ctx context.Context, s *wallet.Session, o *walletOpts, oa *orderArgs) error {
	var err error
	if oa.id == 0 {
		if oa.id, err = s.NextOrderID(ctx, oa.model); err != nil {
			return err
		}
	}
	until, err := s.ValidUntil(ctx, oa.valid)
	if err != nil {
		return err
	}
	ord := &types.Order{Model: oa.model, Side: oa.side, OrderID: oa.id, Amount: oa.amount,
		MaxFeeBips: oa.maxFeeBips, ValidUntil: until}
	ord.Price.Set(oa.price)
	res, err := s.PlaceOrder(ctx, ord)
	if err != nil {
		return err
	}
	side := map[types.Side]string{types.Buy: "buy", types.Sell: "sell"}[oa.side]
	fmt.Fprintf(a.out, "order %d placed: %s %s of model %d at %s (account %d, valid until %s)\n", res.OrderID, side,
		wallet.Plural(oa.amount, "share"), oa.model, oa.price.Dec(), s.Account, wallet.Until(ord.ValidUntil))
	var filled uint64
	for _, t := range res.Trades {
		filled += t.Fill
		fmt.Fprintf(a.out, "  trade #%d: %s at %s, buyer %d (order %d), seller %d (order %d), maker %s, tx %s\n",
			t.Seq, wallet.Plural(t.Fill, "share"), t.Price.Dec(), t.Buyer, t.BuyOrder, t.Seller, t.SellOrder, t.Maker, t.Hash)
	}
	for _, d := range res.Dropped {
		fmt.Fprintf(a.out, "  dropped: %s\n", d)
	}
	fmt.Fprintf(a.out, "  filled %d, resting %d\n", filled, res.Rested)
	if len(res.Trades) > 0 && client.StatusRank(o.wait) > client.StatusRank(rpc.TxIncluded) {
		for _, t := range res.Trades {
			if _, err := s.WaitTx(ctx, t.Hash, o.wait, printProgress(a.out, o.wait)); err != nil {
				return err
			}
		}
	}
	return nil
}

// --- models ----------------------------------------------------------------

func (a *app) modelCommand() *cli.Command {
	return group("model", "models: create, mint, set-price, show",
		a.signedCommand(signed{
			name: "create", usage: "register a model; the signer becomes its DAO", feeHelp: "fee in the quote token",
			flags: []cli.Flag{
				str("model", "", "the new model's id"),
				str("supply", "", "initial shares (to the DAO, the signer)"),
				str("max-supply", "", "share cap (default: --supply)"),
				str("credit-price", "", "price of one inference credit in the quote token"),
				str("holder-bps", "", "share of credit revenue paid to shareholders (basis points; the rest goes to the treasury)"),
				str("quote-token", "0", "base token of the market, credit price and revenue (0 = ETH)"),
				str("weights", "", "commitment to the model weights (field element, 0x-hex)"),
				str("metadata", "", "commitment to the model metadata (field element, 0x-hex)"),
			},
			build: buildCreateModel,
			report: func(_ context.Context, w io.Writer, _ *wallet.Session, _ *walletOpts, tx types.SignedTx, _ *rpc.TxInfo) error {
				t := tx.(*types.CreateModel)
				fmt.Fprintf(w, "model %d created: DAO account %d, %s (cap %d), credits at %s, %d bps to holders\n",
					t.Model, t.Account, wallet.Plural(t.Supply, "share"), t.MaxSupply, t.CreditPrice.Dec(), t.HolderBps)
				return nil
			},
		}),
		a.signedCommand(onModel(signed{
			name: "mint", usage: "new shares to the DAO, up to the cap (--model M --amount N)", feeHelp: "fee in the quote token",
			report: func(_ context.Context, w io.Writer, _ *wallet.Session, _ *walletOpts, tx types.SignedTx, _ *rpc.TxInfo) error {
				t := tx.(*types.MintShares)
				fmt.Fprintf(w, "minted %s of model %d\n", wallet.Plural(t.Amount, "share"), t.Model)
				return nil
			},
		}, &countArg{"amount", "new shares (to the DAO, up to the cap)", types.ShareBits},
			func(_ *cli.Command, m uint16, n uint64, fee uint256.Int) (types.SignedTx, error) {
				return &types.MintShares{Model: m, Amount: n, Fee: fee}, nil
			})),
		a.signedCommand(onModel(signed{
			name: "set-price", usage: "the credit price and the holders' share (--model M --credit-price P [--holder-bps B])", feeHelp: "fee in the quote token",
			flags: []cli.Flag{
				str("credit-price", "", "new price of one credit"),
				str("holder-bps", "", "new holders' share of credit revenue (default: unchanged)"),
			},
			complete: defaultFromModel(func(t *types.SetModelParams) (uint16, bool) { return t.Model, t.HolderBps == noBps },
				func(t *types.SetModelParams, m *rpc.ModelInfo) { t.HolderBps = m.HolderBps }),
			report: func(_ context.Context, w io.Writer, _ *wallet.Session, _ *walletOpts, tx types.SignedTx, _ *rpc.TxInfo) error {
				t := tx.(*types.SetModelParams)
				fmt.Fprintf(w, "model %d: credits at %s, %d bps to holders\n", t.Model, t.CreditPrice.Dec(), t.HolderBps)
				return nil
			},
		}, nil, func(cmd *cli.Command, m uint16, _ uint64, fee uint256.Int) (types.SignedTx, error) {
			p, err := wallet.ParseAmount("credit-price", cmd.String("credit-price"), true)
			if err != nil {
				return nil, err
			}
			tx := &types.SetModelParams{Model: m, CreditPrice: *p, HolderBps: noBps, Fee: fee}
			if b := cmd.String("holder-bps"); b != "" {
				if tx.HolderBps, err = wallet.ParseBps("holder-bps", b); err != nil {
					return nil, err
				}
			}
			return tx, nil
		})),
		a.modelShowCommand(),
	)
}

// countArg is the positive count a command on a model takes after --model
// (--<name> N, of bits bits).
type countArg struct {
	name, usage string
	bits        int
}

// onModel makes sc a command on one model, the shape of the model, credits,
// revenue and order cancel commands: --model M and, where count is not nil,
// its count lead sc's own flags and are parsed first, in that order; then
// build makes the transaction from them, sc's flags and the fee.
func onModel(sc signed, count *countArg, build func(cmd *cli.Command, model uint16, n uint64, fee uint256.Int) (types.SignedTx, error)) signed {
	lead := []cli.Flag{str("model", "", "model id")}
	if count != nil {
		lead = append(lead, str(count.name, "", count.usage))
	}
	sc.flags = append(lead, sc.flags...)
	sc.build = func(cmd *cli.Command, _ *wallet.Key, fee *uint256.Int) (types.SignedTx, error) {
		m, err := wallet.ParseModel(cmd.String("model"))
		if err != nil {
			return nil, err
		}
		var n uint64
		if count != nil {
			if n, err = wallet.ParseUint(count.name, cmd.String(count.name), count.bits, false); err != nil {
				return nil, err
			}
		}
		return build(cmd, m, n, *fee)
	}
	return sc
}

// defaultFromModel is the complete step of a command whose flags may leave a
// field to the model's current value (--holder-bps, --max-price): where
// unset says the transaction's field was left so, it fetches the model and
// fill sets the field from it.
func defaultFromModel[T types.SignedTx](unset func(T) (model uint16, left bool), fill func(T, *rpc.ModelInfo)) func(context.Context, *wallet.Session, types.SignedTx) error {
	return func(ctx context.Context, s *wallet.Session, tx types.SignedTx) error {
		t := tx.(T)
		id, left := unset(t)
		if !left {
			return nil
		}
		m, err := s.Client.Model(ctx, id)
		if err != nil {
			return err
		}
		fill(t, m)
		return nil
	}
}

// noBps: --holder-bps not given (keep the model's).
const noBps = 0xFFFF

func buildCreateModel(cmd *cli.Command, _ *wallet.Key, fee *uint256.Int) (types.SignedTx, error) {
	tx := &types.CreateModel{}
	var err error
	if tx.Model, err = wallet.ParseModel(cmd.String("model")); err != nil {
		return nil, err
	}
	if tx.Supply, err = wallet.ParseUint("supply", cmd.String("supply"), types.ShareBits, false); err != nil {
		return nil, err
	}
	tx.MaxSupply = tx.Supply
	if ms := cmd.String("max-supply"); ms != "" {
		if tx.MaxSupply, err = wallet.ParseUint("max-supply", ms, types.ShareBits, false); err != nil {
			return nil, err
		}
		if tx.MaxSupply < tx.Supply {
			return nil, wallet.ArgErr("max-supply", ms, "below --supply %d", tx.Supply)
		}
	}
	p, err := wallet.ParseAmount("credit-price", cmd.String("credit-price"), true)
	if err != nil {
		return nil, err
	}
	tx.CreditPrice.Set(p)
	if tx.HolderBps, err = wallet.ParseBps("holder-bps", cmd.String("holder-bps")); err != nil {
		return nil, err
	}
	q, err := wallet.ParseUint("quote-token", cmd.String("quote-token"), 16, true)
	if err != nil {
		return nil, err
	}
	tx.QuoteToken = uint16(q)
	if tx.Weights, err = wallet.ParseElem("weights", cmd.String("weights")); err != nil {
		return nil, err
	}
	if tx.Metadata, err = wallet.ParseElem("metadata", cmd.String("metadata")); err != nil {
		return nil, err
	}
	tx.Fee.Set(fee)
	return tx, nil
}

// --- credits and revenue -----------------------------------------------------

func (a *app) creditsCommand() *cli.Command {
	return group("credits", "inference credits: buy, redeem",
		a.signedCommand(onModel(signed{
			name: "buy", usage: "buy credits at the model's price (--model M --credits N [--max-price P])", feeHelp: "fee in the quote token",
			flags: []cli.Flag{
				str("max-price", "", "the highest price per credit accepted (default: the model's current price)"),
			},
			complete: defaultFromModel(func(t *types.BuyCredits) (uint16, bool) { return t.Model, t.MaxPrice.IsZero() },
				func(t *types.BuyCredits, m *rpc.ModelInfo) { t.MaxPrice = m.CreditPrice }),
			report: func(ctx context.Context, w io.Writer, s *wallet.Session, _ *walletOpts, tx types.SignedTx, _ *rpc.TxInfo) error {
				t := tx.(*types.BuyCredits)
				m, err := s.Client.Model(ctx, t.Model)
				if err != nil {
					return err
				}
				// The batch charged the model's price when it applied the
				// purchase, at most MaxPrice; the node keeps no price history,
				// so the cost is the limit's, said as a limit, and the price
				// now is shown beside it when it differs.
				var most uint256.Int
				most.Mul(&t.MaxPrice, uint256.NewInt(t.Credits))
				now := ""
				if !m.CreditPrice.Eq(&t.MaxPrice) {
					now = fmt.Sprintf("; the price is %s now", m.CreditPrice.Dec())
				}
				fmt.Fprintf(w, "bought %s of model %d for at most %s (%s each%s)\n", wallet.Plural(t.Credits, "credit"), t.Model,
					wallet.FormatToken(&most, m.QuoteToken), t.MaxPrice.Dec(), now)
				return nil
			},
		}, &countArg{"credits", "credits to buy", 64}, func(cmd *cli.Command, m uint16, n uint64, fee uint256.Int) (types.SignedTx, error) {
			tx := &types.BuyCredits{Model: m, Credits: n, Fee: fee}
			if mp := cmd.String("max-price"); mp != "" {
				p, err := wallet.ParseAmount("max-price", mp, true)
				if err != nil {
					return nil, err
				}
				tx.MaxPrice.Set(p)
			}
			return tx, nil
		})),
		a.signedCommand(onModel(signed{
			name: "redeem", usage: "burn credits for an inference request (--model M --credits N --request HEX)", feeHelp: "fee in the quote token",
			flags: []cli.Flag{
				str("request", "", "commitment to the inference request (field element, 0x-hex): the model's operator sees it"),
			},
			report: func(_ context.Context, w io.Writer, _ *wallet.Session, _ *walletOpts, tx types.SignedTx, _ *rpc.TxInfo) error {
				t := tx.(*types.RedeemCredits)
				fmt.Fprintf(w, "redeemed %s of model %d for request %s\n", wallet.Plural(t.Credits, "credit"), t.Model, wallet.ElemHex(t.Request))
				return nil
			},
		}, &countArg{"credits", "credits to burn", 64}, func(cmd *cli.Command, m uint16, n uint64, fee uint256.Int) (types.SignedTx, error) {
			if cmd.String("request") == "" {
				return nil, wallet.ArgErr("request", "", "required: the request commitment (0x-hex)")
			}
			r, err := wallet.ParseElem("request", cmd.String("request"))
			if err != nil {
				return nil, err
			}
			return &types.RedeemCredits{Model: m, Credits: n, Request: r, Fee: fee}, nil
		})),
	)
}

func (a *app) revenueCommand() *cli.Command {
	var before *uint256.Int
	var quote uint16
	return group("revenue", "credit revenue: claim",
		a.signedCommand(onModel(signed{
			name: "claim", usage: "pay your share of a model's credit revenue into your balance (--model M)", feeHelp: "fee in the quote token",
			complete: func(ctx context.Context, s *wallet.Session, tx types.SignedTx) error {
				m, err := s.Client.Model(ctx, tx.(*types.ClaimRevenue).Model)
				if err != nil {
					return err
				}
				quote = m.QuoteToken
				before, err = s.Balance(ctx, types.BaseAsset(quote))
				return err
			},
			report: func(ctx context.Context, w io.Writer, s *wallet.Session, _ *walletOpts, tx types.SignedTx, _ *rpc.TxInfo) error {
				t := tx.(*types.ClaimRevenue)
				after, err := s.Balance(ctx, types.BaseAsset(quote))
				if err != nil {
					return err
				}
				var d uint256.Int
				d.Sub(after, before)
				d.Add(&d, &t.Fee)
				fmt.Fprintf(w, "claimed %s from model %d (balance now %s)\n", wallet.FormatToken(&d, quote), t.Model, wallet.FormatToken(after, quote))
				return nil
			},
		}, nil, func(_ *cli.Command, m uint16, _ uint64, fee uint256.Int) (types.SignedTx, error) {
			return &types.ClaimRevenue{Model: m, Fee: fee}, nil
		})))
}

// --- withdraw --------------------------------------------------------------

func (a *app) withdrawCommand() *cli.Command {
	return a.signedCommand(signed{
		name: "withdraw", usage: "move a base token to L1 (--amount N [--token 0] [--to ADDR] [--wait])", feeHelp: "fee in the token",
		flags: []cli.Flag{
			str("amount", "", "amount in base units (wei for ETH; 0.5eth works too)"),
			str("token", "0", "base token id (0 = ETH)"),
			str("to", "", "L1 address paid on L1 (default: the key's L1 address)"),
		},
		build: func(cmd *cli.Command, k *wallet.Key, fee *uint256.Int) (types.SignedTx, error) {
			tx := &types.Withdraw{}
			v, err := wallet.ParseAmount("amount", cmd.String("amount"), false)
			if err != nil {
				return nil, err
			}
			tx.Amount.Set(v)
			t, err := wallet.ParseUint("token", cmd.String("token"), 16, true)
			if err != nil {
				return nil, err
			}
			tx.Token = uint16(t)
			switch to := cmd.String("to"); {
			case to != "":
				if !common.IsHexAddress(to) {
					return nil, wallet.ArgErr("to", to, "not an L1 address")
				}
				tx.To = common.HexToAddress(to)
			default:
				addr, ok := k.Address()
				if !ok {
					return nil, wallet.ArgErr("to", "", "required: the key file has no L1 key")
				}
				tx.To = addr
			}
			tx.Fee.Set(fee)
			return tx, nil
		},
		report: func(ctx context.Context, w io.Writer, s *wallet.Session, o *walletOpts, _ types.SignedTx, info *rpc.TxInfo) error {
			wd, err := s.Client.Withdrawal(ctx, info.Hash)
			if err != nil {
				return err
			}
			fmt.Fprintf(w, "withdrawal of %s to %s: %s", wallet.FormatToken(&wd.Amount, wd.Token), wd.To, wd.Status)
			if wd.Claimable {
				fmt.Fprintf(w, ", claimable on L1: modex claim --key %s --owner %s\n", o.keyPath, wd.To)
			} else {
				fmt.Fprintf(w, "; claimable on L1 once its batch is verified (modex withdraw ... --wait, or modex tx --hash %s)\n", info.Hash)
			}
			return nil
		},
	})
}
