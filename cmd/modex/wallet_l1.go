package main

// The wallet's L1 side: deposit (ETH or a registered ERC-20), and claim
// and exit (l1.go) with the wallet's defaults.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/accounts/abi/bind/v2"
	"github.com/ethereum/go-ethereum/common"
	ethtypes "github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/holiman/uint256"
	"github.com/urfave/cli/v3"

	"github.com/modex/modex/bridge"
	"github.com/modex/modex/contracts/bindings"
	"github.com/modex/modex/node"
	"github.com/modex/modex/types"
	"github.com/modex/modex/wallet"
)

// depositArgs are deposit's checked arguments.
type depositArgs struct {
	amount *uint256.Int
	token  string // "": ETH; else an id or an address
}

func parseDepositArgs(amount, token string) (*depositArgs, error) {
	v, err := wallet.ParseAmount("amount", amount, false)
	if err != nil {
		return nil, err
	}
	if v.BitLen() > types.AmountBits {
		return nil, wallet.ArgErr("amount", amount, "above 2^%d", types.AmountBits)
	}
	t := strings.TrimSpace(token)
	switch strings.ToLower(t) {
	case "", "0", "eth":
		t = ""
	default:
		if !common.IsHexAddress(t) {
			if _, err := strconv.ParseUint(t, 10, 16); err != nil {
				return nil, wallet.ArgErr("token", token, "want eth, a token id or the token's L1 address")
			}
		}
	}
	return &depositArgs{amount: v, token: t}, nil
}

func (a *app) depositCommand() *cli.Command {
	s := a.newSettings(false)
	flags := append(walletFlags(s, true),
		&cli.StringFlag{Name: "l1-rpc", Value: wallet.DefaultL1RPC, Usage: "L1 JSON-RPC endpoint", Sources: s.Sources("l1-rpc")},
		&cli.StringFlag{Name: "amount", Usage: "amount in base units (wei for ETH; 1.5eth works too)", Sources: s.Sources("amount")},
		&cli.StringFlag{Name: "token", Value: "eth", Usage: "eth, or a registered token's id or L1 address (ERC-20: approved, then deposited)", Sources: s.Sources("token")},
	)
	return a.command(s, "deposit", "L1 deposit to the key's account; waits until the node applied it (--amount N [--token eth|ID|ADDR])", flags, a.deposit)
}

