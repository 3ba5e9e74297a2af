package sequencer

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"sort"

	"github.com/dgraph-io/badger/v4"
	"github.com/ethereum/go-ethereum/common"
	"github.com/holiman/uint256"

	"github.com/modex/modex/rpc"
	"github.com/modex/modex/sequencer/journal"
	"github.com/modex/modex/sequencer/mempool"
	"github.com/modex/modex/state"
	"github.com/modex/modex/types"
)

var bg = context.Background()

// Queries answers the API's reads (transactions, accounts, markets, models,
// batches, priority requests) and its subscriptions: from the loop for the
// soft state and the books, from the journal for records.
type Queries struct{ s *Sequencer }

// Queries is the sequencer's read side.
func (s *Sequencer) Queries() *Queries { return &Queries{s} }

func errNoMarket(model uint16) error { return fmt.Errorf("%w: %d", rpc.ErrMarketNotFound, model) }

// status is a sealed transaction's status from the pipeline heads.
func (q *Queries) status(batch uint64) rpc.TxStatus {
	switch {
	case batch == 0:
		return rpc.TxPending
	case batch <= q.s.verified.Load():
		return rpc.TxFinalized
	case batch <= q.s.proven.Load():
		return rpc.TxProven
	}
	return rpc.TxIncluded
}

// Tx is a transaction's status: in the open batch, in the pool, or recorded.
func (q *Queries) Tx(ctx context.Context, hash common.Hash) (*rpc.TxInfo, error) {
	var info *rpc.TxInfo
	var ierr error
	if err := q.s.do(ctx, func() {
		if i, ok := q.s.openTxs[hash]; ok {
			o := q.s.openList[i]
			info, ierr = txInfo(hash, o.tx, rpc.TxIncluded, q.s.open.Number())
		}
	}); err != nil {
		return nil, err
	}
	if info != nil || ierr != nil {
		return info, ierr
	}
	if v, ok := q.s.sealing.Load(hash); ok {
		st := v.(sealingTx)
		return txInfo(hash, st.tx, rpc.TxIncluded, st.batch)
	}
	if tx, ok := q.s.pool.Get(hash); ok {
		return txInfo(hash, tx, rpc.TxPending, 0)
	}
	var rec *journal.TxRecord
	var tx types.Tx
	err := q.s.j.View(func(txn *badger.Txn) error {
		var err error
		rec, tx, err = journal.ReadTx(txn, hash)
		return err
	})
	if errors.Is(err, journal.ErrNotFound) {
		return nil, fmt.Errorf("%w: %s", rpc.ErrTxNotFound, hash)
	}
	if err != nil {
		return nil, fmt.Errorf("sequencer: transaction %s: %w", hash, err)
	}
	return q.fromRecord(hash, rec, tx)
}

func (q *Queries) fromRecord(hash common.Hash, rec *journal.TxRecord, tx types.Tx) (*rpc.TxInfo, error) {
	st := q.status(rec.Batch)
	if rec.Error != nil {
		st = rpc.TxFailed
	}
	info, err := txInfo(hash, tx, st, rec.Batch)
	if err != nil {
		return nil, err
	}
	info.Kind, info.Account, info.Nonce, info.Error = rec.Kind, rec.Account, rec.Nonce, rec.Error
	return info, nil
}

// txInfo describes a transaction; a transaction that does not encode (it
// came decoded from the pool, the journal or the batch, so only a bug
// makes one) is an error, not a status without its raw bytes.
func txInfo(hash common.Hash, tx types.Tx, st rpc.TxStatus, batch uint64) (*rpc.TxInfo, error) {
	info := &rpc.TxInfo{Hash: hash, Status: st, Batch: batch, Tx: tx}
	if tx == nil {
		return info, nil
	}
	info.Kind = tx.Kind().String()
	var err error
	if info.Raw, err = types.EncodeTx(tx); err != nil {
		return nil, fmt.Errorf("sequencer: transaction %s does not encode: %w", hash, err)
	}
	switch t := tx.(type) {
	case types.SignedTx:
		info.Account, info.Nonce = t.Signer(), t.GetNonce()
	case *types.Deposit:
		info.Account = t.Account
	case *types.ForcedWithdraw:
		info.Account = t.Account
	case *types.Trade:
		info.Account = t.Buy.Account
	}
	return info, nil
}

