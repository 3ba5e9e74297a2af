package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/urfave/cli/v3"

	"github.com/modex/modex/deploy"
	"github.com/modex/modex/node"
	"github.com/modex/modex/types"
	"github.com/modex/modex/wallet"
)

// deployFlags are `modex deploy`'s flags.
func deployFlags(s *node.Settings) []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "l1-rpc", Usage: "L1 JSON-RPC endpoint (http, https, ws or wss URL)", Sources: s.Sources("l1-rpc")},
		&cli.StringFlag{Name: "deployer-key-file", Usage: "file holding the deployer's L1 key (hex secp256k1); it pays for the deployment", Sources: s.Sources("deployer-key-file"), TakesFile: true},
		&cli.StringFlag{Name: "keys", Usage: "prover keys: <keys>/<circuit key>/ per family (`modex setup`, `modex ceremony`, or a devnet's key cache)", Sources: s.Sources("keys"), TakesFile: true},
		&cli.StringFlag{Name: "params", Value: "test", Usage: "tree depths: test or prod", Sources: s.Sources("params")},
		&cli.IntFlag{Name: "batch.capacity", Value: node.DefaultCapacity, Usage: "transactions per batch (the keys' circuits are made for it)", Sources: s.Sources("batch.capacity")},
		&cli.StringFlag{Name: "families", Value: "all", Usage: "batch families to deploy verifiers for (comma-separated, or all)", Sources: s.Sources("families")},
		&cli.StringFlag{Name: "operator", Usage: "the operator's L1 address, which commits batches (default: the deployer)", Sources: s.Sources("operator")},
		&cli.StringFlag{Name: "governor", Usage: "the governor's L1 address, which registers tokens and changes the operator (default: the deployer)", Sources: s.Sources("governor")},
		&cli.StringFlag{Name: "fee-key-file", Usage: "wallet key file whose L2 key owns account 0, the fee account (default: a new one written to <out>.fee-key.json)", Sources: s.Sources("fee-key-file"), TakesFile: true},
		&cli.Uint64Flag{Name: "priority.deadline", Value: deploy.DefaultPriorityDeadline, Usage: "L1 blocks within which a priority request must be processed before exodus can be declared", Sources: s.Sources("priority.deadline")},
		&cli.StringFlag{Name: "priority.fee-wei", Value: "0", Usage: "fee per priority request (wei), paid to the operator", Sources: s.Sources("priority.fee-wei")},
		&cli.Uint64Flag{Name: "confirmations", Value: 1, Usage: "blocks on top of the deployments before the deploy is done (1: mined)", Sources: s.Sources("confirmations")},
		&cli.Uint64Flag{Name: "max-fee-gwei", Value: 1000, Usage: "the most the deploy pays per gas (gwei): EIP-1559 fees follow the L1 up to this cap; a base fee above it fails", Sources: s.Sources("max-fee-gwei")},
		&cli.BoolFlag{Name: "insecure-dev-keys", Usage: "accept keys from the INSECURE development setup (devnets and tests only)", Sources: s.Sources("insecure-dev-keys")},
		&cli.StringFlag{Name: "out", Value: "deployment.json", Usage: "the deployment record: written before the first transaction (the plan) and when done; run again with the same --out to resume an interrupted deploy", Sources: s.Sources("out"), TakesFile: true},
		&cli.DurationFlag{Name: "l1.poll", Value: time.Second, Usage: "how often receipts and blocks are polled", Sources: s.Sources("l1.poll")},
		&cli.StringFlag{Name: "log.level", Value: "info", Usage: "log level: debug, info, warn or error", Sources: s.Sources("log.level")},
		&cli.StringFlag{Name: "log.format", Value: "text", Usage: "log format: text or json", Sources: s.Sources("log.format")},
	}
}

// deployConfig is `modex deploy`'s configuration, checked.
type deployConfig struct {
	L1RPC       string
	Deployer    string // key file
	Keys        string
	ParamsName  string
	Params      types.Params
	Families    []types.Family
	Operator    common.Address
	Governor    common.Address
	FeeKeyFile  string
	Deadline    uint64
	PriorityFee *big.Int
	Confirm     uint64
	MaxFeeGwei  uint64
	Insecure    bool
	Out         string
	Poll        time.Duration
	Log         node.LogConfig
}

