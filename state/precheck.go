package state

import (
	"fmt"

	"github.com/holiman/uint256"

	"github.com/modex/modex/types"
)

// precheck runs the stateless checks of docs/protocol.md §1–§2 and §5:
// every signed field within its width, amounts non-zero and packable where
// the kind requires it, ids inside the trees. It runs before any signature
// is checked or state is read, so an out-of-range field is always reported as
// such, and no out-of-range value reaches a message hash.
func precheck(p types.Params, tx types.Tx) error {
	switch t := tx.(type) {
	case *types.Transfer:
		if t.From == t.To {
			return types.ErrSelfTransfer
		}
		if t.To>>types.AccountBits != 0 { // the message keeps 24 bits: To and To+2^24 would sign alike
			return fmt.Errorf("%w: receiver %d wider than %d bits", types.ErrAccountRange, t.To, types.AccountBits)
		}
		if err := t.Asset.Check(p); err != nil {
			return err
		}
		if err := checkAmount(&t.Amount, types.AmountBits, "amount"); err != nil {
			return err
		}
		if t.Asset.Kind() != types.AssetBase && !t.Amount.IsUint64() {
			return fmt.Errorf("%w: share or credit amount", types.ErrAmountTooLarge)
		}
		if !types.Amount38.Packable(&t.Amount) {
			return fmt.Errorf("%w: amount %s", types.ErrNotPackable, t.Amount.Dec())
		}
		return checkFee(&t.Fee)
	case *types.Withdraw:
		if err := types.BaseAsset(t.Token).Check(p); err != nil {
			return fmt.Errorf("%w: %v", types.ErrAssetNotWithdrawable, err) // one typed error per rejection
		}
		if err := checkAmount(&t.Amount, types.AmountBits, "amount"); err != nil {
			return err
		}
		return checkFee(&t.Fee)
	case *types.CreateModel:
		if uint64(t.Model) >= 1<<uint64(p.ModelDepth) {
			return fmt.Errorf("%w: %d >= 2^%d", types.ErrModelRange, t.Model, p.ModelDepth)
		}
		if err := types.BaseAsset(t.QuoteToken).Check(p); err != nil {
			return err
		}
		if t.Supply == 0 {
			return types.ErrZeroSupply
		}
		if t.MaxSupply < t.Supply {
			return fmt.Errorf("%w: max supply %d below initial %d", types.ErrSupplyCap, t.MaxSupply, t.Supply)
		}
		if err := checkModelParams(&t.CreditPrice, t.HolderBps); err != nil {
			return err
		}
		return checkFee(&t.Fee)
	case *types.MintShares:
		if t.Amount == 0 {
			return types.ErrZeroAmount
		}
		return checkFee(&t.Fee)
	case *types.SetModelParams:
		if err := checkModelParams(&t.CreditPrice, t.HolderBps); err != nil {
			return err
		}
		return checkFee(&t.Fee)
	case *types.CancelOrder:
		if t.OrderID>>types.OrderIDBits != 0 {
			return fmt.Errorf("%w: order id %d", types.ErrAmountTooLarge, t.OrderID)
		}
		return checkFee(&t.Fee)
	case *types.BuyCredits:
		if t.Credits == 0 {
			return types.ErrZeroAmount
		}
		if !types.Fits(&t.MaxPrice, types.AmountBits) {
			return fmt.Errorf("%w: max price", types.ErrAmountTooLarge)
		}
		return checkFee(&t.Fee)
	case *types.RedeemCredits:
		if t.Credits == 0 {
			return types.ErrZeroAmount
		}
		return checkFee(&t.Fee)
	case *types.ClaimRevenue:
		return checkFee(&t.Fee)
	case *types.Trade:
		if t.Fill == 0 || t.Price.IsZero() {
			return types.ErrZeroAmount
		}
		if !types.Amount38.Packable(uint256.NewInt(t.Fill)) || !types.Amount38.Packable(&t.Price) {
			return fmt.Errorf("%w: fill %d or price %s", types.ErrNotPackable, t.Fill, t.Price.Dec())
		}
		for _, o := range []*types.Order{&t.Buy, &t.Sell} {
			if o.OrderID>>types.OrderIDBits != 0 {
				return fmt.Errorf("%w: order id %d", types.ErrAmountTooLarge, o.OrderID)
			}
			if !types.Fits(&o.Price, types.AmountBits) {
				return fmt.Errorf("%w: order price", types.ErrAmountTooLarge)
			}
		}
	}
	return nil
}

func checkAmount(v *uint256.Int, bits uint, what string) error {
	if v.IsZero() {
		return types.ErrZeroAmount
	}
	if !types.Fits(v, bits) {
		return fmt.Errorf("%w: %s", types.ErrAmountTooLarge, what)
	}
	return nil
}

// Precheck runs the stateless checks of a transaction (field widths, non-zero
// and packable amounts, ids inside the trees) without reading state or
// checking a signature: what the sequencer refuses before it pools a
// transaction. Apply runs the same checks again.
func Precheck(p types.Params, tx types.Tx) error { return precheck(p, tx) }
