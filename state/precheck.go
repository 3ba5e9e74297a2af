package state

import (
	"fmt"

	"github.com/holiman/uint256"

	"github.com/modex/modex/types"
)

// precheck runs the stateless checks of docs/protocol.md §1–§2 and §5:
// every signed field within its width (the kind's CheckWidths, beside its
// message in types/kind_<name>.go), then the kind's own stateless checks
// (state/kind_<name>.go): amounts non-zero and packable where the kind
// requires it, ids inside the trees. It runs before any signature is checked
// or state is read, so an out-of-range field is always reported as such, and
// no out-of-range value reaches a message hash.
func precheck(p types.Params, tx types.Tx) error {
	if err := tx.CheckWidths(); err != nil {
		return err
	}
	rule, err := ruleOf(tx)
	if err != nil {
		return err
	}
	return rule.precheck(p, tx)
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
