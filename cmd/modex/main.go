// Command modex is the one Modex binary. Today it runs the native state demo
// and the state benchmarks; the node, prover and devnet commands arrive with
// their issues (docs/architecture.md).
package main

import (
	"fmt"
	"os"
)

const usage = `modex — zk-rollup for fractional shares of AI models

usage:
  modex demo [--dir DIR] [--prod]    run the native state transition demo (no L1, no proofs yet)
  modex bench apply [--json]         apply throughput per transaction kind at production depths
  modex bench seal [--json]          durable batch seal (256 transfers) on disk
  modex bench circuit [--json] [--params prod|test]
                                     constraints of every kind gadget and batch circuit
  modex bench prove [--json] [--params prod|test] [--family Trade] [--sizes 1,2,4] [--runs N]
                                     dev setup + CPU proving of full batches of real transactions
  modex setup --dev --circuit FAMILY --keys DIR [--params prod:64|test:2]   insecure development keys
  modex ceremony STEP ...            multi-party Groth16 setup (modex ceremony for the steps)
  modex export-verifier --keys DIR --out FILE.sol          Solidity verifier of saved keys
  modex bench gas [--json] [--capacities 8,32,64] [--fork osaka|dev]
                                     L1 gas of every batch kind and user operation (in-process EVM)
  modex claim --l1-rpc URL --bridge ADDR --key HEX [--owner ADDR] [--token N]
                                     pay a pending L1 balance (withdrawals, refused deposits)
  modex exit --l1-rpc URL --bridge ADDR --key HEX --account N [--token N] [--activate] [--params prod|test]
                                     exodus: rebuild the state from L1 alone and exit a balance
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "demo":
		err = runDemo(os.Args[2:])
	case "bench":
		err = runBench(os.Args[2:])
	case "ceremony":
		err = runCeremony(os.Args[2:])
	case "setup":
		err = runSetup(os.Args[2:])
	case "export-verifier":
		err = runExportVerifier(os.Args[2:])
	case "exit":
		err = runExit(os.Args[2:])
	case "claim":
		err = runClaim(os.Args[2:])
	case "help", "-h", "--help":
		fmt.Print(usage)
		return
	default:
		fmt.Fprintf(os.Stderr, "modex: unknown command %q\n\n%s", os.Args[1], usage)
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "modex:", err)
		os.Exit(1)
	}
}
