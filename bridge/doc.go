// Package bridge connects the rollup to L1 (docs/protocol.md §11):
//
//   - contract.go, views.go: deploying the bridge (contracts/src/Modex.sol)
//     and its verifiers, calls and views through the generated bindings,
//     revert data decoded into *ContractError by custom-error name;
//   - request.go: priority requests (deposits, forced withdrawals) between
//     their L1 bytes and the L2 operations the sequencer applies;
//   - watcher.go: a reorg-safe watcher of priority requests that delivers each
//     one once, after a configurable number of confirmations;
//   - submitter.go: an idempotent batch submitter that checks the chain before
//     sending, persists every transaction before it is sent, replaces a stuck
//     one with bumped fees and survives restarts;
//   - exit.go: the claim helper and the exodus exit helper, which rebuilds the
//     state from L1 calldata alone and proves each exit;
//   - gasbench.go: `modex bench gas`.
//
// Everything goes through the L1 interface, which both a JSON-RPC endpoint
// (ethclient) and go-ethereum's in-process simulated chain satisfy.
package bridge
