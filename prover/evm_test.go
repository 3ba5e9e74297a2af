package prover

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark-crypto/ecc/bn254/fp"
	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/ethclient/simulated"
)

// evmChain is a funded account on go-ethereum's in-process chain.
type evmChain struct {
	t       *testing.T
	backend *simulated.Backend
	client  simulated.Client
	key     *ecdsa.PrivateKey
	from    common.Address
	chainID *big.Int
}

func newEVMChain(t *testing.T) *evmChain {
	key, err := crypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	from := crypto.PubkeyToAddress(key.PublicKey)
	b := simulated.NewBackend(types.GenesisAlloc{from: {Balance: new(big.Int).Lsh(big.NewInt(1), 100)}})
	t.Cleanup(func() { b.Close() })
	id, err := b.Client().ChainID(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return &evmChain{t: t, backend: b, client: b.Client(), key: key, from: from, chainID: id}
}

// send signs and mines one transaction and returns its receipt.
func (c *evmChain) send(to *common.Address, data []byte) *types.Receipt {
	c.t.Helper()
	ctx := context.Background()
	nonce, err := c.client.PendingNonceAt(ctx, c.from)
	if err != nil {
		c.t.Fatal(err)
	}
	price, err := c.client.SuggestGasPrice(ctx)
	if err != nil {
		c.t.Fatal(err)
	}
	gas, err := c.client.EstimateGas(ctx, ethereum.CallMsg{From: c.from, To: to, Data: data})
	if err != nil {
		c.t.Fatalf("estimate gas: %v", err)
	}
	tx, err := types.SignTx(types.NewTx(&types.LegacyTx{Nonce: nonce, GasPrice: price, Gas: gas, To: to, Data: data}),
		types.LatestSignerForChainID(c.chainID), c.key)
	if err != nil {
		c.t.Fatal(err)
	}
	if err := c.client.SendTransaction(ctx, tx); err != nil {
		c.t.Fatal(err)
	}
	c.backend.Commit()
	r, err := c.client.TransactionReceipt(ctx, tx.Hash())
	if err != nil {
		c.t.Fatal(err)
	}
	if r.Status != types.ReceiptStatusSuccessful {
		c.t.Fatalf("transaction failed: %+v", r)
	}
	return r
}

// call runs a read-only call and returns the revert data (nil on success).
func (c *evmChain) call(to common.Address, data []byte) (reverted bool, revertData []byte) {
	c.t.Helper()
	_, err := c.client.CallContract(context.Background(), ethereum.CallMsg{From: c.from, To: &to, Data: data}, nil)
	if err == nil {
		return false, nil
	}
	d, ok := ethclient.RevertErrorData(err)
	if !ok {
		c.t.Fatalf("call failed without revert data: %v", err)
	}
	return true, d
}

func selector(sig string) []byte { return crypto.Keccak256([]byte(sig))[:4] }

// TestEVMVerifier is the end-to-end check of the exported verifier: a proof
// from the CPU prover verifies on the EVM; tampered proofs, wrong inputs and
// inputs ≥ r are rejected with the contract's errors.
func TestEVMVerifier(t *testing.T) {
	// circuit, setup, proof (timed: reported by -v)
	t0 := time.Now()
	ccs, err := Compile(&compressCircuit{K: 1}, "test/compress/k=1", "")
	if err != nil {
		t.Fatal(err)
	}
	tCompile := time.Since(t0)
	t0 = time.Now()
	keys, err := DevSetup(ccs)
	if err != nil {
		t.Fatal(err)
	}
	tSetup := time.Since(t0)
	t0 = time.Now()
	proof, err := NewCPU(keys).Prove(context.Background(), compressAssignment(1, 11, 12))
	if err != nil {
		t.Fatal(err)
	}
	tProve := time.Since(t0)
	t.Logf("circuit: %d constraints, 1 public input; compile %v, dev setup %v, prove+native verify %v",
		ccs.GetNbConstraints(), tCompile.Round(time.Millisecond), tSetup.Round(time.Millisecond), tProve.Round(time.Millisecond))

	// export and compile the verifier
	sol := filepath.Join(t.TempDir(), "Verifier.sol")
	var buf bytes.Buffer
	if err := ExportSolidity(keys.VK, &buf); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(sol, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := CompileSolidity(sol, "Verifier")
	if err != nil {
		t.Fatal(err) // ErrSolcNotInstalled: run `make solc`
	}
	t.Logf("solc %s: Verifier runtime code %d bytes", out.Compiler, len(out.DeployedBytecode))

	// deploy
	chain := newEVMChain(t)
	r := chain.send(nil, out.Bytecode)
	verifier := r.ContractAddress
	t.Logf("deploy gas: %d", r.GasUsed)

	args, err := SolidityCalldata(proof)
	if err != nil {
		t.Fatal(err)
	}
	if len(args.Proof) != 256 || len(args.Input) != 1 {
		t.Fatalf("calldata shape: %d proof bytes, %d inputs", len(args.Proof), len(args.Input))
	}
	pack := func(a *SolidityArgs) []byte {
		b, err := a.Pack()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	good := pack(args)
	if !bytes.Equal(good[:4], selector(VerifyProofSignature(1))) {
		t.Fatal("selector mismatch")
	}

	// valid proof: the call succeeds; measure gas
	if reverted, data := chain.call(verifier, good); reverted {
		t.Fatalf("valid proof rejected on the EVM, revert data %x", data)
	}
	est, err := chain.client.EstimateGas(context.Background(), ethereum.CallMsg{From: chain.from, To: &verifier, Data: good})
	if err != nil {
		t.Fatal(err)
	}
	rcpt := chain.send(&verifier, good)
	t.Logf("verifyProof gas: estimate %d, transaction gas used %d (calldata %d bytes)", est, rcpt.GasUsed, len(good))

	proofInvalid := selector("ProofInvalid()")
	notInField := selector("PublicInputNotInField()")
	r0 := ecc.BN254.ScalarField()
	in := args.Input[0]
	word := func(i int) *big.Int { return new(big.Int).SetBytes(args.Proof[32*i : 32*i+32]) }
	withWord := func(i int, v *big.Int) *SolidityArgs {
		p := append([]byte(nil), args.Proof...)
		v.FillBytes(p[32*i : 32*i+32])
		return &SolidityArgs{Proof: p, Input: args.Input}
	}
	withInput := func(v *big.Int) *SolidityArgs { return &SolidityArgs{Proof: args.Proof, Input: []*big.Int{v}} }
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
			return pack(&SolidityArgs{Proof: args.Proof[:255], Input: args.Input})
		}(), nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			reverted, data := chain.call(verifier, c.data)
			if !reverted {
				t.Fatal("accepted")
			}
			if c.want != nil && !bytes.HasPrefix(data, c.want) {
				t.Fatalf("revert data %x, want selector %x", data, c.want)
			}
		})
	}
}
