// Package e2e holds the tests that run the modex binary as a process, as
// an operator would: from an empty directory with no Node, npm or Go
// toolchain on PATH (a devnet that proves and verifies a batch), and
// against a real L1, geth --dev started as its own process (modex deploy,
// modex node, the CLI wallet through the whole flow, a SIGKILL of the node
// mid-flow). Its harnesses are internal/testutil/gethtest and
// internal/testutil/modexbin; it has no non-test code.
package e2e