func newDeployConfig(cmd *cli.Command) (*deployConfig, error) {
	c := &deployConfig{L1RPC: cmd.String("l1-rpc"), Deployer: cmd.String("deployer-key-file"), Keys: cmd.String("keys"),
		ParamsName: cmd.String("params"), FeeKeyFile: cmd.String("fee-key-file"), Deadline: cmd.Uint64("priority.deadline"),
		Confirm: cmd.Uint64("confirmations"), MaxFeeGwei: cmd.Uint64("max-fee-gwei"), Insecure: cmd.Bool("insecure-dev-keys"),
		Out: cmd.String("out"), Poll: cmd.Duration("l1.poll")}
	if err := node.CheckURL("l1-rpc", c.L1RPC); err != nil {
		return nil, err
	}
	if c.Deployer == "" {
		return nil, node.ConfigErr("deployer-key-file", "", "required: the file of the L1 key that pays for the deployment")
	}
	if c.Keys == "" {
		return nil, node.ConfigErr("keys", "", "required: the directory of the prover keys")
	}
	if st, err := os.Stat(c.Keys); err != nil || !st.IsDir() {
		return nil, node.ConfigErr("keys", c.Keys, "not a directory")
	}
	switch c.ParamsName {
	case "test":
		c.Params = types.TestParams()
	case "prod":
		c.Params = types.DefaultParams()
	default:
		return nil, node.ConfigErr("params", c.ParamsName, "want test or prod")
	}
	capacity := cmd.Int("batch.capacity")
	if capacity < 1 || capacity > 4096 {
		return nil, node.ConfigErr("batch.capacity", strconv.Itoa(capacity), "want 1..4096")
	}
	c.Params.BatchCapacity = capacity
	if err := c.Params.Check(); err != nil {
		return nil, node.ConfigErr("params", c.ParamsName, "%v", err)
	}
	var err error
	if c.Families, err = node.ParseFamilies(cmd.String("families")); err != nil {
		return nil, node.ConfigErr("families", cmd.String("families"), "%v", err)
	}
	for _, f := range []struct {
		name string
		dst  *common.Address
	}{{"operator", &c.Operator}, {"governor", &c.Governor}} {
		if v := cmd.String(f.name); v != "" {
			if !common.IsHexAddress(v) {
				return nil, node.ConfigErr(f.name, v, "want a 0x-hex address")
			}
			*f.dst = common.HexToAddress(v)
		}
	}
	if c.Deadline == 0 {
		return nil, node.ConfigErr("priority.deadline", "0", "must be positive")
	}
	fee, ok := new(big.Int).SetString(cmd.String("priority.fee-wei"), 10)
	if !ok || fee.Sign() < 0 {
		return nil, node.ConfigErr("priority.fee-wei", cmd.String("priority.fee-wei"), "want a decimal amount of wei")
	}
	c.PriorityFee = fee
	if c.MaxFeeGwei == 0 {
		return nil, node.ConfigErr("max-fee-gwei", "0", "must be positive")
	}
	if c.Out == "" {
		return nil, node.ConfigErr("out", "", "required: where to write the deployment record")
	}
	if c.Poll < 10*time.Millisecond {
		return nil, node.ConfigErr("l1.poll", c.Poll.String(), "at least 10ms")
	}
	if c.Log, err = node.ParseLog(cmd.String("log.level"), cmd.String("log.format")); err != nil {
		return nil, err
	}
	return c, nil
}

// deployCommand: modex deploy — the rollup's verifiers and bridge on any L1.
func (a *app) deployCommand() *cli.Command {
	s := a.newSettings(true)
	s.Secret("deployer-key")
	return a.command(s, "deploy", "deploy the rollup (every family's verifier and the bridge) on an L1 and write the deployment record (--l1-rpc URL --deployer-key-file F --keys DIR --out F)",
		deployFlags(s), func(ctx context.Context, cmd *cli.Command) error {
			c, err := newDeployConfig(cmd)
			if cmd.Bool("dump-config") {
				return a.dumpAndCheck(s, cmd, func() error { return err })
			}
			if err != nil {
				return err
			}
			return a.runDeploy(c)
		})
}

