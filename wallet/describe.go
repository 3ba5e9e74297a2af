package wallet

import (
	"fmt"
	"strconv"

	"github.com/holiman/uint256"

	"github.com/modex/modex/rpc"
	"github.com/modex/modex/types"
)

// Line is one line of a summary: a label and its text.
type Line struct{ Label, Text string }

// DescribeTx is a transaction for people: its kind, its parties (a trade's
// two), its amounts with their assets, its status and batch.
func DescribeTx(info *rpc.TxInfo) []Line {
	out := []Line{{"hash", info.Hash.Hex()}, {"kind", info.Kind}}
	add := func(label, format string, args ...any) { out = append(out, Line{label, fmt.Sprintf(format, args...)}) }
	acct := func(id uint32) string { return "account " + strconv.FormatUint(uint64(id), 10) }
	quoteFee := func(fee *uint256.Int) {
		if !fee.IsZero() {
			add("fee", "%s base units of the model's quote token", fee.Dec())
		}
	}
	var tx types.Tx
	if len(info.Raw) > 0 {
		tx, _ = types.DecodeTx(info.Raw)
	}
	switch t := tx.(type) {
	case *types.Transfer:
		add("from", "%s", acct(t.From))
		add("to", "%s", acct(t.To))
		add("amount", "%s", FormatAsset(&t.Amount, t.Asset))
		if !t.Fee.IsZero() {
			add("fee", "%s", t.Fee.Dec()+" base units")
		}
	case *types.Withdraw:
		add("account", "%s", acct(t.Account))
		add("to", "%s on L1", t.To)
		add("amount", "%s", FormatToken(&t.Amount, t.Token))
		if !t.Fee.IsZero() {
			add("fee", "%s", FormatToken(&t.Fee, t.Token))
		}
	case *types.Deposit:
		add("account", "%s (L1 %s)", acct(t.Account), t.L1Address)
		add("amount", "%s", FormatToken(&t.Amount, t.Token))
		if t.Refused {
			add("refused", "yes: refunded on L1 (modex claim)")
		}
	case *types.ForcedWithdraw:
		add("account", "%s (requested by L1 %s)", acct(t.Account), t.Requester)
		add("amount", "%s", FormatToken(&t.Amount, t.Token))
	case *types.Trade:
		add("buyer", "%s (order %d)", acct(t.Buy.Account), t.Buy.OrderID)
		add("seller", "%s (order %d)", acct(t.Sell.Account), t.Sell.OrderID)
		add("shares", "%s of model %d at %s each (quote token units)", Plural(t.Fill, "share"), t.Buy.Model, t.Price.Dec())
		add("fees", "buyer %d bps, seller %d bps", t.BuyFeeBips, t.SellFeeBips)
	case *types.CancelOrder:
		add("account", "%s", acct(t.Account))
		add("order", "%d on model %d", t.OrderID, t.Model)
		quoteFee(&t.Fee)
	case *types.CreateModel:
		add("DAO", "%s", acct(t.Account))
		add("model", "%d: %s (cap %d), credits at %s, %d bps to holders", t.Model, Plural(t.Supply, "share"), t.MaxSupply, t.CreditPrice.Dec(), t.HolderBps)
		quoteFee(&t.Fee)
	case *types.MintShares:
		add("DAO", "%s", acct(t.Account))
		add("minted", "%s of model %d", Plural(t.Amount, "share"), t.Model)
		quoteFee(&t.Fee)
	case *types.SetModelParams:
		add("DAO", "%s", acct(t.Account))
		add("model", "%d: credits at %s, %d bps to holders", t.Model, t.CreditPrice.Dec(), t.HolderBps)
		quoteFee(&t.Fee)
	case *types.BuyCredits:
		add("account", "%s", acct(t.Account))
		add("bought", "%s of model %d (at most %s each)", Plural(t.Credits, "credit"), t.Model, t.MaxPrice.Dec())
		quoteFee(&t.Fee)
	case *types.RedeemCredits:
		add("account", "%s", acct(t.Account))
		add("redeemed", "%s of model %d for request %s", Plural(t.Credits, "credit"), t.Model, ElemHex(t.Request))
		quoteFee(&t.Fee)
	case *types.ClaimRevenue:
		add("account", "%s", acct(t.Account))
		add("claimed", "revenue of model %d", t.Model)
		quoteFee(&t.Fee)
	default:
		if info.Account != 0 || info.Kind != "" {
			add("account", "%s, nonce %d", acct(info.Account), info.Nonce)
		}
	}
	status := string(info.Status)
	if info.Error != nil {
		status += fmt.Sprintf(": %s (API error %d, reason %s)", info.Error.Message, info.Error.Code, info.Error.Reason)
	}
	add("status", "%s", status)
	if info.Batch > 0 {
		add("batch", "%d", info.Batch)
	} else {
		add("batch", "none yet")
	}
	return out
}

// Until is a time for people (RFC 3339, UTC).
func Until(unix uint32) string { return types.FormatTime(uint64(unix)) }
