package journal

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	"github.com/dgraph-io/badger/v4"
	"github.com/ethereum/go-ethereum/common"

	"github.com/modex/modex/rpc"
	"github.com/modex/modex/state/store"
)

var allPrefixes = map[string][]byte{
	"pool": PoolPrefix, "bridge": BridgePrefix, "sealed": sealedPrefix, "tx": txPrefix,
	"history": historyPrefix, "address": addressPrefix, "trade": tradePrefix,
	"redemption": redemptionPrefix, "order": orderPrefix, "queue": queuePrefix,
	"priority": priorityPrefix, "stage": stagePrefix, "meta": orderSeqKey[:2],
}

// TestPrefixesDistinct: no prefix is another's prefix, and none differs
// from another only by case (the S/ vs s/ and p/ vs P/ of old).
func TestPrefixesDistinct(t *testing.T) {
	for a, pa := range allPrefixes {
		for b, pb := range allPrefixes {
			if a == b {
				continue
			}
			if bytes.HasPrefix(pa, pb) {
				t.Errorf("%s %q starts with %s %q", a, pa, b, pb)
			}
			if strings.EqualFold(string(pa), string(pb)) {
				t.Errorf("%s %q and %s %q differ only by case", a, pa, b, pb)
			}
		}
	}
	if !bytes.HasPrefix(verifiedKey, orderSeqKey[:2]) {
		t.Errorf("k/verified %q is not under the meta prefix", verifiedKey)
	}
}

func openJournal(t *testing.T) *store.Plain {
	t.Helper()
	j, err := store.OpenPlain("", true, false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = j.Close() })
	return j
}

