package state

import (
	"fmt"

	"github.com/modex/modex/types"
)

// kindOf is one transaction kind's native rule, in state/kind_<name>.go
// beside its gadget's circuits/kind_<name>.go: everything the
// state does differently per kind goes through this table, never through a
// switch on the kind.
type kindOf[T types.Tx] struct {
	// precheck runs the stateless checks beyond the field widths
	// (T.CheckWidths): ids inside the trees, non-zero and packable amounts.
	precheck func(p types.Params, t T) error
	// apply validates t against the state, fills in rcpt, and returns the
	// writes to make; it writes nothing itself (see State.Apply).
	apply func(s *State, t T, rcpt *Receipt) (commitFn, error)
	// shape is the witness order of docs/protocol.md §5 (see Shape).
	shape func(p types.Params, t T) []shapeStep
	// outcome binds what a priority operation publishes to its witness leaves.
	outcome func(t T, w *TxWitness) error
	// fill completes an operation decoded from pubdata (see Replay).
	fill func(s *State, t T, prio uint64)
}

// kindRule is kindOf with its type parameter erased, for the table.
type kindRule struct {
	precheck func(types.Params, types.Tx) error
	apply    func(*State, types.Tx, *Receipt) (commitFn, error)
	shape    func(types.Params, types.Tx) []shapeStep
	outcome  func(*TxWitness) error
	fill     func(*State, types.Tx, uint64)
}

func (k kindOf[T]) erase() kindRule {
	r := kindRule{
		precheck: func(types.Params, types.Tx) error { return nil },
		apply:    func(s *State, tx types.Tx, rcpt *Receipt) (commitFn, error) { return k.apply(s, tx.(T), rcpt) },
		shape:    func(types.Params, types.Tx) []shapeStep { return nil },
		outcome:  func(*TxWitness) error { return nil },
		fill:     func(*State, types.Tx, uint64) {},
	}
	if k.precheck != nil {
		r.precheck = func(p types.Params, tx types.Tx) error { return k.precheck(p, tx.(T)) }
	}
	if k.shape != nil {
		r.shape = func(p types.Params, tx types.Tx) []shapeStep { return k.shape(p, tx.(T)) }
	}
	if k.outcome != nil {
		r.outcome = func(w *TxWitness) error { return k.outcome(w.Tx.(T), w) }
	}
	if k.fill != nil {
		r.fill = func(s *State, tx types.Tx, prio uint64) { k.fill(s, tx.(T), prio) }
	}
	return r
}

var noopRule = kindOf[*types.Noop]{apply: func(*State, *types.Noop, *Receipt) (commitFn, error) { return func() error { return nil }, nil }}

// rules holds every kind's rule, by kind number.
var rules = [...]kindRule{
	types.KindNoop:           noopRule.erase(),
	types.KindDeposit:        depositRule.erase(),
	types.KindTransfer:       transferRule.erase(),
	types.KindWithdraw:       withdrawRule.erase(),
	types.KindForcedWithdraw: forcedWithdrawRule.erase(),
	types.KindCreateModel:    createModelRule.erase(),
	types.KindMintShares:     mintSharesRule.erase(),
	types.KindSetModelParams: setModelParamsRule.erase(),
	types.KindTrade:          tradeRule.erase(),
	types.KindCancelOrder:    cancelOrderRule.erase(),
	types.KindBuyCredits:     buyCreditsRule.erase(),
	types.KindRedeemCredits:  redeemCreditsRule.erase(),
	types.KindClaimRevenue:   claimRevenueRule.erase(),
}

// ruleOf is tx's rule, or ErrUnknownKind.
func ruleOf(tx types.Tx) (*kindRule, error) {
	if k := tx.Kind(); int(k) < len(rules) {
		return &rules[k], nil
	}
	return nil, fmt.Errorf("%w: %T", types.ErrUnknownKind, tx)
}