// cursor: hex of the last key returned.
func parseCursor(c string, prefix []byte) ([]byte, error) {
	if c == "" {
		return nil, nil
	}
	b, err := hex.DecodeString(c)
	if err != nil || !bytes.HasPrefix(b, prefix) {
		return nil, fmt.Errorf("%w: %q", rpc.ErrBadCursor, c)
	}
	return b, nil
}

// History pages an account's sealed transactions, newest first.
func (q *Queries) History(ctx context.Context, account uint32, cursor string, limit int) (*rpc.Page[rpc.TxInfo], error) {
	page := &rpc.Page[rpc.TxInfo]{Items: []rpc.TxInfo{}}
	next, err := q.pageDesc(journal.HistoryPrefix(account), cursor, limit, func(txn *badger.Txn, it *badger.Item) (bool, error) {
		var h common.Hash
		if err := it.Value(func(b []byte) error {
			var err error
			h, err = journal.HistoryHash(b)
			return err
		}); err != nil {
			return false, err
		}
		rec, tx, err := journal.ReadTx(txn, h)
		if errors.Is(err, journal.ErrNotFound) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		info, err := q.fromRecord(h, rec, tx)
		if err != nil {
			return false, err
		}
		page.Items = append(page.Items, *info)
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	page.Next = next
	return page, nil
}

// Trades pages a market's trades, newest first.
func (q *Queries) Trades(ctx context.Context, model uint16, cursor string, limit int) (*rpc.Page[rpc.TradeInfo], error) {
	page := &rpc.Page[rpc.TradeInfo]{Items: []rpc.TradeInfo{}}
	next, err := q.pageDesc(journal.TradePrefix(model), cursor, limit, func(_ *badger.Txn, it *badger.Item) (bool, error) {
		var t *rpc.TradeInfo
		if err := it.Value(func(b []byte) error {
			var err error
			t, err = journal.DecodeTrade(b)
			return err
		}); err != nil {
			return false, err
		}
		page.Items = append(page.Items, *t)
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	page.Next = next
	return page, nil
}

// pageDesc walks the journal keys under prefix newest first, from after the
// cursor (the hex of the last key of the previous page), handing each to
// item until limit of them made an item; it returns the next page's cursor
// ("" at the end).
func (q *Queries) pageDesc(prefix []byte, cursor string, limit int, item func(*badger.Txn, *badger.Item) (bool, error)) (string, error) {
	after, err := parseCursor(cursor, prefix)
	if err != nil {
		return "", err
	}
	var next string
	err = q.s.j.View(func(txn *badger.Txn) error {
		opts := badger.DefaultIteratorOptions
		opts.Reverse = true
		it := txn.NewIterator(opts)
		defer it.Close()
		if after != nil {
			it.Seek(after)
			if it.ValidForPrefix(prefix) && bytes.Equal(it.Item().Key(), after) {
				it.Next()
			}
		} else {
			it.Seek(append(bytes.Clone(prefix), 0xff))
		}
		var last []byte
		for n := 0; it.ValidForPrefix(prefix); it.Next() {
			if n == limit {
				next = hex.EncodeToString(last)
				return nil
			}
			ok, err := item(txn, it.Item())
			if err != nil {
				return err
			}
			if ok {
				n++
				last = it.Item().KeyCopy(nil)
			}
		}
		return nil
	})
	return next, err
}

// Account is an account's soft and proven state and its open orders.
func (q *Queries) Account(ctx context.Context, id uint32) (*rpc.AccountInfo, error) {
	var info *rpc.AccountInfo
	var err error
	if derr := q.s.do(ctx, func() {
		err = q.s.soft(func(st *state.State) error {
			info, err = q.s.accountInfo(st, id, true)
			return err
		})
	}); derr != nil {
		return nil, derr
	}
	if err != nil {
		return nil, err
	}
	// the proven state: the last batch verified on L1
	pst, release, err := q.s.db.View(q.s.verified.Load())
	if err != nil {
		return info, nil // pruned or not yet readable: soft only
	}
	defer release()
	if acc, err := pst.Account(id); err == nil {
		info.ProvenNonce = acc.Nonce
	}
	for i := range info.Balances {
		b := &info.Balances[i]
		v, err := assetAmount(pst, id, types.AssetID(b.Asset))
		if err == nil {
			b.Proven = *v
		}
	}
	return info, nil
}

// accountInfo reads an account (loop only: st is the soft state).
func (s *Sequencer) accountInfo(st *state.State, id uint32, orders bool) (*rpc.AccountInfo, error) {
	acc, err := st.Account(id)
	if err != nil {
		return nil, err
	}
	if acc.PubKey.IsZero() {
		return nil, fmt.Errorf("%w: %d", types.ErrAccountNotFound, id)
	}
	info := &rpc.AccountInfo{ID: id, L1Address: acc.L1Address, Nonce: acc.Nonce,
		PubKey:   [2]string{"0x" + acc.PubKey.X.Text(16), "0x" + acc.PubKey.Y.Text(16)},
		Balances: []rpc.Balance{}, Orders: []rpc.OpenOrder{}}
	var assets []types.AssetID
	for t := 0; t < s.cfg.Tokens() && t < 1<<uint(s.cfg.Params.BalanceDepth); t++ {
		assets = append(assets, types.BaseAsset(uint16(t)))
	}
	models := make([]uint16, 0, len(s.models))
	for m := range s.models {
		models = append(models, m)
	}
	sort.Slice(models, func(i, j int) bool { return models[i] < models[j] })
	for _, m := range models {
		assets = append(assets, types.ShareAsset(m), types.CreditAsset(m))
	}
	for _, a := range assets {
		v, err := assetAmount(st, id, a)
		if err != nil {
			return nil, err
		}
		if v.IsZero() && a != types.ETH {
			continue
		}
		info.Balances = append(info.Balances, rpc.Balance{Asset: uint32(a), Name: a.String(), Soft: *v})
	}
	if orders {
		for _, m := range models {
			b := s.books[m]
			if b == nil {
				continue
			}
			for _, o := range b.Orders(id) {
				side := "buy"
				if o.Order.Side == types.Sell {
					side = "sell"
				}
				info.Orders = append(info.Orders, rpc.OpenOrder{Model: m, OrderID: o.Order.OrderID, Side: side,
					Price: o.Order.Price, Amount: o.Order.Amount, Remaining: o.Remaining, ValidUntil: o.Order.ValidUntil})
			}
		}
	}
	return info, nil
}

func assetAmount(st *state.State, id uint32, a types.AssetID) (*uint256.Int, error) {
	switch a.Kind() {
	case types.AssetBase:
		return st.Balance(id, a.Index())
	default:
		p, err := st.Position(id, a.Index())
		if err != nil {
			return nil, err
		}
		if a.Kind() == types.AssetShare {
			return uint256.NewInt(p.Shares), nil
		}
		return uint256.NewInt(p.Credits), nil
	}
}

// AccountByAddress lists the accounts bound to an L1 address by the
// deposits applied so far, the open batch's included: the soft state, the
// one Account answers from, so an account is found as soon as its deposit
// is reported included. Ascending, each once.
func (q *Queries) AccountByAddress(ctx context.Context, l1 common.Address) ([]uint32, error) {
	// The loop's view first: the open batch's deposits and those of sealed
	// batches whose journal write is not yet durable (both change only in
	// the loop, or after that write). A deposit leaves them only once its
	// address entry is durable, so the journal, read after, holds every
	// deposit they no longer do.
	var out []uint32
	bound := func(tx types.Tx) {
		if d, ok := tx.(*types.Deposit); ok && d.L1Address == l1 {
			out = append(out, d.Account)
		}
	}
	if err := q.s.do(ctx, func() {
		for _, o := range q.s.openList {
			bound(o.tx)
		}
		q.s.sealing.Range(func(_, v any) bool {
			bound(v.(sealingTx).tx)
			return true
		})
	}); err != nil {
		return nil, err
	}
	err := q.s.j.View(func(txn *badger.Txn) error {
		ids, err := journal.ReadAccountsByAddress(txn, l1)
		out = append(out, ids...)
		return err
	})
	if err != nil {
		return nil, err
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// Markets lists every model's market.
func (q *Queries) Markets(ctx context.Context) ([]rpc.Market, error) {
	out := []rpc.Market{}
	err := q.eachModel(ctx, func(m uint16, md *state.Model) {
		b := q.s.book(m)
		mk := rpc.Market{Model: m, QuoteToken: md.QuoteToken, Orders: b.Len(), MakerFeeBips: q.s.cfg.MakerFeeBips, TakerFeeBips: q.s.cfg.TakerFeeBips}
		if p, ok := b.Best(types.Buy); ok {
			mk.BestBid = &p
		}
		if p, ok := b.Best(types.Sell); ok {
			mk.BestAsk = &p
		}
		out = append(out, mk)
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Model < out[j].Model })
	return out, nil
}

// eachModel calls f, in the loop, for every registered model with its
// soft state.
func (q *Queries) eachModel(ctx context.Context, f func(m uint16, md *state.Model)) error {
	var err error
	if derr := q.s.do(ctx, func() {
		err = q.s.soft(func(st *state.State) error {
			for m := range q.s.models {
				md, err := st.Model(m)
				if err != nil {
					return err
				}
				f(m, md)
			}
			return nil
		})
	}); derr != nil {
		return derr
	}
	return err
}

// Book is a market's top depth levels.
func (q *Queries) Book(ctx context.Context, model uint16, depth int) (*rpc.BookSnapshot, error) {
	var out *rpc.BookSnapshot
	var err error
	derr := q.s.do(ctx, func() {
		if !q.s.models[model] {
			err = errNoMarket(model)
			return
		}
		out = toSnapshot(model, q.s.book(model).Depth(min(max(depth, 1), MaxDepth)))
	})
	if derr != nil {
		return nil, derr
	}
	return out, err
}

// Models lists the registered models (soft state).
func (q *Queries) Models(ctx context.Context) ([]rpc.ModelInfo, error) {
	out := []rpc.ModelInfo{}
	if err := q.eachModel(ctx, func(m uint16, md *state.Model) { out = append(out, modelInfo(m, md)) }); err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// Model is one model (soft state).
func (q *Queries) Model(ctx context.Context, id uint16) (*rpc.ModelInfo, error) {
	var out *rpc.ModelInfo
	var err error
	derr := q.s.do(ctx, func() {
		if !q.s.models[id] {
			err = fmt.Errorf("%w: %d", types.ErrModelNotFound, id)
			return
		}
		err = q.s.soft(func(st *state.State) error {
			md, err := st.Model(id)
			if err != nil {
				return err
			}
			mi := modelInfo(id, md)
			out = &mi
			return nil
		})
	})
	if derr != nil {
		return nil, derr
	}
	return out, err
}

func modelInfo(id uint16, m *state.Model) rpc.ModelInfo {
	return rpc.ModelInfo{ID: id, DAO: m.DAO, QuoteToken: m.QuoteToken, HolderBps: m.HolderBps, Supply: m.Supply,
		MaxSupply: m.MaxSupply, CreditPrice: m.CreditPrice, Treasury: m.Treasury,
		Weights: "0x" + m.Weights.Text(16), Metadata: "0x" + m.Metadata.Text(16)}
}

// Withdrawal is an L2 withdrawal's status.
func (q *Queries) Withdrawal(ctx context.Context, hash common.Hash) (*rpc.WithdrawalInfo, error) {
	info, err := q.Tx(ctx, hash)
	if errors.Is(err, rpc.ErrTxNotFound) {
		return nil, fmt.Errorf("%w: %s", rpc.ErrWithdrawalNotFound, hash)
	}
	if err != nil {
		return nil, err
	}
	w, ok := info.Tx.(*types.Withdraw)
	if !ok {
		return nil, fmt.Errorf("%w: %s is a %s", rpc.ErrWithdrawalNotFound, hash, info.Kind)
	}
	return &rpc.WithdrawalInfo{Hash: hash, Account: w.Account, Token: w.Token, Amount: w.Amount, To: w.To,
		Status: info.Status, Batch: info.Batch, Claimable: info.Status == rpc.TxFinalized}, nil
}

// Priority is an L1 request's status.
func (q *Queries) Priority(ctx context.Context, id uint64) (*rpc.PriorityInfo, error) {
	var pi *rpc.PriorityInfo
	var perr error
	if err := q.s.do(ctx, func() {
		for _, r := range q.s.prio {
			if r.ID == id {
				tx, err := types.DecodeTx(r.Raw)
				if err != nil {
					perr = fmt.Errorf("%w: priority request %d: %w", journal.ErrCorrupt, id, err)
					return
				}
				pi = priorityInfo(id, r.L1Tx, tx, rpc.TxPending, 0)
			}
		}
		for _, o := range q.s.openList {
			if prioID(o.tx) == id && isPriority(o.tx) {
				pi = priorityInfo(id, o.hash, o.tx, rpc.TxIncluded, q.s.open.Number())
			}
		}
	}); err != nil {
		return nil, err
	}
	if pi != nil || perr != nil {
		return pi, perr
	}
	var rec *journal.PriorityRecord
	var tx types.Tx
	err := q.s.j.View(func(txn *badger.Txn) error {
		var err error
		rec, tx, err = journal.ReadPriority(txn, id)
		return err
	})
	if errors.Is(err, journal.ErrNotFound) {
		return nil, fmt.Errorf("%w: %d", rpc.ErrPriorityNotFound, id)
	}
	if err != nil {
		return nil, fmt.Errorf("sequencer: priority request %d: %w", id, err)
	}
	return priorityInfo(id, rec.L1Tx, tx, q.status(rec.Batch), rec.Batch), nil
}

func isPriority(tx types.Tx) bool {
	switch tx.(type) {
	case *types.Deposit, *types.ForcedWithdraw:
		return true
	}
	return false
}

func prioID(tx types.Tx) uint64 {
	switch t := tx.(type) {
	case *types.Deposit:
		return t.PriorityID
	case *types.ForcedWithdraw:
		return t.PriorityID
	}
	return 0
}

func priorityInfo(id uint64, l1Tx common.Hash, tx types.Tx, st rpc.TxStatus, batch uint64) *rpc.PriorityInfo {
	pi := &rpc.PriorityInfo{ID: id, L1Tx: l1Tx, Status: st, Batch: batch}
	fillPriority(pi, tx)
	return pi
}

func fillPriority(pi *rpc.PriorityInfo, tx types.Tx) {
	switch t := tx.(type) {
	case *types.Deposit:
		pi.Kind, pi.Account, pi.Token, pi.Amount, pi.Refused = "Deposit", t.Account, t.Token, t.Amount, t.Refused
	case *types.ForcedWithdraw:
		pi.Kind, pi.Account, pi.Token, pi.Amount = "ForcedWithdraw", t.Account, t.Token, t.Amount
	}
}

// PoolStatus exposes the pool's view of a hash (tests).
func (q *Queries) PoolStatus(h common.Hash) (mempool.Status, error) { return q.s.pool.Status(h) }
