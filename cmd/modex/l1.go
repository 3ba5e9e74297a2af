package main

// modex claim and modex exit: the L1 side of withdrawals and of the
// escape hatch; the logic is the wallet package's (wallet/l1.go).

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/ethereum/go-ethereum/common"
	ethtypes "github.com/ethereum/go-ethereum/core/types"
	"github.com/urfave/cli/v3"

	"github.com/modex/modex/node"
	"github.com/modex/modex/state"
	"github.com/modex/modex/wallet"
)

// l1Flags are the flags every L1 command takes; the bridge may default to
// the one the node at --rpc reports (bridgeFromNode).
func l1Flags(s *node.Settings, l1Default string, bridgeFromNode bool) []cli.Flag {
	keyUsage := "hex secp256k1 key that signs the L1 transaction (env also MODEX_L1_KEY)"
	bridgeUsage := "bridge contract address"
	if bridgeFromNode {
		keyUsage = "wallet key file, or a hex secp256k1 key, that signs the L1 transaction (env also MODEX_L1_KEY)"
		bridgeUsage += " (default: the node's at --rpc)"
	}
	keySources := s.Sources("key")
	keySources.Append(cli.EnvVars("MODEX_L1_KEY"))
	out := []cli.Flag{
		&cli.StringFlag{Name: "l1-rpc", Value: l1Default, Usage: "L1 JSON-RPC endpoint", Sources: s.Sources("l1-rpc")},
		&cli.StringFlag{Name: "bridge", Usage: bridgeUsage, Sources: s.Sources("bridge")},
		&cli.StringFlag{Name: "key", Usage: keyUsage, Sources: keySources},
		&cli.UintFlag{Name: "token", Usage: "base token id (0 = ETH)", Sources: s.Sources("token")},
	}
	if bridgeFromNode {
		out = append(out, &cli.StringFlag{Name: "rpc", Value: wallet.DefaultRPC, Usage: "the node's API, asked for the bridge", Sources: s.Sources("rpc")})
	}
	return out
}

// openL1 checks --l1-rpc, --bridge and --key, then dials the L1 with the
// bridge bound.
func openL1(ctx context.Context, rpcURL, bridgeAddr, key string) (*wallet.L1Signer, error) {
	if err := node.CheckURL("l1-rpc", rpcURL); err != nil {
		return nil, err
	}
	br, err := wallet.ParseAddress("bridge", bridgeAddr)
	if err != nil {
		return nil, err
	}
	k, err := wallet.ParseSignerKey(key)
	if err != nil {
		return nil, err
	}
	return wallet.DialL1(ctx, rpcURL, br, k)
}

// l1TxSteps prints an L1 transaction's progress.
func (a *app) l1TxSteps() wallet.TxSteps {
	return wallet.TxSteps{
		Sent: func(h common.Hash) { fmt.Fprintf(a.out, "sent %s, waiting for it to be mined\n", h) },
		Mined: func(r *ethtypes.Receipt, _ time.Duration) {
			fmt.Fprintf(a.out, "mined in block %d, gas %d\n", r.BlockNumber, r.GasUsed)
		},
	}
}

// claimCommand: modex claim — pays an address's pending balance
// (withdrawals, refused deposits) on L1.
func (a *app) claimCommand() *cli.Command {
	s := a.newSettings(false)
	flags := append(l1Flags(s, wallet.DefaultL1RPC, true),
		&cli.StringFlag{Name: "owner", Usage: "L1 address whose pending balance is paid (default: the key's)", Sources: s.Sources("owner")})
	return a.command(s, "claim", "pay a pending L1 balance (withdrawals, refused deposits) to its owner", flags,
		func(ctx context.Context, cmd *cli.Command) error {
			var owner *common.Address
			if o := cmd.String("owner"); o != "" {
				addr, err := wallet.ParseAddress("owner", o)
				if err != nil {
					return err
				}
				owner = &addr
			}
			token, err := wallet.TokenID(uint64(cmd.Uint("token")))
			if err != nil {
				return err
			}
			br := cmd.String("bridge")
			if br == "" {
				sess, err := wallet.Dial(ctx, cmd.String("rpc"))
				if err != nil {
					return fmt.Errorf("claim: no --bridge, and no node to ask: %w", err)
				}
				ct, err := sess.Client.Contracts(ctx)
				sess.Close()
				if err != nil {
					return fmt.Errorf("claim: no --bridge, and the node at %s did not say (%w)", cmd.String("rpc"), err)
				}
				br = ct.Bridge.Hex()
			}
			l1, err := openL1(ctx, cmd.String("l1-rpc"), br, cmd.String("key"))
			if err != nil {
				return err
			}
			defer l1.Close()
			_, err = l1.Claim(owner, token, wallet.ClaimSteps{
				Pending: func(who common.Address, token uint16, p *big.Int) {
					fmt.Fprintf(a.out, "pending balance of %s in token %d: %s\n", who, token, p)
				},
				TxSteps: a.l1TxSteps(),
			})
			if errors.Is(err, wallet.ErrNothingToClaim) {
				return fmt.Errorf("claim: %w (a withdrawal becomes pending once its batch is verified: modex withdraw --wait)", err)
			}
			return err
		})
}

// exitCommand: modex exit — the exodus exit from the command line.
func (a *app) exitCommand() *cli.Command {
	s := a.newSettings(false)
	flags := append(l1Flags(s, "", false),
		&cli.StringFlag{Name: "params", Value: "prod", Usage: "rollup parameters the contract does not store: prod or test", Sources: s.Sources("params")},
		&cli.Uint64Flag{Name: "from-block", Usage: "block the bridge was deployed in (where the L1 history starts)", Sources: s.Sources("from-block")},
		&cli.UintFlag{Name: "account", Usage: "L2 account id", Sources: s.Sources("account")},
		&cli.BoolFlag{Name: "activate", Usage: "activate exodus first if it is not active (possible once a priority request is past its deadline)", Sources: s.Sources("activate")},
	)
	return a.command(s, "exit", "exodus: rebuild the state from L1 alone and exit a balance (--l1-rpc URL --bridge ADDR --key HEX --account N)", flags,
		func(ctx context.Context, cmd *cli.Command) error {
			base, err := benchParams(cmd.String("params"))
			if err != nil {
				return node.ConfigErr("params", cmd.String("params"), "want prod or test")
			}
			req := wallet.ExitRequest{Params: base, FromBlock: cmd.Uint64("from-block"), Account: uint64(cmd.Uint("account")),
				Token: uint64(cmd.Uint("token")), Activate: cmd.Bool("activate")}
			if err := req.Check(); err != nil {
				return err
			}
			l1, err := openL1(ctx, cmd.String("l1-rpc"), cmd.String("bridge"), cmd.String("key"))
			if err != nil {
				return err
			}
			defer l1.Close()
			_, err = l1.Exit(req, wallet.ExitSteps{
				Rebuilding: func() {
					fmt.Fprintln(a.out, "rebuilding the state from L1 (BatchVerified events and commitBatch calldata)…")
				},
				Replayed: func(done, total uint64) { fmt.Fprintf(a.out, "  replayed batch %d of %d\n", done, total) },
				Exiting: func(proof *state.ExitProof) {
					fmt.Fprintf(a.out, "exit of account %d, token %d: %s to %s\n", req.Account, req.Token, proof.Balance.Dec(), proof.L1Address)
				},
				TxSteps: a.l1TxSteps(),
			})
			if errors.Is(err, wallet.ErrExodusInactive) {
				return fmt.Errorf("exit: %w (run with --activate once a priority request is past its deadline)", err)
			}
			return err
		})
}
