package main

// modex claim and modex exit: the L1 side of withdrawals and of the
// escape hatch.

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/ethereum/go-ethereum/accounts/abi/bind/v2"
	"github.com/ethereum/go-ethereum/common"
	ethtypes "github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/urfave/cli/v3"

	"github.com/modex/modex/bridge"
	"github.com/modex/modex/node"
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

type l1Session struct {
	ctx  context.Context
	l1   *ethclient.Client
	c    *bridge.Contract
	key  *ecdsa.PrivateKey
	opts *bind.TransactOpts
}

// openL1 dials the L1 and binds the bridge; key (hex, or a wallet key
// file) signs.
func openL1(ctx context.Context, rpcURL, bridgeAddr, key string) (*l1Session, error) {
	if err := node.CheckURL("l1-rpc", rpcURL); err != nil {
		return nil, err
	}
	if !common.IsHexAddress(bridgeAddr) {
		return nil, node.ConfigErr("bridge", bridgeAddr, "want a 0x-hex address")
	}
	if key == "" {
		return nil, node.ConfigErr("key", "", "required: the L1 key that signs")
	}
	var k *ecdsa.PrivateKey
	if st, err := os.Stat(key); err == nil && !st.IsDir() {
		wk, err := wallet.LoadKey(key)
		if err != nil {
			return nil, err
		}
		if wk.L1 == nil {
			return nil, wallet.ArgErr("key", key, "the key file has no L1 key")
		}
		k = wk.L1
	} else if k, err = crypto.HexToECDSA(trim0x(key)); err != nil {
		return nil, node.ConfigErr("key", "", "neither a key file nor a hex secp256k1 key: %v", err)
	}
	cl, err := ethclient.DialContext(ctx, rpcURL)
	if err != nil {
		return nil, fmt.Errorf("L1 endpoint %s: %w", rpcURL, err)
	}
	id, err := cl.ChainID(ctx)
	if err != nil {
		cl.Close()
		return nil, fmt.Errorf("L1 endpoint %s: %w", rpcURL, err)
	}
	s := &l1Session{ctx: ctx, l1: cl, c: bridge.NewContract(cl, common.HexToAddress(bridgeAddr)), key: k, opts: bind.NewKeyedTransactor(k, id)}
	s.opts.Context = ctx
	return s, nil
}

func (s *l1Session) wait(w io.Writer, tx *ethtypes.Transaction) error {
	fmt.Fprintf(w, "sent %s, waiting for it to be mined\n", tx.Hash())
	ctx, cancel := context.WithTimeout(s.ctx, 10*time.Minute)
	defer cancel()
	r, err := bridge.WaitSuccess(ctx, s.l1, tx)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "mined in block %d, gas %d\n", r.BlockNumber, r.GasUsed)
	return nil
}

// claimCommand: modex claim — pays an address's pending balance
// (withdrawals, refused deposits) on L1.
func (a *app) claimCommand() *cli.Command {
	s := a.newSettings(false)
	flags := append(l1Flags(s, wallet.DefaultL1RPC, true),
		&cli.StringFlag{Name: "owner", Usage: "L1 address whose pending balance is paid (default: the key's)", Sources: s.Sources("owner")})
	return a.command(s, "claim", "pay a pending L1 balance (withdrawals, refused deposits) to its owner", flags,
		func(ctx context.Context, cmd *cli.Command) error {
			owner := cmd.String("owner")
			if owner != "" && !common.IsHexAddress(owner) {
				return node.ConfigErr("owner", owner, "not an L1 address")
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
			defer l1.l1.Close()
			token := uint16(cmd.Uint("token"))
			who := l1.opts.From
			if owner != "" {
				who = common.HexToAddress(owner)
			}
			p, err := l1.c.Pending(ctx, who, token)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.out, "pending balance of %s in token %d: %s\n", who, token, p)
			if p.Sign() == 0 {
				return fmt.Errorf("claim: nothing to claim: %s has no pending balance of token %d on the bridge (a withdrawal becomes pending once its batch is verified: modex withdraw --wait)", who, token)
			}
			tx, err := l1.c.Claim(l1.opts, who, token)
			if err != nil {
				return err
			}
			return l1.wait(a.out, tx)
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
			l1, err := openL1(ctx, cmd.String("l1-rpc"), cmd.String("bridge"), cmd.String("key"))
			if err != nil {
				return err
			}
			defer l1.l1.Close()
			on, err := l1.c.Exodus(ctx)
			if err != nil {
				return err
			}
			if !on {
				if !cmd.Bool("activate") {
					return errors.New("exit: exodus is not active (run with --activate once a priority request is past its deadline)")
				}
				tx, err := l1.c.ActivateExodus(l1.opts)
				if err != nil {
					return fmt.Errorf("activate exodus: %w", err)
				}
				if err := l1.wait(a.out, tx); err != nil {
					return err
				}
			}
			account, token := uint32(cmd.Uint("account")), uint16(cmd.Uint("token"))
			fmt.Fprintln(a.out, "rebuilding the state from L1 (BatchVerified events and commitBatch calldata)…")
			tx, proof, err := bridge.ExitFromL1(ctx, l1.l1, l1.c, base, cmd.Uint64("from-block"), l1.opts, account, token,
				func(done, total uint64) { fmt.Fprintf(a.out, "  replayed batch %d of %d\n", done, total) })
			if err != nil {
				return err
			}
			fmt.Fprintf(a.out, "exit of account %d, token %d: %s to %s\n", account, token, proof.Balance.Dec(), proof.L1Address)
			return l1.wait(a.out, tx)
		})
}
