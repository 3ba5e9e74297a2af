package circuits

import (
	"fmt"
	"math/big"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark/frontend"

	"github.com/modex/modex/bench/workload"
	"github.com/modex/modex/state"
	"github.com/modex/modex/state/store"
	"github.com/modex/modex/types"
)

// replayCircuit replays one transaction's witness: the circuit twin of
// state.VerifyWitness for the witness's shape.
type replayCircuit struct {
	RootBefore, RootAfter  frontend.Variable `gnark:",public"`
	AccountRoot, ModelRoot frontend.Variable
	Model                  []ModelUpdate // zero or one
	Accounts               []AccountUpdate
}

func (c *replayCircuit) Define(api frontend.API) error {
	h, err := NewHasher(api)
	if err != nil {
		return err
	}
	api.AssertIsEqual(h.Compress(c.AccountRoot, c.ModelRoot), c.RootBefore)
	mr := c.ModelRoot
	for i := range c.Model {
		mr = c.Model[i].Apply(api, h, mr)
	}
	ar := c.AccountRoot
	for i := range c.Accounts {
		ar = c.Accounts[i].Apply(api, h, ar)
	}
	api.AssertIsEqual(h.Compress(ar, mr), c.RootAfter)
	return nil
}

func replayShape(p types.Params, w *state.TxWitness) *replayCircuit {
	hasModel, shapes := Shape(w)
	c := &replayCircuit{}
	if hasModel {
		c.Model = []ModelUpdate{NewModelUpdate(p)}
	}
	for _, s := range shapes {
		c.Accounts = append(c.Accounts, NewAccountUpdate(p, s))
	}
	return c
}

func replayAssignment(t *testing.T, p types.Params, w *state.TxWitness) *replayCircuit {
	t.Helper()
	c := replayShape(p, w)
	m, accts, err := Assign(w)
	if err != nil {
		t.Fatal(err)
	}
	if m != nil {
		c.Model = []ModelUpdate{*m}
	}
	c.Accounts = accts
	c.RootBefore, c.RootAfter, c.AccountRoot, c.ModelRoot = w.RootBefore, w.RootAfter, w.AccountRoot, w.ModelRoot
	return c
}

// kindWitnesses applies a few real transactions of every kind (the bench
// generators) at small depths and returns their witnesses, plus the fee
// settlement of the batch.
func kindWitnesses(t *testing.T) (types.Params, map[string]*state.TxWitness) {
	p := types.TestParams()
	p.BatchCapacity = 256
	out := map[string]*state.TxWitness{}
	for _, k := range workload.BenchKinds() {
		// one world per kind: the generators number priority ids per kind
		b, err := workload.NewBench(p, store.Options{InMemory: true}, 6)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 2; i++ {
			st, err := b.Next(k, i)
			if err != nil {
				t.Fatal(err)
			}
			for _, pre := range st.Prep {
				if _, err := b.Add(pre); err != nil {
					t.Fatalf("prep %s: %v", pre.Kind(), err)
				}
			}
			r, err := b.Add(st.Tx)
			if err != nil {
				t.Fatalf("%s: %v", k, err)
			}
			out[fmt.Sprintf("%s/%d", k, i)] = r.Witness
		}
		sb, err := b.Batch.Seal()
		if err != nil {
			t.Fatal(err)
		}
		out["FeeSettlement/"+k.String()] = sb.Witnesses[len(sb.Witnesses)-1]
		b.Close()
	}
	return p, out
}

// TestReplayMatchesNative: for real witnesses of every kind, the circuit
// replays the native update sequence from RootBefore to RootAfter; tampered
// assignments are refused.
func TestReplayMatchesNative(t *testing.T) {
	p, wits := kindWitnesses(t)
	for name, w := range wits {
		t.Run(name, func(t *testing.T) {
			if err := state.VerifyWitness(p, w); err != nil {
				t.Fatalf("native witness invalid: %v", err)
			}
			if err := solved(t, replayShape(p, w), replayAssignment(t, p, w)); err != nil {
				t.Fatalf("circuit refused a native witness: %v", err)
			}
			if len(w.Updates) == 0 {
				return
			}
			tampers := map[string]func(c *replayCircuit){
				"wrong root after": func(c *replayCircuit) { c.RootAfter = c.RootBefore },
			}
			if len(c0(w)) > 0 {
				tampers["account nonce moved"] = func(c *replayCircuit) {
					c.Accounts[0].New.Nonce = big.NewInt(0).Add(toBig(c.Accounts[0].New.Nonce), big.NewInt(1))
				}
				tampers["account sibling changed"] = func(c *replayCircuit) {
					c.Accounts[0].Siblings[0] = types.FromUint64(12345)
				}
				tampers["account index moved"] = func(c *replayCircuit) {
					c.Accounts[0].ID = big.NewInt(0).Add(toBig(c.Accounts[0].ID), big.NewInt(1))
				}
			}
			for tn, f := range tampers {
				c := replayAssignment(t, p, w)
				f(c)
				if err := solved(t, replayShape(p, w), c); err == nil {
					t.Fatalf("%s accepted", tn)
				}
			}
			if hasModel, _ := Shape(w); hasModel {
				c := replayAssignment(t, p, w)
				c.Model[0].New.Treasury = big.NewInt(0).Add(toBig(c.Model[0].New.Treasury), big.NewInt(1))
				if err := solved(t, replayShape(p, w), c); err == nil {
					t.Fatal("model treasury moved without the root: accepted")
				}
			}
		})
	}
}

// c0 returns the witness's account updates.
func c0(w *state.TxWitness) []state.LeafUpdate {
	var out []state.LeafUpdate
	for _, u := range w.Updates {
		if u.Tree == state.TreeAccounts {
			out = append(out, u)
		}
	}
	return out
}

func toBig(v frontend.Variable) *big.Int {
	switch x := v.(type) {
	case *big.Int:
		return x
	case uint64:
		return new(big.Int).SetUint64(x)
	case uint32:
		return big.NewInt(int64(x))
	case uint16:
		return big.NewInt(int64(x))
	case uint8:
		return big.NewInt(int64(x))
	case int:
		return big.NewInt(int64(x))
	case fr.Element:
		return x.BigInt(new(big.Int))
	}
	panic(fmt.Sprintf("toBig: unsupported %T", v))
}