// TestReadErrors: every Read tells an absent record (ErrNotFound) from one
// that does not decode (ErrCorrupt).
func TestReadErrors(t *testing.T) {
	h := common.HexToHash("0x01")
	reads := map[string]struct {
		key  []byte
		read func(txn *badger.Txn) error
	}{
		"tx":       {txKey(h), func(txn *badger.Txn) error { _, _, err := ReadTx(txn, h); return err }},
		"priority": {priorityKey(3), func(txn *badger.Txn) error { _, _, err := ReadPriority(txn, 3); return err }},
		"stage":    {stageKey(5), func(txn *badger.Txn) error { _, err := ReadStage(txn, 5); return err }},
	}
	for name, r := range reads {
		t.Run(name, func(t *testing.T) {
			j := openJournal(t)
			if err := j.View(r.read); !errors.Is(err, ErrNotFound) {
				t.Fatalf("absent: %v, want ErrNotFound", err)
			}
			if err := j.Update(func(txn *badger.Txn) error { return txn.Set(r.key, []byte("{garbage")) }); err != nil {
				t.Fatal(err)
			}
			if err := j.View(r.read); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("garbage: %v, want ErrCorrupt", err)
			}
		})
	}
	// a record whose JSON decodes but whose transaction does not
	j := openJournal(t)
	if err := j.Update(func(txn *badger.Txn) error { return WriteTx(txn, h, &TxRecord{Kind: "Transfer", Raw: []byte{0xff}}) }); err != nil {
		t.Fatal(err)
	}
	if err := j.View(func(txn *badger.Txn) error { _, tx, err := ReadTx(txn, h); _ = tx; return err }); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("undecodable transaction: %v, want ErrCorrupt", err)
	}
	// singletons: absent is zero, a short value corrupt
	if err := j.View(func(txn *badger.Txn) error {
		n, err := ReadVerified(txn)
		if n != 0 {
			t.Errorf("verified %d in an empty journal", n)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if err := j.Update(func(txn *badger.Txn) error { return txn.Set(orderSeqKey, []byte{1, 2}) }); err != nil {
		t.Fatal(err)
	}
	if err := j.View(func(txn *badger.Txn) error { _, err := ReadOrderSeq(txn); return err }); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("short order seq: %v, want ErrCorrupt", err)
	}
	// iteration stops at a corrupt record
	if err := j.Update(func(txn *badger.Txn) error { return txn.Set(sealedKey(7), []byte("{")) }); err != nil {
		t.Fatal(err)
	}
	err := j.View(func(txn *badger.Txn) error {
		return ForEachSealedBatch(txn, func(uint64, *SealedBatch) error { return nil })
	})
	if !errors.Is(err, ErrCorrupt) {
		t.Fatalf("ForEachSealedBatch over garbage: %v, want ErrCorrupt", err)
	}
}

// TestRoundTrip: what is written is read back under the documented keys,
// in key order.
func TestRoundTrip(t *testing.T) {
	j := openJournal(t)
	err := j.Update(func(txn *badger.Txn) error {
		for _, n := range []uint64{2, 1, 300} {
			if err := WriteSealedBatch(txn, &SealedBatch{Number: n}); err != nil {
				return err
			}
		}
		for _, seq := range []uint64{9, 4} {
			if err := WriteOrder(txn, seq, &Order{Raw: []byte{byte(seq)}}); err != nil {
				return err
			}
		}
		if err := WriteTrade(txn, &rpc.TradeInfo{Model: 1, Seq: 2}); err != nil {
			return err
		}
		if err := WriteAddress(txn, common.HexToAddress("0xaa"), 7); err != nil {
			return err
		}
		return WriteVerified(txn, 12)
	})
	if err != nil {
		t.Fatal(err)
	}
	err = j.View(func(txn *badger.Txn) error {
		var ns []uint64
		if err := ForEachSealedBatch(txn, func(n uint64, rec *SealedBatch) error {
			if rec.Number != n {
				t.Errorf("key %d holds batch %d", n, rec.Number)
			}
			ns = append(ns, n)
			return nil
		}); err != nil {
			return err
		}
		if len(ns) != 3 || ns[0] != 1 || ns[1] != 2 || ns[2] != 300 {
			t.Errorf("sealed batches %v, want [1 2 300]", ns)
		}
		var seqs []uint64
		if err := ForEachOrder(txn, func(seq uint64, o *Order) error { seqs = append(seqs, seq); return nil }); err != nil {
			return err
		}
		if len(seqs) != 2 || seqs[0] != 4 || seqs[1] != 9 {
			t.Errorf("orders %v, want [4 9]", seqs)
		}
		if n, err := ReadOrderSeq(txn); err != nil || n != 4 {
			t.Errorf("order seq %d, %v; want the last written, 4", n, err)
		}
		if n, err := ReadVerified(txn); err != nil || n != 12 {
			t.Errorf("verified %d, %v", n, err)
		}
		acc, err := ReadAccountsByAddress(txn, common.HexToAddress("0xaa"))
		if err != nil || len(acc) != 1 || acc[0] != 7 {
			t.Errorf("accounts %v, %v", acc, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestCheckSchema: a new journal gets the version; the same version opens
// again; another version, or keys of the unversioned earlier layout, are
// refused with ErrSchema; a journal holding only the pool's and the
// bridge's records is new.
func TestCheckSchema(t *testing.T) {
	open := func(t *testing.T, keys ...string) *store.Plain {
		j, err := store.OpenPlain("", true, true)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = j.Close() })
		if err := j.Update(func(txn *badger.Txn) error {
			for _, k := range keys {
				if err := txn.Set([]byte(k), []byte("x")); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return j
	}
	j := open(t, "m/t/1", "b/cursor")
	for i := 0; i < 2; i++ {
		if err := j.Update(CheckSchema); err != nil {
			t.Fatalf("check %d: %v", i, err)
		}
	}
	for _, legacy := range []string{"S/\x00\x00\x00\x00\x00\x00\x00\x01", "P/\x00\x00\x00\x00\x00\x00\x00\x01", "s/verified"} {
		if err := open(t, "m/t/1", legacy).Update(CheckSchema); !errors.Is(err, ErrSchema) {
			t.Errorf("a journal with %q: %v, want ErrSchema", legacy, err)
		}
	}
	other := open(t)
	if err := other.Update(func(txn *badger.Txn) error {
		return txn.Set(schemaKey, binary.BigEndian.AppendUint64(nil, SchemaVersion+1))
	}); err != nil {
		t.Fatal(err)
	}
	if err := other.Update(CheckSchema); !errors.Is(err, ErrSchema) {
		t.Errorf("a journal of version %d: %v, want ErrSchema", SchemaVersion+1, err)
	}
}
