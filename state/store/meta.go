package store

import (
	"encoding/binary"
	"fmt"
	"sort"
)

// Internal keys all start with reservedPrefix; callers' keys never do.
const reservedPrefix = 0xFF

var (
	// metaKey holds the encoded meta (see below).
	metaKey = []byte{reservedPrefix, 'm'}
	// tsPrefix ‖ be64(batch) -> be64(commit timestamp of batch).
	tsPrefix = []byte{reservedPrefix, 't'}
	// undoPrefix ‖ be64(batch) ‖ be32(chunk) -> keys changed by batch.
	undoPrefix = []byte{reservedPrefix, 'u'}
)

const metaVersion = 1

// meta is persisted under metaKey by every commit (batches, rollbacks,
// finalization, garbage collection), in the same Badger transaction as the
// data it describes.
type meta struct {
	head       uint64 // last committed batch
	finalized  uint64 // batches <= finalized cannot be rolled back
	lastTs     uint64 // commit timestamp of the commit that wrote this meta
	pruneFloor uint64 // batches < pruneFloor are not readable via View
	undoFloor  uint64 // undo records of batches < undoFloor are deleted
	tsFloor    uint64 // ts-map entries of batches < tsFloor are deleted
}

const metaLen = 1 + 6*8

func (m meta) encode() []byte {
	b := make([]byte, 1, metaLen)
	b[0] = metaVersion
	for _, v := range [...]uint64{m.head, m.finalized, m.lastTs, m.pruneFloor, m.undoFloor, m.tsFloor} {
		b = binary.BigEndian.AppendUint64(b, v)
	}
	return b
}

func decodeMeta(b []byte) (meta, error) {
	if len(b) != metaLen || b[0] != metaVersion {
		return meta{}, fmt.Errorf("%w: meta record of %d bytes, version %d", ErrCorrupt, len(b), firstByte(b))
	}
	u := func(i int) uint64 { return binary.BigEndian.Uint64(b[1+8*i:]) }
	m := meta{head: u(0), finalized: u(1), lastTs: u(2), pruneFloor: u(3), undoFloor: u(4), tsFloor: u(5)}
	if m.finalized > m.head || m.pruneFloor > m.finalized || m.undoFloor > m.finalized+1 || m.tsFloor > m.pruneFloor {
		return meta{}, fmt.Errorf("%w: inconsistent meta %+v", ErrCorrupt, m)
	}
	return m, nil
}

func firstByte(b []byte) int {
	if len(b) == 0 {
		return -1
	}
	return int(b[0])
}

func tsKey(batch uint64) []byte {
	return binary.BigEndian.AppendUint64(append([]byte(nil), tsPrefix...), batch)
}

func undoKey(batch uint64, chunk uint32) []byte {
	k := binary.BigEndian.AppendUint64(append([]byte(nil), undoPrefix...), batch)
	return binary.BigEndian.AppendUint32(k, chunk)
}

// undoBatch returns the batch number of an undo key.
func undoBatch(k []byte) (uint64, error) {
	if len(k) != len(undoPrefix)+12 {
		return 0, fmt.Errorf("%w: undo key %x", ErrCorrupt, k)
	}
	return binary.BigEndian.Uint64(k[len(undoPrefix):]), nil
}

// encodeUndo splits the sorted key set into values of at most chunk bytes
// (a single key longer than chunk gets a value of its own), each a sequence
// of uvarint(len) ‖ key.
func encodeUndo(keys map[string]struct{}, chunk int) [][]byte {
	sorted := make([]string, 0, len(keys))
	for k := range keys {
		sorted = append(sorted, k)
	}
	sort.Strings(sorted)
	var out [][]byte
	var cur []byte
	for _, k := range sorted {
		n := binary.MaxVarintLen64 + len(k)
		if len(cur) > 0 && len(cur)+n > chunk {
			out = append(out, cur)
			cur = nil
		}
		if cur == nil {
			cur = make([]byte, 0, max(chunk, n))
		}
		cur = binary.AppendUvarint(cur, uint64(len(k)))
		cur = append(cur, k...)
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

// decodeUndo appends the keys of one undo value to set.
func decodeUndo(v []byte, set map[string]struct{}) error {
	for len(v) > 0 {
		n, w := binary.Uvarint(v)
		if w <= 0 || uint64(len(v)-w) < n {
			return fmt.Errorf("%w: undo record", ErrCorrupt)
		}
		set[string(v[w:w+int(n)])] = struct{}{}
		v = v[w+int(n):]
	}
	return nil
}

func decodeTs(v []byte) (uint64, error) {
	if len(v) != 8 {
		return 0, fmt.Errorf("%w: timestamp record of %d bytes", ErrCorrupt, len(v))
	}
	return binary.BigEndian.Uint64(v), nil
}

func putU64(b []byte, v uint64) { binary.BigEndian.PutUint64(b, v) }
