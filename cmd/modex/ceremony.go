package main

import (
	"context"
	"encoding/hex"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/consensys/gnark/constraint"
	"github.com/urfave/cli/v3"

	"github.com/modex/modex/circuits"
	"github.com/modex/modex/node"
	"github.com/modex/modex/prover"
	"github.com/modex/modex/types"
)

const ceremonyDescription = `Groth16 multi-party setup (gnark mpcsetup), one step per participant:

  phase1-init       --circuit NAME [--params prod|test] --out FILE
  phase1-contribute --in FILE --out FILE
  phase1-verify     --prev FILE --next FILE
  phase1-seal       --circuit NAME [--params] --beacon HEX --out SRS FILE...   (contributions in order)
  phase2-init       --circuit NAME [--params] --srs SRS --out FILE
  phase2-contribute --in FILE --out FILE
  phase2-verify     --prev FILE --next FILE
  seal              --circuit NAME [--params] --srs SRS --beacon HEX --keys DIR FILE...

The beacon is public randomness fixed after the last contribution (e.g. a future L1 block
hash). NAME is a batch family (Trade, Transfer, Priority, …); --params is prod or test, with an
optional batch capacity: prod:64 (the default capacity), test:2.`

// ceremonyCircuit compiles the named family's batch circuit at the named
// depths and capacity ("prod:64", "test:2"; the capacity defaults to the
// production one).
func ceremonyCircuit(name, params string) (constraint.ConstraintSystem, error) {
	depths, capacity, _ := strings.Cut(params, ":")
	p, err := benchParams(depths)
	if err != nil {
		return nil, err
	}
	p.BatchCapacity = types.DefaultParams().BatchCapacity
	if capacity != "" {
		if p.BatchCapacity, err = strconv.Atoi(capacity); err != nil || p.BatchCapacity < 1 {
			return nil, fmt.Errorf("params %q: capacity must be a positive integer", params)
		}
	}
	f, err := types.ParseFamily(name)
	if err != nil {
		var names []string
		for _, f := range types.AllFamilies() {
			names = append(names, f.String())
		}
		return nil, fmt.Errorf("circuit %q: want a batch family: %s", name, strings.Join(names, ", "))
	}
	c, err := circuits.NewBatch(f, p)
	if err != nil {
		return nil, err
	}
	return prover.Compile(c, circuits.BatchKey(f, p), "")
}

// ceremonyStep is one step of modex ceremony: the flags it takes (among
// the ceremony's, in this order) and, with files, the contribution files
// it reads as arguments.
type ceremonyStep struct {
	name, usage string
	flags       []string
	files       bool
	run         func(v ceremonyArgs) error
}

// ceremonyArgs are a step's flags (by name), arguments and compiled
// circuit (for the steps that take --circuit).
type ceremonyArgs struct {
	flag  map[string]string
	files []string
	ccs   constraint.ConstraintSystem
}

// beacon reads --beacon.
func (v ceremonyArgs) beacon() ([]byte, error) {
	b, err := hex.DecodeString(strings.TrimPrefix(v.flag["beacon"], "0x"))
	if err != nil || len(b) == 0 {
		return nil, node.ConfigErr("beacon", v.flag["beacon"], "must be non-empty hex")
	}
	return b, nil
}

var ceremonyFlagUsage = map[string]string{
	"circuit": "batch family whose circuit is set up (Trade, Transfer, Priority, …)",
	"params":  "depths and capacity: prod, prod:64, test:2",
	"in":      "input file",
	"out":     "output file",
	"prev":    "previous contribution",
	"next":    "contribution to check",
	"srs":     "sealed phase-1 SRS file",
	"beacon":  "public randomness, hex",
	"keys":    "directory for the sealed keys",
}

var ceremonySteps = []ceremonyStep{
	{"phase1-init", "start phase 1 for a circuit", []string{"circuit", "params", "out"}, false, func(v ceremonyArgs) error {
		return prover.InitPhase1File(prover.CeremonyDomainSize(v.ccs), v.flag["out"])
	}},
	{"phase1-contribute", "add a phase-1 contribution", []string{"in", "out"}, false, func(v ceremonyArgs) error {
		return prover.ContributePhase1File(v.flag["in"], v.flag["out"])
	}},
	{"phase1-verify", "check a phase-1 contribution against the previous one", []string{"prev", "next"}, false, func(v ceremonyArgs) error {
		return prover.VerifyPhase1File(v.flag["prev"], v.flag["next"])
	}},
	{"phase1-seal", "seal phase 1 into an SRS with the beacon (contributions in order)", []string{"circuit", "params", "beacon", "out"}, true, func(v ceremonyArgs) error {
		b, err := v.beacon()
		if err != nil {
			return err
		}
		return prover.SealPhase1Files(prover.CeremonyDomainSize(v.ccs), b, v.flag["out"], v.files...)
	}},
	{"phase2-init", "start phase 2 for a circuit from the sealed SRS", []string{"circuit", "params", "srs", "out"}, false, func(v ceremonyArgs) error {
		return prover.InitPhase2File(v.ccs, v.flag["srs"], v.flag["out"])
	}},
	{"phase2-contribute", "add a phase-2 contribution", []string{"in", "out"}, false, func(v ceremonyArgs) error {
		return prover.ContributePhase2File(v.flag["in"], v.flag["out"])
	}},
	{"phase2-verify", "check a phase-2 contribution against the previous one", []string{"prev", "next"}, false, func(v ceremonyArgs) error {
		return prover.VerifyPhase2File(v.flag["prev"], v.flag["next"])
	}},
	{"seal", "seal phase 2 with the beacon and save the keys (contributions in order)", []string{"circuit", "params", "srs", "beacon", "keys"}, true, func(v ceremonyArgs) error {
		b, err := v.beacon()
		if err != nil {
			return err
		}
		k, err := prover.SealCeremonyFiles(v.ccs, v.flag["srs"], b, v.files...)
		if err != nil {
			return err
		}
		return k.Save(v.flag["keys"])
	}},
}

