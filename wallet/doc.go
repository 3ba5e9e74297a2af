// Package wallet is the logic of Modex's CLI wallet, apart from its
// printing: key files (an L2 EdDSA key and an optional L1 secp256k1 key,
// JSON, mode 0600), amounts and asset names as users write and read them,
// and a Session on the node's API (rpc/client) that finds the key's
// account, signs a transaction with the account's soft nonce, submits it
// and waits for a status (client.WaitTx, with progress reports).
//
// Arguments are checked before anything touches the network: a bad one is
// an *ArgError naming the argument (the CLI's flag), wrapping
// ErrInvalidArgument.
package wallet
