package state

import (
	"errors"
	"testing"

	"github.com/modex/modex/types"
)

// TestEveryKindHasARule: the per-kind table (state/kinds.go) covers every
// kind, so a new kind without a native rule fails here rather than being
// refused at run time as unknown; and its rule is the one of its own kind.
func TestEveryKindHasARule(t *testing.T) {
	for _, k := range types.AllKinds() {
		tx, err := types.NewTx(k)
		if err != nil {
			t.Fatal(err)
		}
		r, err := ruleOf(tx)
		if err != nil {
			t.Fatalf("%v: %v", k, err)
		}
		if r.apply == nil || r.precheck == nil || r.shape == nil || r.outcome == nil || r.fill == nil {
			t.Fatalf("%v: incomplete rule", k)
		}
	}
	if len(rules) != len(types.AllKinds()) {
		t.Fatalf("%d rules for %d kinds", len(rules), len(types.AllKinds()))
	}
	// a rule applied to another kind's transaction would be a table bug:
	// erase asserts the type, so it panics rather than misread fields
	defer func() {
		if recover() == nil {
			t.Fatal("the Deposit rule took a Transfer")
		}
	}()
	_, _ = rules[types.KindDeposit].apply(nil, &types.Transfer{}, &Receipt{})
}

// TestPrecheckWidthsFirst: State.Apply and Precheck run the kind's
// CheckWidths before its own checks, so a too-wide field is reported as such
// (here a zero, too-wide transfer: ErrAccountRange, not ErrZeroAmount).
func TestPrecheckWidthsFirst(t *testing.T) {
	tx := &types.Transfer{From: 1, To: 1 << types.AccountBits}
	if err := Precheck(types.TestParams(), tx); !errors.Is(err, types.ErrAccountRange) {
		t.Fatalf("err = %v, want ErrAccountRange", err)
	}
}
