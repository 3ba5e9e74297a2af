package poseidon2

import (
	"context"
	"math/big"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/accounts/abi"

	"github.com/modex/modex/contracts/compiler"
	"github.com/modex/modex/internal/testutil/evmtest"
	"github.com/modex/modex/types"
)

// TestGenerated: the committed Solidity is the generator's output
// (MODEX_UPDATE=1 rewrites it).
func TestGenerated(t *testing.T) {
	root, err := compiler.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(root, File)
	if os.Getenv("MODEX_UPDATE") == "1" {
		if err := os.WriteFile(path, []byte(Source()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != Source() {
		t.Fatalf("%s is stale: run MODEX_UPDATE=1 go test ./contracts/poseidon2", File)
	}
}

// TestPoseidon2OnEVM: the Solidity compression, chain and pubdata commitment
// equal the native ones (types.Compress, types.HashChain,
// types.PubdataCommitment) on the EVM, and their gas is measured.
func TestPoseidon2OnEVM(t *testing.T) {
	root, err := compiler.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	out, err := compiler.Compile(filepath.Join(root, File), "Poseidon2Harness")
	if err != nil {
		t.Fatal(err) // compiler.ErrNotInstalled: make solc
	}
	parsed, err := abi.JSON(strings.NewReader(string(out.ABI)))
	if err != nil {
		t.Fatal(err)
	}
	chain := evmtest.New(t)
	addr := chain.Send(nil, out.Bytecode).ContractAddress
	call := func(method string, args ...any) (*big.Int, uint64) {
		t.Helper()
		data, err := parsed.Pack(method, args...)
		if err != nil {
			t.Fatal(err)
		}
		msg := ethereum.CallMsg{From: chain.From, To: &addr, Data: data}
		res, err := chain.Client.CallContract(context.Background(), msg, nil)
		if err != nil {
			t.Fatalf("%s: %v", method, err)
		}
		gas, err := chain.Client.EstimateGas(context.Background(), msg)
		if err != nil {
			t.Fatal(err)
		}
		return new(big.Int).SetBytes(res), gas
	}
	bi := func(e fr.Element) *big.Int { return e.BigInt(new(big.Int)) }
	rng := mrand.New(mrand.NewPCG(1, 2))
	rnd := func() fr.Element {
		var e fr.Element
		e.SetUint64(rng.Uint64())
		for i := 0; i < 3; i++ {
			var x fr.Element
			x.SetUint64(rng.Uint64())
			e.Mul(&e, &x)
		}
		return e
	}
	edge := []fr.Element{{}, types.FromUint64(1)}
	var rMinus1 fr.Element
	rMinus1.SetOne()
	rMinus1.Neg(&rMinus1)
	edge = append(edge, rMinus1)
	for i := 0; i < 20; i++ {
		l, r := rnd(), rnd()
		if i < 9 {
			l, r = edge[i%3], edge[i/3]
		}
		want := types.Compress(l, r)
		got, _ := call("compress", bi(l), bi(r))
		if got.Cmp(bi(want)) != 0 {
			t.Fatalf("compress(%s, %s) = %s, want %s", l.String(), r.String(), got, want.String())
		}
	}
	// compress4 equals types.Compress4: every combination of the edge values
	// (0, 1, r-1) in the four words, then random words
	for i := 0; i < 81+20; i++ {
		var x [4]fr.Element
		for k := range x {
			if i < 81 {
				x[k] = edge[(i/[]int{1, 3, 9, 27}[k])%3]
			} else {
				x[k] = rnd()
			}
		}
		want := types.Compress4(x[0], x[1], x[2], x[3])
		got, _ := call("compress4", bi(x[0]), bi(x[1]), bi(x[2]), bi(x[3]))
		if got.Cmp(bi(want)) != 0 {
			t.Fatalf("compress4(%v) = %s, want %s", x, got, want.String())
		}
	}
	{
		a, b, c, d := rnd(), rnd(), rnd(), rnd()
		x := a
		for i := 0; i < 9; i++ {
			x = types.Compress4(x, b, c, d)
		}
		got, g9 := call("compress4Chain", bi(a), bi(b), bi(c), bi(d), big.NewInt(9))
		if got.Cmp(bi(x)) != 0 {
			t.Fatal("compress4Chain differs from types.Compress4")
		}
		_, g1 := call("compress4Chain", bi(a), bi(b), bi(c), bi(d), big.NewInt(1))
		t.Logf("Poseidon2 compress4 on the EVM: %d gas (9 calls: %d gas, 1: %d)", (g9-g1)/8, g9, g1)
	}
	// the gas of one compression, from chains of 1 and 65 elements
	xs := make([]*big.Int, 65)
	es := make([]fr.Element, 65)
	for i := range xs {
		es[i] = rnd()
		xs[i] = bi(es[i])
	}
	got, g65 := call("chain", xs)
	if got.Cmp(bi(types.HashChain(es...))) != 0 {
		t.Fatal("chain differs from types.HashChain")
	}
	_, g1 := call("chain", xs[:1])
	perCompress := (g65 - g1) / 64
	t.Logf("Poseidon2 compression on the EVM: %d gas (chain of 65: %d gas, of 1: %d)", perCompress, g65, g1)

	// the pubdata commitment of every family, random bytes, 64 slots
	for _, f := range types.AllFamilies() {
		pd := make([]byte, 64*f.SlotBytes())
		for i := range pd {
			pd[i] = byte(rng.Uint32())
		}
		want, err := types.PubdataCommitment(f, pd)
		if err != nil {
			t.Fatal(err)
		}
		got, gas := call("commitmentTx", pd, new(big.Int).SetInt64(int64(f.SlotBytes())))
		if got.Cmp(bi(want)) != 0 {
			t.Fatalf("%v: commitment differs", f)
		}
		calldata := uint64(0)
		for _, b := range pd {
			if b == 0 {
				calldata += 4
			} else {
				calldata += 16
			}
		}
		t.Logf("%-14s 64 slots × %3d bytes (%d chunks): commitment %7d gas in all (%5d per slot; calldata alone %5d per slot)",
			f, f.SlotBytes(), 64*f.SlotChunks(), gas, (gas-21000)/64, calldata/64)
	}
}
