package bridge

import (
	"context"
	"math/big"

	"github.com/ethereum/go-ethereum/accounts/abi/bind/v2"
	"github.com/ethereum/go-ethereum/common"
	ethtypes "github.com/ethereum/go-ethereum/core/types"

	"github.com/modex/modex/types"
)

// The user operations of the bridge (the wallet's L1 side). Each is sent
// only if it would not revert; the error is then a *ContractError.

// DepositETH deposits opts.Value wei for the L2 key pk (the account is
// created on the first deposit of the pair (sender, pk)).
func (c *Contract) DepositETH(opts *bind.TransactOpts, pk types.PubKey) (*ethtypes.Transaction, error) {
	tx, err := bind.Transact(c.bound, opts, ABI.PackDepositETH(elemBig(pk.X), elemBig(pk.Y)))
	return tx, Revert(err)
}

// DepositERC20 deposits amount of a registered token (approve the bridge first).
func (c *Contract) DepositERC20(opts *bind.TransactOpts, token common.Address, amount *big.Int, pk types.PubKey) (*ethtypes.Transaction, error) {
	tx, err := bind.Transact(c.bound, opts, ABI.PackDepositERC20(token, amount, elemBig(pk.X), elemBig(pk.Y)))
	return tx, Revert(err)
}

// Withdraw pulls amount of the sender's pending balance of token to `to`.
func (c *Contract) Withdraw(opts *bind.TransactOpts, token uint16, amount *big.Int, to common.Address) (*ethtypes.Transaction, error) {
	tx, err := bind.Transact(c.bound, opts, ABI.PackWithdraw(token, amount, to))
	return tx, Revert(err)
}

// RequestForcedWithdraw asks, through L1, for the whole balance of token
// of account (the censorship-resistant path; pays the priority fee).
func (c *Contract) RequestForcedWithdraw(opts *bind.TransactOpts, account uint32, token uint16) (*ethtypes.Transaction, error) {
	tx, err := bind.Transact(c.bound, opts, ABI.PackRequestForcedWithdraw(account, token))
	return tx, Revert(err)
}

// AccountOf is the account id the bridge assigned to (l1, pk), if any.
func (c *Contract) AccountOf(ctx context.Context, l1 common.Address, pk types.PubKey) (uint32, bool, error) {
	r, err := view(ctx, c, ABI.PackAccountOf(l1, elemBig(pk.X), elemBig(pk.Y)), ABI.UnpackAccountOf)
	if err != nil {
		return 0, false, err
	}
	return r.Arg0, r.Arg1, nil
}
