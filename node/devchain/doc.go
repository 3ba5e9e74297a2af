// Package devchain is the devnet's embedded L1 and the rollup deployment.
//
// StartChain runs go-ethereum's simulated backend (a full in-process chain,
// chain ID 1337) with deterministic funded dev accounts, an optional HTTP and
// websocket JSON-RPC endpoint (so cast, ethers and wallets can use it) and a
// miner goroutine that mines pending transactions. DeployRollup compiles (or
// loads from a cache) each family's batch circuit and dev keys, compiles the
// Solidity verifiers and deploys them and the bridge to any bridge.L1.
//
// Dev keys are public knowledge: DevKey (L1) and DevL2Key (L2) derive from
// fixed seeds, so devnets, the wallet and tests agree on them. The simulated
// chain makes this package test and devnet machinery: production packages
// (node included) never import it; node/devnet wires it to a node.
package devchain
