// Package rpc will serve the JSON-RPC and websocket API on go-ethereum's rpc
// package, with explicit batch, body, frame and timeout limits, and map every
// types.Err* rejection to a stable domain error code.
//
// Not built yet (issue: the node, end to end).
package rpc
