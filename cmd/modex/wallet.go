package main

// The CLI wallet's commands: flags, arguments and printing; the logic is
// the wallet package's. Arguments are checked, and the key file read,
// before anything touches the network; a bad one is an error naming the
// flag.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/holiman/uint256"
	"github.com/urfave/cli/v3"

	"github.com/modex/modex/node"
	"github.com/modex/modex/node/devchain"
	"github.com/modex/modex/rpc"
	"github.com/modex/modex/types"
	"github.com/modex/modex/wallet"
)

// waitValue is --wait: included (default), proven or finalized; --wait
// alone is finalized, --wait none returns once submitted.
type waitValue struct{ status rpc.TxStatus }

func (w *waitValue) String() string {
	if w == nil || w.status == "" {
		return string(rpc.TxIncluded)
	}
	return string(w.status)
}

func (w *waitValue) Set(s string) error {
	st, ok := waitWord(s)
	if !ok {
		return errors.New("want included, proven, finalized or none")
	}
	w.status = st
	return nil
}

func (w *waitValue) Get() any         { return w.status }
func (w *waitValue) IsBoolFlag() bool { return true }

func waitWord(s string) (rpc.TxStatus, bool) {
	switch strings.ToLower(s) {
	case "true", "finalized":
		return rpc.TxFinalized, true
	case "false", "included":
		return rpc.TxIncluded, true
	case "proven":
		return rpc.TxProven, true
	case "pending", "none":
		return rpc.TxPending, true
	}
	return "", false
}

// walletFlags are the flags every wallet command shares; signs adds the
// key, the account and --wait.
func walletFlags(s *node.Settings, signs bool) []cli.Flag {
	out := []cli.Flag{
		&cli.StringFlag{Name: "rpc", Value: wallet.DefaultRPC, Usage: "the node's API (http:// or ws://)", Sources: s.Sources("rpc")},
		&cli.DurationFlag{Name: "timeout", Value: 10 * time.Minute, Usage: "give up waiting after this long", Sources: s.Sources("timeout")},
	}
	if signs {
		out = append(out,
			&cli.StringFlag{Name: "key", Usage: "wallet key file (modex wallet new|import)", Sources: s.Sources("key"), TakesFile: true},
			&cli.Int64Flag{Name: "account", Value: -1, Usage: "the L2 account id (default: found from the key's L1 address and L2 key)", Sources: s.Sources("account")},
			&cli.GenericFlag{Name: "wait", Value: &waitValue{status: rpc.TxIncluded}, Usage: "wait until the transaction is included (default), proven or finalized (--wait alone: finalized; none: do not wait)", Sources: s.Sources("wait")},
		)
	}
	return out
}

// walletOpts are the shared flags, checked.
type walletOpts struct {
	rpcURL  string
	keyPath string
	account int64
	wait    rpc.TxStatus
	timeout time.Duration
}

func readWalletOpts(cmd *cli.Command) (*walletOpts, error) {
	o := &walletOpts{rpcURL: cmd.String("rpc"), timeout: cmd.Duration("timeout"), account: -1, wait: rpc.TxIncluded}
	if err := node.CheckURL("rpc", o.rpcURL); err != nil {
		return nil, err
	}
	if o.timeout <= 0 {
		return nil, node.ConfigErr("timeout", o.timeout.String(), "must be positive")
	}
	args := cmd.Args().Slice()
	if hasFlag(cmd, "key") {
		o.keyPath, o.account = cmd.String("key"), cmd.Int64("account")
		if st, ok := cmd.Value("wait").(rpc.TxStatus); ok && st != "" {
			o.wait = st
		}
		// --wait WORD: the bare --wait took no value, WORD is left as an argument
		if len(args) > 0 && o.wait == rpc.TxFinalized {
			if st, ok := waitWord(args[0]); ok {
				o.wait, args = st, args[1:]
			}
		}
	}
	if len(args) > 0 {
		return nil, wallet.ArgErr(args[0], "", "unexpected argument (flags are --name value)")
	}
	if o.account < -1 || o.account >= 1<<types.AccountBits {
		return nil, node.ConfigErr("account", strconv.FormatInt(o.account, 10), "not an account id")
	}
	return o, nil
}

// hasFlag says whether cmd defines the flag.
func hasFlag(cmd *cli.Command, name string) bool {
	return slices.ContainsFunc(cmd.Flags, func(f cli.Flag) bool { return slices.Contains(f.Names(), name) })
}

