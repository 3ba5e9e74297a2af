package node

import (
	"errors"
	"net"
	"testing"
)

func TestCheckListen(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	free, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	freeAddr := free.Addr().String()
	free.Close()

	wantField := func(err error, field string) {
		t.Helper()
		var ce *ConfigError
		if !errors.As(err, &ce) || !errors.Is(err, ErrInvalidConfig) || ce.Field != field {
			t.Fatalf("got %T %v, want a *ConfigError naming --%s", err, err, field)
		}
	}
	wantField(CheckListen(ListenAddr{"l1.addr", freeAddr}, ListenAddr{"rpc.addr", busy.Addr().String()}), "rpc.addr")
	// two flags naming one port: the second is refused
	wantField(CheckListen(ListenAddr{"l1.addr", freeAddr}, ListenAddr{"rpc.addr", freeAddr}), "rpc.addr")
	if err := CheckListen(ListenAddr{"l1.addr", ""}, ListenAddr{"rpc.addr", "127.0.0.1:0"}, ListenAddr{"x", freeAddr}); err != nil {
		t.Fatal(err)
	}
	// nothing stays bound
	l, err := net.Listen("tcp", freeAddr)
	if err != nil {
		t.Fatalf("CheckListen left %s bound: %v", freeAddr, err)
	}
	l.Close()
}
