package sequencer

import (
	"errors"
	"fmt"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/ethereum/go-ethereum/common"

	"github.com/modex/modex/rpc"
	"github.com/modex/modex/sequencer/journal"
	"github.com/modex/modex/sequencer/mempool"
	"github.com/modex/modex/state"
	"github.com/modex/modex/types"
)

// The loop (docs/node.md §1): one goroutine owns the open batch; it fills
// it from the priority queue and the pool, applies each transaction to the
// soft state, and seals it when full, old, or another family has waited.

func (s *Sequencer) loop() {
	defer close(s.done)
	tick := time.NewTicker(min(50*time.Millisecond, max(time.Millisecond, s.cfg.FamilyWait/2)))
	defer tick.Stop()
	var lastExpire time.Time
	for {
		select {
		case <-s.quit:
			if s.open != nil {
				s.open.Discard()
				s.kv.discardOpen()
				s.open = nil
			}
			return
		case f := <-s.cmds:
			f()
		case <-s.wake:
		case <-tick.C:
			if time.Since(lastExpire) >= 50*time.Millisecond {
				lastExpire = time.Now()
				s.expire()
			}
		}
		s.step()
	}
}

// step applies what is executable and seals when it is time.
func (s *Sequencer) step() {
	if s.paused.Load() {
		return
	}
	for i := 0; i < 8 && len(s.cmds) == 0; i++ { // a waiting command (an order, a query) goes first
		if !s.fill() {
			break
		}
	}
	if s.open == nil || s.open.Len() == 0 {
		return
	}
	// Seal when the batch is old, or when transactions of another family
	// have waited FamilyWait behind it (a market busy enough to keep a
	// Trade batch open must not starve transfers); the waiting family then
	// gets the next batch at once.
	starved := !s.waitSince.IsZero() && time.Since(s.waitSince) >= s.cfg.FamilyWait
	if starved || time.Since(s.openSince) >= s.cfg.BatchTimeout {
		s.seal()
		if starved {
			s.waitSince = time.Time{}
			s.fill()
		}
	}
}

// ensure makes sure an open batch of family f with room exists: it seals an
// open batch of another family or a full one. It reports false when no batch
// can be opened (a store error, logged).
func (s *Sequencer) ensure(f types.Family) bool {
	if s.open != nil && s.open.Len() > 0 {
		if s.openFamily() != f || s.open.Len() >= s.cfg.Params.BatchCapacity {
			s.seal()
		}
	}
	if s.open == nil {
		if err := s.begin(); err != nil {
			s.log.Error("sequencer: cannot open a batch", "err", err)
			return false
		}
	}
	return true
}

func (s *Sequencer) openFamily() types.Family {
	if s.open == nil || len(s.openList) == 0 {
		return types.FamilyNone
	}
	return types.FamilyOf(s.openList[0].tx)
}

func (s *Sequencer) begin() error {
	ts := s.Now()
	b, err := state.NewSoftBatch(s.cfg.Params, s.cfg.Domain, s.kv, s.lastSealed+1, ts)
	if err != nil {
		return err
	}
	s.open, s.openTxs, s.openList = b, map[common.Hash]int{}, nil
	return nil
}

