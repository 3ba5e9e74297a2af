package wallet

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/modex/modex/rpc"
	"github.com/modex/modex/rpc/client"
)

// A wait reports each status change and, while nothing changes, where the
// batch stands (client.WaitTx's progress).
func TestWaitTxProgress(t *testing.T) {
	client.PollInterval = 5 * time.Millisecond
	ProgressEvery = 20 * time.Millisecond
	var polls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			ID     json.RawMessage `json:"id"`
			Method string          `json:"method"`
		}
		_ = json.NewDecoder(r.Body).Decode(&req)
		var res any
		switch req.Method {
		case "node_health":
			res = rpc.Health{OK: true}
		case "batch_info":
			res = map[string]any{"number": 3, "status": "witness"}
		case "tx_info":
			n := polls.Add(1)
			st, batch := rpc.TxPending, uint64(0)
			switch {
			case n > 30:
				st, batch = rpc.TxProven, 3
			case n > 3:
				st, batch = rpc.TxIncluded, 3
			}
			res = rpc.TxInfo{Status: st, Batch: batch}
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"jsonrpc": "2.0", "id": req.ID, "result": res})
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := Dial(ctx, srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var reports []Progress
	v, err := s.WaitTx(ctx, common.Hash{1}, rpc.TxProven, func(p Progress) { reports = append(reports, p) })
	if err != nil || v.Status != rpc.TxProven {
		t.Fatalf("WaitTx: %+v %v", v, err)
	}
	var changes []rpc.TxStatus
	still := 0
	for _, p := range reports {
		if p.Changed {
			changes = append(changes, p.Status)
		} else if p.Stage == "witness" {
			still++
		}
	}
	if len(changes) != 3 || changes[0] != rpc.TxPending || changes[1] != rpc.TxIncluded || changes[2] != rpc.TxProven {
		t.Errorf("status changes %v", changes)
	}
	if still == 0 {
		t.Errorf("no progress report while included: %+v", reports)
	}
}

func TestDialNoNode(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + l.Addr().String()
	l.Close()
	_, err = Dial(context.Background(), url)
	var nn *NoNodeError
	if !errors.As(err, &nn) || nn.URL != url {
		t.Fatalf("Dial: %v", err)
	}
}
