package node

import (
	"errors"
	"net"
	"syscall"
)

// ListenAddr is a listen address and the flag that sets it.
type ListenAddr struct{ Field, Addr string }

// CheckListen checks that each address can be listened on now, so that a
// command refuses a port in use before it changes anything (the devnet
// wipes its data directory only after this): all of them are bound at once
// (two flags naming one port conflict) and released before it returns. One
// that cannot be bound is a *ConfigError naming its flag. An empty address
// and port 0 (any free port) are skipped.
func CheckListen(addrs ...ListenAddr) error {
	var open []net.Listener
	defer func() {
		for _, l := range open {
			_ = l.Close()
		}
	}()
	for _, a := range addrs {
		if a.Addr == "" {
			continue
		}
		if _, port, err := net.SplitHostPort(a.Addr); err == nil && port == "0" {
			continue
		}
		l, err := net.Listen("tcp", a.Addr)
		if errors.Is(err, syscall.EADDRINUSE) {
			return ConfigErr(a.Field, a.Addr, "address already in use (is another devnet or node running? stop it or choose another --%s); nothing was changed", a.Field)
		}
		if err != nil {
			return ConfigErr(a.Field, a.Addr, "cannot listen there: %v; nothing was changed", err)
		}
		open = append(open, l)
	}
	return nil
}