// fill applies the next run of executable work to the open batch and
// reports whether it applied anything.
func (s *Sequencer) fill() bool {
	if len(s.prio) > 0 && (s.open == nil || s.open.Len() == 0 || s.openFamily() == types.FamilyPriority) {
		return s.fillPriority()
	}
	if len(s.prio) > 0 {
		return false // the open batch seals on its timeout, then the queue goes first
	}
	ready := s.pool.Ready(4 * s.cfg.Params.BatchCapacity)
	if len(ready) == 0 {
		return false
	}
	fam := s.openFamily()
	if fam == types.FamilyNone {
		fam = types.FamilyOf(ready[0].Tx)
	}
	applied := false
	blocked := map[uint32]bool{}
	for _, rd := range ready {
		tx := rd.Tx
		acct := tx.Signer()
		if blocked[acct] {
			continue
		}
		if types.FamilyOf(tx) != fam {
			blocked[acct] = true // its later nonces wait behind it
			if s.waitSince.IsZero() {
				s.waitSince = time.Now()
			}
			continue
		}
		if s.open != nil && s.open.Len() >= s.cfg.Params.BatchCapacity {
			s.seal()
		}
		if !s.ensure(fam) {
			return applied
		}
		ok, retry := s.apply(rd)
		if retry { // the batch's fee assets are full: seal, then try again
			s.seal()
			if !s.ensure(fam) {
				return applied
			}
			ok, _ = s.apply(rd)
		}
		if !ok {
			blocked[acct] = true
			continue
		}
		applied = true
	}
	if applied {
		s.waitSince = time.Time{} // the pool's oldest family got its turn
	}
	return applied
}

// apply adds one pool transaction to the open batch. A state refusal drops
// it from the pool and records it as failed. retry: the batch cannot take
// another fee asset (seal and apply again).
func (s *Sequencer) apply(rd mempool.Ready) (ok, retry bool) {
	tx, hash := rd.Tx, common.Hash(rd.Hash)
	if _, ok := s.failing.Load(hash); ok {
		return false, false // failed; leaves the pool once its record is durable
	}
	r, err := s.open.AddVerified(tx) // the pool verified its signature
	switch {
	case err == nil:
	case errors.Is(err, types.ErrFeeAssetsFull) && s.open.Len() > 0:
		return false, true
	case errors.Is(err, state.ErrWriteFailed), errors.Is(err, state.ErrBatchBroken):
		s.log.Error("sequencer: batch broken, discarding it", "batch", s.open.Number(), "err", err)
		s.reset()
		return false, false
	default:
		s.fail(hash, tx, err)
		return false, false
	}
	if len(s.openList) == 0 {
		s.openSince = time.Now()
	}
	s.openTxs[hash] = len(s.openList)
	s.openList = append(s.openList, openTx{hash: hash, tx: tx, raw: rd.Raw, rcpt: r, pooled: true})
	s.cache.set(s.open.State(), tx.Signer())
	s.afterApply(hash, tx)
	return true, false
}

// fail records a pool transaction the state refused and drops it.
func (s *Sequencer) fail(hash common.Hash, tx types.SignedTx, cause error) {
	info := rpc.Info(cause)
	enc, err := types.EncodeTx(tx)
	if err != nil { // the pool holds only encodable transactions: a bug
		s.halt(fmt.Errorf("sequencer: a refused pool transaction %s does not encode: %w", hash, err))
		return
	}
	rec := &journal.TxRecord{Kind: tx.Kind().String(), Account: tx.Signer(), Nonce: tx.GetNonce(), Error: info, Raw: enc}
	s.failing.Store(hash, true)
	poolKeys := s.pool.Keys(hash)
	s.jw.Write(func(txn *badger.Txn) error {
		for _, k := range poolKeys {
			if err := txn.Delete(k); err != nil {
				return err
			}
		}
		return journal.WriteTx(txn, hash, rec)
	}, func(err error) {
		if err != nil { // it stays in the pool; a restart applies it again
			s.log.Error("sequencer: record failed tx", "err", err)
			return
		}
		s.pool.Forget(hash)
		s.failing.Delete(hash)
	})
	if m := s.cfg.Metrics; m != nil {
		m.TxsRejected.WithLabelValues(info.Reason).Inc()
	}
	s.log.Info("tx failed", "hash", hash, "kind", rec.Kind, "account", rec.Account, "reason", info.Reason)
	s.feeds.tx(&rpc.TxInfo{Hash: hash, Kind: rec.Kind, Account: rec.Account, Nonce: rec.Nonce, Status: rpc.TxFailed, Error: info})
}