// open dials the API (and, with a key, reads the signing domain and, with
// account, finds the account).
func (o *walletOpts) open(ctx context.Context, k *wallet.Key, account bool) (*wallet.Session, error) {
	s, err := wallet.Dial(ctx, o.rpcURL)
	if err != nil {
		return nil, err
	}
	if k == nil {
		return s, nil
	}
	if err := s.UseKey(ctx, k); err != nil {
		s.Close()
		return nil, err
	}
	if account {
		if err := s.UseAccount(ctx, o.account); err != nil {
			s.Close()
			return nil, err
		}
	}
	return s, nil
}

// with runs fn with a session on the API, within --timeout (see open).
func (o *walletOpts) with(ctx context.Context, k *wallet.Key, account bool, fn func(ctx context.Context, s *wallet.Session) error) error {
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	s, err := o.open(ctx, k, account)
	if err != nil {
		return err
	}
	defer s.Close()
	return fn(ctx, s)
}

// printProgress prints a wait's reports.
func printProgress(w io.Writer, want rpc.TxStatus) func(wallet.Progress) {
	return func(p wallet.Progress) {
		if p.Changed {
			fmt.Fprintf(w, "  %-9s%s  %s\n", p.Status, batchNote(p.Batch), humanDuration(p.Elapsed))
			return
		}
		stage := ""
		if p.Stage != "" {
			stage = fmt.Sprintf(", batch %d is %s", p.Batch, p.Stage)
		}
		fmt.Fprintf(w, "  still %s%s, waiting for %s  %s\n", p.Status, stage, want, humanDuration(p.Elapsed))
	}
}

func batchNote(n uint64) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprintf(" batch %d", n)
}

// --- the signed commands -------------------------------------------------------

// signed is a wallet command that signs one transaction: its own flags,
// build (the arguments into a transaction, no network), complete (from
// the node, once the account is known; optional) and report (what it did).
type signed struct {
	name, usage, feeHelp string
	flags                []cli.Flag
	build                func(cmd *cli.Command, k *wallet.Key, fee *uint256.Int) (types.SignedTx, error)
	complete             func(ctx context.Context, s *wallet.Session, tx types.SignedTx) error
	report               func(ctx context.Context, w io.Writer, s *wallet.Session, o *walletOpts, tx types.SignedTx, info *rpc.TxInfo) error
}

func (a *app) signedCommand(sc signed) *cli.Command {
	s := a.newSettings(false)
	flags := append(walletFlags(s, true),
		&cli.StringFlag{Name: "fee", Value: "0", Usage: sc.feeHelp + " (this sequencer asks none)", Sources: s.Sources("fee")})
	for _, f := range sc.flags {
		if sf, ok := f.(*cli.StringFlag); ok && len(sf.Sources.Chain) == 0 {
			sf.Sources = s.Sources(sf.Name)
		}
		flags = append(flags, f)
	}
	return a.command(s, sc.name, sc.usage, flags, func(ctx context.Context, cmd *cli.Command) error {
		o, err := readWalletOpts(cmd)
		if err != nil {
			return err
		}
		fee, err := wallet.ParseAmount("fee", cmd.String("fee"), true)
		if err != nil {
			return err
		}
		if err := wallet.Packable("fee", fee, types.Fee16); err != nil {
			return err
		}
		k, err := wallet.LoadKey(o.keyPath)
		if err != nil {
			return err
		}
		tx, err := sc.build(cmd, k, fee)
		if err != nil {
			return err
		}
		return o.with(ctx, k, true, func(ctx context.Context, s *wallet.Session) error {
			tx.SetSigner(s.Account)
			if sc.complete != nil {
				if err := sc.complete(ctx, s, tx); err != nil {
					return err
				}
			}
			h, nonce, err := s.Submit(ctx, tx)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.out, "%s submitted: %s (account %d, nonce %d)\n", tx.Kind(), h, s.Account, nonce)
			info, err := s.WaitTx(ctx, h, o.wait, printProgress(a.out, o.wait))
			if err != nil {
				return err
			}
			return sc.report(ctx, a.out, s, o, tx, info)
		})
	})
}

// str is a string flag (its env twin is added by signedCommand).
func str(name, value, usage string) *cli.StringFlag {
	return &cli.StringFlag{Name: name, Value: value, Usage: usage}
}

// --- modex wallet new | import | show --------------------------------------

