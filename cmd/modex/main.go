// Command modex is the one Modex binary: the devnet, the node, the CLI
// wallet, the prover's setup and ceremony tools, the benchmarks and the
// native state demo.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
)

const usage = `modex — zk-rollup for fractional shares of AI models

usage:
  modex devnet [--datadir DIR] [--keys DIR] [--params test|prod] [--batch.capacity N] [--families all|A,B]
               [--l1.addr HOST:PORT] [--rpc.addr HOST:PORT] [--admin] [--batch.timeout D] [--batch.family-wait D] [--accounts N]
                                     embedded L1 + deployed rollup + node, with funded dev accounts
  modex node --l1-rpc URL --bridge ADDR --operator-key HEX|--operator-key-file F --keys DIR [--datadir DIR]
             [--rpc.addr HOST:PORT] [--params test|prod] [--confirmations N] [--from-block N]
             [--prover cpu|icicle] [--prover.workers N] [--batch.timeout D] [--batch.family-wait D] [--admin]
                                     a rollup node against an external L1
  modex dumpconfig devnet|node [flags]   the effective configuration as TOML (also --dump-config)
      devnet and node take --config FILE.toml, --log.level debug|info|warn|error, --log.format text|json;
      every flag has an env twin MODEX_<NAME> (--log.level: MODEX_LOG_LEVEL); flag > env > TOML > default

  wallet (--rpc URL, default http://127.0.0.1:8645; signed commands take --key FILE [--wait included|proven|finalized]):
  modex wallet new --out FILE | import (--l1-key HEX --l2-key HEX | --dev N) --out FILE | show --key FILE
  modex deposit --key F --amount WEI [--token eth|ID|ADDR] [--l1-rpc URL]
  modex transfer --key F --to ACCOUNT --amount N [--asset eth|token:N|shares:M|credits:M] [--fee N]
  modex order place --key F --model M --side buy|sell --amount N --price P [--id N] [--valid 1h] [--max-fee-bips 10]
  modex order cancel --key F --model M --id N
  modex book --model M [--depth 10] [--watch]         modex trades --model M [--limit 20]
  modex model create --key F --model M --supply N [--max-supply N] --credit-price P --holder-bps B
                     [--quote-token 0] [--weights HEX] [--metadata HEX]
  modex model mint --key F --model M --amount N   |   set-price --key F --model M --credit-price P [--holder-bps B]
  modex model show --model M
  modex credits buy --key F --model M --credits N [--max-price P] | redeem --key F --model M --credits N --request HEX
  modex revenue claim --key F --model M
  modex withdraw --key F --amount N [--token 0] [--to ADDR] [--wait]
  modex status [--key F]                              modex tx --hash H

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
  modex bench sequencer [--json] [--duration 10s] [--users 256] [--clients 8] [--mix transfers=70,orders=30] [--sync=true]
                                     soft-confirmed tps of the sequencer vs the EdDSA verification bound
  modex bench gas [--json] [--capacities 8,32,64] [--fork osaka|dev]
                                     L1 gas of every batch kind and user operation (in-process EVM)
  modex claim [--l1-rpc URL] [--bridge ADDR] --key HEX|FILE [--owner ADDR] [--token N] [--rpc URL]
                                     pay a pending L1 balance (withdrawals, refused deposits); the bridge
                                     defaults to the node's (--rpc), --l1-rpc to http://127.0.0.1:8545
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
		err = runClaimWallet(os.Args[2:])
	case "devnet":
		err = runDevnet(os.Args[2:])
	case "node":
		err = runNode(os.Args[2:])
	case "dumpconfig":
		err = runDumpConfig(os.Args[2:])
	case "wallet":
		err = runWallet(os.Args[2:])
	case "deposit":
		err = runDeposit(os.Args[2:])
	case "transfer":
		err = runTransfer(os.Args[2:])
	case "order":
		err = runOrder(os.Args[2:])
	case "book":
		err = runBook(os.Args[2:])
	case "trades":
		err = runTrades(os.Args[2:])
	case "model":
		err = runModel(os.Args[2:])
	case "credits":
		err = runCredits(os.Args[2:])
	case "revenue":
		err = runRevenue(os.Args[2:])
	case "withdraw":
		err = runWithdraw(os.Args[2:])
	case "status":
		err = runStatus(os.Args[2:])
	case "tx":
		err = runTx(os.Args[2:])
	case "help", "-h", "--help":
		fmt.Print(usage)
		return
	default:
		fmt.Fprintf(os.Stderr, "modex: unknown command %q\n\n%s", os.Args[1], usage)
		os.Exit(2)
	}
	if errors.Is(err, flag.ErrHelp) {
		return // -h: the usage is printed
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "modex:", describeError(err))
		os.Exit(1)
	}
}
