package wallet

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/accounts/abi/bind/v2"
	"github.com/ethereum/go-ethereum/common"
	ethtypes "github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/holiman/uint256"

	"github.com/modex/modex/bridge"
	"github.com/modex/modex/contracts/bindings"
	"github.com/modex/modex/types"
)

// Deposit is an L1 deposit's arguments, checked.
type Deposit struct {
	Amount *uint256.Int
	Token  string // "": ETH; else a registered token's id or L1 address
}

// ParseDeposit checks --amount and --token.
func ParseDeposit(amount, token string) (*Deposit, error) {
	v, err := ParseAmount("amount", amount, false)
	if err != nil {
		return nil, err
	}
	if v.BitLen() > types.AmountBits {
		return nil, ArgErr("amount", amount, "above 2^%d", types.AmountBits)
	}
	t := strings.TrimSpace(token)
	switch strings.ToLower(t) {
	case "", "0", "eth":
		t = ""
	default:
		if !common.IsHexAddress(t) {
			if _, err := strconv.ParseUint(t, 10, 16); err != nil {
				return nil, ArgErr("token", token, "want eth, a token id or the token's L1 address")
			}
		}
	}
	return &Deposit{Amount: v, Token: t}, nil
}

// L1Steps reports a deposit's L1 transactions as they go (any may be nil).
type L1Steps struct {
	Approve func(token uint16, addr common.Address) // an ERC-20 is approved first
	Deposit func(token uint16)                      // the deposit itself
	Sent    func(tx common.Hash)
	Mined   func(r *ethtypes.Receipt, elapsed time.Duration)
}

// DepositRequest is the priority request a deposit made on L1.
type DepositRequest struct {
	PriorityID uint64
	Account    uint32 // the account the bridge credits (assigned on first deposit)
	Token      uint16
}

// DepositL1 sends the deposit from the key's L1 address to the bridge the
// node reports (the session needs UseKey), waits until it is mined and
// returns its priority request; WaitPriority then follows it on L2.
func (s *Session) DepositL1(ctx context.Context, l1URL string, d *Deposit, steps L1Steps) (*DepositRequest, error) {
	if s.Key == nil || s.Key.L1 == nil {
		return nil, ArgErr("key", "", "the key file has no L1 key: deposits are sent from L1")
	}
	l1, err := ethclient.DialContext(ctx, l1URL)
	if err != nil {
		return nil, fmt.Errorf("L1 %s: %w", l1URL, err)
	}
	defer l1.Close()
	chainID, err := l1.ChainID(ctx)
	if err != nil {
		return nil, fmt.Errorf("L1 %s: %w", l1URL, err)
	}
	if chainID.Uint64() != s.Domain.ChainID {
		return nil, fmt.Errorf("L1 %s is chain %s, the node's bridge is on chain %d", l1URL, chainID, s.Domain.ChainID)
	}
	c := bridge.NewContract(l1, s.Domain.Bridge)
	opts := bind.NewKeyedTransactor(s.Key.L1, chainID)
	opts.Context = ctx
	mined := func(tx *ethtypes.Transaction) (*ethtypes.Receipt, error) {
		if steps.Sent != nil {
			steps.Sent(tx.Hash())
		}
		start := time.Now()
		r, err := bridge.WaitSuccess(ctx, l1, tx)
		if err == nil && steps.Mined != nil {
			steps.Mined(r, time.Since(start))
		}
		return r, err
	}

	var tx *ethtypes.Transaction
	req := &DepositRequest{}
	if d.Token == "" {
		opts.Value = d.Amount.ToBig()
		if steps.Deposit != nil {
			steps.Deposit(0)
		}
		if tx, err = c.DepositETH(opts, s.Key.PubKey()); err != nil {
			return nil, fmt.Errorf("deposit: %w", err)
		}
	} else {
		id, addr, err := s.FindToken(ctx, d.Token)
		if err != nil {
			return nil, err
		}
		req.Token = id
		erc20 := bindings.NewTestToken()
		if steps.Approve != nil {
			steps.Approve(id, addr)
		}
		atx, err := bind.Transact(erc20.Instance(l1, addr), opts, erc20.PackApprove(s.Domain.Bridge, d.Amount.ToBig()))
		if err != nil {
			return nil, fmt.Errorf("approve: %w", err)
		}
		if _, err := mined(atx); err != nil {
			return nil, fmt.Errorf("approve: %w", err)
		}
		if steps.Deposit != nil {
			steps.Deposit(id)
		}
		if tx, err = c.DepositERC20(opts, addr, d.Amount.ToBig(), s.Key.PubKey()); err != nil {
			return nil, fmt.Errorf("deposit: %w", err)
		}
	}
	r, err := mined(tx)
	if err != nil {
		return nil, fmt.Errorf("deposit: %w", err)
	}
	for _, l := range r.Logs {
		if l.Address != s.Domain.Bridge {
			continue
		}
		ev, err := bridge.ABI.UnpackPriorityRequestEvent(l)
		if err != nil {
			continue
		}
		if dr, err := bridge.DecodeRequest(ev.Id, ev.Request); err == nil {
			if dep, ok := dr.(*types.Deposit); ok {
				req.PriorityID, req.Account = ev.Id, dep.Account
				return req, nil
			}
		}
	}
	return nil, errors.New("deposit: the L1 receipt holds no deposit request")
}
