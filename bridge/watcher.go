package bridge

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	ethtypes "github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/modex/modex/types"
)

// The L1 watcher (docs/protocol.md §11.2, SECURITY item 19) turns the
// bridge's PriorityRequest events into the L2's priority operations: each
// request id exactly once, in id order, once its block has the configured
// confirmations, across restarts and across L1 reorgs of any depth.
//
// It talks to L1 only through HeaderByNumber, FilterLogs (block ranges) and
// BlockNumber, so it works against any JSON-RPC endpoint.
//
// How a reorg is handled. The watcher scans confirmed blocks in ranges and
// remembers a checkpoint (number, hash, the count of requests up to it and
// the queue hash there) at the end of every range. Before scanning, it checks
// that the newest checkpoint is still canonical; if not, it finds the newest
// checkpoint that is (binary search: a block's hash commits to all its
// ancestors, so everything up to a canonical checkpoint is unchanged) and
// rescans from there. Ids below the delivered cursor that the rescan meets
// are compared, by their queue hash, with what was delivered (every
// delivered id's queue hash is persisted): identical requests are not
// delivered again, a different one is ErrReorgConflict. A delivered request
// that the new chain does not have is waited for until the new chain's
// scan has covered the height the old chain had reached when the reorg was
// detected (the highest head the watcher had seen, so a dropped request has
// at least Confirmations blocks to be re-included); past that it is
// ErrReorgConflict too. A conflict means the L2 credited something L1 no
// longer has: the watcher stops (Poll keeps returning the error) and the
// operator must intervene.
//
// Delivery is at-most-once from the watcher's side: Poll persists its cursor
// before it returns the requests, so the caller must make them durable (apply
// them to the L2 state or its mempool) before it can lose them.

// WatcherConfig configures a Watcher.
type WatcherConfig struct {
	Contract      common.Address // the bridge
	Confirmations uint64         // a request is delivered once its block is ≤ head − Confirmations
	FromBlock     uint64         // the bridge's deployment block (request 0 is emitted there)
	MaxRange      uint64         // blocks per eth_getLogs; 0 means DefaultMaxRange
}

// DefaultMaxRange is the default number of blocks per eth_getLogs.
const DefaultMaxRange = 1000

// maxCheckpoints bounds the persisted checkpoints; older ones are thinned
// out (every other one dropped), so their spacing grows with their age.
const maxCheckpoints = 256

// Request is a confirmed priority request.
type Request struct {
	ID        uint64
	Tx        types.Tx // *types.Deposit or *types.ForcedWithdraw
	Request   []byte   // the request bytes of the event (§11.2)
	Rolling   [24]byte // the queue hash after this request
	Deadline  uint64   // the L1 block by which a batch must process it
	Block     uint64
	BlockHash common.Hash
	TxHash    common.Hash
}

var (
	// ErrReorgConflict is an L1 reorg that replaced or dropped a request the
	// watcher already delivered: the L2 credited something L1 no longer
	// has. The operator must stop. The error is a *ConflictError.
	ErrReorgConflict = errors.New("bridge: L1 reorg conflicts with delivered priority requests")
	// ErrQueueGap is a PriorityRequest whose id is not the next one.
	ErrQueueGap = errors.New("bridge: priority request ids are not contiguous")
	// ErrRollingMismatch is a PriorityRequest whose queue hash does not
	// chain from the previous one.
	ErrRollingMismatch = errors.New("bridge: priority queue hash does not chain")
	// ErrChainMoved is an L1 chain that changed while a range was being
	// scanned (the range is retried on the next Poll).
	ErrChainMoved = errors.New("bridge: L1 chain changed during the scan")
)

// ConflictError is an ErrReorgConflict: delivered request ID is not on the
// canonical chain any more, either replaced (Found is the new queue hash at
// ID) or missing once the chain was scanned up to Block.
type ConflictError struct {
	ID        uint64
	Delivered [24]byte  // the queue hash after ID as delivered
	Found     *[24]byte // the queue hash after ID on the new chain; nil if missing
	Block     uint64    // where it was found, or how far the new chain was scanned
	TxHash    common.Hash
}

