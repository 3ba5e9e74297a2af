package bridge

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/big"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark/backend/groth16"
	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/accounts/abi/bind/v2"
	"github.com/ethereum/go-ethereum/common"
	ethtypes "github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/core/vm/runtime"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"

	"github.com/modex/modex/contracts/bindings"
	"github.com/modex/modex/prover"
	"github.com/modex/modex/state"
	"github.com/modex/modex/types"
)

// L1 is what the bridge needs from an Ethereum JSON-RPC endpoint. Both
// *ethclient.Client (geth --dev, a testnet, mainnet) and the in-process
// simulated backend's client satisfy it.
type L1 interface {
	bind.ContractBackend
	bind.DeployBackend
	ethereum.TransactionReader
	ChainID(ctx context.Context) (*big.Int, error)
	BlockNumber(ctx context.Context) (uint64, error)
	NonceAt(ctx context.Context, account common.Address, blockNumber *big.Int) (uint64, error)
	BalanceAt(ctx context.Context, account common.Address, blockNumber *big.Int) (*big.Int, error)
}

var _ L1 = (*ethclient.Client)(nil)

// ABI is the bridge contract's generated binding (pack, unpack, errors).
var ABI = bindings.NewModex()

// DeployConfig configures a bridge deployment (docs/protocol.md §11).
type DeployConfig struct {
	Params           types.Params
	Operator         common.Address
	Governor         common.Address
	OperatorKey      types.PubKey // L2 key of account 0, the fee account
	PriorityDeadline uint64       // blocks
	PriorityFee      *big.Int     // wei per priority request, paid to the operator (nil: 0)
	MaxBatchLag      uint64       // seconds a batch timestamp may trail L1 time (0: DefaultMaxBatchLag)
	GenesisRoot      fr.Element
	Verifiers        map[types.Family]common.Address
}

// DefaultMaxBatchLag is how far (seconds) a batch's timestamp may trail the L1
// block that verifies it: above the worst proving delay, far below order
// lifetimes that matter (zkSync Lite used the same bound).
const DefaultMaxBatchLag = 24 * 60 * 60

// Contract is a deployed bridge.
type Contract struct {
	Address common.Address
	l1      L1
	bound   *bind.BoundContract
}

// NewContract binds the bridge at addr.
func NewContract(l1 L1, addr common.Address) *Contract {
	return &Contract{Address: addr, l1: l1, bound: ABI.Instance(l1, addr)}
}

// Deploy deploys the bridge and waits until it is mined.
func Deploy(ctx context.Context, l1 L1, opts *bind.TransactOpts, cfg DeployConfig) (*Contract, error) {
	addr, tx, err := DeployTx(opts, l1, cfg)
	if err != nil {
		return nil, err
	}
	if _, err := WaitSuccess(ctx, l1, tx); err != nil {
		return nil, fmt.Errorf("bridge: deploy: %w", err)
	}
	return NewContract(l1, addr), nil
}

// DeployTx sends the bridge's deployment and returns its address and
// transaction without waiting (a chain that mines on demand mines it next).
func DeployTx(opts *bind.TransactOpts, l1 L1, cfg DeployConfig) (common.Address, *ethtypes.Transaction, error) {
	code, err := DeployCode(cfg)
	if err != nil {
		return common.Address{}, nil, err
	}
	addr, tx, err := bind.DeployContract(opts, code, l1, nil)
	if err != nil {
		return common.Address{}, nil, fmt.Errorf("bridge: deploy: %w", Revert(err))
	}
	return addr, tx, nil
}

// DeployCode is the bridge's creation code with cfg as its constructor
// argument.
func DeployCode(cfg DeployConfig) ([]byte, error) {
	c := bindings.ModexConfig{
		Operator:         cfg.Operator,
		Governor:         cfg.Governor,
		OperatorPkX:      elemBig(cfg.OperatorKey.X),
		OperatorPkY:      elemBig(cfg.OperatorKey.Y),
		AccountDepth:     uint8(cfg.Params.AccountDepth),
		BalanceDepth:     uint8(cfg.Params.BalanceDepth),
		Capacity:         uint32(cfg.Params.BatchCapacity),
		PriorityDeadline: cfg.PriorityDeadline,
		PriorityFee:      new(big.Int),
		MaxBatchLag:      cfg.MaxBatchLag,
		GenesisRoot:      elemBig(cfg.GenesisRoot),
	}
	if cfg.PriorityFee != nil {
		c.PriorityFee.Set(cfg.PriorityFee)
	}
	if c.MaxBatchLag == 0 {
		c.MaxBatchLag = DefaultMaxBatchLag
	}
	for f, a := range cfg.Verifiers {
		if f < 1 || int(f) > len(c.Verifiers) {
			return nil, fmt.Errorf("bridge: no family %d", f)
		}
		c.Verifiers[f-1] = a
	}
	return append(common.FromHex(bindings.ModexMetaData.Bin), ABI.PackConstructor(c)...), nil
}

// VerifierDeployCode is the creation code of vk's verifier: the keyed
// verifier (contracts/src/Groth16Verifier.sol, compiled once at build time
// and committed) followed by vk as its constructor argument
// (prover.KeyedVerifierArgs). Nothing is compiled at run time.
func VerifierDeployCode(vk groth16.VerifyingKey) ([]byte, error) {
	args, err := prover.KeyedVerifierArgs(vk)
	if err != nil {
		return nil, err
	}
	return append(common.FromHex(bindings.Groth16VerifierMetaData.Bin), verifierABI.PackConstructor(args)...), nil
}

var verifierABI = bindings.NewGroth16Verifier()

