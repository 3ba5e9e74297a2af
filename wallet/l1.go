package wallet

// The L1 side of withdrawals and of the escape hatch: Claim pays an
// address's pending balance on the bridge; Exit rebuilds the state from L1
// alone and exits a balance (exodus). Both sign with an L1Signer.

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"math/big"
	"os"
	"time"

	"github.com/ethereum/go-ethereum/accounts/abi/bind/v2"
	"github.com/ethereum/go-ethereum/common"
	ethtypes "github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"

	"github.com/modex/modex/bridge"
	"github.com/modex/modex/state"
	"github.com/modex/modex/types"
)

// L1MineTimeout bounds the wait for one L1 transaction to be mined.
var L1MineTimeout = 10 * time.Minute

// ParseSignerKey reads --key of an L1 command: a wallet key file (its L1
// key) or a hex secp256k1 key.
func ParseSignerKey(key string) (*ecdsa.PrivateKey, error) {
	if key == "" {
		return nil, ArgErr("key", "", "required: the L1 key that signs")
	}
	if st, err := os.Stat(key); err == nil && !st.IsDir() {
		wk, err := LoadKey(key)
		if err != nil {
			return nil, err
		}
		if wk.L1 == nil {
			return nil, ArgErr("key", key, "the key file has no L1 key")
		}
		return wk.L1, nil
	}
	k, err := crypto.HexToECDSA(trim0x(key))
	if err != nil {
		// the value is a secret: it is not repeated
		return nil, ArgErr("key", "", "neither a key file nor a hex secp256k1 key: %v", err)
	}
	return k, nil
}

// ParseAddress reads an L1 address argument (field names its flag).
func ParseAddress(field, s string) (common.Address, error) {
	if !common.IsHexAddress(s) {
		return common.Address{}, ArgErr(field, s, "want a 0x-hex L1 address")
	}
	return common.HexToAddress(s), nil
}

// L1Signer is an L1 key with the bridge bound: it sends Claim and Exit.
type L1Signer struct {
	Client *ethclient.Client
	Bridge *bridge.Contract
	Opts   *bind.TransactOpts // Opts.From is the key's address
	ctx    context.Context
}

// DialL1 dials the L1 endpoint and binds the bridge at addr; key signs.
func DialL1(ctx context.Context, rpcURL string, addr common.Address, key *ecdsa.PrivateKey) (*L1Signer, error) {
	cl, err := ethclient.DialContext(ctx, rpcURL)
	if err != nil {
		return nil, fmt.Errorf("L1 endpoint %s: %w", rpcURL, err)
	}
	id, err := cl.ChainID(ctx)
	if err != nil {
		cl.Close()
		return nil, fmt.Errorf("L1 endpoint %s: %w", rpcURL, err)
	}
	opts := bind.NewKeyedTransactor(key, id)
	opts.Context = ctx
	return &L1Signer{Client: cl, Bridge: bridge.NewContract(cl, addr), Opts: opts, ctx: ctx}, nil
}

// Close closes the L1 connection.
func (l *L1Signer) Close() { l.Client.Close() }

// TxSteps reports an L1 transaction as it goes (either may be nil).
type TxSteps struct {
	Sent  func(tx common.Hash)
	Mined func(r *ethtypes.Receipt, elapsed time.Duration)
}

// wait waits until tx is mined and succeeded (at most L1MineTimeout).
func (l *L1Signer) wait(tx *ethtypes.Transaction, steps TxSteps) (*ethtypes.Receipt, error) {
	if steps.Sent != nil {
		steps.Sent(tx.Hash())
	}
	ctx, cancel := context.WithTimeout(l.ctx, L1MineTimeout)
	defer cancel()
	start := time.Now()
	r, err := bridge.WaitSuccess(ctx, l.Client, tx)
	if err != nil {
		return nil, err
	}
	if steps.Mined != nil {
		steps.Mined(r, time.Since(start))
	}
	return r, nil
}

// ErrNothingToClaim: the owner has no pending balance of the token.
var ErrNothingToClaim = errors.New("nothing to claim")

// NothingToClaimError says whose balance was empty; it wraps ErrNothingToClaim.
type NothingToClaimError struct {
	Owner common.Address
	Token uint16
}

