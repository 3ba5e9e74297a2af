// Package wallet is the logic of Modex's CLI wallet, apart from its
// printing (cmd/modex prints):
//
//   - key files (key.go): an L2 EdDSA key and an optional L1 secp256k1 key,
//     JSON, written with mode 0600 and never overwritten unless asked;
//   - arguments as users write them and amounts as they read them
//     (amount.go): 1.5eth, shares:1; "1000 wei (0.000000000000001 ETH)",
//     "1 share of model 1";
//   - a Session on the node's API (session.go, over rpc/client): Dial says
//     *NoNodeError when nothing answers; UseKey and UseAccount find the
//     signing domain and the key's account; Submit signs with the account's
//     soft nonce; WaitTx waits for a status with client.WaitTx and reports
//     its progress; WaitPriority follows a deposit;
//   - the L1 deposit (deposit.go) and transaction summaries (describe.go);
//   - the L1 side of withdrawals and the escape hatch (l1.go): an L1Signer
//     (DialL1, with ParseSignerKey and ParseAddress checking the arguments)
//     sends Claim, which is a *NothingToClaimError (ErrNothingToClaim) on an
//     empty pending balance, and Exit, which is ErrExodusInactive unless
//     asked to activate exodus.
//
// Arguments are checked before anything touches the network: a bad one is
// an *ArgError naming the argument (the CLI's flag), wrapping
// ErrInvalidArgument.
package wallet
