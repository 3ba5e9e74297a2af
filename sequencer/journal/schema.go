package journal

import (
	"bytes"
	"encoding/binary"

	"github.com/ethereum/go-ethereum/common"

	"github.com/modex/modex/sequencer/mempool"
)

// Key layouts. Integers are big-endian, so keys sort by number and a
// reverse iteration over a prefix is newest first.
var (
	// PoolPrefix: m/… — the pool's transactions (sequencer/mempool owns
	// the layout and the prefix; named here so that no other record takes
	// it).
	PoolPrefix = []byte(mempool.KeyPrefix)
	// BridgePrefix: b/… — the bridge watcher's cursor and the submitter's
	// L1 transactions (bridge.NewBadgerStore owns the layout).
	BridgePrefix = []byte("b/")

	// sealedPrefix: c/<batch:8> → SealedBatch (JSON): a batch the loop
	// sealed that the tree stage has not committed yet.
	sealedPrefix = []byte("c/")
	// txPrefix: r/<hash:32> → TxRecord (JSON): a transaction once sealed
	// or failed.
	txPrefix = []byte("r/")
	// historyPrefix: h/<account:4><batch:8><index:4> → hash:32, an
	// account's sealed transactions.
	historyPrefix = []byte("h/")
	// addressPrefix: a/<l1 address:20><account:4> → empty, accounts by the
	// L1 address their deposit bound.
	addressPrefix = []byte("a/")
	// tradePrefix: t/<model:2><seq:8> → rpc.TradeInfo (JSON).
	tradePrefix = []byte("t/")
	// redemptionPrefix: x/<model:2><batch:8><index:4> → rpc.Redemption (JSON).
	redemptionPrefix = []byte("x/")
	// orderPrefix: o/<seq:8> → Order (JSON), acknowledged orders in
	// arrival order.
	orderPrefix = []byte("o/")
	// queuePrefix: q/<id:8> → PriorityRequest (JSON), confirmed L1
	// requests not yet in a sealed batch.
	queuePrefix = []byte("q/")
	// priorityPrefix: d/<id:8> → PriorityRecord (JSON), priority requests
	// sealed in a batch.
	priorityPrefix = []byte("d/")
	// stagePrefix: p/<batch:8> → StageRecord (JSON), a batch's pipeline
	// stage and its proof.
	stagePrefix = []byte("p/")

	// orderSeqKey: k/order-seq → seq:8, the last order sequence number
	// handed out.
	orderSeqKey = []byte("k/order-seq")
	// verifiedKey: k/verified → batch:8, the last batch verified on L1.
	verifiedKey = []byte("k/verified")
	// schemaKey: k/schema → version:8, the layout of this file
	// (SchemaVersion), written into a new journal by CheckSchema.
	schemaKey = []byte("k/schema")

	// legacyPrefixes are keys of the layout before version 2 (S/ sealed
	// batches, P/ priority records, s/ counters): a journal holding them
	// without a schema key was written by an older node.
	legacyPrefixes = [][]byte{[]byte("S/"), []byte("P/"), []byte("s/")}
)

// SchemaVersion is the journal layout this file declares. Version 1 was
// the layout with S/, P/ and s/ (before the schema had a version).
const SchemaVersion = 2

func u16(k []byte, v uint16) []byte { return binary.BigEndian.AppendUint16(k, v) }
func u32(k []byte, v uint32) []byte { return binary.BigEndian.AppendUint32(k, v) }
func u64(k []byte, v uint64) []byte { return binary.BigEndian.AppendUint64(k, v) }

func with(prefix []byte, extra int) []byte {
	return append(make([]byte, 0, len(prefix)+extra), prefix...)
}

func sealedKey(n uint64) []byte    { return u64(with(sealedPrefix, 8), n) }
func txKey(h common.Hash) []byte   { return append(with(txPrefix, 32), h[:]...) }
func orderKey(seq uint64) []byte   { return u64(with(orderPrefix, 8), seq) }
func queueKey(id uint64) []byte    { return u64(with(queuePrefix, 8), id) }
func priorityKey(id uint64) []byte { return u64(with(priorityPrefix, 8), id) }
func stageKey(n uint64) []byte     { return u64(with(stagePrefix, 8), n) }

func historyKey(account uint32, batch uint64, i uint32) []byte {
	return u32(u64(HistoryPrefix(account), batch), i)
}

func addressKey(l1 common.Address, account uint32) []byte {
	return u32(AddressPrefix(l1), account)
}

func tradeKey(model uint16, seq uint64) []byte { return u64(TradePrefix(model), seq) }

func redemptionKey(model uint16, batch uint64, i uint32) []byte {
	return u32(u64(u16(with(redemptionPrefix, 14), model), batch), i)
}

// HistoryPrefix is the prefix of an account's history keys (paging).
func HistoryPrefix(account uint32) []byte { return u32(with(historyPrefix, 16), account) }

// TradePrefix is the prefix of a market's trade keys (paging).
func TradePrefix(model uint16) []byte { return u16(with(tradePrefix, 10), model) }

// AddressPrefix is the prefix of the account keys of an L1 address.
func AddressPrefix(l1 common.Address) []byte { return append(with(addressPrefix, 24), l1[:]...) }

// tail64 is the big-endian uint64 that ends key k.
func tail64(k []byte) uint64 { return binary.BigEndian.Uint64(k[len(k)-8:]) }

// StageKey, TxKey and OrderSeqKey are the raw keys of a batch's stage
// record, of a transaction's record and of the order sequence, for tools
// and tests that must reach a record below its accessors (a corrupted
// journal).
func StageKey(n uint64) []byte      { return stageKey(n) }
func TxKey(hash common.Hash) []byte { return txKey(hash) }
func OrderSeqKey() []byte           { return bytes.Clone(orderSeqKey) }
