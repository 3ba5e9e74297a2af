// Package bridge will connect the rollup to L1: a reorg-safe watcher of
// deposits and forced withdrawals (which become types.Deposit and
// types.ForcedWithdraw priority operations), an idempotent batch submitter,
// and withdrawal-claim and exodus-exit helpers.
//
// Not built yet (issue: L1 bridge).
package bridge
