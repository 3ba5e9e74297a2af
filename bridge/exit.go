package bridge

import (
	"context"
	"errors"
	"fmt"
	"math/big"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/accounts/abi/bind/v2"
	"github.com/ethereum/go-ethereum/common"
	ethtypes "github.com/ethereum/go-ethereum/core/types"

	"github.com/modex/modex/contracts/bindings"
	"github.com/modex/modex/state"
	"github.com/modex/modex/state/store"
	"github.com/modex/modex/types"
)

// ErrNotCommitCall is a BatchVerified event whose transaction is not a direct
// commitBatch call (e.g. the operator called through another contract): its
// pubdata cannot be read from the transaction's input.
var ErrNotCommitCall = errors.New("bridge: batch transaction is not a direct commitBatch call")

// ErrRebuildMismatch is a rebuilt state whose root differs from the root the
// contract verified.
var ErrRebuildMismatch = errors.New("bridge: rebuilt state differs from L1")

// logRange is the number of blocks Batches asks one eth_getLogs for (a
// variable so that tests can make it small).
var logRange uint64 = 5000

// L1Batch is a verified batch as L1 records it: the header fields and the
// pubdata from the commitBatch transaction's calldata.
type L1Batch struct {
	Header  state.Header
	Pubdata []byte
	TxHash  common.Hash
	Block   uint64
}

// Batches reads every verified batch from L1 in order, from the
// BatchVerified events (from block fromBlock on) and their transactions'
// calldata. It uses only eth_getLogs and eth_getTransactionByHash, so it
// works against any endpoint that keeps the history.
func Batches(ctx context.Context, l1 L1, c *Contract, fromBlock uint64) ([]L1Batch, error) {
	head, err := l1.BlockNumber(ctx)
	if err != nil {
		return nil, err
	}
	// in ranges, as public endpoints cap the blocks of one eth_getLogs
	var logs []ethtypes.Log
	for from := fromBlock; from <= head; from += logRange {
		to := min(from+logRange-1, head)
		part, err := l1.FilterLogs(ctx, ethereum.FilterQuery{
			FromBlock: new(big.Int).SetUint64(from),
			ToBlock:   new(big.Int).SetUint64(to),
			Addresses: []common.Address{c.Address},
			Topics:    [][]common.Hash{{EventID("BatchVerified")}},
		})
		if err != nil {
			return nil, err
		}
		logs = append(logs, part...)
	}
	parsed, err := bindings.ModexMetaData.ParseABI()
	if err != nil {
		return nil, err
	}
	method := parsed.Methods["commitBatch"]
	var out []L1Batch
	for i := range logs {
		ev, err := ABI.UnpackBatchVerifiedEvent(&logs[i])
		if err != nil {
			return nil, err
		}
		tx, _, err := l1.TransactionByHash(ctx, logs[i].TxHash)
		if err != nil {
			return nil, fmt.Errorf("bridge: batch %d: %w", ev.Number, err)
		}
		data := tx.Data()
		if len(data) < 4 || !bytesEq(data[:4], method.ID) {
			return nil, fmt.Errorf("%w: batch %d in %s", ErrNotCommitCall, ev.Number, logs[i].TxHash)
		}
		args, err := method.Inputs.Unpack(data[4:])
		if err != nil {
			return nil, fmt.Errorf("bridge: batch %d calldata: %w", ev.Number, err)
		}
		b := *abi.ConvertType(args[0], new(bindings.ModexBatch)).(*bindings.ModexBatch)
		if b.Number != ev.Number {
			return nil, fmt.Errorf("%w: event of batch %d in a call for batch %d", ErrNotCommitCall, ev.Number, b.Number)
		}
		f := types.Family(b.Family)
		com, err := types.PubdataCommitment(f, b.Pubdata)
		if err != nil {
			return nil, fmt.Errorf("bridge: batch %d: %w", b.Number, err)
		}
		out = append(out, L1Batch{
			Header: state.Header{
				Number: b.Number, Timestamp: b.Timestamp, Family: f,
				PrevRoot: bigElem(b.PrevRoot), NewRoot: bigElem(b.NewRoot),
				FirstPriority: ev.FirstPriority, PriorityCount: ev.PriorityCount,
				PubdataCommitment: com,
			},
			Pubdata: b.Pubdata,
			TxHash:  logs[i].TxHash,
			Block:   logs[i].BlockNumber,
		})
	}
	return out, nil
}

