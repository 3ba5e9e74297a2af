package prove

import (
	"strings"
	"testing"

	"github.com/modex/modex/types"
)

// SealedBatch makes a full batch of the family at the asked capacity.
func TestSealedBatch(t *testing.T) {
	p := types.TestParams()
	sb, _, err := SealedBatch(p, "Transfer", 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(sb.Txs) != 2 || sb.Header.Family.String() != "Transfer" {
		t.Errorf("%d txs of %s", len(sb.Txs), sb.Header.Family)
	}
	for _, fam := range []string{"Bogus", types.FamilyAssetTransfer.String()} {
		if _, _, err := SealedBatch(p, fam, 1); err == nil {
			t.Errorf("family %s: no error", fam)
		}
	}
}

// Arguments are checked before any circuit is compiled.
func TestRunArguments(t *testing.T) {
	for _, tc := range []struct {
		runs    int
		backend string
		want    string
	}{
		{0, "cpu", "runs"},
		{1, "tpu", "--backend"},
	} {
		_, err := Run(types.TestParams(), "Transfer", []int{1}, tc.runs, Options{Backend: tc.backend}, nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("runs %d backend %s: %v", tc.runs, tc.backend, err)
		}
	}
}
