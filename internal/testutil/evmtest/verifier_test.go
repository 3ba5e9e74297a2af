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
	"github.com/ethereum/go-ethereum/common"

	"github.com/modex/modex/bridge"
	"github.com/modex/modex/contracts/bindings"
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

// TestEVMVerifier is the end-to-end check of the exported verifier and of
// the keyed verifier the rollup deploys: a proof from the CPU prover
// verifies on the EVM; tampered proofs, wrong inputs and inputs ≥ r are
// rejected with the contract's errors, and the keyed verifier answers every
// case exactly as gnark's export does, within 2% of its gas.
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

	// gnark's exported verifier, compiled by solc, and the keyed verifier
	// (committed bytecode + the key as constructor argument)
	chain := New(t)
	verifier, out := chain.DeployVerifier(keys.VK)
	keyed := chain.DeployKeyedVerifier(keys.VK)
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

	// valid proof: both accept it; measure gas
	gas := map[common.Address]uint64{}
	for _, v := range []common.Address{verifier, keyed} {
		if reverted, data := chain.Call(v, good); reverted {
			t.Fatalf("valid proof rejected on the EVM by %s, revert data %x", v, data)
		}
		est, err := chain.Client.EstimateGas(context.Background(), ethereum.CallMsg{From: chain.From, To: &v, Data: good})
		if err != nil {
			t.Fatal(err)
		}
		rcpt := chain.Send(&v, good)
		gas[v] = rcpt.GasUsed
		t.Logf("verifyProof gas (%s): estimate %d, transaction gas used %d (calldata %d bytes)", v, est, rcpt.GasUsed, len(good))
	}
	// The keyed verifier reads its key from immutables, nearly as cheap as
	// gnark's constants: within 2% per proof (issue 14).
	if g, k := gas[verifier], gas[keyed]; k*100 > g*102 {
		t.Errorf("keyed verifier %d gas per proof, gnark's %d: more than 2%% above", k, g)
	}

	// The keyed verifier holds exactly the code bridge.VerifierRuntimeCode
	// predicts for this key, and reports its key.
	code, err := chain.Client.CodeAt(context.Background(), keyed, nil)
	if err != nil {
		t.Fatal(err)
	}
	want, err := bridge.VerifierRuntimeCode(keys.VK)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(code, want) {
		t.Fatalf("keyed verifier's code (%d bytes) differs from VerifierRuntimeCode (%d bytes)", len(code), len(want))
	}
	vkArgs, err := prover.KeyedVerifierArgs(keys.VK)
	if err != nil {
		t.Fatal(err)
	}
	res, err := chain.Client.CallContract(context.Background(), ethereum.CallMsg{To: &keyed, Data: bindings.NewGroth16Verifier().PackVerifyingKey()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	onChain, err := bindings.NewGroth16Verifier().UnpackVerifyingKey(res)
	if err != nil {
		t.Fatal(err)
	}
	for i := range vkArgs {
		if onChain[i].Cmp(vkArgs[i]) != 0 {
			t.Fatalf("verifyingKey()[%d] = %v, want %v", i, onChain[i], vkArgs[i])
		}
	}

	// A keyed verifier of another key (another setup of the same circuit)
	// rejects the proof.
	other, err := prover.DevSetup(ccs)
	if err != nil {
		t.Fatal(err)
	}
	if reverted, data := chain.Call(chain.DeployKeyedVerifier(other.VK), good); !reverted || !bytes.HasPrefix(data, Selector("ProofInvalid()")) {
		t.Fatalf("another key's verifier: reverted %v, data %x; want ProofInvalid", reverted, data)
	}

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
			// the keyed verifier answers exactly as gnark's does
			kReverted, kData := chain.Call(keyed, c.data)
			if !kReverted || !bytes.Equal(kData, data) {
				t.Fatalf("keyed verifier: reverted %v with %x; gnark's verifier reverted with %x", kReverted, kData, data)
			}
		})
	}
}
