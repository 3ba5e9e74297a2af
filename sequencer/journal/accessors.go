package journal

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"
	"github.com/ethereum/go-ethereum/common"

	"github.com/modex/modex/rpc"
	"github.com/modex/modex/types"
)

var (
	// ErrNotFound: the journal holds no such record.
	ErrNotFound = errors.New("journal: no such record")
	// ErrCorrupt: a record is in the journal but does not decode; the
	// journal is broken, which is not the same as the record being absent.
	ErrCorrupt = errors.New("journal: corrupt record")
	// ErrSchema: the journal was written with another layout (another
	// SchemaVersion); this node cannot read it.
	ErrSchema = errors.New("journal: written with another schema version")
)

// CheckSchema makes sure the journal is of this SchemaVersion: a journal
// with no schema key and no key of an earlier layout (a new one, or one
// holding only the pool's and the bridge's records) gets the version
// written; one of another version, or of the unversioned earlier layout,
// is refused with ErrSchema.
func CheckSchema(txn *badger.Txn) error {
	item, err := txn.Get(schemaKey)
	switch {
	case err == nil:
		v, err := item.ValueCopy(nil)
		if err != nil {
			return err
		}
		if len(v) != 8 {
			return fmt.Errorf("%w: schema key of %d bytes", ErrCorrupt, len(v))
		}
		if got := binary.BigEndian.Uint64(v); got != SchemaVersion {
			return fmt.Errorf("%w: version %d, this node reads %d", ErrSchema, got, SchemaVersion)
		}
		return nil
	case !errors.Is(err, badger.ErrKeyNotFound):
		return err
	}
	it := txn.NewIterator(badger.IteratorOptions{PrefetchValues: false})
	defer it.Close()
	for _, p := range legacyPrefixes {
		it.Seek(p)
		if it.ValidForPrefix(p) {
			return fmt.Errorf("%w: keys under %q, the layout before version %d (start this node on a new data directory)", ErrSchema, p, SchemaVersion)
		}
	}
	return txn.Set(schemaKey, binary.BigEndian.AppendUint64(nil, SchemaVersion))
}

// Reader reads one key (*badger.Txn).
type Reader interface {
	Get(key []byte) (*badger.Item, error)
}

// Writer writes and deletes keys (*badger.Txn).
type Writer interface {
	Set(key, value []byte) error
	Delete(key []byte) error
}

// Deleter deletes keys (*badger.Txn).
type Deleter interface {
	Delete(key []byte) error
}

// Iteratee iterates keys (*badger.Txn).
type Iteratee interface {
	NewIterator(opt badger.IteratorOptions) *badger.Iterator
}

func readJSON(r Reader, k []byte, v any) error {
	it, err := r.Get(k)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return fmt.Errorf("%w: %x", ErrNotFound, k)
	}
	if err != nil {
		return err
	}
	return it.Value(func(b []byte) error {
		if err := json.Unmarshal(b, v); err != nil {
			return fmt.Errorf("%w: %x: %w", ErrCorrupt, k, err)
		}
		return nil
	})
}

func writeJSON(w Writer, k []byte, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return w.Set(k, b)
}

func readUint64(r Reader, k []byte) (uint64, error) {
	it, err := r.Get(k)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return 0, fmt.Errorf("%w: %s", ErrNotFound, k)
	}
	if err != nil {
		return 0, err
	}
	var n uint64
	err = it.Value(func(b []byte) error {
		if len(b) != 8 {
			return fmt.Errorf("%w: %s: %d bytes", ErrCorrupt, k, len(b))
		}
		n = binary.BigEndian.Uint64(b)
		return nil
	})
	return n, err
}

// each calls fn for every value under prefix, in key order, until fn fails.
func each(it Iteratee, prefix []byte, fn func(k, v []byte) error) error {
	i := it.NewIterator(badger.IteratorOptions{PrefetchValues: true, PrefetchSize: 100, Prefix: prefix})
	defer i.Close()
	for i.Seek(prefix); i.ValidForPrefix(prefix); i.Next() {
		k := i.Item().KeyCopy(nil)
		if err := i.Item().Value(func(v []byte) error { return fn(k, v) }); err != nil {
			return err
		}
	}
	return nil
}

func eachJSON[T any](it Iteratee, prefix []byte, fn func(k []byte, v *T) error) error {
	return each(it, prefix, func(k, b []byte) error {
		v := new(T)
		if err := json.Unmarshal(b, v); err != nil {
			return fmt.Errorf("%w: %x: %w", ErrCorrupt, k, err)
		}
		return fn(k, v)
	})
}

