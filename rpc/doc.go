// Package rpc serves the node's JSON-RPC and websocket API (docs/node.md §4)
// on go-ethereum's rpc package.
//
//   - api.go: the data types and the Backend interface the node implements.
//   - server.go: Server and Config; HTTP and websocket on "/", /healthz,
//     /metrics; explicit batch-item, batch-response, HTTP-body and
//     websocket-frame limits and timeouts (SECURITY items 22–24).
//   - service.go: the namespaces (tx, account, market, model, asset, fee,
//     batch, node, bridge, admin) with strict parameter parsing.
//   - subscribe.go: the modex_subscribe channels, bounded per subscriber.
//   - errors.go: the error table: every typed rejection of types, state,
//     state/store, state/smt, sequencer/book and sequencer/mempool, and the
//     node's own errors, mapped to one stable code and snake_case reason.
//   - metrics.go: the Prometheus metrics the server and the node set.
//
// The Go client is rpc/client.
package rpc
