package bridge

import (
	"context"
	"fmt"
	"math/big"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/ethereum/go-ethereum/accounts/abi/bind/v2"
	"github.com/ethereum/go-ethereum/common"

	"github.com/modex/modex/types"
)

func view[T any](ctx context.Context, c *Contract, data []byte, unpack func([]byte) (T, error)) (T, error) {
	v, err := bind.Call(c.bound, &bind.CallOpts{Context: ctx}, data, unpack)
	if err != nil {
		var zero T
		return zero, fmt.Errorf("bridge: %w", Revert(err))
	}
	return v, nil
}

// LastBatch is the number of the last verified batch.
func (c *Contract) LastBatch(ctx context.Context) (uint64, error) {
	return view(ctx, c, ABI.PackLastBatch(), ABI.UnpackLastBatch)
}

// StateRoot is the root after the last verified batch.
func (c *Contract) StateRoot(ctx context.Context) (fr.Element, error) {
	v, err := view(ctx, c, ABI.PackStateRoot(), ABI.UnpackStateRoot)
	return bigElem(v), err
}

// BatchRoot is the root after verified batch n (zero if n is not verified).
func (c *Contract) BatchRoot(ctx context.Context, n uint64) (fr.Element, error) {
	v, err := view(ctx, c, ABI.PackBatchRoot(n), ABI.UnpackBatchRoot)
	return bigElem(v), err
}

// TotalRequests is the number of priority requests queued.
func (c *Contract) TotalRequests(ctx context.Context) (uint64, error) {
	return view(ctx, c, ABI.PackTotalRequests(), ABI.UnpackTotalRequests)
}

// TotalProcessed is the number of priority requests consumed by verified batches.
func (c *Contract) TotalProcessed(ctx context.Context) (uint64, error) {
	return view(ctx, c, ABI.PackTotalProcessed(), ABI.UnpackTotalProcessed)
}

// Pending is owner's claimable balance of a token.
func (c *Contract) Pending(ctx context.Context, owner common.Address, token uint16) (*big.Int, error) {
	return view(ctx, c, ABI.PackPending(owner, token), ABI.UnpackPending)
}

// Exodus reports whether exodus mode is active.
func (c *Contract) Exodus(ctx context.Context) (bool, error) {
	return view(ctx, c, ABI.PackExodus(), ABI.UnpackExodus)
}

// TokenAddress is the ERC-20 of a token id (zero for ETH).
func (c *Contract) TokenAddress(ctx context.Context, id uint16) (common.Address, error) {
	return view(ctx, c, ABI.PackTokenAddress(id), ABI.UnpackTokenAddress)
}

// Domain is the signing domain of this bridge (chain id and address, §1).
func (c *Contract) Domain(ctx context.Context) (types.Domain, error) {
	id, err := c.l1.ChainID(ctx)
	if err != nil {
		return types.Domain{}, err
	}
	return types.Domain{ChainID: id.Uint64(), Bridge: c.Address}, nil
}

// Bound is the generated binding bound to this contract (for transactions).
func (c *Contract) Bound() *bind.BoundContract { return c.bound }

func bigElem(b *big.Int) fr.Element {
	var e fr.Element
	if b != nil {
		e.SetBigInt(b)
	}
	return e
}

// Params returns base with the parameters the contract fixes (account and
// balance depths, batch capacity) read from the contract; the others
// (model and order depths, fee assets) are not on L1 and come from base.
func (c *Contract) Params(ctx context.Context, base types.Params) (types.Params, error) {
	ad, err := view(ctx, c, ABI.PackAccountDepth(), ABI.UnpackAccountDepth)
	if err != nil {
		return base, err
	}
	bd, err := view(ctx, c, ABI.PackBalanceDepth(), ABI.UnpackBalanceDepth)
	if err != nil {
		return base, err
	}
	cp, err := view(ctx, c, ABI.PackCapacity(), ABI.UnpackCapacity)
	if err != nil {
		return base, err
	}
	base.AccountDepth, base.BalanceDepth, base.BatchCapacity = int(ad), int(bd), int(cp)
	return base, base.Check()
}

// Governor is the bridge's governor.
func (c *Contract) Governor(ctx context.Context) (common.Address, error) {
	return view(ctx, c, ABI.PackGovernor(), ABI.UnpackGovernor)
}