func (a *app) deposit(ctx context.Context, cmd *cli.Command) error {
	o, err := readWalletOpts(cmd)
	if err != nil {
		return err
	}
	l1URL := cmd.String("l1-rpc")
	if err := node.CheckURL("l1-rpc", l1URL); err != nil {
		return err
	}
	da, err := parseDepositArgs(cmd.String("amount"), cmd.String("token"))
	if err != nil {
		return err
	}
	k, err := wallet.LoadKey(o.keyPath)
	if err != nil {
		return err
	}
	from, ok := k.Address()
	if !ok {
		return wallet.ArgErr("key", o.keyPath, "the key file has no L1 key: deposits are sent from L1")
	}
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	s, err := o.open(ctx, k, false)
	if err != nil {
		return err
	}
	defer s.Close()
	l1, err := ethclient.DialContext(ctx, l1URL)
	if err != nil {
		return fmt.Errorf("L1 %s: %w", l1URL, err)
	}
	defer l1.Close()
	chainID, err := l1.ChainID(ctx)
	if err != nil {
		return fmt.Errorf("L1 %s: %w", l1URL, err)
	}
	if chainID.Uint64() != s.Domain.ChainID {
		return fmt.Errorf("L1 %s is chain %s, the node's bridge is on chain %d", l1URL, chainID, s.Domain.ChainID)
	}
	c := bridge.NewContract(l1, s.Domain.Bridge)
	opts := bind.NewKeyedTransactor(k.L1, chainID)
	opts.Context = ctx

	var tx *ethtypes.Transaction
	tokenID := uint16(0)
	if da.token == "" {
		opts.Value = da.amount.ToBig()
		fmt.Fprintf(a.out, "depositing %s from %s to the bridge %s\n", wallet.FormatETH(da.amount), from, s.Domain.Bridge)
		if tx, err = c.DepositETH(opts, k.PubKey()); err != nil {
			return fmt.Errorf("deposit: %w", err)
		}
	} else {
		id, addr, err := s.FindToken(ctx, da.token)
		if err != nil {
			return err
		}
		tokenID = id
		erc20 := bindings.NewTestToken()
		fmt.Fprintf(a.out, "approving the bridge for %s of token %d (%s)\n", da.amount.Dec(), id, addr)
		atx, err := bind.Transact(erc20.Instance(l1, addr), opts, erc20.PackApprove(s.Domain.Bridge, da.amount.ToBig()))
		if err != nil {
			return fmt.Errorf("approve: %w", err)
		}
		if _, err := waitL1(ctx, a.out, l1, atx); err != nil {
			return fmt.Errorf("approve: %w", err)
		}
		fmt.Fprintf(a.out, "depositing %s from %s\n", wallet.FormatToken(da.amount, id), from)
		if tx, err = c.DepositERC20(opts, addr, da.amount.ToBig(), k.PubKey()); err != nil {
			return fmt.Errorf("deposit: %w", err)
		}
	}
	r, err := waitL1(ctx, a.out, l1, tx)
	if err != nil {
		return fmt.Errorf("deposit: %w", err)
	}
	var prio uint64
	var account uint32
	found := false
	for _, l := range r.Logs {
		if l.Address != s.Domain.Bridge {
			continue
		}
		ev, err := bridge.ABI.UnpackPriorityRequestEvent(l)
		if err != nil {
			continue
		}
		if d, err := bridge.DecodeRequest(ev.Id, ev.Request); err == nil {
			if dep, ok := d.(*types.Deposit); ok {
				prio, account, found = ev.Id, dep.Account, true
			}
		}
	}
	if !found {
		return errors.New("deposit: the L1 receipt holds no deposit request")
	}
	fmt.Fprintf(a.out, "priority request %d for account %d (token %d); waiting for the node to apply it\n", prio, account, tokenID)
	pi, err := s.WaitPriority(ctx, prio, o.wait, func(p wallet.PriorityProgress) {
		switch {
		case p.Status == "":
			fmt.Fprintf(a.out, "  waiting for the node to see request %d (it has seen %d requests at L1 block %d)  %s\n", prio, p.Seen, p.L1Head, humanDuration(p.Elapsed))
		case p.Changed:
			fmt.Fprintf(a.out, "  %-9s%s  %s\n", p.Status, batchNote(p.Batch), humanDuration(p.Elapsed))
		default:
			fmt.Fprintf(a.out, "  still %s, waiting for %s  %s\n", p.Status, o.wait, humanDuration(p.Elapsed))
		}
	})
	if err != nil {
		return err
	}
	if pi.Refused {
		return fmt.Errorf("deposit %d was refused on L2 (batch %d): the amount is refunded on L1 (modex claim)", prio, pi.Batch)
	}
	fmt.Fprintf(a.out, "deposit applied: account %d credited %s in batch %d\n", pi.Account, wallet.FormatToken(&pi.Amount, pi.Token), pi.Batch)
	return nil
}

// waitL1 waits until an L1 transaction is mined and succeeded.
func waitL1(ctx context.Context, w io.Writer, l1 bridge.L1, tx *ethtypes.Transaction) (*ethtypes.Receipt, error) {
	fmt.Fprintf(w, "  L1 tx %s sent, waiting for it to be mined\n", tx.Hash())
	start := time.Now()
	r, err := bridge.WaitSuccess(ctx, l1, tx)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(w, "  mined in block %d (gas %d)  %s\n", r.BlockNumber, r.GasUsed, humanSince(start))
	return r, nil
}