func (a *app) walletCommand() *cli.Command {
	sNew, sImp, sShow := a.newSettings(false), a.newSettings(false), a.newSettings(false)
	sImp.Secret("l1-key")
	sImp.Secret("l2-key")
	return group("wallet", "key files: new, import, show",
		a.command(sNew, "new", "a fresh L2 key and L1 key in a key file (mode 0600)", []cli.Flag{
			&cli.StringFlag{Name: "out", Usage: "key file to write (mode 0600)", Sources: sNew.Sources("out"), TakesFile: true},
			&cli.BoolFlag{Name: "no-l1", Usage: "make only the L2 key (deposits then need an L1 wallet of your own)", Sources: sNew.Sources("no-l1")},
			&cli.BoolFlag{Name: "force", Usage: "overwrite --out", Sources: sNew.Sources("force")},
		}, func(_ context.Context, cmd *cli.Command) error {
			if cmd.String("out") == "" {
				return wallet.ArgErr("out", "", "required: where to write the key file")
			}
			k, err := wallet.NewKey(!cmd.Bool("no-l1"))
			if err != nil {
				return err
			}
			return a.writeKey(cmd.String("out"), k, cmd.Bool("force"))
		}),
		a.command(sImp, "import", "a key file from hex keys (--l1-key HEX --l2-key HEX) or a devnet account's (--dev N)", []cli.Flag{
			&cli.StringFlag{Name: "l1-key", Usage: "hex secp256k1 L1 key (optional)", Sources: sImp.Sources("l1-key")},
			&cli.StringFlag{Name: "l2-key", Usage: "hex EdDSA L2 key (96 bytes)", Sources: sImp.Sources("l2-key")},
			&cli.IntFlag{Name: "dev", Value: -1, Usage: "import devnet account N's keys (instead of --l1-key/--l2-key)", Sources: sImp.Sources("dev")},
			&cli.StringFlag{Name: "out", Usage: "key file to write (mode 0600)", Sources: sImp.Sources("out"), TakesFile: true},
			&cli.BoolFlag{Name: "force", Usage: "overwrite --out", Sources: sImp.Sources("force")},
		}, func(_ context.Context, cmd *cli.Command) error {
			k, err := importKey(cmd.String("l1-key"), cmd.String("l2-key"), cmd.Int("dev"))
			if err != nil {
				return err
			}
			return a.writeKey(cmd.String("out"), k, cmd.Bool("force"))
		}),
		a.command(sShow, "show", "a key file's L1 address, L2 public key and accounts", walletFlags(sShow, true), a.walletShow),
	)
}

func (a *app) writeKey(path string, k *wallet.Key, force bool) error {
	if err := wallet.WriteKeyFile(path, k, force); err != nil {
		return err
	}
	fmt.Fprintf(a.out, "wrote %s\n", path)
	printKey(a.out, k)
	return nil
}

// importKey is --l1-key/--l2-key, or --dev N: the devnet's deterministic
// keys of account N.
func importKey(l1, l2 string, dev int) (*wallet.Key, error) {
	if dev >= 0 {
		if l1 != "" || l2 != "" {
			return nil, wallet.ArgErr("dev", strconv.Itoa(dev), "give --dev or --l1-key/--l2-key, not both")
		}
		if dev > 1000 {
			return nil, wallet.ArgErr("dev", strconv.Itoa(dev), "want 0..1000")
		}
		return &wallet.Key{L1: devchain.DevKey(dev), L2: devchain.DevL2Key(dev)}, nil
	}
	return wallet.ImportKey(l1, l2)
}

func printKey(w io.Writer, k *wallet.Key) {
	if addr, ok := k.Address(); ok {
		fmt.Fprintf(w, "L1 address   %s\n", addr)
	} else {
		fmt.Fprintf(w, "L1 address   (none: no L1 key)\n")
	}
	pk := k.PubKey()
	fmt.Fprintf(w, "L2 key X     %s\nL2 key Y     %s\n", wallet.ElemHex(pk.X), wallet.ElemHex(pk.Y))
}

func (a *app) walletShow(ctx context.Context, cmd *cli.Command) error {
	o, err := readWalletOpts(cmd)
	if err != nil {
		return err
	}
	k, err := wallet.LoadKey(o.keyPath)
	if err != nil {
		return err
	}
	printKey(a.out, k)
	var ids []uint32
	err = o.with(ctx, k, false, func(ctx context.Context, s *wallet.Session) (err error) {
		ids, err = s.AccountsOf(ctx)
		return err
	})
	switch {
	case err != nil:
		fmt.Fprintf(a.out, "accounts     (%v)\n", err)
	case len(ids) == 0 && k.L1 == nil:
		fmt.Fprintln(a.out, "accounts     (unknown: no L1 key to look them up by)")
	case len(ids) == 0:
		fmt.Fprintln(a.out, "accounts     none yet (deposit to create one)")
	default:
		strs := make([]string, len(ids))
		for i, id := range ids {
			strs[i] = strconv.FormatUint(uint64(id), 10)
		}
		fmt.Fprintf(a.out, "accounts     %s\n", strings.Join(strs, ", "))
	}
	return nil
}
