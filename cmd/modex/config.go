package main

// The command tree (urfave/cli v3) and the glue of its configuration: each
// command's flags read their env twins (and, for devnet and node, a TOML
// file) through node.Settings; --version works on every command; usage
// errors say where the usage is; `modex dumpconfig CMD [flags]` and
// --dump-config print the effective configuration.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"

	gnarklog "github.com/consensys/gnark/logger"
	"github.com/urfave/cli/v3"

	"github.com/modex/modex/node"
	"github.com/modex/modex/rpc"
	"github.com/modex/modex/wallet"
)

// errShown: the command printed what was asked (--version) and stops.
var errShown = errors.New("shown")

// ErrUsage is wrapped by command-line errors (unknown flag, missing value).
var ErrUsage = errors.New("usage")

// app is the modex command tree and where it prints.
type app struct {
	out, errOut io.Writer
	root        *cli.Command
	settings    []*node.Settings // every command's, to name a bad env or TOML value
}

func newApp(out, errOut io.Writer) *app {
	a := &app{out: out, errOut: errOut}
	a.root = &cli.Command{
		Name:        "modex",
		Usage:       "zk-rollup for fractional shares of AI models and inference credits",
		Description: "Every flag has an environment twin MODEX_<NAME> (--log.level: MODEX_LOG_LEVEL); devnet and node also read --config FILE.toml. Precedence: flag > env > TOML > default.",
		Version:     node.Version,
		HideVersion: true, // --version is ours: persistent, on every command
		Writer:      out,
		ErrWriter:   errOut,
		Flags:       []cli.Flag{&cli.BoolFlag{Name: "version", Usage: "print the version"}},
		Before: func(ctx context.Context, cmd *cli.Command) (context.Context, error) {
			if cmd.Bool("version") {
				fmt.Fprintf(a.out, "modex %s\n", node.Version)
				return ctx, errShown
			}
			return ctx, nil
		},
		OnUsageError: a.usageError,
		Action:       listCommands,
		Commands: []*cli.Command{
			a.devnetCommand(), a.nodeCommand(), a.dumpConfigCommand(),
			a.walletCommand(), a.depositCommand(), a.transferCommand(), a.orderCommand(),
			a.bookCommand(), a.tradesCommand(), a.modelCommand(), a.creditsCommand(), a.revenueCommand(),
			a.withdrawCommand(), a.statusCommand(), a.txCommand(), a.claimCommand(), a.exitCommand(),
			a.demoCommand(), a.benchCommand(), a.setupCommand(), a.ceremonyCommand(), a.exportVerifierCommand(), a.deployCommand(),
		},
	}
	a.root.Walk(func(c *cli.Command) error {
		if c.OnUsageError == nil {
			c.OnUsageError = a.usageError
		}
		return nil
	})
	return a
}

// run runs the command line (args[0] is the program).
func (a *app) run(ctx context.Context, args []string) error {
	err := a.root.Run(ctx, args)
	for _, s := range a.settings {
		if e := s.SourceError(err); e != err {
			return e
		}
	}
	return err
}

// settings makes a command's value sources (withFile: --config TOML).
func (a *app) newSettings(withFile bool) *node.Settings {
	s := node.NewSettings(withFile)
	a.settings = append(a.settings, s)
	return s
}

// command is a leaf command whose flags come from s: Before checks the
// sources, so the Action sees a complete configuration.
func (a *app) command(s *node.Settings, name, usage string, flags []cli.Flag, action cli.ActionFunc) *cli.Command {
	return &cli.Command{
		Name: name, Usage: usage, Flags: append(s.FileFlags(), flags...),
		Before: func(ctx context.Context, cmd *cli.Command) (context.Context, error) { return ctx, s.Check(cmd) },
		Action: action,
	}
}

// group is a command of subcommands.
func group(name, usage string, subs ...*cli.Command) *cli.Command {
	return &cli.Command{Name: name, Usage: usage, Commands: subs, Action: listCommands}
}

// listCommands is a group's action: its help, or an unknown command named.
func listCommands(_ context.Context, cmd *cli.Command) error {
	if cmd.Args().Present() {
		return fmt.Errorf("%w: unknown command %q (%s -h lists the commands)", ErrUsage, strings.TrimSpace(cmd.FullName()+" "+cmd.Args().First()), cmd.FullName())
	}
	if cmd.Root() == cmd {
		return cli.ShowRootCommandHelp(cmd)
	}
	return cli.ShowSubcommandHelp(cmd)
}

func (a *app) usageError(_ context.Context, cmd *cli.Command, err error, _ bool) error {
	return fmt.Errorf("%w: %s: %v (%s -h lists the flags)", ErrUsage, cmd.FullName(), err, cmd.FullName())
}

// describeError is how main prints an error: API errors with their code
// and reason.
func describeError(err error) string {
	var ae *rpc.APIError
	if errors.As(err, &ae) {
		return fmt.Sprintf("%v  [API error %d, reason %s]", err, ae.Code, ae.Reason)
	}
	return err.Error()
}

// errField is the flag an argument or configuration error names ("" for
// another error).
func errField(err error) string {
	var ce *node.ConfigError
	if errors.As(err, &ce) {
		return ce.Field
	}
	var ae *wallet.ArgError
	if errors.As(err, &ae) {
		return ae.Field
	}
	return ""
}

// --- logs ------------------------------------------------------------------

// newLogger builds the slog logger (to w) and makes it the default.
func newLogger(w io.Writer, c node.LogConfig) *slog.Logger {
	opts := &slog.HandlerOptions{Level: c.Level}
	var h slog.Handler = slog.NewTextHandler(w, opts)
	if c.Format == "json" {
		h = slog.NewJSONHandler(w, opts)
	}
	lg := slog.New(h)
	slog.SetDefault(lg)
	// gnark logs every proof at debug level to stdout: only with
	// --log.level debug, and to the log's stream (the prover package logs
	// each proving stage itself)
	if c.Level <= slog.LevelDebug {
		gnarklog.SetOutput(w)
	} else {
		gnarklog.Disable()
	}
	return lg
}

// --- dumpconfig --------------------------------------------------------------

// dumpConfigCommand: modex dumpconfig devnet|node [flags] — the effective
// configuration of that command as TOML (the same as CMD --dump-config).
func (a *app) dumpConfigCommand() *cli.Command {
	dn := a.devnetCommand()
	nd := a.nodeCommand()
	for _, c := range []*cli.Command{dn, nd} {
		action := c.Action
		c.Action = func(ctx context.Context, cmd *cli.Command) error {
			if err := cmd.Set("dump-config", "true"); err != nil {
				return err
			}
			return action(ctx, cmd)
		}
	}
	return group("dumpconfig", "print a command's effective configuration as TOML (devnet|node [flags]; also CMD --dump-config)", dn, nd)
}

// dumpAndCheck prints the configuration, then says on stderr whether it
// would start (a template with required fields missing is still printed).
func (a *app) dumpAndCheck(s *node.Settings, cmd *cli.Command, check func() error) error {
	if err := s.Dump(a.out, cmd); err != nil {
		return err
	}
	if err := check(); err != nil {
		fmt.Fprintf(a.errOut, "modex: note: this configuration would not start: %v\n", err)
	}
	return nil
}

// orNone is s, or "none" when empty.
func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func trim0x(s string) string { return strings.TrimPrefix(strings.TrimPrefix(s, "0x"), "0X") }