// reset discards the open batch; its pool transactions apply again, its
// trades are matched again from the journaled orders on the next restart.
func (s *Sequencer) reset() {
	if s.open != nil {
		s.open.Discard()
	}
	list := s.openList
	s.kv.discardOpen()
	s.open, s.openTxs, s.openList = nil, nil, nil
	// the pool's view of the accounts the batch changed goes back to the
	// soft state without it
	err := s.soft(func(st *state.State) error {
		var errs []error
		for _, o := range list {
			for _, a := range accountsOf(o.tx) {
				errs = append(errs, s.cache.refresh(st, a))
			}
		}
		return errors.Join(errs...)
	})
	if err != nil {
		// The pool would check signatures and nonces against accounts
		// the discarded batch changed: nothing more may be sealed.
		s.halt(fmt.Errorf("reset: reading the soft state: %w", err))
	}
}

// accountsOf lists the accounts whose key or nonce a transaction may change.
func accountsOf(tx types.Tx) []uint32 {
	if st, ok := tx.(types.SignedTx); ok {
		return append(touched(tx), st.Signer())
	}
	return touched(tx)
}

func (s *Sequencer) fillPriority() bool {
	if !s.ensure(types.FamilyPriority) {
		return false
	}
	applied := false
	for len(s.prio) > 0 {
		if s.open.Len() >= s.cfg.Params.BatchCapacity {
			s.seal()
			if !s.ensure(types.FamilyPriority) {
				return applied
			}
		}
		req := s.prio[0]
		tx, err := types.DecodeTx(req.Raw)
		if err != nil {
			s.log.Error("sequencer: undecodable priority request", "id", req.ID, "err", err)
			return applied
		}
		r, err := s.open.Add(tx)
		if err != nil {
			// A priority operation is never refused by Apply (a deposit that
			// cannot be credited is marked refused); this is a broken store.
			s.log.Error("sequencer: priority request not applied", "id", req.ID, "err", err)
			s.reset()
			return applied
		}
		hash := common.BytesToHash(req.L1Tx[:])
		if len(s.openList) == 0 {
			s.openSince = time.Now()
		}
		s.openList = append(s.openList, openTx{hash: hash, tx: tx, rcpt: r})
		var acct uint32
		switch t := tx.(type) {
		case *types.Deposit:
			acct = t.Account
		case *types.ForcedWithdraw:
			acct = t.Account
		}
		s.cache.set(s.open.State(), acct)
		s.afterApplyAccounts(hash, acct)
		s.prio = s.prio[1:]
		applied = true
	}
	return applied
}

// seal seals the open batch: its soft state becomes sealed batch n's, and
// one group-committed journal write records the batch (c/<n>, which the
// tree stage applies to the state store) and its transactions' records.
// Once that write is durable the batch's pool transactions leave the pool
// and the batch is announced; the loop goes on meanwhile.
func (s *Sequencer) seal() {
	if s.open == nil || s.open.Len() == 0 {
		return
	}
	start := time.Now()
	sb, err := s.open.Finish()
	list := s.openList
	if err == nil {
		var rec *journal.SealedBatch
		if rec, err = newSealedRecord(sb, list); err == nil {
			s.kv.sealOpen(sb.Header.Number)
			s.open, s.openTxs, s.openList = nil, nil, nil
			s.lastSealed = sb.Header.Number
			s.lastTs.Store(sb.Header.Timestamp)
			s.journalSealed(sb, rec, list, start)
			return
		}
	}
	s.log.Error("sequencer: seal failed; its transactions apply again", "err", err)
	s.reset()
}

