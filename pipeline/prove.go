package pipeline

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/modex/modex/circuits"
	"github.com/modex/modex/rpc"
	"github.com/modex/modex/sequencer/journal"
	"github.com/modex/modex/state"
	"github.com/modex/modex/types"
)

// prover takes batches off the queue and proves them. A batch that fails
// is tried again after a backoff, up to MaxAttempts times; then, or on a
// disagreement between stages, the pipeline halts.
func (p *Pipeline) prover(ctx context.Context) {
	defer p.wg.Done()
	for {
		p.mu.Lock()
		var n uint64
		if p.halted == nil && len(p.proving) > 0 {
			n, p.proving = p.proving[0], p.proving[1:]
		}
		p.mu.Unlock()
		if n == 0 {
			select {
			case <-ctx.Done():
				return
			case <-p.work:
				continue
			}
		}
		err := p.prove(ctx, n)
		if err == nil {
			p.signal(p.work) // another worker may take the next
			continue
		}
		if ctx.Err() != nil {
			return
		}
		var await *awaitProver
		if errors.As(err, &await) {
			p.park(n, await.family)
			continue
		}
		if errors.Is(err, ErrStageMismatch) || errors.Is(err, state.ErrReexecMismatch) {
			p.halt(err)
			return
		}
		p.mu.Lock()
		p.attempts[n]++
		attempt := p.attempts[n]
		p.mu.Unlock()
		if attempt >= p.cfg.MaxAttempts {
			p.halt(fmt.Errorf("%w: batch %d failed %d attempts: %w", ErrProofFailed, n, attempt, err))
			return
		}
		wait := p.cfg.backoff(attempt)
		p.log.Error("pipeline: proving failed; retrying", "batch", n, "attempt", attempt, "of", p.cfg.MaxAttempts, "in", wait, "err", err)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		p.mu.Lock()
		delete(p.queued, n)
		p.enqueue(n)
		p.mu.Unlock()
		p.signal(p.work)
	}
}

// prove runs the witness and proof stages of batch n.
func (p *Pipeline) prove(ctx context.Context, n uint64) error {
	// witness: re-execute over n−1; the result must be the sealed batch
	sb, err := p.db.Reexecute(n)
	if err != nil {
		return err
	}
	if err := p.putRecord(n, &journal.StageRecord{Stage: rpc.BatchWitness}); err != nil {
		return err
	}
	p.progress(&sb.Header, rpc.BatchWitness, common.Hash{}, 0)
	p.mu.Lock()
	pv := p.provers[sb.Header.Family]
	_, awaited := p.awaited[sb.Header.Family]
	p.mu.Unlock()
	if pv == nil && awaited {
		return &awaitProver{family: sb.Header.Family}
	}
	if pv == nil {
		return fmt.Errorf("pipeline: no prover for %v batches", sb.Header.Family)
	}
	assign, err := circuits.AssignBatch(p.cfg.Params, p.cfg.Domain, sb)
	if err != nil {
		return fmt.Errorf("%w: batch %d: witness: %w", ErrStageMismatch, n, err)
	}
	start := time.Now()
	proof, err := pv.Prove(ctx, assign)
	if err != nil {
		return err
	}
	took := time.Since(start)
	// proof: its public input must be the sealed header's
	pub, err := proof.PublicInputs()
	if err != nil {
		return err
	}
	want := sb.Header.PublicInput(p.cfg.Domain)
	if len(pub) != 1 || pub[0].Cmp(want.BigInt(new(big.Int))) != 0 {
		return fmt.Errorf("%w: batch %d: proof public input differs from the header's", ErrStageMismatch, n)
	}
	enc, err := proof.MarshalBinary()
	if err != nil {
		return err
	}
	if err := p.putRecord(n, &journal.StageRecord{Stage: rpc.BatchProven, Proof: enc, ProveMillis: took.Milliseconds()}); err != nil {
		return err
	}
	p.log.Info("batch proven", "batch", n, "family", sb.Header.Family, "took", took)
	if m := p.cfg.Metrics; m != nil {
		m.ProofSeconds.Observe(took.Seconds())
	}
	p.mu.Lock()
	p.proofs[n] = proof
	delete(p.queued, n)
	delete(p.attempts, n)
	p.advanceProven()
	p.mu.Unlock()
	p.progress(&sb.Header, rpc.BatchProven, common.Hash{}, took.Milliseconds())
	p.signal(p.kick)
	return nil
}

// advanceProven moves the contiguous proven head (mu held).
func (p *Pipeline) advanceProven() {
	for p.proofs[p.proven+1] != nil {
		p.proven++
	}
	if m := p.cfg.Metrics; m != nil {
		m.BatchProven.Set(float64(p.proven))
	}
}

// awaitProver: the batch's family awaits its prover (Config.Awaited).
type awaitProver struct{ family types.Family }

func (e *awaitProver) Error() string {
	return fmt.Sprintf("pipeline: %v batches wait for their prover", e.family)
}

// park sets batch n aside until family f's prover is added (AddProver),
// spending none of its attempts; the first batch of a family says so once.
func (p *Pipeline) park(n uint64, f types.Family) {
	p.mu.Lock()
	delete(p.queued, n)
	parked, ok := p.awaited[f]
	if !ok { // added in between: prove it now
		p.enqueue(n)
		p.mu.Unlock()
		p.signal(p.work)
		return
	}
	p.awaited[f] = append(parked, n)
	p.mu.Unlock()
	if len(parked) == 0 {
		p.log.Info("pipeline: batch waits for its family's keys (proven once its prover is added)", "batch", n, "family", f)
	}
	p.signal(p.work) // the next batch may be of a family with a prover
}