// ceremonyCommand: modex ceremony STEP — one subcommand per step.
func (a *app) ceremonyCommand() *cli.Command {
	var steps []*cli.Command
	for _, st := range ceremonySteps {
		steps = append(steps, a.ceremonyStepCommand(st))
	}
	g := group("ceremony", "multi-party Groth16 setup (modex ceremony for the steps)", steps...)
	g.Description = ceremonyDescription
	return g
}

func (a *app) ceremonyStepCommand(st ceremonyStep) *cli.Command {
	s := a.newSettings(false)
	var flags []cli.Flag
	for _, name := range st.flags {
		f := &cli.StringFlag{Name: name, Usage: ceremonyFlagUsage[name], Sources: s.Sources(name)}
		switch name {
		case "params":
			f.Value = "prod"
		case "circuit", "beacon":
		default:
			f.TakesFile = true
		}
		flags = append(flags, f)
	}
	c := a.command(s, st.name, st.usage, flags, func(_ context.Context, cmd *cli.Command) error {
		if !st.files {
			if err := noArgs(cmd); err != nil {
				return err
			}
		}
		v := ceremonyArgs{flag: map[string]string{}, files: cmd.Args().Slice()}
		for _, name := range st.flags {
			v.flag[name] = cmd.String(name)
			if v.flag[name] == "" {
				return node.ConfigErr(name, "", "required (modex ceremony %s -h)", st.name)
			}
		}
		if _, ok := v.flag["circuit"]; ok {
			var err error
			if v.ccs, err = ceremonyCircuit(v.flag["circuit"], v.flag["params"]); err != nil {
				return err
			}
		}
		return st.run(v)
	})
	if st.files {
		c.ArgsUsage = "FILE..."
	}
	return c
}

// setupCommand: modex setup — the insecure development setup of a
// circuit, its keys saved.
func (a *app) setupCommand() *cli.Command {
	s := a.newSettings(false)
	flags := []cli.Flag{
		&cli.StringFlag{Name: "circuit", Usage: "batch family whose circuit is set up (Trade, Transfer, Priority, …)", Sources: s.Sources("circuit")},
		&cli.StringFlag{Name: "params", Value: "prod", Usage: "depths and capacity: prod, prod:64, test:2", Sources: s.Sources("params")},
		&cli.StringFlag{Name: "keys", Usage: "directory for the keys", Sources: s.Sources("keys"), TakesFile: true},
		// an acknowledgement is given on the command line: no env twin
		&cli.BoolFlag{Name: "dev", Usage: "required: acknowledges the setup is insecure (development only)"},
	}
	return a.command(s, "setup", "insecure development keys: --dev --circuit FAMILY --keys DIR [--params prod:64|test:2]", flags,
		func(_ context.Context, cmd *cli.Command) error {
			if err := noArgs(cmd); err != nil {
				return err
			}
			if !cmd.Bool("dev") {
				return fmt.Errorf("setup: only the development setup runs here; pass --dev to acknowledge it is insecure (use 'modex ceremony' for real keys)")
			}
			if cmd.String("circuit") == "" || cmd.String("keys") == "" {
				return fmt.Errorf("setup: --circuit and --keys are required")
			}
			ccs, err := ceremonyCircuit(cmd.String("circuit"), cmd.String("params"))
			if err != nil {
				return err
			}
			k, err := prover.DevSetup(ccs)
			if err != nil {
				return err
			}
			if err := k.Save(cmd.String("keys")); err != nil {
				return err
			}
			fmt.Fprintf(a.out, "INSECURE development keys saved in %s (marked so in its %s); modex node accepts them only with --insecure-dev-keys\n",
				cmd.String("keys"), prover.ManifestFile)
			return nil
		})
}

// exportVerifierCommand: modex export-verifier — the Solidity verifier of
// saved keys.
func (a *app) exportVerifierCommand() *cli.Command {
	s := a.newSettings(false)
	flags := []cli.Flag{
		&cli.StringFlag{Name: "keys", Usage: "directory of saved keys", Sources: s.Sources("keys"), TakesFile: true},
		&cli.StringFlag{Name: "out", Usage: "output .sol file", Sources: s.Sources("out"), TakesFile: true},
	}
	return a.command(s, "export-verifier", "Solidity verifier of saved keys: --keys DIR --out FILE.sol", flags,
		func(_ context.Context, cmd *cli.Command) error {
			if err := noArgs(cmd); err != nil {
				return err
			}
			return exportVerifier(cmd.String("keys"), cmd.String("out"))
		})
}

// exportVerifier writes the Solidity verifier of the keys in dir to out.
func exportVerifier(dir, out string) error {
	if dir == "" || out == "" {
		return fmt.Errorf("export-verifier: --keys and --out are required")
	}
	k, err := prover.LoadKeys(dir)
	if err != nil {
		return err
	}
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	if err := prover.ExportSolidity(k.VK, f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
