package main

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/ethereum/go-ethereum/accounts/abi/bind/v2"
	"github.com/ethereum/go-ethereum/common"
	ethtypes "github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"

	"github.com/modex/modex/bridge"
)

// l1Flags are the flags every L1 command takes.
type l1Flags struct {
	rpc, bridge, key, params *string
	from                     *uint64
}

func newL1Flags(fs *flag.FlagSet) *l1Flags {
	return &l1Flags{
		rpc:    fs.String("l1-rpc", os.Getenv("MODEX_L1_RPC"), "L1 JSON-RPC endpoint (env MODEX_L1_RPC)"),
		bridge: fs.String("bridge", os.Getenv("MODEX_BRIDGE"), "bridge contract address (env MODEX_BRIDGE)"),
		key:    fs.String("key", os.Getenv("MODEX_L1_KEY"), "hex secp256k1 key that signs the L1 transaction (env MODEX_L1_KEY)"),
		params: fs.String("params", "prod", "rollup parameters the contract does not store: prod or test"),
		from:   fs.Uint64("from-block", 0, "block the bridge was deployed in (where the L1 history starts)"),
	}
}

type l1Session struct {
	ctx  context.Context
	l1   *ethclient.Client
	c    *bridge.Contract
	key  *ecdsa.PrivateKey
	opts *bind.TransactOpts
}

func (f *l1Flags) open() (*l1Session, error) {
	if *f.rpc == "" || !common.IsHexAddress(*f.bridge) {
		return nil, errors.New("--l1-rpc and --bridge are required")
	}
	ctx := context.Background()
	cl, err := ethclient.DialContext(ctx, *f.rpc)
	if err != nil {
		return nil, fmt.Errorf("L1 endpoint: %w", err)
	}
	s := &l1Session{ctx: ctx, l1: cl, c: bridge.NewContract(cl, common.HexToAddress(*f.bridge))}
	if *f.key != "" {
		k, err := crypto.HexToECDSA(trim0x(*f.key))
		if err != nil {
			return nil, fmt.Errorf("--key: %w", err)
		}
		id, err := cl.ChainID(ctx)
		if err != nil {
			return nil, err
		}
		s.key, s.opts = k, bind.NewKeyedTransactor(k, id)
		s.opts.Context = ctx
	}
	return s, nil
}

func trim0x(s string) string {
	if len(s) > 1 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') {
		return s[2:]
	}
	return s
}

func (s *l1Session) wait(tx *ethtypes.Transaction) error {
	fmt.Printf("sent %s, waiting for it to be mined\n", tx.Hash())
	ctx, cancel := context.WithTimeout(s.ctx, 10*time.Minute)
	defer cancel()
	r, err := bridge.WaitSuccess(ctx, s.l1, tx)
	if err != nil {
		return err
	}
	fmt.Printf("mined in block %d, gas %d\n", r.BlockNumber, r.GasUsed)
	return nil
}

// runExit: modex exit — the exodus exit helper from the command line.
func runExit(args []string) error {
	fs := flag.NewFlagSet("exit", flag.ContinueOnError)
	f := newL1Flags(fs)
	account := fs.Uint("account", 0, "L2 account id")
	token := fs.Uint("token", 0, "base token id (0 = ETH)")
	activate := fs.Bool("activate", false, "activate exodus first if it is not active (possible once a priority request is past its deadline)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	s, err := f.open()
	if err != nil {
		return err
	}
	if s.opts == nil {
		return errors.New("exit: --key is required")
	}
	base, err := benchParams(*f.params)
	if err != nil {
		return err
	}
	on, err := s.c.Exodus(s.ctx)
	if err != nil {
		return err
	}
	if !on {
		if !*activate {
			return errors.New("exit: exodus is not active (run with --activate once a priority request is past its deadline)")
		}
		tx, err := s.c.ActivateExodus(s.opts)
		if err != nil {
			return fmt.Errorf("activate exodus: %w", err)
		}
		if err := s.wait(tx); err != nil {
			return err
		}
	}
	fmt.Println("rebuilding the state from L1 (BatchVerified events and commitBatch calldata)…")
	tx, proof, err := bridge.ExitFromL1(s.ctx, s.l1, s.c, base, *f.from, s.opts, uint32(*account), uint16(*token),
		func(done, total uint64) { fmt.Printf("  replayed batch %d of %d\n", done, total) })
	if err != nil {
		return err
	}
	fmt.Printf("exit of account %d, token %d: %s to %s\n", *account, *token, proof.Balance.Dec(), proof.L1Address)
	return s.wait(tx)
}

// runClaim: modex claim — pays an address's pending balance (withdrawals,
// refunds) on L1.
func runClaim(args []string) error {
	fs := flag.NewFlagSet("claim", flag.ContinueOnError)
	f := newL1Flags(fs)
	owner := fs.String("owner", "", "L1 address whose pending balance is paid (default: the key's)")
	token := fs.Uint("token", 0, "base token id (0 = ETH)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	s, err := f.open()
	if err != nil {
		return err
	}
	if s.opts == nil {
		return errors.New("claim: --key is required")
	}
	who := s.opts.From
	if *owner != "" {
		if !common.IsHexAddress(*owner) {
			return fmt.Errorf("claim: --owner %q is not an address", *owner)
		}
		who = common.HexToAddress(*owner)
	}
	p, err := s.c.Pending(s.ctx, who, uint16(*token))
	if err != nil {
		return err
	}
	fmt.Printf("pending balance of %s in token %d: %s\n", who, *token, p)
	if p.Sign() == 0 {
		return fmt.Errorf("claim: nothing to claim: %s has no pending balance of token %d on the bridge (a withdrawal becomes pending once its batch is verified: modex withdraw --wait)", who, *token)
	}
	tx, err := s.c.Claim(s.opts, who, uint16(*token))
	if err != nil {
		return err
	}
	return s.wait(tx)
}
