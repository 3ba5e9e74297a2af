package main

// The wallet's L1 side: deposit (ETH or a registered ERC-20) and the claim
// wrapper that fills modex claim's L1 endpoint and bridge from the node.

import (
	"context"
	"errors"
	"fmt"
	"os"
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
	"github.com/modex/modex/rpc"
	"github.com/modex/modex/rpc/client"
	"github.com/modex/modex/types"
)

// depositArgs are deposit's validated arguments.
type depositArgs struct {
	amount *uint256.Int
	token  string // "": ETH; else an id or an address
}

func parseDepositArgs(amount, token string) (*depositArgs, error) {
	v, err := parseAmount("amount", amount, false)
	if err != nil {
		return nil, err
	}
	if v.BitLen() > types.AmountBits {
		return nil, cfgErr("amount", amount, "above 2^%d", types.AmountBits)
	}
	t := strings.TrimSpace(token)
	switch strings.ToLower(t) {
	case "", "0", "eth":
		t = ""
	default:
		if !common.IsHexAddress(t) {
			if _, err := strconv.ParseUint(t, 10, 16); err != nil {
				return nil, cfgErr("token", token, "want eth, a token id or the token's L1 address")
			}
		}
	}
	return &depositArgs{amount: v, token: t}, nil
}

func runDeposit(args []string) error {
	f := newCmdFlags("deposit", false)
	var o walletOpts
	o.register(f, true)
	l1URL := f.fs.String("l1-rpc", DefaultL1RPC, "L1 JSON-RPC endpoint")
	amount := f.fs.String("amount", "", "amount in base units (wei for ETH; 1.5eth works too)")
	token := f.fs.String("token", "eth", "eth, or a registered token's id or L1 address (ERC-20: approved, then deposited)")
	if err := f.parse(args); err != nil {
		return err
	}
	if err := o.check(); err != nil {
		return err
	}
	if err := checkURL("l1-rpc", *l1URL); err != nil {
		return err
	}
	a, err := parseDepositArgs(*amount, *token)
	if err != nil {
		return err
	}
	k, err := loadKey(o.keyPath)
	if err != nil {
		return err
	}
	from, ok := k.address()
	if !ok {
		return cfgErr("key", o.keyPath, "the key file has no L1 key: deposits are sent from L1")
	}
	s, err := o.open(k, false)
	if err != nil {
		return err
	}
	defer s.close()
	ctx := s.ctx
	l1, err := ethclient.DialContext(ctx, *l1URL)
	if err != nil {
		return fmt.Errorf("L1 %s: %w", *l1URL, err)
	}
	defer l1.Close()
	chainID, err := l1.ChainID(ctx)
	if err != nil {
		return fmt.Errorf("L1 %s: %w", *l1URL, err)
	}
	if chainID.Uint64() != s.domain.ChainID {
		return fmt.Errorf("L1 %s is chain %s, the node's bridge is on chain %d", *l1URL, chainID, s.domain.ChainID)
	}
	c := bridge.NewContract(l1, s.domain.Bridge)
	opts := bind.NewKeyedTransactor(k.l1, chainID)
	opts.Context = ctx

	var tx *ethtypes.Transaction
	tokenID := uint16(0)
	if a.token == "" {
		opts.Value = a.amount.ToBig()
		fmt.Printf("depositing %s wei from %s to the bridge %s\n", a.amount.Dec(), from, s.domain.Bridge)
		if tx, err = c.DepositETH(opts, k.pub()); err != nil {
			return fmt.Errorf("deposit: %w", err)
		}
	} else {
		id, addr, err := s.findToken(a.token)
		if err != nil {
			return err
		}
		tokenID = id
		erc20 := bindings.NewTestToken()
		fmt.Printf("approving the bridge for %s of token %d (%s)\n", a.amount.Dec(), id, addr)
		atx, err := bind.Transact(erc20.Instance(l1, addr), opts, erc20.PackApprove(s.domain.Bridge, a.amount.ToBig()))
		if err != nil {
			return fmt.Errorf("approve: %w", err)
		}
		if _, err := waitL1(ctx, l1, atx); err != nil {
			return fmt.Errorf("approve: %w", err)
		}
		fmt.Printf("depositing %s of token %d from %s\n", a.amount.Dec(), id, from)
		if tx, err = c.DepositERC20(opts, addr, a.amount.ToBig(), k.pub()); err != nil {
			return fmt.Errorf("deposit: %w", err)
		}
	}
	r, err := waitL1(ctx, l1, tx)
	if err != nil {
		return fmt.Errorf("deposit: %w", err)
	}
	var prio uint64
	var account uint32
	found := false
	for _, l := range r.Logs {
		if l.Address != s.domain.Bridge {
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
	fmt.Printf("priority request %d for account %d (token %d); waiting for the node to apply it\n", prio, account, tokenID)
	pi, err := s.waitPriority(prio, s.o.wait.status)
	if err != nil {
		return err
	}
	if pi.Refused {
		return fmt.Errorf("deposit %d was refused on L2 (batch %d): the amount is refunded on L1 (modex claim)", prio, pi.Batch)
	}
	fmt.Printf("deposit applied: account %d credited %s (token %d) in batch %d\n", pi.Account, pi.Amount.Dec(), pi.Token, pi.Batch)
	return nil
}

// waitL1 waits until an L1 transaction is mined and succeeded.
func waitL1(ctx context.Context, l1 bridge.L1, tx *ethtypes.Transaction) (*ethtypes.Receipt, error) {
	fmt.Printf("  L1 tx %s sent, waiting for it to be mined\n", tx.Hash())
	start := time.Now()
	r, err := bridge.WaitSuccess(ctx, l1, tx)
	if err != nil {
		return nil, err
	}
	fmt.Printf("  mined in block %d (gas %d)  %s\n", r.BlockNumber, r.GasUsed, humanSince(start))
	return r, nil
}

// findToken resolves a token id or address against the node's assets.
func (s *session) findToken(t string) (uint16, common.Address, error) {
	assets, err := s.c.Assets(s.ctx)
	if err != nil {
		return 0, common.Address{}, err
	}
	for _, a := range assets {
		if a.ID == 0 {
			continue
		}
		if strconv.FormatUint(uint64(a.ID), 10) == t || (common.IsHexAddress(t) && a.Address == common.HexToAddress(t)) {
			return a.ID, a.Address, nil
		}
	}
	return 0, common.Address{}, cfgErr("token", t, "not a token registered on the bridge (modex status lists none; ask the governor to register it)")
}

// waitPriority polls a priority request until the node has applied it (or
// it reached want), printing its progress.
func (s *session) waitPriority(id uint64, want rpc.TxStatus) (*rpc.PriorityInfo, error) {
	if statusRank(want) < statusRank(rpc.TxIncluded) {
		want = rpc.TxIncluded
	}
	start := time.Now()
	last := rpc.TxStatus("")
	lastPrint := time.Now()
	for {
		pi, err := s.c.Priority(s.ctx, id)
		switch {
		case errors.Is(err, rpc.ErrPriorityNotFound):
			if time.Since(lastPrint) >= progressEvery {
				lastPrint = time.Now()
				st, _ := s.c.SyncStatus(s.ctx)
				seen := ""
				if st != nil {
					seen = fmt.Sprintf(" (it has seen %d requests at L1 block %d)", st.PriorityIn, st.L1Head)
				}
				fmt.Printf("  waiting for the node to see request %d%s  %s\n", id, seen, humanSince(start))
			}
		case err != nil:
			return nil, err
		default:
			if pi.Status != last {
				last = pi.Status
				lastPrint = time.Now()
				fmt.Printf("  %-9s%s  %s\n", pi.Status, batchNote(pi.Batch), humanSince(start))
			}
			if statusRank(pi.Status) >= statusRank(want) {
				return pi, nil
			}
			if time.Since(lastPrint) >= progressEvery {
				lastPrint = time.Now()
				fmt.Printf("  still %s, waiting for %s  %s\n", pi.Status, want, humanSince(start))
			}
		}
		select {
		case <-s.ctx.Done():
			return nil, fmt.Errorf("waiting for priority request %d after %s: %w", id, humanSince(start), s.ctx.Err())
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// runClaimWallet is modex claim with wallet defaults: --key may be a wallet
// key file, --l1-rpc defaults to the devnet's L1 and --bridge to the one
// the node at --rpc reports (node_contracts). Then it is l1.go's runClaim.
func runClaimWallet(args []string) error {
	out, err := claimArgs(args, os.LookupEnv, func(rpcURL string) (common.Address, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := client.Dial(ctx, rpcURL)
		if err != nil {
			return common.Address{}, err
		}
		defer c.Close()
		ct, err := c.Contracts(ctx)
		if err != nil {
			return common.Address{}, err
		}
		return ct.Bridge, nil
	})
	if err != nil {
		return err
	}
	return runClaim(out)
}

// claimArgs rewrites modex claim's arguments (see runClaimWallet).
func claimArgs(args []string, lookupEnv func(string) (string, bool), bridgeOf func(rpcURL string) (common.Address, error)) ([]string, error) {
	var out []string
	vals := map[string]string{}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") || a == "-" || a == "--" {
			out = append(out, args[i:]...)
			break
		}
		name, val, hasVal := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !hasVal && i+1 < len(args) {
			val = args[i+1]
			i++
		}
		vals[name] = val
		switch name {
		case "rpc":
			continue // the node's API: ours, not modex claim's
		case "key":
			if st, err := os.Stat(val); err == nil && !st.IsDir() {
				k, err := loadKey(val)
				if err != nil {
					return nil, err
				}
				if k.l1 == nil {
					return nil, cfgErr("key", val, "the key file has no L1 key")
				}
				val = k.file().L1Key
			}
		}
		out = append(out, "--"+name, val)
	}
	has := func(name, env string) bool {
		if _, ok := vals[name]; ok {
			return true
		}
		v, ok := lookupEnv(env)
		return ok && v != ""
	}
	if !has("l1-rpc", "MODEX_L1_RPC") {
		out = append([]string{"--l1-rpc", DefaultL1RPC}, out...)
	}
	if !has("bridge", "MODEX_BRIDGE") {
		rpcURL := vals["rpc"]
		if rpcURL == "" {
			if v, ok := lookupEnv(EnvName("rpc")); ok && v != "" {
				rpcURL = v
			} else {
				rpcURL = DefaultRPC
			}
		}
		addr, err := bridgeOf(rpcURL)
		if err != nil {
			return nil, fmt.Errorf("claim: no --bridge, and the node at %s did not say (%w)", rpcURL, err)
		}
		out = append([]string{"--bridge", addr.Hex()}, out...)
	}
	return out, nil
}