func (e *ConflictError) Error() string {
	if e.Found == nil {
		return fmt.Sprintf("%v: request %d (queue hash %x) missing from the canonical chain scanned to block %d",
			ErrReorgConflict, e.ID, e.Delivered, e.Block)
	}
	return fmt.Sprintf("%v: request %d was delivered with queue hash %x, block %d (tx %s) has %x",
		ErrReorgConflict, e.ID, e.Delivered, e.Block, e.TxHash, *e.Found)
}

func (e *ConflictError) Unwrap() error { return ErrReorgConflict }

// QueueError is a PriorityRequest event that breaks the queue: ErrQueueGap,
// ErrRollingMismatch or ErrBadRequest. It is never skipped: Poll returns it
// until the chain (or the endpoint) serves a consistent queue.
type QueueError struct {
	Err      error  // ErrQueueGap, ErrRollingMismatch or ErrBadRequest
	Want     uint64 // the expected id
	ID       uint64 // the event's id
	Block    uint64
	TxHash   common.Hash
	Detail   string
	Expected [24]byte // for ErrRollingMismatch: the recomputed queue hash
	Got      [24]byte // for ErrRollingMismatch: the event's
}

func (e *QueueError) Error() string {
	s := fmt.Sprintf("%v: event id %d (want %d) in block %d tx %s", e.Err, e.ID, e.Want, e.Block, e.TxHash)
	if errors.Is(e.Err, ErrRollingMismatch) {
		s += fmt.Sprintf(": recomputed %x, event has %x", e.Expected, e.Got)
	}
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	return s
}

func (e *QueueError) Unwrap() error { return e.Err }

// Watcher delivers the bridge's confirmed priority requests. Its methods are
// safe for concurrent use.
type Watcher struct {
	l1     L1
	cfg    WatcherConfig
	store  Store
	prefix string
	event  common.Hash

	next atomic.Uint64 // st.Next, readable while a Poll runs

	mu    sync.Mutex
	st    watcherState
	saved []byte // the cursor as last persisted
	fatal error  // a conflict: sticky for this Watcher
}

// rolling24 is a queue hash, hex in the persisted cursor.
type rolling24 [24]byte

func (r rolling24) MarshalText() ([]byte, error) { return []byte(hex.EncodeToString(r[:])), nil }

func (r *rolling24) UnmarshalText(b []byte) error {
	v, err := hex.DecodeString(string(b))
	if err != nil || len(v) != len(r) {
		return fmt.Errorf("bridge: bad queue hash %q", b)
	}
	copy(r[:], v)
	return nil
}

type checkpoint struct {
	Number  uint64      `json:"number"`
	Hash    common.Hash `json:"hash"`
	Seen    uint64      `json:"seen"`    // requests in blocks ≤ Number
	Rolling rolling24   `json:"rolling"` // the queue hash after them
}

// watcherState is the persisted cursor.
type watcherState struct {
	Next    uint64    `json:"next"`    // the next id to deliver
	Rolling rolling24 `json:"rolling"` // the queue hash after Next−1

	// The scan: blocks below NextBlock were scanned on the chain of the last
	// checkpoint; Seen requests were found there, chaining to SeenRolling.
	// Seen < Next only while a reorg's rescan has not met every delivered id.
	NextBlock   uint64    `json:"nextBlock"`
	Seen        uint64    `json:"seen"`
	SeenRolling rolling24 `json:"seenRolling"`

	MaxHead     uint64       `json:"maxHead"`   // the highest head seen
	ReorgHigh   uint64       `json:"reorgHigh"` // while Seen < Next: the old chain's height
	Checkpoints []checkpoint `json:"checkpoints"`
}

func (s watcherState) clone() watcherState {
	s.Checkpoints = append([]checkpoint(nil), s.Checkpoints...)
	return s
}

// NewWatcher returns the watcher of cfg.Contract, resuming from the cursor
// persisted in st (or from cfg.FromBlock and request 0 on first use).
func NewWatcher(l1 L1, cfg WatcherConfig, st Store) (*Watcher, error) {
	if cfg.Contract == (common.Address{}) {
		return nil, errors.New("bridge: watcher: no contract")
	}
	if cfg.MaxRange == 0 {
		cfg.MaxRange = DefaultMaxRange
	}
	w := &Watcher{
		l1: l1, cfg: cfg, store: st, event: EventID("PriorityRequest"),
		prefix: "watcher/" + strings.ToLower(cfg.Contract.Hex()) + "/",
	}
	if err := w.load(); err != nil {
		return nil, err
	}
	return w, nil
}