// SealedBatch is a sealed batch as the journal keeps it until the tree
// stage has committed it (c/<n>): enough to apply it again, and what the
// tree stage must reproduce.
type SealedBatch struct {
	Number        uint64   `json:"number"`
	Timestamp     uint64   `json:"timestamp"`
	Family        uint8    `json:"family"`
	FirstPriority uint64   `json:"firstPriority"`
	PriorityCount uint32   `json:"priorityCount"`
	PubdataHash   [32]byte `json:"pubdataHash"` // sha256 of the padded pubdata
	Txs           [][]byte `json:"txs"`         // types.EncodeTx, in order
}

// WriteSealedBatch records sealed batch rec.Number.
func WriteSealedBatch(w Writer, rec *SealedBatch) error {
	return writeJSON(w, sealedKey(rec.Number), rec)
}

// DeleteSealedBatch drops sealed batch n's record (the tree stage committed it).
func DeleteSealedBatch(w Deleter, n uint64) error { return w.Delete(sealedKey(n)) }

// ForEachSealedBatch calls fn for every sealed batch record, in batch order.
func ForEachSealedBatch(it Iteratee, fn func(n uint64, rec *SealedBatch) error) error {
	return eachJSON(it, sealedPrefix, func(k []byte, rec *SealedBatch) error { return fn(tail64(k), rec) })
}

// SealedBatchNumbers lists the batch numbers of the sealed batch records
// without decoding them.
func SealedBatchNumbers(it Iteratee) ([]uint64, error) {
	var out []uint64
	i := it.NewIterator(badger.IteratorOptions{Prefix: sealedPrefix})
	defer i.Close()
	for i.Seek(sealedPrefix); i.ValidForPrefix(sealedPrefix); i.Next() {
		out = append(out, tail64(i.Item().Key()))
	}
	return out, nil
}

// TxRecord is a transaction's durable status once it left the pool
// (r/<hash>): included in a sealed batch, or failed when applied.
type TxRecord struct {
	Kind    string         `json:"kind"`
	Account uint32         `json:"account"`
	Nonce   uint32         `json:"nonce"`
	Batch   uint64         `json:"batch,omitempty"`
	Error   *rpc.ErrorInfo `json:"error,omitempty"`
	Raw     []byte         `json:"raw"`
}

// ReadTx reads a transaction's record and decodes its transaction.
func ReadTx(r Reader, hash common.Hash) (*TxRecord, types.Tx, error) {
	rec := new(TxRecord)
	if err := readJSON(r, txKey(hash), rec); err != nil {
		return nil, nil, err
	}
	tx, err := types.DecodeTx(rec.Raw)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: transaction %s: %w", ErrCorrupt, hash, err)
	}
	return rec, tx, nil
}

// WriteTx records a transaction's status.
func WriteTx(w Writer, hash common.Hash, rec *TxRecord) error { return writeJSON(w, txKey(hash), rec) }

// WriteHistory indexes transaction i of batch under an account.
func WriteHistory(w Writer, account uint32, batch uint64, i uint32, hash common.Hash) error {
	return w.Set(historyKey(account, batch, i), hash[:])
}

// HistoryHash decodes a history entry's value.
func HistoryHash(v []byte) (common.Hash, error) {
	if len(v) != common.HashLength {
		return common.Hash{}, fmt.Errorf("%w: history entry of %d bytes", ErrCorrupt, len(v))
	}
	return common.BytesToHash(v), nil
}

// WriteAddress binds an account to the L1 address of its deposit.
func WriteAddress(w Writer, l1 common.Address, account uint32) error {
	return w.Set(addressKey(l1, account), nil)
}

// ReadAccountsByAddress lists the accounts bound to an L1 address.
func ReadAccountsByAddress(it Iteratee, l1 common.Address) ([]uint32, error) {
	prefix := AddressPrefix(l1)
	out := []uint32{}
	i := it.NewIterator(badger.IteratorOptions{Prefix: prefix})
	defer i.Close()
	for i.Seek(prefix); i.ValidForPrefix(prefix); i.Next() {
		k := i.Item().Key()
		if len(k) != len(prefix)+4 {
			return nil, fmt.Errorf("%w: address key %x", ErrCorrupt, k)
		}
		out = append(out, binary.BigEndian.Uint32(k[len(k)-4:]))
	}
	return out, nil
}

// WriteTrade records a trade.
func WriteTrade(w Writer, t *rpc.TradeInfo) error { return writeJSON(w, tradeKey(t.Model, t.Seq), t) }

// DecodeTrade decodes a trade record's value.
func DecodeTrade(v []byte) (*rpc.TradeInfo, error) {
	t := new(rpc.TradeInfo)
	if err := json.Unmarshal(v, t); err != nil {
		return nil, fmt.Errorf("%w: trade: %w", ErrCorrupt, err)
	}
	return t, nil
}

// ForEachTrade calls fn for every trade record of every market.
func ForEachTrade(it Iteratee, fn func(key []byte, t *rpc.TradeInfo) error) error {
	return eachJSON(it, tradePrefix, fn)
}