// VerifierRuntimeCode is the code an account holds after deploying
// VerifierDeployCode(vk): the constructor run in an in-memory EVM. A node
// compares it with the code at a deployed verifier's address to know that
// the verifier checks proofs of exactly its own key.
func VerifierRuntimeCode(vk groth16.VerifyingKey) ([]byte, error) {
	code, err := VerifierDeployCode(vk)
	if err != nil {
		return nil, err
	}
	out, _, _, err := runtime.Create(code, &runtime.Config{GasLimit: 30_000_000})
	if err != nil {
		return nil, fmt.Errorf("bridge: verifier constructor: %w", err)
	}
	return out, nil
}

// DeployBytecode deploys a contract without constructor arguments and waits
// until it is mined.
func DeployBytecode(ctx context.Context, l1 L1, opts *bind.TransactOpts, code []byte) (common.Address, error) {
	addr, tx, err := bind.DeployContract(opts, code, l1, nil)
	if err != nil {
		return common.Address{}, fmt.Errorf("bridge: deploy: %w", Revert(err))
	}
	if _, err := WaitSuccess(ctx, l1, tx); err != nil {
		return common.Address{}, fmt.Errorf("bridge: deploy: %w", err)
	}
	return addr, nil
}

// ErrReverted is a mined transaction that failed.
var ErrReverted = errors.New("bridge: transaction reverted")

// WaitSuccess waits for tx to be mined and fails unless it succeeded.
func WaitSuccess(ctx context.Context, l1 L1, tx *ethtypes.Transaction) (*ethtypes.Receipt, error) {
	r, err := bind.WaitMined(ctx, l1, tx.Hash())
	if err != nil {
		return nil, err
	}
	if r.Status != ethtypes.ReceiptStatusSuccessful {
		return r, fmt.Errorf("%w: %s (gas %d)", ErrReverted, tx.Hash(), r.GasUsed)
	}
	return r, nil
}

// ContractError is a revert of the bridge with one of its custom errors.
type ContractError struct {
	Name  string // the Solidity error's name, e.g. "PriorityMismatch"
	Value any    // the decoded error (bindings.Modex<Name>), or the raw data
	Data  []byte
}

func (e *ContractError) Error() string {
	return fmt.Sprintf("bridge contract: %s %+v", e.Name, e.Value)
}

// Revert turns an error that carries revert data into a *ContractError
// naming the bridge's (or the verifier's) custom error; other errors are
// returned unchanged.
func Revert(err error) error {
	if err == nil {
		return nil
	}
	data, ok := ethclient.RevertErrorData(err)
	if !ok {
		return err
	}
	return &ContractError{Name: ErrorName(data), Value: decodeError(data), Data: data}
}

// ErrorName names the custom error of revert data: the bridge's errors and
// the exported verifier's (ProofInvalid, PublicInputNotInField), or
// "unknown".
func ErrorName(data []byte) string {
	if len(data) < 4 {
		return "empty"
	}
	a, _ := bindings.ModexMetaData.ParseABI()
	for name, e := range a.Errors {
		if bytes.Equal(e.ID[:4], data[:4]) {
			return name
		}
	}
	for _, name := range []string{"ProofInvalid", "PublicInputNotInField", "Error"} {
		sig := name + "()"
		if name == "Error" {
			sig = "Error(string)"
		}
		if bytes.Equal(selector(sig), data[:4]) {
			return name
		}
	}
	return "unknown"
}

func decodeError(data []byte) any {
	if v, err := ABI.UnpackError(data); err == nil {
		return v
	}
	return data
}

// BatchArg is the commitBatch argument of a sealed batch (§11.3).
func BatchArg(h *state.Header, pubdata []byte) bindings.ModexBatch {
	return bindings.ModexBatch{
		Number:    h.Number,
		Timestamp: h.Timestamp,
		Family:    uint8(h.Family),
		PrevRoot:  elemBig(h.PrevRoot),
		NewRoot:   elemBig(h.NewRoot),
		Pubdata:   pubdata,
	}
}

// ExitArg is the exit argument of an exit proof (§11.5).
func ExitArg(e *state.ExitProof) bindings.ModexExitProof {
	a := bindings.ModexExitProof{
		Account:      e.Account,
		Token:        e.Token,
		PkX:          elemBig(e.PubKey.X),
		PkY:          elemBig(e.PubKey.Y),
		Nonce:        e.Nonce,
		L1Address:    e.L1Address,
		Balance:      e.Balance.ToBig(),
		PositionRoot: elemBig(e.PositionRoot),
		ModelRoot:    elemBig(e.ModelRoot),
	}
	for _, s := range e.BalancePath {
		a.BalancePath = append(a.BalancePath, elemBig(s))
	}
	for _, s := range e.AccountPath {
		a.AccountPath = append(a.AccountPath, elemBig(s))
	}
	return a
}

// CommitData is the calldata of commitBatch for a sealed batch and its proof.
func CommitData(h *state.Header, pubdata []byte, proof *prover.Proof) ([]byte, error) {
	args, err := prover.SolidityCalldata(proof)
	if err != nil {
		return nil, err
	}
	return ABI.TryPackCommitBatch(BatchArg(h, pubdata), args.Proof)
}

func elemBig(e fr.Element) *big.Int { return e.BigInt(new(big.Int)) }

func selector(sig string) []byte { return crypto.Keccak256([]byte(sig))[:4] }

// EventID is the topic of one of the bridge's events, e.g. "PriorityRequest".
func EventID(name string) common.Hash {
	a, err := bindings.ModexMetaData.ParseABI()
	if err != nil {
		panic(err)
	}
	ev, ok := a.Events[name]
	if !ok {
		panic("bridge: no event " + name)
	}
	return ev.ID
}