// Next is the id of the next request to be delivered.
func (w *Watcher) Next() uint64 { return w.next.Load() }

func (w *Watcher) cursorKey() string { return w.prefix + "cursor" }

func (w *Watcher) idKey(id uint64) string { return fmt.Sprintf("%sid/%020d", w.prefix, id) }

func (w *Watcher) load() error {
	b, err := w.store.Get(w.cursorKey())
	if errors.Is(err, ErrNotFound) {
		w.st = watcherState{NextBlock: w.cfg.FromBlock}
		w.next.Store(0)
		return nil
	}
	if err != nil {
		return fmt.Errorf("bridge: watcher: load cursor: %w", err)
	}
	var s watcherState
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("bridge: watcher: bad cursor: %w", err)
	}
	w.st, w.saved = s, b
	w.next.Store(s.Next)
	return nil
}

// save persists the delivered requests' queue hashes, then the cursor (a
// crash in between leaves hashes of ids the cursor has not delivered, which
// are rewritten when they are).
func (w *Watcher) save(s *watcherState, delivered []Request) error {
	for i := range delivered {
		if err := w.store.Put(w.idKey(delivered[i].ID), delivered[i].Rolling[:]); err != nil {
			return fmt.Errorf("bridge: watcher: save: %w", err)
		}
	}
	b, err := json.Marshal(s)
	if err != nil {
		return err
	}
	if len(delivered) == 0 && string(b) == string(w.saved) {
		return nil
	}
	if err := w.store.Put(w.cursorKey(), b); err != nil {
		return fmt.Errorf("bridge: watcher: save: %w", err)
	}
	w.saved = b
	return nil
}

func (w *Watcher) delivered(id uint64) ([24]byte, error) {
	var r [24]byte
	b, err := w.store.Get(w.idKey(id))
	if err != nil || len(b) != len(r) {
		return r, fmt.Errorf("bridge: watcher: queue hash of delivered request %d: %v (store corrupt)", id, err)
	}
	copy(r[:], b)
	return r, nil
}

// Poll returns the requests newly confirmed (block ≤ head − Confirmations)
// in id order; over the watcher's lifetime (and its store's) each id is
// returned once. The cursor is persisted before Poll returns.
//
// Errors: ErrReorgConflict (a *ConflictError; sticky: the operator must
// stop), a *QueueError (the chain's queue does not chain), ErrChainMoved or
// an RPC error (retry). When a later range fails after earlier ranges of the
// same Poll delivered requests, Poll returns those and the error recurs on
// the next Poll.
func (w *Watcher) Poll(ctx context.Context) ([]Request, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.fatal != nil {
		return nil, w.fatal
	}
	head, err := w.l1.BlockNumber(ctx)
	if err != nil {
		return nil, fmt.Errorf("bridge: watcher: head: %w", err)
	}
	s := w.st.clone()
	oldMax := s.MaxHead
	if head > s.MaxHead {
		s.MaxHead = head
	}
	var out []Request
	scanErr := w.checkTip(ctx, &s, oldMax)
	if scanErr == nil && head >= w.cfg.Confirmations {
		target := head - w.cfg.Confirmations
		for s.NextBlock <= target {
			to := min(target, s.NextBlock+w.cfg.MaxRange-1)
			if s.Seen < s.Next {
				// A reorg's rescan: delivered requests must be back by
				// the old chain's height.
				if s.NextBlock > s.ReorgHigh {
					d, err := w.delivered(s.Seen)
					if err != nil {
						scanErr = err
						break
					}
					scanErr = &ConflictError{ID: s.Seen, Delivered: d, Block: s.NextBlock - 1}
					break
				}
				to = min(to, s.ReorgHigh)
			}
			var reqs []Request
			reqs, scanErr = w.scan(ctx, &s, to)
			out = append(out, reqs...)
			if scanErr != nil {
				break
			}
		}
	}
	if err := w.save(&s, out); err != nil {
		return nil, err // the in-memory cursor stays at the persisted one
	}
	w.st = s
	w.next.Store(s.Next)
	if scanErr != nil {
		if errors.Is(scanErr, ErrReorgConflict) {
			w.fatal = scanErr
		}
		if len(out) == 0 || errors.Is(scanErr, ErrReorgConflict) {
			return out, scanErr
		}
	}
	return out, nil
}

