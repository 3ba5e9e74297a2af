// Package evmtest runs the exported Groth16 verifier on go-ethereum's
// in-process chain (ethclient/simulated), for tests: a funded account,
// transactions mined one block each, read-only calls with revert data, and
// deployment of the Solidity verifier of a verifying key: gnark's export
// compiled by solc, or the keyed verifier the rollup deploys. Only tests import
// it, so the modex binary does not link the simulated chain.
package evmtest

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"math/big"
	"os"
	"path/filepath"
	"testing"

	"github.com/consensys/gnark/backend/groth16"
	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/ethclient/simulated"

	"github.com/modex/modex/bridge"
	"github.com/modex/modex/contracts/compiler"
	"github.com/modex/modex/prover"
)

// Chain is a funded account on go-ethereum's in-process chain.
type Chain struct {
	t       testing.TB
	Backend *simulated.Backend
	Client  simulated.Client
	key     *ecdsa.PrivateKey
	From    common.Address
	chainID *big.Int
}

// New starts a chain (closed with the test).
func New(t testing.TB) *Chain {
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
	return &Chain{t: t, Backend: b, Client: b.Client(), key: key, From: from, chainID: id}
}

// Send signs and mines one transaction and returns its receipt; it fails
// the test unless the transaction succeeds.
func (c *Chain) Send(to *common.Address, data []byte) *types.Receipt {
	c.t.Helper()
	ctx := context.Background()
	nonce, err := c.Client.PendingNonceAt(ctx, c.From)
	if err != nil {
		c.t.Fatal(err)
	}
	price, err := c.Client.SuggestGasPrice(ctx)
	if err != nil {
		c.t.Fatal(err)
	}
	gas, err := c.Client.EstimateGas(ctx, ethereum.CallMsg{From: c.From, To: to, Data: data})
	if err != nil {
		c.t.Fatalf("estimate gas: %v", err)
	}
	tx, err := types.SignTx(types.NewTx(&types.LegacyTx{Nonce: nonce, GasPrice: price, Gas: gas, To: to, Data: data}),
		types.LatestSignerForChainID(c.chainID), c.key)
	if err != nil {
		c.t.Fatal(err)
	}
	if err := c.Client.SendTransaction(ctx, tx); err != nil {
		c.t.Fatal(err)
	}
	c.Backend.Commit()
	r, err := c.Client.TransactionReceipt(ctx, tx.Hash())
	if err != nil {
		c.t.Fatal(err)
	}
	if r.Status != types.ReceiptStatusSuccessful {
		c.t.Fatalf("transaction failed: %+v", r)
	}
	return r
}

// Call runs a read-only call and returns whether it reverted, with the
// revert data.
func (c *Chain) Call(to common.Address, data []byte) (reverted bool, revertData []byte) {
	c.t.Helper()
	_, err := c.Client.CallContract(context.Background(), ethereum.CallMsg{From: c.From, To: &to, Data: data}, nil)
	if err == nil {
		return false, nil
	}
	d, ok := ethclient.RevertErrorData(err)
	if !ok {
		c.t.Fatalf("call failed without revert data: %v", err)
	}
	return true, d
}

// Selector is a function's 4-byte selector.
func Selector(sig string) []byte { return crypto.Keccak256([]byte(sig))[:4] }

// DeployVerifier exports the Solidity verifier of vk, compiles it with solc
// (make solc) and deploys it; it returns the contract and the compiler output.
func (c *Chain) DeployVerifier(vk groth16.VerifyingKey) (common.Address, *compiler.Output) {
	c.t.Helper()
	sol := filepath.Join(c.t.TempDir(), "Verifier.sol")
	var buf bytes.Buffer
	if err := prover.ExportSolidity(vk, &buf); err != nil {
		c.t.Fatal(err)
	}
	if err := os.WriteFile(sol, buf.Bytes(), 0o644); err != nil {
		c.t.Fatal(err)
	}
	out, err := compiler.Compile(sol, "Verifier")
	if err != nil {
		c.t.Fatal(err) // compiler.ErrNotInstalled: run `make solc`
	}
	r := c.Send(nil, out.Bytecode)
	return r.ContractAddress, out
}

// DeployKeyedVerifier deploys vk's keyed verifier (the committed
// Groth16Verifier with vk as constructor argument, bridge.VerifierDeployCode):
// what the rollup deploys, with no compiler involved.
func (c *Chain) DeployKeyedVerifier(vk groth16.VerifyingKey) common.Address {
	c.t.Helper()
	code, err := bridge.VerifierDeployCode(vk)
	if err != nil {
		c.t.Fatal(err)
	}
	return c.Send(nil, code).ContractAddress
}
