package evmtest

import (
	"bytes"
	"context"
	"math/big"
	"testing"
	"time"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark-crypto/ecc/bn254/fp"
	"github.com/consensys/gnark/frontend"
	"github.com/ethereum/go-ethereum"

	"github.com/modex/modex/prover"
)

// cubeCircuit has exactly one public input, like the batch circuit:
// Y = X³ + X + 5.
type cubeCircuit struct {
	X frontend.Variable
	Y frontend.Variable `gnark:",public"`
}

func (c *cubeCircuit) Define(api frontend.API) error {
	api.AssertIsEqual(c.Y, api.Add(api.Mul(c.X, c.X, c.X), c.X, 5))
	return nil
}

// TestEVMVerifier is the end-to-end check of the exported verifier: a proof
// from the CPU prover verifies on the EVM; tampered proofs, wrong inputs and
// inputs ≥ r are rejected with the contract's errors.
func TestEVMVerifier(t *testing.T) {
	// circuit, setup, proof (timed: reported by -v)
	t0 := time.Now()
	ccs, err := prover.Compile(&cubeCircuit{}, "test/evm/cube", "")
	if err != nil {
		t.Fatal(err)
	}
	tCompile := time.Since(t0)
	t0 = time.Now()
	keys, err := prover.DevSetup(ccs)
	if err != nil {
		t.Fatal(err)
	}
	tSetup := time.Since(t0)
	t0 = time.Now()
	proof, err := prover.NewCPU(keys).Prove(context.Background(), &cubeCircuit{X: 3, Y: 35})
	if err != nil {
		t.Fatal(err)
	}
	tProve := time.Since(t0)
	t.Logf("circuit: %d constraints, 1 public input; compile %v, dev setup %v, prove+native verify %v",
		ccs.GetNbConstraints(), tCompile.Round(time.Millisecond), tSetup.Round(time.Millisecond), tProve.Round(time.Millisecond))

	// export, compile and deploy the verifier
	chain := New(t)
	verifier, out := chain.DeployVerifier(keys.VK)
	t.Logf("solc %s: Verifier runtime code %d bytes", out.Compiler, len(out.DeployedBytecode))

	args, err := prover.SolidityCalldata(proof)
	if err != nil {
		t.Fatal(err)
	}
	if len(args.Proof) != 256 || len(args.Input) != 1 {
		t.Fatalf("calldata shape: %d proof bytes, %d inputs", len(args.Proof), len(args.Input))
	}
	pack := func(a *prover.SolidityArgs) []byte {
		b, err := a.Pack()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	good := pack(args)
	if !bytes.Equal(good[:4], Selector(prover.VerifyProofSignature(1))) {
		t.Fatal("selector mismatch")
	}

	// valid proof: the call succeeds; measure gas
	if reverted, data := chain.Call(verifier, good); reverted {
		t.Fatalf("valid proof rejected on the EVM, revert data %x", data)
	}
	est, err := chain.Client.EstimateGas(context.Background(), ethereum.CallMsg{From: chain.From, To: &verifier, Data: good})
	if err != nil {
		t.Fatal(err)
	}
	rcpt := chain.Send(&verifier, good)
	t.Logf("verifyProof gas: estimate %d, transaction gas used %d (calldata %d bytes)", est, rcpt.GasUsed, len(good))

	proofInvalid := Selector("ProofInvalid()")
	notInField := Selector("PublicInputNotInField()")
	r0 := ecc.BN254.ScalarField()
	in := args.Input[0]
	word := func(i int) *big.Int { return new(big.Int).SetBytes(args.Proof[32*i : 32*i+32]) }
	withWord := func(i int, v *big.Int) *prover.SolidityArgs {
		p := append([]byte(nil), args.Proof...)
		v.FillBytes(p[32*i : 32*i+32])
		return &prover.SolidityArgs{Proof: p, Input: args.Input}
	}
	withInput := func(v *big.Int) *prover.SolidityArgs {
		return &prover.SolidityArgs{Proof: args.Proof, Input: []*big.Int{v}}
	}
	add := func(a *big.Int, b int64) *big.Int { return new(big.Int).Add(a, big.NewInt(b)) }
	pMod := fp.Modulus()

	cases := []struct {
		name string
		data []byte
		want []byte // revert selector
	}{
		{"A.x + 1", pack(withWord(0, add(word(0), 1))), proofInvalid},
		{"A.y + 1", pack(withWord(1, add(word(1), 1))), proofInvalid},
		{"B.x.a1 + 1", pack(withWord(2, add(word(2), 1))), proofInvalid},
		{"C.y + 1", pack(withWord(7, add(word(7), 1))), proofInvalid},
		// -A is a valid curve point: only the pairing check can reject it
		{"A negated", pack(withWord(1, new(big.Int).Sub(pMod, word(1)))), proofInvalid},
		{"A.x + p (unreduced)", pack(withWord(0, new(big.Int).Add(word(0), pMod))), proofInvalid},
		{"input + 1", pack(withInput(add(in, 1))), proofInvalid},
		{"input 0", pack(withInput(big.NewInt(0))), proofInvalid},
		{"input + r (same residue)", pack(withInput(new(big.Int).Add(in, r0))), notInField},
		{"input = r", pack(withInput(r0)), notInField},
		{"input = 2^256-1", pack(withInput(new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 256), big.NewInt(1)))), notInField},
		{"short proof", func() []byte {
			return pack(&prover.SolidityArgs{Proof: args.Proof[:255], Input: args.Input})
		}(), nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			reverted, data := chain.Call(verifier, c.data)
			if !reverted {
				t.Fatal("accepted")
			}
			if c.want != nil && !bytes.HasPrefix(data, c.want) {
				t.Fatalf("revert data %x, want selector %x", data, c.want)
			}
		})
	}
}
