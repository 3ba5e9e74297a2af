//go:build tools

// Package tools pins modules the project relies on before any package imports
// them (gorilla/websocket is the websocket transport of go-ethereum's rpc
// server, used by the rpc package).
package tools

import _ "github.com/gorilla/websocket"
