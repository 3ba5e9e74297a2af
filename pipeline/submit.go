package pipeline

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/ethereum/go-ethereum/common"

	"github.com/modex/modex/rpc"
	"github.com/modex/modex/sequencer/journal"
)

// submitter takes proven batches to L1, in order.
func (p *Pipeline) submitter(ctx context.Context) {
	defer p.wg.Done()
	t := time.NewTicker(p.cfg.Poll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-p.kick:
		case <-t.C:
		}
		for p.submitNext(ctx) {
		}
	}
}

// submitNext steps the next unverified batch; true if it landed (go on).
func (p *Pipeline) submitNext(ctx context.Context) bool {
	p.mu.Lock()
	if p.halted != nil {
		p.mu.Unlock()
		return false
	}
	n := p.verified + 1
	proof := p.proofs[n]
	p.mu.Unlock()
	if proof == nil {
		return false
	}
	h, err := p.db.Header(n)
	if err != nil {
		return p.storeFailed(n, "read header", err)
	}
	pub, err := p.db.Pubdata(n)
	if err != nil {
		return p.storeFailed(n, "read pubdata", err)
	}
	// The record is read before anything is sent: one that cannot be read
	// must not be replaced by an empty one (it holds the proof and the
	// first send's time).
	rec, err := p.record(n)
	if errors.Is(err, journal.ErrNotFound) {
		rec, err = &journal.StageRecord{}, nil
	}
	if err != nil {
		return p.storeFailed(n, "read stage record", err)
	}
	st, err := p.cfg.Submitter.Step(ctx, h, pub, proof)
	switch {
	case err == nil:
	case errors.Is(err, ErrL1Disagrees):
		p.halt(fmt.Errorf("%w: batch %d on L1: %w", ErrStageMismatch, n, err))
		return false
	default:
		// L1 unreachable or failing: retried at every poll, for as long as
		// it takes (an L1 outage must not halt the rollup), counted and logged
		if ctx.Err() == nil {
			p.l1Failures++
			if m := p.cfg.Metrics; m != nil {
				m.L1SubmitErrors.Inc()
			}
			p.log.Warn("pipeline: L1 step failed; retrying", "batch", n, "failures", p.l1Failures, "err", err)
		}
		return false
	}
	p.l1Failures = 0
	if st.Tx != (common.Hash{}) {
		rec.L1Tx = st.Tx
	}
	if !st.Landed {
		if rec.Stage != rpc.BatchSubmitted {
			rec.Stage, rec.SentAt = rpc.BatchSubmitted, time.Now().UnixMilli()
			if err := p.putRecord(n, rec); err != nil {
				return p.storeFailed(n, "write stage record", err)
			}
			p.mu.Lock()
			p.sent = max(p.sent, n)
			p.mu.Unlock()
			p.log.Info("batch sent to L1", "batch", n, "tx", st.Tx)
			p.progress(h, rpc.BatchSubmitted, st.Tx, rec.ProveMillis)
		}
		return false
	}
	// verified: the Submitter checked batchRoot(n) on L1 against the header
	rec.Stage = rpc.BatchVerified
	err = p.j.Update(func(txn *badger.Txn) error {
		if err := journal.WriteStage(txn, n, rec); err != nil {
			return err
		}
		return journal.WriteVerified(txn, n)
	})
	if err != nil {
		return p.storeFailed(n, "record verified", err)
	}
	if err := p.db.Store().SetFinalized(n); err != nil {
		// L1 verified it: a batch left open to rollback must not go unseen
		return p.storeFailed(n, "finalize", err)
	}
	p.mu.Lock()
	p.verified, p.sent = n, max(p.sent, n)
	delete(p.proofs, n-1)
	p.mu.Unlock()
	p.log.Info("batch verified on L1", "batch", n, "tx", rec.L1Tx)
	if m := p.cfg.Metrics; m != nil {
		m.BatchVerified.Set(float64(n))
		if rec.SentAt > 0 {
			m.L1SubmitSeconds.Observe(time.Since(time.UnixMilli(rec.SentAt)).Seconds())
		}
	}
	p.progress(h, rpc.BatchVerified, rec.L1Tx, rec.ProveMillis)
	return true
}

// storeFailed halts the pipeline on a store failure at batch n; it returns
// false (the submitter stops stepping).
func (p *Pipeline) storeFailed(n uint64, what string, err error) bool {
	p.halt(fmt.Errorf("%w: batch %d: %s: %w", ErrStore, n, what, err))
	return false
}