// Rebuild replays every batch L1 verified that db does not hold yet into db
// (a state.DB with the rollup's parameters and this bridge's domain; a fresh
// one rebuilds from genesis), from L1 data alone, and checks that the result
// is the root the contract holds. progress, if not nil, is called after each
// batch.
func Rebuild(ctx context.Context, l1 L1, c *Contract, fromBlock uint64, db *state.DB, progress func(done, total uint64)) error {
	batches, err := Batches(ctx, l1, c, fromBlock)
	if err != nil {
		return err
	}
	total := uint64(len(batches))
	for _, b := range batches {
		if b.Header.Number <= db.Head() {
			// already held: it must be the batch L1 verified
			mine, err := db.Root(b.Header.Number)
			if err != nil {
				return err
			}
			if mine != b.Header.NewRoot {
				return fmt.Errorf("%w: batch %d root %s, L1 %s", ErrRebuildMismatch, b.Header.Number, mine.String(), b.Header.NewRoot.String())
			}
			continue
		}
		if _, err := db.Replay(&b.Header, b.Pubdata); err != nil {
			return fmt.Errorf("bridge: replay batch %d: %w", b.Header.Number, err)
		}
		if progress != nil {
			progress(b.Header.Number, total)
		}
	}
	root, err := c.StateRoot(ctx)
	if err != nil {
		return err
	}
	mine, err := db.Root(db.Head())
	if err != nil {
		return err
	}
	if mine != root {
		return fmt.Errorf("%w: batch %d root %s, contract %s", ErrRebuildMismatch, db.Head(), mine.String(), root.String())
	}
	return nil
}

// ExitProof is the exit argument for (account, token) in db's last state,
// which must be the contract's verified state (Rebuild first).
func ExitProof(db *state.DB, account uint32, token uint16) (*state.ExitProof, error) {
	st, release, err := db.View(db.Head())
	if err != nil {
		return nil, err
	}
	defer release()
	return st.ExitProof(account, token)
}

func bytesEq(a, b []byte) bool { return string(a) == string(b) }

// Claim pays owner's whole pending balance of token to owner (anyone may
// send it). The transaction is not sent if it would revert: the error is
// then a *ContractError.
func (c *Contract) Claim(opts *bind.TransactOpts, owner common.Address, token uint16) (*ethtypes.Transaction, error) {
	tx, err := bind.Transact(c.bound, opts, ABI.PackClaim(owner, token))
	return tx, Revert(err)
}

// Exit sends the exodus exit of an exit proof (ExitProof after Rebuild).
func (c *Contract) Exit(opts *bind.TransactOpts, e *state.ExitProof) (*ethtypes.Transaction, error) {
	tx, err := bind.Transact(c.bound, opts, ABI.PackExit(ExitArg(e)))
	return tx, Revert(err)
}

// ActivateExodus opens exodus mode (anyone, once the oldest unprocessed
// priority request is past its deadline).
func (c *Contract) ActivateExodus(opts *bind.TransactOpts) (*ethtypes.Transaction, error) {
	tx, err := bind.Transact(c.bound, opts, ABI.PackActivateExodus())
	return tx, Revert(err)
}

// ExitFromL1 is the whole exit helper: it rebuilds the state from L1 into a
// fresh in-memory database (params: the rollup's; Params fills in what the
// contract fixes), proves the balance of (account, token) in the last
// verified state and sends the exit, which pays the account's L1 address.
// Exodus must be active (ActivateExodus). It returns the exit transaction.
func ExitFromL1(ctx context.Context, l1 L1, c *Contract, base types.Params, fromBlock uint64, opts *bind.TransactOpts,
	account uint32, token uint16, progress func(done, total uint64)) (*ethtypes.Transaction, *state.ExitProof, error) {
	p, err := c.Params(ctx, base)
	if err != nil {
		return nil, nil, err
	}
	d, err := c.Domain(ctx)
	if err != nil {
		return nil, nil, err
	}
	db, err := state.Open(p, d, store.Options{InMemory: true, KeepBatches: 1, NoSync: true})
	if err != nil {
		return nil, nil, err
	}
	defer db.Close()
	if err := Rebuild(ctx, l1, c, fromBlock, db, progress); err != nil {
		return nil, nil, err
	}
	proof, err := ExitProof(db, account, token)
	if err != nil {
		return nil, nil, err
	}
	tx, err := c.Exit(opts, proof)
	return tx, proof, err
}
