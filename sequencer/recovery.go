package sequencer

import (
	"crypto/sha256"
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"

	"github.com/modex/modex/rpc"
	"github.com/modex/modex/sequencer/journal"
	"github.com/modex/modex/state"
	"github.com/modex/modex/types"
)

// Recovery (docs/node.md §2, restart): New rebuilds the loop's state from
// the journal before anything runs, and Start replays the open orders into
// the books. A record that cannot be read stops the sequencer; it is never
// taken for an absent one.

// recoverJournal rebuilds the soft state and the queues (New).
func recoverJournal(s *Sequencer) error {
	if err := replaySealed(s); err != nil {
		return err
	}
	return reloadQueues(s)
}

// replaySealed rebuilds the soft state: the batches the loop sealed that the
// tree stage had not committed are executed again (soft, from their journal
// records) over the state store's head, and queued for the tree stage;
// records of batches it committed are dropped.
func replaySealed(s *Sequencer) error {
	head := s.db.Head()
	s.lastSealed = head
	if head > 0 {
		h, err := s.db.Header(head)
		if err != nil {
			return err
		}
		s.lastTs.Store(h.Timestamp)
	}
	var recs []*journal.SealedBatch
	err := s.j.Update(func(txn *badger.Txn) error {
		var gone []uint64
		err := journal.ForEachSealedBatch(txn, func(n uint64, rec *journal.SealedBatch) error {
			if n <= head {
				gone = append(gone, n)
				return nil
			}
			recs = append(recs, rec)
			return nil
		})
		if err != nil {
			return err
		}
		for _, n := range gone {
			if err := journal.DeleteSealedBatch(txn, n); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sequencer: sealed batches: %w", err)
	}
	for _, rec := range recs {
		if rec.Number != s.lastSealed+1 {
			return fmt.Errorf("sequencer: journal holds sealed batch %d after %d", rec.Number, s.lastSealed)
		}
		b, err := state.NewSoftBatch(s.cfg.Params, s.cfg.Domain, s.kv, rec.Number, rec.Timestamp)
		if err != nil {
			return err
		}
		for i, raw := range rec.Txs {
			tx, err := types.DecodeTx(raw)
			if err == nil {
				_, err = addTo(b, tx)
			}
			if err != nil {
				s.kv.discardOpen()
				return fmt.Errorf("%w: replaying sealed batch %d tx %d: %w", ErrCommitMismatch, rec.Number, i, err)
			}
			for _, a := range accountsOf(tx) {
				s.cache.set(b.State(), a)
			}
		}
		sb, err := b.Finish()
		if err != nil {
			s.kv.discardOpen()
			return err
		}
		if sha256.Sum256(sb.Pubdata) != rec.PubdataHash {
			s.kv.discardOpen()
			return fmt.Errorf("%w: replaying sealed batch %d: pubdata", ErrCommitMismatch, rec.Number)
		}
		s.kv.sealOpen(rec.Number)
		s.lastSealed = rec.Number
		s.lastTs.Store(rec.Timestamp)
		s.tree.recs[rec.Number] = rec
	}
	s.sealed.Store(s.lastSealed)
	if len(recs) > 0 {
		s.log.Info("sequencer: sealed batches awaiting the tree stage", "from", recs[0].Number, "to", s.lastSealed)
	}
	return nil
}

// reloadQueues reloads the pool, the confirmed priority requests, the
// trade sequences, the journaled orders (restored at Start) and the
// models that exist.
func reloadQueues(s *Sequencer) error {
	st, err := state.New(s.cfg.Params, s.cfg.Domain, s.kv) // the soft state
	if err != nil {
		return err
	}
	if s.prioNext, err = st.NextPriority(); err != nil {
		return err
	}
	if _, err := s.pool.Revalidate(); err != nil {
		return err
	}
	err = s.j.Update(func(txn *badger.Txn) error {
		// priority requests not yet sealed
		err := journal.ForEachQueued(txn, func(r *journal.PriorityRequest) error {
			if r.ID < s.prioNext {
				return nil
			}
			if r.ID != s.prioNext+uint64(len(s.prio)) {
				return fmt.Errorf("sequencer: journaled priority request %d out of order", r.ID)
			}
			s.prio = append(s.prio, *r)
			return nil
		})
		if err != nil {
			return err
		}
		s.prioNext += uint64(len(s.prio))
		// trades and redemptions recorded for a batch the crash left unsealed
		var stale [][]byte
		err = journal.ForEachTrade(txn, func(k []byte, t *rpc.TradeInfo) error {
			if t.Batch > s.lastSealed {
				stale = append(stale, k)
				return nil
			}
			s.tradeSeq[t.Model] = max(s.tradeSeq[t.Model], t.Seq)
			return nil
		})
		if err != nil {
			return err
		}
		err = journal.ForEachOrder(txn, func(seq uint64, o *journal.Order) error {
			s.restore = append(s.restore, journaledOrder{Raw: o.Raw, seq: seq})
			return nil
		})
		if err != nil {
			return err
		}
		for _, k := range stale {
			if err := journal.DeleteKey(txn, k); err != nil {
				return err
			}
		}
		s.orderSeq, err = journal.ReadOrderSeq(txn)
		return err
	})
	if err != nil {
		return fmt.Errorf("sequencer: journal: %w", err)
	}
	// models and tokens that exist
	for i := uint64(0); i < 1<<uint(s.cfg.Params.ModelDepth); i++ { // uint64: 2^16 models wrap a uint16
		m := uint16(i)
		md, err := st.Model(m)
		if errors.Is(err, types.ErrModelNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		if md.Exists() {
			s.models[m] = true
		}
	}
	return nil
}

// journaledOrder is an acknowledged order New found in the journal.
type journaledOrder struct {
	Raw []byte
	seq uint64
}

// restoreOrders replays the journaled orders, in arrival order, into fresh
// books with the shares their slots have left (Start, before the loop runs:
// a match that a crash left unsealed is applied again, and may seal).
func restoreOrders(s *Sequencer) error {
	orders := s.restore
	s.restore = nil
	now := uint32(s.Now())
	var gone []uint64
	for _, jo := range orders {
		o, err := types.DecodeOrder(jo.Raw)
		if err != nil {
			return fmt.Errorf("%w: journaled order %d: %w", journal.ErrCorrupt, jo.seq, err)
		}
		var rem uint64
		err = s.soft(func(st *state.State) error {
			var err error
			rem, err = s.remaining(st, o)
			return err
		})
		switch {
		case errors.Is(err, types.ErrOrderClosed), errors.Is(err, types.ErrOrderSlotTaken):
			gone = append(gone, jo.seq)
			continue
		case err != nil: // the state cannot be read: the order stays journaled
			return fmt.Errorf("sequencer: journaled order %d: %w", jo.seq, err)
		}
		if rem == 0 || now > o.ValidUntil || !s.models[o.Model] {
			gone = append(gone, jo.seq)
			continue
		}
		res, err := s.book(o.Model).SubmitRemaining(*o, rem, jo.seq, now)
		if err != nil {
			gone = append(gone, jo.seq)
			continue
		}
		for _, r := range res.Removed {
			if seq := s.forget(r.Order); seq != 0 {
				gone = append(gone, seq)
			}
		}
		if res.Rested > 0 {
			s.orderKeys[orderKey{o.Account, o.Model, o.OrderID}] = jo.seq
		}
		s.orderSeq = max(s.orderSeq, jo.seq)
	}
	pl := s.pl
	s.pl = placement{}
	return s.j.Update(func(txn *badger.Txn) error {
		for _, t := range pl.trades {
			if err := journal.WriteTrade(txn, t); err != nil {
				return err
			}
		}
		for _, q := range append(gone, pl.drop...) {
			if q != 0 {
				if err := journal.DeleteOrder(txn, q); err != nil {
					return err
				}
			}
		}
		return nil
	})
}
