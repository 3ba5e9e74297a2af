package main

import (
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/consensys/gnark/constraint"

	"github.com/modex/modex/circuits"
	"github.com/modex/modex/prover"
	"github.com/modex/modex/types"
)

const ceremonyUsage = `modex ceremony — Groth16 multi-party setup (gnark mpcsetup), one step per participant

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
optional batch capacity: prod:64 (the default capacity), test:2.
`

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

func runCeremony(args []string) error {
	if len(args) < 1 {
		fmt.Fprint(os.Stderr, ceremonyUsage)
		return fmt.Errorf("ceremony: want a step")
	}
	fs := flag.NewFlagSet("ceremony "+args[0], flag.ContinueOnError)
	circuit := fs.String("circuit", "", "circuit name")
	params := fs.String("params", "prod", "depths and capacity: prod, prod:64, test:2")
	in := fs.String("in", "", "input file")
	out := fs.String("out", "", "output file")
	prev := fs.String("prev", "", "previous contribution")
	next := fs.String("next", "", "contribution to check")
	srs := fs.String("srs", "", "sealed phase-1 SRS file")
	beacon := fs.String("beacon", "", "public randomness, hex")
	keys := fs.String("keys", "", "directory for the sealed keys")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	need := func(vals ...string) error {
		for i := 0; i < len(vals); i += 2 {
			if vals[i+1] == "" {
				return fmt.Errorf("ceremony %s: --%s is required", args[0], vals[i])
			}
		}
		return nil
	}
	beaconBytes := func() ([]byte, error) {
		b, err := hex.DecodeString(strings.TrimPrefix(*beacon, "0x"))
		if err != nil || len(b) == 0 {
			return nil, fmt.Errorf("ceremony: --beacon must be non-empty hex")
		}
		return b, nil
	}
	// the steps that depend on the circuit compile it once here
	var ccs constraint.ConstraintSystem
	switch args[0] {
	case "phase1-init", "phase1-seal", "phase2-init", "seal":
		if err := need("circuit", *circuit); err != nil {
			return err
		}
		var err error
		if ccs, err = ceremonyCircuit(*circuit, *params); err != nil {
			return err
		}
	}
	switch args[0] {
	case "phase1-init":
		if err := need("out", *out); err != nil {
			return err
		}
		return prover.InitPhase1File(prover.CeremonyDomainSize(ccs), *out)
	case "phase1-contribute":
		if err := need("in", *in, "out", *out); err != nil {
			return err
		}
		return prover.ContributePhase1File(*in, *out)
	case "phase1-verify":
		if err := need("prev", *prev, "next", *next); err != nil {
			return err
		}
		return prover.VerifyPhase1File(*prev, *next)
	case "phase1-seal":
		if err := need("out", *out); err != nil {
			return err
		}
		b, err := beaconBytes()
		if err != nil {
			return err
		}
		return prover.SealPhase1Files(prover.CeremonyDomainSize(ccs), b, *out, fs.Args()...)
	case "phase2-init":
		if err := need("srs", *srs, "out", *out); err != nil {
			return err
		}
		return prover.InitPhase2File(ccs, *srs, *out)
	case "phase2-contribute":
		if err := need("in", *in, "out", *out); err != nil {
			return err
		}
		return prover.ContributePhase2File(*in, *out)
	case "phase2-verify":
		if err := need("prev", *prev, "next", *next); err != nil {
			return err
		}
		return prover.VerifyPhase2File(*prev, *next)
	case "seal":
		if err := need("srs", *srs, "keys", *keys); err != nil {
			return err
		}
		b, err := beaconBytes()
		if err != nil {
			return err
		}
		k, err := prover.SealCeremonyFiles(ccs, *srs, b, fs.Args()...)
		if err != nil {
			return err
		}
		return k.Save(*keys)
	}
	fmt.Fprint(os.Stderr, ceremonyUsage)
	return fmt.Errorf("ceremony: unknown step %q", args[0])
}

// runSetup runs the insecure development setup of a circuit and saves its keys.
func runSetup(args []string) error {
	fs := flag.NewFlagSet("setup", flag.ContinueOnError)
	circuit := fs.String("circuit", "", "circuit name")
	params := fs.String("params", "prod", "depths and capacity: prod, prod:64, test:2")
	keys := fs.String("keys", "", "directory for the keys")
	dev := fs.Bool("dev", false, "required: acknowledges the setup is insecure (development only)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if !*dev {
		return fmt.Errorf("setup: only the development setup runs here; pass --dev to acknowledge it is insecure (use 'modex ceremony' for real keys)")
	}
	if *circuit == "" || *keys == "" {
		return fmt.Errorf("setup: --circuit and --keys are required")
	}
	ccs, err := ceremonyCircuit(*circuit, *params)
	if err != nil {
		return err
	}
	k, err := prover.DevSetup(ccs)
	if err != nil {
		return err
	}
	return k.Save(*keys)
}

// runExportVerifier writes the Solidity verifier of saved keys.
func runExportVerifier(args []string) error {
	fs := flag.NewFlagSet("export-verifier", flag.ContinueOnError)
	keys := fs.String("keys", "", "directory of saved keys")
	out := fs.String("out", "", "output .sol file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *keys == "" || *out == "" {
		return fmt.Errorf("export-verifier: --keys and --out are required")
	}
	k, err := prover.LoadKeys(*keys)
	if err != nil {
		return err
	}
	f, err := os.Create(*out)
	if err != nil {
		return err
	}
	if err := prover.ExportSolidity(k.VK, f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
