// Package rpc serves the node's JSON-RPC and websocket API (docs/node.md §4)
// on go-ethereum's rpc package.
//
//   - api.go: the data types and the Backend interface the node implements.
//   - server.go: Server and Config; HTTP and websocket on "/", /healthz,
//     /metrics; explicit batch-item, batch-response, HTTP-body and
//     websocket-frame limits, timeouts, websocket connection and
//     subscription bounds (SECURITY items 22–24).
//   - service.go: the namespaces (tx, account, market, model, asset, fee,
//     batch, node, bridge, admin) with strict parameter parsing.
//   - websocket.go: the websocket transport (our upgrade, go-ethereum's
//     codec): pings every WSPingInterval and closes a peer that answers no
//     ping for two intervals; at most WSMaxConnections connections and
//     WSMaxSubscriptions subscriptions per connection.
//   - subscribe.go: the modex_subscribe channels, bounded per subscriber.
//   - errors.go: the error table: every typed rejection of types, state,
//     state/store, state/smt and types/seqerr (the pool's and the order
//     books' sentinels), and the node's own errors, mapped to one stable
//     code and snake_case reason.
//   - metrics.go: the Prometheus metrics the server and the node set.
//
// Layering: rpc imports only types, types/seqerr and the state packages,
// never the sequencer (the node wires the sequencer in through Backend).
// The sequencer's rejection errors are in types/seqerr, below both, so the
// error table maps them without an import that runs up the layers.
//
// The Go client is rpc/client.
package rpc
