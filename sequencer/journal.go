package sequencer

import (
	"encoding/binary"
	"encoding/json"
	"errors"

	"github.com/dgraph-io/badger/v4"
	"github.com/ethereum/go-ethereum/common"

	"github.com/modex/modex/rpc"
)

// Journal keys (docs/node.md §3). The pool keeps its own under "m/".
var (
	pfxOrder    = []byte("o/") // o/<seq:8> → encoded order
	pfxRecord   = []byte("r/") // r/<hash:32> → record (JSON)
	pfxHistory  = []byte("h/") // h/<account:4><batch:8><idx:4> → hash
	pfxTrade    = []byte("t/") // t/<model:2><seq:8> → TradeInfo (JSON)
	pfxPriority = []byte("q/") // q/<id:8> → priority request (JSON)
	pfxAddress  = []byte("a/") // a/<l1 address:20><account:4> → ""
	pfxRedeem   = []byte("x/") // x/<model:2><batch:8><idx:4> → Redemption (JSON)
	keyOrderSeq = []byte("s/order-seq")
)

func key(prefix []byte, parts ...any) []byte {
	k := append([]byte{}, prefix...)
	for _, p := range parts {
		switch v := p.(type) {
		case uint64:
			k = binary.BigEndian.AppendUint64(k, v)
		case uint32:
			k = binary.BigEndian.AppendUint32(k, v)
		case uint16:
			k = binary.BigEndian.AppendUint16(k, v)
		case common.Hash:
			k = append(k, v[:]...)
		case common.Address:
			k = append(k, v[:]...)
		case []byte:
			k = append(k, v...)
		default:
			panic("sequencer: bad key part")
		}
	}
	return k
}

// record is a transaction's durable status once it left the pool: included
// in a sealed batch, or failed when applied.
type record struct {
	Kind    string         `json:"kind"`
	Account uint32         `json:"account"`
	Nonce   uint32         `json:"nonce"`
	Batch   uint64         `json:"batch,omitempty"`
	Error   *rpc.ErrorInfo `json:"error,omitempty"`
	Raw     []byte         `json:"raw"`
}

func getJSON(txn *badger.Txn, k []byte, v any) (bool, error) {
	it, err := txn.Get(k)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return true, it.Value(func(b []byte) error { return json.Unmarshal(b, v) })
}

func putJSON(txn *badger.Txn, k []byte, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return txn.Set(k, b)
}
