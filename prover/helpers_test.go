package prover

import (
	"io"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark/frontend"
	gnarklog "github.com/consensys/gnark/logger"
	"github.com/consensys/gnark/std/permutation/poseidon2"

	"github.com/modex/modex/types"
)

func TestMain(m *testing.M) {
	gnarklog.Disable() // gnark's own logging
	if os.Getenv("MODEX_PROVER_LOG") == "" {
		slog.SetDefault(slog.New(slog.NewTextHandler(io.Discard, nil)))
	}
	os.Exit(m.Run())
}

// compressCircuit has exactly one public input, like the batch circuit:
// Out = Compress^K chained over (L, R) (one Poseidon2 compression when K = 1).
type compressCircuit struct {
	K    int `gnark:"-"`
	L, R frontend.Variable
	Out  frontend.Variable `gnark:",public"`
}

var defineCalls atomic.Int64 // counts compilations (cache tests)

func (c *compressCircuit) Define(api frontend.API) error {
	defineCalls.Add(1)
	p, err := poseidon2.NewPoseidon2(api)
	if err != nil {
		return err
	}
	acc := p.Compress(c.L, c.R)
	for i := 1; i < c.K; i++ {
		acc = p.Compress(acc, c.R)
	}
	api.AssertIsEqual(acc, c.Out)
	return nil
}

func compressAssignment(k int, l, r uint64) *compressCircuit {
	var L, R fr.Element
	L.SetUint64(l)
	R.SetUint64(r)
	acc := types.Compress(L, R)
	for i := 1; i < k; i++ {
		acc = types.Compress(acc, R)
	}
	return &compressCircuit{K: k, L: L, R: R, Out: acc}
}

// twoPublic has two public inputs (key-mismatch tests).
type twoPublic struct {
	A frontend.Variable `gnark:",public"`
	B frontend.Variable `gnark:",public"`
	X frontend.Variable
}

func (c *twoPublic) Define(api frontend.API) error {
	api.AssertIsEqual(api.Mul(c.X, c.X), api.Add(c.A, c.B))
	return nil
}

// withCommit uses a gnark commitment (must be rejected).
type withCommit struct {
	X frontend.Variable
	Y frontend.Variable `gnark:",public"`
}

func (c *withCommit) Define(api frontend.API) error {
	cm, err := api.(frontend.Committer).Commit(c.X)
	if err != nil {
		return err
	}
	api.AssertIsDifferent(cm, c.Y)
	return nil
}

// devKeys are shared dev keys for the one-compression circuit.
var devKeys = sync.OnceValues(func() (*Keys, error) {
	ccs, err := Compile(&compressCircuit{K: 1}, "test/compress/k=1", "")
	if err != nil {
		return nil, err
	}
	return DevSetup(ccs)
})

func mustDevKeys(t testing.TB) *Keys {
	t.Helper()
	k, err := devKeys()
	if err != nil {
		t.Fatal(err)
	}
	return k
}