// journalSealed writes a sealed batch to the journal (see seal).
func (s *Sequencer) journalSealed(sb *state.SealedBatch, rec *journal.SealedBatch, list []openTx, start time.Time) {
	n := sb.Header.Number
	var hashes [][32]byte
	for _, o := range list {
		if o.pooled {
			hashes = append(hashes, o.hash)
		}
	}
	// the pool's copies go in the same write (the pool shares the journal)
	poolKeys := s.pool.Keys(hashes...)
	for _, o := range list {
		s.sealing.Store(o.hash, sealingTx{o.tx, n})
	}
	write := func(txn *badger.Txn) error {
		if err := journal.WriteSealedBatch(txn, rec); err != nil {
			return err
		}
		for _, k := range poolKeys {
			if err := txn.Delete(k); err != nil {
				return err
			}
		}
		for i, o := range list {
			enc := rec.Txs[i]
			r := &journal.TxRecord{Kind: o.tx.Kind().String(), Batch: n, Raw: enc}
			if st, ok := o.tx.(types.SignedTx); ok {
				r.Account, r.Nonce = st.Signer(), st.GetNonce()
			}
			for _, a := range touched(o.tx) {
				if err := journal.WriteHistory(txn, a, n, uint32(i), o.hash); err != nil {
					return err
				}
			}
			switch t := o.tx.(type) {
			case *types.Deposit:
				r.Account = t.Account
				if err := journal.WriteAddress(txn, t.L1Address, t.Account); err != nil {
					return err
				}
				if err := journal.SealPriority(txn, t.PriorityID, &journal.PriorityRecord{Batch: n, L1Tx: o.hash, Raw: enc}); err != nil {
					return err
				}
			case *types.ForcedWithdraw:
				r.Account = t.Account
				if err := journal.SealPriority(txn, t.PriorityID, &journal.PriorityRecord{Batch: n, L1Tx: o.hash, Raw: enc}); err != nil {
					return err
				}
			case *types.RedeemCredits:
				if err := journal.WriteRedemption(txn, t.Model, n, uint32(i), redemption(t, o.hash, n)); err != nil {
					return err
				}
			}
			if err := journal.WriteTx(txn, o.hash, r); err != nil {
				return err
			}
			// A trade's record goes with its order's journal write too;
			// written here as well, a batch that fills in the middle of
			// an order's matches never holds a trade without its record.
			if o.trade != nil {
				if err := journal.WriteTrade(txn, o.trade); err != nil {
					return err
				}
			}
		}
		return nil
	}
	s.jw.Write(write, func(err error) {
		if err != nil {
			// The loop built later batches on this one: nothing more may
			// be sealed. A restart applies the pool and journal again.
			s.halt(fmt.Errorf("journal of sealed batch %d: %w", n, err))
			for _, o := range list {
				s.sealing.Delete(o.hash)
			}
			return
		}
		s.sealed.Store(n)
		s.pool.Forget(hashes...)
		for _, o := range list {
			s.sealing.Delete(o.hash)
		}
		s.log.Info("batch sealed", "batch", n, "family", sb.Header.Family, "txs", len(list), "took", time.Since(start))
		if m := s.cfg.Metrics; m != nil {
			m.BatchSealSeconds.Observe(time.Since(start).Seconds())
			m.BatchSealed.Set(float64(n))
			m.PoolTxs.Set(float64(s.pool.Len()))
		}
		s.publishSealed(sb, list)
		s.tree.add(rec)
	})
}

// sealingTx is a transaction of a batch sealed whose journal write is not
// yet durable (Tx reports it included in that batch meanwhile).
type sealingTx struct {
	tx    types.Tx
	batch uint64
}

// touched lists the accounts a transaction changes (for their histories).
func touched(tx types.Tx) []uint32 {
	switch t := tx.(type) {
	case *types.Deposit:
		return []uint32{t.Account}
	case *types.ForcedWithdraw:
		return []uint32{t.Account}
	case *types.Transfer:
		return []uint32{t.From, t.To}
	case *types.Trade:
		return []uint32{t.Buy.Account, t.Sell.Account}
	case types.SignedTx:
		return []uint32{t.Signer()}
	}
	return nil
}
