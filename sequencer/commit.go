package sequencer

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"github.com/modex/modex/sequencer/journal"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/modex/modex/rpc"
	"github.com/modex/modex/state"
	"github.com/modex/modex/types"
)

func newSealedRecord(sb *state.SealedBatch, list []openTx) (*journal.SealedBatch, error) {
	h := &sb.Header
	rec := &journal.SealedBatch{Number: h.Number, Timestamp: h.Timestamp, Family: uint8(h.Family),
		FirstPriority: h.FirstPriority, PriorityCount: h.PriorityCount, PubdataHash: sha256.Sum256(sb.Pubdata)}
	rec.Txs = make([][]byte, len(sb.Txs))
	for i, tx := range sb.Txs {
		if i < len(list) && list[i].raw != nil && list[i].tx == tx {
			rec.Txs[i] = list[i].raw
			continue
		}
		enc, err := types.EncodeTx(tx)
		if err != nil {
			return nil, err
		}
		rec.Txs[i] = enc
	}
	return rec, nil
}

// addTo adds a journaled transaction to a batch: priority operations with
// Add, signed ones with AddVerified (the pool or order intake verified
// their signatures; the pipeline's re-execution verifies them again).
func addTo(b *state.Batch, tx types.Tx) (*state.Receipt, error) {
	if isPriority(tx) {
		return b.Add(tx)
	}
	return b.AddVerified(tx)
}

// committer is the tree stage: it applies each sealed batch, in order, to
// the state store (hashing the trees), checks that it reproduces the sealed
// batch, commits it and hands it to the pipeline.
func (s *Sequencer) committer() {
	defer close(s.cdone)
	for {
		select {
		case <-s.quit:
			return
		case <-s.ckick:
		}
		for {
			select {
			case <-s.quit:
				return
			default:
			}
			if s.treePaused.Load() {
				break
			}
			n := s.db.Head() + 1
			s.cmu.Lock()
			rec := s.pendingRecs[n]
			s.cmu.Unlock()
			if rec == nil {
				break
			}
			if err := s.commit(rec); err != nil {
				s.halt(err)
				return
			}
		}
	}
}

// commit applies one sealed batch to the state store.
func (s *Sequencer) commit(rec *journal.SealedBatch) error {
	start := time.Now()
	b, err := s.db.NewBatch(rec.Timestamp)
	if err != nil {
		return fmt.Errorf("tree stage: batch %d: %w", rec.Number, err)
	}
	if b.Number() != rec.Number {
		b.Discard()
		return fmt.Errorf("%w: the store's next batch is %d, the sealed one %d", ErrCommitMismatch, b.Number(), rec.Number)
	}
	for i, raw := range rec.Txs {
		tx, err := types.DecodeTx(raw)
		if err == nil {
			_, err = addTo(b, tx)
		}
		if err != nil {
			b.Discard()
			return fmt.Errorf("%w: batch %d tx %d: %w", ErrCommitMismatch, rec.Number, i, err)
		}
	}
	pub := b.Pubdata()
	if f := b.Family(); f != types.Family(rec.Family) {
		b.Discard()
		return fmt.Errorf("%w: batch %d family %v, sealed %v", ErrCommitMismatch, rec.Number, f, types.Family(rec.Family))
	}
	padded := append(bytes.Clone(pub), make([]byte, (s.cfg.Params.BatchCapacity-len(rec.Txs))*b.Family().SlotBytes())...)
	if sha256.Sum256(padded) != rec.PubdataHash {
		b.Discard()
		return fmt.Errorf("%w: batch %d pubdata", ErrCommitMismatch, rec.Number)
	}
	sb, err := b.Seal()
	if err != nil {
		return fmt.Errorf("tree stage: seal batch %d: %w", rec.Number, err)
	}
	if sb.Header.FirstPriority != rec.FirstPriority || sb.Header.PriorityCount != rec.PriorityCount ||
		sb.Header.Timestamp != rec.Timestamp {
		return fmt.Errorf("%w: batch %d header", ErrCommitMismatch, rec.Number)
	}
	n := rec.Number
	s.cmu.Lock()
	delete(s.pendingRecs, n)
	s.cmu.Unlock()
	s.jw.Write(func(txn *badger.Txn) error { return journal.DeleteSealedBatch(txn, n) }, nil)
	// the loop moves its soft state's base up
	select {
	case s.cmds <- func() {
		if err := s.kv.advance(n); err != nil {
			s.log.Error("sequencer: soft state base", "batch", n, "err", err)
		}
	}:
	case <-s.quit:
	}
	s.committed.Store(n)
	s.log.Info("batch committed", "batch", n, "root", sb.Header.NewRoot.Text(16), "took", time.Since(start))
	if m := s.cfg.Metrics; m != nil {
		m.BatchCommitSeconds.Observe(time.Since(start).Seconds())
		m.BatchCommitted.Set(float64(n))
	}
	s.PublishBatch(&sb.Header, rpc.BatchCommitted, [32]byte{}, 0)
	if s.cfg.OnSeal != nil {
		s.cfg.OnSeal(sb)
	}
	return nil
}

// halt stops sequencing for good (until a restart): a journal write failed
// or the tree stage disagrees with a sealed batch.
func (s *Sequencer) halt(err error) {
	s.haltMu.Lock()
	if s.halted == nil {
		s.halted = err
	}
	s.haltMu.Unlock()
	s.paused.Store(true)
	s.log.Error("sequencer: HALTED", "err", err)
	if m := s.cfg.Metrics; m != nil {
		m.PipelineHalted.Set(1)
	}
}

// Halted is why sequencing halted, or nil.
func (s *Sequencer) Halted() error {
	s.haltMu.Lock()
	defer s.haltMu.Unlock()
	return s.halted
}

// SealedBatch describes a sealed batch the tree stage has not committed
// yet (no roots), or nil.
func (q *Queries) SealedBatch(n uint64) *rpc.BatchInfo {
	q.s.cmu.Lock()
	rec := q.s.pendingRecs[n]
	q.s.cmu.Unlock()
	if rec == nil {
		return nil
	}
	return &rpc.BatchInfo{Number: n, Family: types.Family(rec.Family).String(), Status: rpc.BatchSealed,
		Timestamp: rec.Timestamp, Txs: len(rec.Txs), FirstPriority: rec.FirstPriority, PriorityCount: rec.PriorityCount}
}

// PauseTree pauses (true) or resumes the tree stage: paused, sealed batches
// wait in the journal and nothing reaches the pipeline. Benchmarks measure
// the sequencer alone with it; an operator may use it to give the
// sequencer the CPU through a burst.
func (s *Sequencer) PauseTree(paused bool) {
	s.treePaused.Store(paused)
	s.signal()
}

// TreeBacklog is how many sealed batches the tree stage has not committed.
func (s *Sequencer) TreeBacklog() int {
	s.cmu.Lock()
	defer s.cmu.Unlock()
	return len(s.pendingRecs)
}

// Committed is the last batch the tree stage committed to the state store.
func (s *Sequencer) Committed() uint64 { return s.committed.Load() }

// WaitCommitted waits until the tree stage has committed batch n.
func (s *Sequencer) WaitCommitted(ctx context.Context, n uint64) error {
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for s.committed.Load() < n {
		if err := s.Halted(); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-s.done:
			return ErrClosed
		case <-t.C:
		}
	}
	return nil
}
