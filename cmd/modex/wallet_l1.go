package main

// The wallet's L1 side: deposit (ETH or a registered ERC-20); claim and
// exit are in l1.go.

import (
	"context"
	"fmt"
	"time"

	"github.com/ethereum/go-ethereum/common"
	ethtypes "github.com/ethereum/go-ethereum/core/types"
	"github.com/urfave/cli/v3"

	"github.com/modex/modex/node"
	"github.com/modex/modex/wallet"
)

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
	d, err := wallet.ParseDeposit(cmd.String("amount"), cmd.String("token"))
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
	return o.with(ctx, k, false, func(ctx context.Context, s *wallet.Session) error {
		req, err := s.DepositL1(ctx, l1URL, d, wallet.L1Steps{
			Approve: func(token uint16, addr common.Address) {
				fmt.Fprintf(a.out, "approving the bridge for %s of token %d (%s)\n", d.Amount.Dec(), token, addr)
			},
			Deposit: func(token uint16) {
				fmt.Fprintf(a.out, "depositing %s from %s to the bridge %s\n", wallet.FormatToken(d.Amount, token), from, s.Domain.Bridge)
			},
			Sent: func(h common.Hash) { fmt.Fprintf(a.out, "  L1 tx %s sent, waiting for it to be mined\n", h) },
			Mined: func(r *ethtypes.Receipt, took time.Duration) {
				fmt.Fprintf(a.out, "  mined in block %d (gas %d)  %s\n", r.BlockNumber, r.GasUsed, humanDuration(took))
			},
		})
		if err != nil {
			return err
		}
		fmt.Fprintf(a.out, "priority request %d for account %d (token %d); waiting for the node to apply it\n", req.PriorityID, req.Account, req.Token)
		pi, err := s.WaitPriority(ctx, req.PriorityID, o.wait, func(p wallet.PriorityProgress) {
			switch {
			case p.Status == "":
				fmt.Fprintf(a.out, "  waiting for the node to see request %d (it has seen %d requests at L1 block %d)  %s\n", req.PriorityID, p.Seen, p.L1Head, humanDuration(p.Elapsed))
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
			return fmt.Errorf("deposit %d was refused on L2 (batch %d): the amount is refunded on L1 (modex claim)", req.PriorityID, pi.Batch)
		}
		fmt.Fprintf(a.out, "deposit applied: account %d credited %s in batch %d\n", pi.Account, wallet.FormatToken(&pi.Amount, pi.Token), pi.Batch)
		return nil
	})
}
