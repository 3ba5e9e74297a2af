// Package devnet runs a one-process development network: Start starts the
// embedded L1 (node/devchain's simulated chain), deploys the rollup on it
// with dev keys (dev account 0 operates it and holds L2 account 0, the fee
// account) and starts a node with the CPU prover. `modex devnet` and the
// end-to-end tests run on it.
//
// It lives apart from package node so that the node binary's production
// packages never link go-ethereum's simulated chain; only this package, the
// devnet command and tests do (internal/archtest checks it).
package devnet