func (e *NothingToClaimError) Error() string {
	return fmt.Sprintf("nothing to claim: %s has no pending balance of token %d on the bridge", e.Owner, e.Token)
}

func (e *NothingToClaimError) Unwrap() error { return ErrNothingToClaim }

// ClaimSteps reports a claim as it goes (any may be nil).
type ClaimSteps struct {
	Pending func(owner common.Address, token uint16, amount *big.Int) // read before the claim is sent
	TxSteps
}

// Claim pays owner's pending balance of token (withdrawals, refused
// deposits) on L1; owner nil is the signer's own address. An empty balance
// is a *NothingToClaimError and sends nothing.
func (l *L1Signer) Claim(owner *common.Address, token uint16, steps ClaimSteps) (*ethtypes.Receipt, error) {
	who := l.Opts.From
	if owner != nil {
		who = *owner
	}
	p, err := l.Bridge.Pending(l.ctx, who, token)
	if err != nil {
		return nil, err
	}
	if steps.Pending != nil {
		steps.Pending(who, token, p)
	}
	if p.Sign() == 0 {
		return nil, &NothingToClaimError{Owner: who, Token: token}
	}
	tx, err := l.Bridge.Claim(l.Opts, who, token)
	if err != nil {
		return nil, err
	}
	return l.wait(tx, steps.TxSteps)
}

// ErrExodusInactive: the bridge is not in exodus, and activating it was not
// asked for.
var ErrExodusInactive = errors.New("exodus is not active")

// ExitRequest is an exodus exit's arguments.
type ExitRequest struct {
	Params    types.Params // the rollup's (the contract does not store them)
	FromBlock uint64       // the block the bridge was deployed in (where the L1 history starts)
	Account   uint64       // L2 account id
	Token     uint64       // base token id
	Activate  bool         // activate exodus first if it is not active
}

// Check checks the account and token ids.
func (r *ExitRequest) Check() error {
	if r.Account >= 1<<types.AccountBits {
		return ArgErr("account", fmt.Sprint(r.Account), "not an account id (below 2^%d)", types.AccountBits)
	}
	_, err := TokenID(r.Token)
	return err
}

// TokenID checks a --token base token id.
func TokenID(v uint64) (uint16, error) {
	if v >= 1<<16 {
		return 0, ArgErr("token", fmt.Sprint(v), "not a base token id (below 2^16)")
	}
	return uint16(v), nil
}

// ExitSteps reports an exit as it goes (any may be nil). TxSteps reports
// the activation of exodus, if any, and the exit transaction.
type ExitSteps struct {
	Rebuilding func()                       // the replay of the L1 history starts
	Replayed   func(done, total uint64)     // after every batch
	Exiting    func(proof *state.ExitProof) // the exit is sent
	TxSteps
}

// Exit rebuilds the state from L1 alone (BatchVerified events and
// commitBatch calldata) and exits the account's balance of the token to its
// L1 address. With the bridge not in exodus it is ErrExodusInactive, unless
// r.Activate: then it activates exodus first.
func (l *L1Signer) Exit(r ExitRequest, steps ExitSteps) (*ethtypes.Receipt, error) {
	if err := r.Check(); err != nil {
		return nil, err
	}
	on, err := l.Bridge.Exodus(l.ctx)
	if err != nil {
		return nil, err
	}
	if !on {
		if !r.Activate {
			return nil, ErrExodusInactive
		}
		tx, err := l.Bridge.ActivateExodus(l.Opts)
		if err != nil {
			return nil, fmt.Errorf("activate exodus: %w", err)
		}
		if _, err := l.wait(tx, steps.TxSteps); err != nil {
			return nil, err
		}
	}
	if steps.Rebuilding != nil {
		steps.Rebuilding()
	}
	tx, proof, err := bridge.ExitFromL1(l.ctx, l.Client, l.Bridge, r.Params, r.FromBlock, l.Opts, uint32(r.Account), uint16(r.Token), steps.Replayed)
	if err != nil {
		return nil, err
	}
	if steps.Exiting != nil {
		steps.Exiting(proof)
	}
	return l.wait(tx, steps.TxSteps)
}