// DeleteKey drops a record by the key a ForEach gave.
func DeleteKey(w Deleter, key []byte) error { return w.Delete(key) }

// WriteRedemption records a credit redemption (transaction i of batch).
func WriteRedemption(w Writer, model uint16, batch uint64, i uint32, r *rpc.Redemption) error {
	return writeJSON(w, redemptionKey(model, batch, i), r)
}

// Order is an acknowledged order as the journal keeps it (o/<seq>).
type Order struct {
	Raw []byte `json:"raw"` // types.EncodeOrder
}

// WriteOrder records order seq and moves the order sequence to it.
func WriteOrder(w Writer, seq uint64, o *Order) error {
	if err := writeJSON(w, orderKey(seq), o); err != nil {
		return err
	}
	return w.Set(orderSeqKey, binary.BigEndian.AppendUint64(nil, seq))
}

// DeleteOrder drops order seq (filled, cancelled, expired or superseded).
func DeleteOrder(w Deleter, seq uint64) error { return w.Delete(orderKey(seq)) }

// ForEachOrder calls fn for every journaled order, in arrival order.
func ForEachOrder(it Iteratee, fn func(seq uint64, o *Order) error) error {
	return eachJSON(it, orderPrefix, func(k []byte, o *Order) error { return fn(tail64(k), o) })
}

// ReadOrderSeq is the last order sequence number handed out (0: none).
func ReadOrderSeq(r Reader) (uint64, error) {
	n, err := readUint64(r, orderSeqKey)
	if errors.Is(err, ErrNotFound) {
		return 0, nil
	}
	return n, err
}

// PriorityRequest is an L1 request the watcher confirmed (q/<id>).
type PriorityRequest struct {
	ID   uint64      `json:"id"`
	Raw  []byte      `json:"raw"` // types.EncodeTx of the Deposit or ForcedWithdraw
	L1Tx common.Hash `json:"l1Tx"`
}

// WriteQueued queues a confirmed priority request.
func WriteQueued(w Writer, r *PriorityRequest) error { return writeJSON(w, queueKey(r.ID), r) }

// ForEachQueued calls fn for every queued priority request, in id order.
func ForEachQueued(it Iteratee, fn func(r *PriorityRequest) error) error {
	return eachJSON(it, queuePrefix, func(_ []byte, r *PriorityRequest) error { return fn(r) })
}

// PriorityRecord is a priority request sealed in a batch (d/<id>).
type PriorityRecord struct {
	Batch uint64      `json:"batch"`
	L1Tx  common.Hash `json:"l1Tx"`
	Raw   []byte      `json:"raw"`
}

// SealPriority moves priority request id from the queue to its sealed record.
func SealPriority(w Writer, id uint64, rec *PriorityRecord) error {
	if err := w.Delete(queueKey(id)); err != nil {
		return err
	}
	return writeJSON(w, priorityKey(id), rec)
}

// ReadPriority reads a sealed priority request and decodes its transaction.
func ReadPriority(r Reader, id uint64) (*PriorityRecord, types.Tx, error) {
	rec := new(PriorityRecord)
	if err := readJSON(r, priorityKey(id), rec); err != nil {
		return nil, nil, err
	}
	tx, err := types.DecodeTx(rec.Raw)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: priority request %d: %w", ErrCorrupt, id, err)
	}
	return rec, tx, nil
}

// StageRecord is a batch's pipeline record (p/<n>).
type StageRecord struct {
	Stage       rpc.BatchStatus `json:"stage"`
	Proof       []byte          `json:"proof,omitempty"`
	ProveMillis int64           `json:"proveMillis,omitempty"`
	L1Tx        common.Hash     `json:"l1Tx,omitempty"`
	SentAt      int64           `json:"sentAt,omitempty"` // unix ms of the first send
	Error       string          `json:"error,omitempty"`
}

// ReadStage reads batch n's pipeline record (ErrNotFound: none yet).
func ReadStage(r Reader, n uint64) (*StageRecord, error) {
	rec := new(StageRecord)
	if err := readJSON(r, stageKey(n), rec); err != nil {
		return nil, err
	}
	return rec, nil
}

// WriteStage records batch n's pipeline stage.
func WriteStage(w Writer, n uint64, rec *StageRecord) error { return writeJSON(w, stageKey(n), rec) }

// ReadVerified is the last batch verified on L1 (0: none).
func ReadVerified(r Reader) (uint64, error) {
	n, err := readUint64(r, verifiedKey)
	if errors.Is(err, ErrNotFound) {
		return 0, nil
	}
	return n, err
}

// WriteVerified records the last batch verified on L1.
func WriteVerified(w Writer, n uint64) error {
	return w.Set(verifiedKey, binary.BigEndian.AppendUint64(nil, n))
}