// canonical reports whether block n of the canonical chain has hash h.
func (w *Watcher) canonical(ctx context.Context, n uint64, h common.Hash) (bool, error) {
	hd, err := w.header(ctx, n)
	if errors.Is(err, ethereum.NotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return hd.Hash() == h, nil
}

func (w *Watcher) header(ctx context.Context, n uint64) (*ethtypes.Header, error) {
	h, err := w.l1.HeaderByNumber(ctx, new(big.Int).SetUint64(n))
	if err == nil && h == nil {
		err = ethereum.NotFound
	}
	if err != nil && !errors.Is(err, ethereum.NotFound) {
		err = fmt.Errorf("bridge: watcher: header %d: %w", n, err)
	}
	return h, err
}

// checkTip checks that the last scanned block is still canonical; if not, it
// rewinds the scan to the newest canonical checkpoint (or to the start).
func (w *Watcher) checkTip(ctx context.Context, s *watcherState, oldMax uint64) error {
	cps := s.Checkpoints
	if len(cps) == 0 {
		return nil
	}
	ok, err := w.canonical(ctx, cps[len(cps)-1].Number, cps[len(cps)-1].Hash)
	if err != nil || ok {
		return err
	}
	// Canonical checkpoints are a prefix: find its end.
	lo, hi := 0, len(cps)-1 // cps[:lo] canonical, cps[hi:] not
	for lo < hi {
		m := (lo + hi) / 2
		ok, err := w.canonical(ctx, cps[m].Number, cps[m].Hash)
		if err != nil {
			return err
		}
		if ok {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo == 0 {
		s.NextBlock, s.Seen, s.SeenRolling = w.cfg.FromBlock, 0, rolling24{}
	} else {
		cp := cps[lo-1]
		s.NextBlock, s.Seen, s.SeenRolling = cp.Number+1, cp.Seen, cp.Rolling
	}
	s.Checkpoints = cps[:lo]
	if s.Seen < s.Next {
		s.ReorgHigh = max(s.ReorgHigh, oldMax)
	}
	return nil
}

// scan processes the PriorityRequest events of blocks s.NextBlock..to and
// returns the requests it delivers; s advances only if the whole range is
// consistent.
func (w *Watcher) scan(ctx context.Context, s *watcherState, to uint64) ([]Request, error) {
	from := s.NextBlock
	hTo, err := w.header(ctx, to)
	if errors.Is(err, ethereum.NotFound) {
		return nil, fmt.Errorf("%w: no block %d", ErrChainMoved, to)
	}
	if err != nil {
		return nil, err
	}
	logs, err := w.l1.FilterLogs(ctx, ethereum.FilterQuery{
		FromBlock: new(big.Int).SetUint64(from),
		ToBlock:   new(big.Int).SetUint64(to),
		Addresses: []common.Address{w.cfg.Contract},
		Topics:    [][]common.Hash{{w.event}},
	})
	if err != nil {
		return nil, fmt.Errorf("bridge: watcher: logs %d..%d: %w", from, to, err)
	}
	sort.SliceStable(logs, func(i, j int) bool {
		if logs[i].BlockNumber != logs[j].BlockNumber {
			return logs[i].BlockNumber < logs[j].BlockNumber
		}
		return logs[i].Index < logs[j].Index
	})

	// Every log must come from a block of the canonical chain.
	hashes := map[uint64]common.Hash{to: hTo.Hash()}
	for i := range logs {
		l := &logs[i]
		if l.Removed || l.Address != w.cfg.Contract || l.BlockNumber < from || l.BlockNumber > to {
			return nil, fmt.Errorf("%w: log outside the query (block %d, removed %v)", ErrChainMoved, l.BlockNumber, l.Removed)
		}
		h, ok := hashes[l.BlockNumber]
		if !ok {
			hd, err := w.header(ctx, l.BlockNumber)
			if errors.Is(err, ethereum.NotFound) {
				return nil, fmt.Errorf("%w: no block %d", ErrChainMoved, l.BlockNumber)
			}
			if err != nil {
				return nil, err
			}
			h = hd.Hash()
			hashes[l.BlockNumber] = h
		}
		if l.BlockHash != h {
			return nil, fmt.Errorf("%w: log of block %d from %s, canonical is %s", ErrChainMoved, l.BlockNumber, l.BlockHash, h)
		}
	}

	n := *s
	var out []Request
	for i := range logs {
		l := &logs[i]
		ev, err := ABI.UnpackPriorityRequestEvent(l)
		if err != nil {
			return nil, &QueueError{Err: ErrBadRequest, Want: n.Seen, Block: l.BlockNumber, TxHash: l.TxHash, Detail: err.Error()}
		}
		if ev.Id != n.Seen {
			return nil, &QueueError{Err: ErrQueueGap, Want: n.Seen, ID: ev.Id, Block: l.BlockNumber, TxHash: l.TxHash}
		}
		var roll [24]byte
		copy(roll[:], crypto.Keccak256(n.SeenRolling[:], ev.Request))
		if roll != ev.Rolling {
			return nil, &QueueError{Err: ErrRollingMismatch, Want: n.Seen, ID: ev.Id, Block: l.BlockNumber, TxHash: l.TxHash, Expected: roll, Got: ev.Rolling}
		}
		if ev.Id < n.Next {
			// Delivered before a reorg: it must be the same request
			// (the queue hash commits to it and to all before it).
			d, err := w.delivered(ev.Id)
			if err != nil {
				return nil, err
			}
			if d != roll {
				return nil, &ConflictError{ID: ev.Id, Delivered: d, Found: &roll, Block: l.BlockNumber, TxHash: l.TxHash}
			}
		} else {
			tx, err := DecodeRequest(ev.Id, ev.Request)
			if err != nil {
				return nil, &QueueError{Err: ErrBadRequest, Want: n.Seen, ID: ev.Id, Block: l.BlockNumber, TxHash: l.TxHash, Detail: err.Error()}
			}
			out = append(out, Request{
				ID: ev.Id, Tx: tx, Request: ev.Request, Rolling: roll, Deadline: ev.Deadline,
				Block: l.BlockNumber, BlockHash: l.BlockHash, TxHash: l.TxHash,
			})
			n.Next, n.Rolling = ev.Id+1, roll
		}
		n.Seen, n.SeenRolling = ev.Id+1, roll
	}

	// The range was read from one chain: the one that still has the
	// previous checkpoint and block `to`.
	if ok, err := w.canonical(ctx, to, hTo.Hash()); err != nil || !ok {
		if err == nil {
			err = fmt.Errorf("%w: block %d replaced", ErrChainMoved, to)
		}
		return nil, err
	}
	if len(n.Checkpoints) > 0 {
		cp := n.Checkpoints[len(n.Checkpoints)-1]
		if ok, err := w.canonical(ctx, cp.Number, cp.Hash); err != nil || !ok {
			if err == nil {
				err = fmt.Errorf("%w: block %d replaced", ErrChainMoved, cp.Number)
			}
			return nil, err
		}
	}
	n.NextBlock = to + 1
	if n.Seen >= n.Next {
		n.ReorgHigh = 0
	}
	n.Checkpoints = append(n.Checkpoints, checkpoint{Number: to, Hash: hTo.Hash(), Seen: n.Seen, Rolling: n.SeenRolling})
	n.Checkpoints = thin(n.Checkpoints)
	*s = n
	return out, nil
}

// thin keeps at most maxCheckpoints, dropping every other one of the older
// half when over.
func thin(cps []checkpoint) []checkpoint {
	if len(cps) <= maxCheckpoints {
		return cps
	}
	half := len(cps) / 2
	out := make([]checkpoint, 0, len(cps))
	for i := 0; i < half; i++ {
		if i%2 == 0 {
			out = append(out, cps[i])
		}
	}
	return append(out, cps[half:]...)
}
