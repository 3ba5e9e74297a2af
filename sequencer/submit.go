package sequencer

import (
	"context"
	"fmt"

	"github.com/dgraph-io/badger/v4"
	"github.com/ethereum/go-ethereum/common"

	"github.com/modex/modex/rpc"
	"github.com/modex/modex/sequencer/journal"
	"github.com/modex/modex/state"
	"github.com/modex/modex/types"
)

// Submission: signed transactions go to the pool, orders to their book (in
// the loop), confirmed L1 requests to the priority queue. Each is durable
// in the journal before it is acknowledged.

// PriorityRequest is an L1 request the watcher confirmed.
type PriorityRequest = journal.PriorityRequest

// SubmitTx decodes, checks and pools a signed transaction: when it returns
// nil the transaction is durable (soft-confirmed).
func (s *Sequencer) SubmitTx(ctx context.Context, raw []byte) (common.Hash, error) {
	if len(raw) > MaxRawSize {
		return common.Hash{}, fmt.Errorf("%w: %d bytes", ErrRawTooLarge, len(raw))
	}
	tx, err := types.DecodeTx(raw)
	if err != nil {
		return common.Hash{}, err
	}
	st, ok := tx.(types.SignedTx)
	if !ok {
		return common.Hash{}, fmt.Errorf("%w: %s", ErrNotSigned, tx.Kind())
	}
	return s.Submit(ctx, st)
}

// Submit pools a signed transaction (see SubmitTx).
func (s *Sequencer) Submit(ctx context.Context, tx types.SignedTx) (common.Hash, error) {
	if err := s.live(); err != nil {
		return common.Hash{}, err
	}
	if err := state.Precheck(s.cfg.Params, tx); err != nil {
		s.reject(err)
		return common.Hash{}, err
	}
	if err := s.enabled(tx); err != nil {
		s.reject(err)
		return common.Hash{}, err
	}
	h, err := s.pool.Add(tx)
	if err != nil {
		s.reject(err)
		return common.Hash{}, err
	}
	if m := s.cfg.Metrics; m != nil {
		m.TxsAccepted.Inc()
	}
	hash := common.Hash(h)
	s.feeds.tx(&rpc.TxInfo{Hash: hash, Kind: tx.Kind().String(), Account: tx.Signer(), Nonce: tx.GetNonce(), Status: rpc.TxPending})
	s.poke()
	return hash, nil
}

// enabled refuses a transaction of a family this rollup cannot prove.
func (s *Sequencer) enabled(tx types.Tx) error {
	if s.cfg.Families == nil || tx == nil {
		return nil
	}
	if f := types.FamilyOf(tx); f != types.FamilyNone && !s.cfg.Families[f] {
		return fmt.Errorf("%w: %s (%v batches)", rpc.ErrFamilyDisabled, tx.Kind(), f)
	}
	return nil
}

func (s *Sequencer) reject(err error) {
	if m := s.cfg.Metrics; m != nil {
		m.Rejected(err)
	}
}

// AddPriority queues confirmed L1 requests. They are journaled (synced)
// before it returns; ids must continue the queue (earlier ids are ignored:
// the watcher may deliver them again after a restart).
func (s *Sequencer) AddPriority(ctx context.Context, reqs []PriorityRequest) error {
	if len(reqs) == 0 {
		return nil
	}
	if err := s.live(); err != nil {
		return err
	}
	err := s.j.Update(func(txn *badger.Txn) error {
		for i := range reqs {
			if err := journal.WriteQueued(txn, &reqs[i]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	return s.do(ctx, func() {
		for _, r := range reqs {
			if r.ID < s.prioNext {
				continue
			}
			if r.ID != s.prioNext {
				s.log.Error("sequencer: priority request out of order", "id", r.ID, "want", s.prioNext)
				return
			}
			s.prio = append(s.prio, r)
			s.prioNext++
		}
	})
}

// PriorityNext is the next priority id the sequencer expects.
func (s *Sequencer) PriorityNext(ctx context.Context) (uint64, error) {
	var n uint64
	err := s.do(ctx, func() { n = s.prioNext })
	return n, err
}

// PlaceOrder checks a signed order, matches it in its market and rests the
// remainder. When it returns nil the order is journaled (synced).
func (s *Sequencer) PlaceOrder(ctx context.Context, raw []byte) (*rpc.OrderResult, error) {
	if len(raw) > MaxRawSize {
		return nil, fmt.Errorf("%w: %d bytes", ErrRawTooLarge, len(raw))
	}
	o, err := types.DecodeOrder(raw)
	if err != nil {
		return nil, err
	}
	return s.Place(ctx, o)
}

// Place is PlaceOrder for a decoded order.
func (s *Sequencer) Place(ctx context.Context, o *types.Order) (*rpc.OrderResult, error) {
	if s.paused.Load() {
		return nil, ErrStopped
	}
	if err := s.enabled(&types.Trade{}); err != nil {
		return nil, err
	}
	pk, _, err := s.cache.Account(o.Account)
	if err != nil {
		return nil, err
	}
	if err := types.VerifyOrder(pk, s.cfg.Domain, o); err != nil {
		return nil, err
	}
	var res *rpc.OrderResult
	var perr error
	var durable chan error
	if err := s.do(ctx, func() { res, durable, perr = s.place(*o) }); err != nil {
		return nil, err
	}
	if perr != nil {
		return nil, perr
	}
	// the loop goes on matching while the journal write is synced
	select {
	case err := <-durable:
		if err != nil {
			return nil, err
		}
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return res, nil
}