func (a *app) runDeploy(c *deployConfig) error {
	log := newLogger(a.errOut, c.Log)
	ctx, stop := startupContext(log)
	defer stop()
	start := time.Now()
	progress := func(msg string) { log.Info(msg, "elapsed", humanSince(start)) }

	b, err := os.ReadFile(c.Deployer)
	if err != nil {
		return node.ConfigErr("deployer-key-file", c.Deployer, "%v", err)
	}
	deployer, err := crypto.HexToECDSA(strings.TrimPrefix(strings.TrimPrefix(strings.TrimSpace(string(b)), "0x"), "0X"))
	if err != nil {
		return node.ConfigErr("deployer-key-file", c.Deployer, "not a hex secp256k1 key: %v", err)
	}
	if err := checkKeyMarks(log, c.Keys, c.Params, c.Families, c.Insecure); err != nil {
		return err
	}
	keys, err := deploy.LoadKeys(c.Keys, c.Params, c.Families, progress)
	if err != nil {
		return err
	}
	for f, k := range keys {
		if err := k.CheckSecure(c.Insecure); err != nil {
			return fmt.Errorf("%v keys in %s: %w", f, c.Keys, err)
		}
		if k.Insecure {
			log.Warn("deploying verifiers of INSECURE development keys (--insecure-dev-keys): whoever ran their setup can forge proofs; never hold real funds with them", "family", f.String())
		}
	}
	feeKey, wrote, err := feeAccountKey(c.FeeKeyFile, c.Out)
	if err != nil {
		return err
	}
	if wrote != "" {
		log.Info("wrote a new fee-account key (the L2 key of account 0, which collects the fees): keep it", "file", wrote)
	}
	l1, err := ethclient.DialContext(ctx, c.L1RPC)
	if err != nil {
		return fmt.Errorf("L1 endpoint %s: %w", c.L1RPC, err)
	}
	defer l1.Close()
	d, err := deploy.Run(ctx, l1, deploy.Config{
		Params: c.Params, ParamsName: c.ParamsName, Keys: keys, Deployer: deployer, Operator: c.Operator, Governor: c.Governor,
		FeeAccount: feeKey, PriorityDeadline: c.Deadline, PriorityFee: c.PriorityFee, Confirmations: c.Confirm,
		MaxFeePerGas:      new(big.Int).Mul(new(big.Int).SetUint64(c.MaxFeeGwei), big.NewInt(1_000_000_000)),
		AllowInsecureKeys: c.Insecure, Poll: c.Poll, Progress: progress,
	}, c.Out)
	if err != nil {
		return err
	}
	r := d.Record
	state := "deployed"
	if d.Resumed {
		state = "complete (resumed or already deployed)"
	}
	fmt.Fprintf(a.out, "modex deploy: %s on chain %d\n  bridge   %s (block %d)\n", state, r.ChainID, r.Bridge.Address, r.DeployBlock)
	for _, f := range r.Families {
		fmt.Fprintf(a.out, "  %-13s %s\n", f.Family, f.Verifier.Address)
	}
	fmt.Fprintf(a.out, "  record   %s\nRun a node with: modex node --deployment %s --l1-rpc %s --keys %s --operator-key-file FILE\n", c.Out, c.Out, c.L1RPC, c.Keys)
	return nil
}

// feeAccountKey is the L2 public key of the fee account: from the wallet
// key file, or a new key written next to the record (kept across resumed
// deploys). wrote names a file it wrote.
func feeAccountKey(file, out string) (pk types.PubKey, wrote string, err error) {
	if file == "" {
		file = strings.TrimSuffix(out, ".json") + ".fee-key.json"
		if _, err := os.Stat(file); errors.Is(err, fs.ErrNotExist) {
			k, err := wallet.NewKey(false)
			if err != nil {
				return pk, "", err
			}
			if err := wallet.WriteKeyFile(file, k, false); err != nil {
				return pk, "", err
			}
			wrote = file
		}
	}
	k, err := wallet.LoadKey(file)
	if err != nil {
		return pk, "", node.ConfigErr("fee-key-file", file, "%v", err)
	}
	return k.PubKey(), wrote, nil
}
