// Package node wires the rollup's services into one process (docs/node.md):
// the state store and journal, the sequencer, the proving pipeline, the L1
// watcher and submitter, and the JSON-RPC/websocket API. It implements the
// API's Backend (backend.go).
//
// Lifecycle: New(config) opens the stores and builds the services, Start
// starts them, Stop stops them in reverse order and returns every Close
// error joined. The node's command-line configuration lives here too, so
// flags are defined once with their defaults: flags.go declares them
// (ServiceFlags are those modex devnet shares), cliconfig.go reads them from
// the command line, MODEX_ environment variables and a TOML file, in that
// order of precedence, and checks them before anything starts.
//
// node links no test chain and no benchmark code (internal/archtest); the
// devnet that runs a node over an embedded L1 is node/devnet.
package node
