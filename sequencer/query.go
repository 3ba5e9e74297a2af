package sequencer

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"

	"github.com/dgraph-io/badger/v4"
	"github.com/ethereum/go-ethereum/common"
	"github.com/holiman/uint256"

	"github.com/modex/modex/rpc"
	"github.com/modex/modex/sequencer/mempool"
	"github.com/modex/modex/state"
	"github.com/modex/modex/types"
)

var bg = context.Background()

func errNoMarket(model uint16) error { return fmt.Errorf("%w: %d", rpc.ErrMarketNotFound, model) }

// status is a sealed transaction's status from the pipeline heads.
func (s *Sequencer) status(batch uint64) rpc.TxStatus {
	switch {
	case batch == 0:
		return rpc.TxPending
	case batch <= s.verified.Load():
		return rpc.TxFinalized
	case batch <= s.proven.Load():
		return rpc.TxProven
	}
	return rpc.TxIncluded
}

// Tx is a transaction's status: in the open batch, in the pool, or recorded.
func (s *Sequencer) Tx(ctx context.Context, hash common.Hash) (*rpc.TxInfo, error) {
	var info *rpc.TxInfo
	if err := s.do(ctx, func() {
		if i, ok := s.openTxs[hash]; ok {
			o := s.openList[i]
			info = txInfo(hash, o.tx, rpc.TxIncluded, s.open.Number())
		}
	}); err != nil {
		return nil, err
	}
	if info != nil {
		return info, nil
	}
	if v, ok := s.sealing.Load(hash); ok {
		st := v.(sealingTx)
		return txInfo(hash, st.tx, rpc.TxIncluded, st.batch), nil
	}
	if tx, ok := s.pool.Get(hash); ok {
		return txInfo(hash, tx, rpc.TxPending, 0), nil
	}
	var rec record
	var found bool
	err := s.j.View(func(txn *badger.Txn) error {
		var err error
		found, err = getJSON(txn, key(pfxRecord, hash), &rec)
		return err
	})
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, fmt.Errorf("%w: %s", rpc.ErrTxNotFound, hash)
	}
	return s.fromRecord(hash, &rec), nil
}

func (s *Sequencer) fromRecord(hash common.Hash, rec *record) *rpc.TxInfo {
	tx, _ := types.DecodeTx(rec.Raw)
	st := s.status(rec.Batch)
	if rec.Error != nil {
		st = rpc.TxFailed
	}
	info := txInfo(hash, tx, st, rec.Batch)
	info.Kind, info.Account, info.Nonce, info.Error = rec.Kind, rec.Account, rec.Nonce, rec.Error
	return info
}

func txInfo(hash common.Hash, tx types.Tx, st rpc.TxStatus, batch uint64) *rpc.TxInfo {
	info := &rpc.TxInfo{Hash: hash, Status: st, Batch: batch, Tx: tx}
	if tx == nil {
		return info
	}
	info.Kind = tx.Kind().String()
	info.Raw, _ = types.EncodeTx(tx)
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
	return info
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
func (s *Sequencer) History(ctx context.Context, account uint32, cursor string, limit int) (*rpc.Page[rpc.TxInfo], error) {
	page := &rpc.Page[rpc.TxInfo]{Items: []rpc.TxInfo{}}
	next, err := s.pageDesc(key(pfxHistory, account), cursor, limit, func(txn *badger.Txn, it *badger.Item) (bool, error) {
		var h common.Hash
		if err := it.Value(func(b []byte) error { h = common.BytesToHash(b); return nil }); err != nil {
			return false, err
		}
		var rec record
		if ok, err := getJSON(txn, key(pfxRecord, h), &rec); err != nil || !ok {
			return false, err
		}
		page.Items = append(page.Items, *s.fromRecord(h, &rec))
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	page.Next = next
	return page, nil
}

// Trades pages a market's trades, newest first.
func (s *Sequencer) Trades(ctx context.Context, model uint16, cursor string, limit int) (*rpc.Page[rpc.TradeInfo], error) {
	page := &rpc.Page[rpc.TradeInfo]{Items: []rpc.TradeInfo{}}
	next, err := s.pageDesc(key(pfxTrade, model), cursor, limit, func(_ *badger.Txn, it *badger.Item) (bool, error) {
		var t rpc.TradeInfo
		if err := it.Value(func(b []byte) error { return jsonUnmarshal(b, &t) }); err != nil {
			return false, err
		}
		page.Items = append(page.Items, t)
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
func (s *Sequencer) pageDesc(prefix []byte, cursor string, limit int, item func(*badger.Txn, *badger.Item) (bool, error)) (string, error) {
	after, err := parseCursor(cursor, prefix)
	if err != nil {
		return "", err
	}
	var next string
	err = s.j.View(func(txn *badger.Txn) error {
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
func (s *Sequencer) Account(ctx context.Context, id uint32) (*rpc.AccountInfo, error) {
	var info *rpc.AccountInfo
	var err error
	if derr := s.do(ctx, func() {
		err = s.soft(func(st *state.State) error {
			info, err = s.accountInfo(st, id, true)
			return err
		})
	}); derr != nil {
		return nil, derr
	}
	if err != nil {
		return nil, err
	}
	// the proven state: the last batch verified on L1
	pst, release, err := s.db.View(s.verified.Load())
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

// AccountByAddress lists the accounts bound to an L1 address (sealed deposits).
func (s *Sequencer) AccountByAddress(ctx context.Context, l1 common.Address) ([]uint32, error) {
	prefix := key(pfxAddress, l1)
	out := []uint32{}
	err := s.j.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{PrefetchValues: false})
		defer it.Close()
		for it.Seek(prefix); it.ValidForPrefix(prefix); it.Next() {
			k := it.Item().Key()
			out = append(out, binary.BigEndian.Uint32(k[len(k)-4:]))
		}
		return nil
	})
	return out, err
}

// Markets lists every model's market.
func (s *Sequencer) Markets(ctx context.Context) ([]rpc.Market, error) {
	out := []rpc.Market{}
	var err error
	derr := s.do(ctx, func() {
		err = s.soft(func(st *state.State) error {
			for m := range s.models {
				md, err := st.Model(m)
				if err != nil {
					return err
				}
				b := s.book(m)
				mk := rpc.Market{Model: m, QuoteToken: md.QuoteToken, Orders: b.Len(), MakerFeeBips: s.cfg.MakerFeeBips, TakerFeeBips: s.cfg.TakerFeeBips}
				if p, ok := b.Best(types.Buy); ok {
					mk.BestBid = &p
				}
				if p, ok := b.Best(types.Sell); ok {
					mk.BestAsk = &p
				}
				out = append(out, mk)
			}
			return nil
		})
	})
	if derr != nil {
		return nil, derr
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Model < out[j].Model })
	return out, err
}

// Book is a market's top depth levels.
func (s *Sequencer) Book(ctx context.Context, model uint16, depth int) (*rpc.BookSnapshot, error) {
	var out *rpc.BookSnapshot
	var err error
	derr := s.do(ctx, func() {
		if !s.models[model] {
			err = errNoMarket(model)
			return
		}
		out = toSnapshot(model, s.book(model).Depth(min(max(depth, 1), MaxDepth)))
	})
	if derr != nil {
		return nil, derr
	}
	return out, err
}

// Models lists the registered models (soft state).
func (s *Sequencer) Models(ctx context.Context) ([]rpc.ModelInfo, error) {
	out := []rpc.ModelInfo{}
	var err error
	derr := s.do(ctx, func() {
		err = s.soft(func(st *state.State) error {
			for m := range s.models {
				md, err := st.Model(m)
				if err != nil {
					return err
				}
				out = append(out, modelInfo(m, md))
			}
			return nil
		})
	})
	if derr != nil {
		return nil, derr
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, err
}

// Model is one model (soft state).
func (s *Sequencer) Model(ctx context.Context, id uint16) (*rpc.ModelInfo, error) {
	var out *rpc.ModelInfo
	var err error
	derr := s.do(ctx, func() {
		if !s.models[id] {
			err = fmt.Errorf("%w: %d", types.ErrModelNotFound, id)
			return
		}
		err = s.soft(func(st *state.State) error {
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
func (s *Sequencer) Withdrawal(ctx context.Context, hash common.Hash) (*rpc.WithdrawalInfo, error) {
	info, err := s.Tx(ctx, hash)
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
func (s *Sequencer) Priority(ctx context.Context, id uint64) (*rpc.PriorityInfo, error) {
	var pi *rpc.PriorityInfo
	if err := s.do(ctx, func() {
		for _, r := range s.prio {
			if r.ID == id {
				pi = priorityInfo(r, rpc.TxPending, 0)
			}
		}
		for _, o := range s.openList {
			if prioID(o.tx) == id && isPriority(o.tx) {
				pi = priorityInfo(PriorityRequest{ID: id, L1Tx: o.hash}, rpc.TxIncluded, s.open.Number())
				fillPriority(pi, o.tx)
			}
		}
	}); err != nil {
		return nil, err
	}
	if pi != nil {
		return pi, nil
	}
	var rec priorityRecord
	var found bool
	if err := s.j.View(func(txn *badger.Txn) error {
		var err error
		found, err = getJSON(txn, key(pfxPrioDone, id), &rec)
		return err
	}); err != nil {
		return nil, err
	}
	if !found {
		return nil, fmt.Errorf("%w: %d", rpc.ErrPriorityNotFound, id)
	}
	tx, err := types.DecodeTx(rec.Raw)
	if err != nil {
		return nil, err
	}
	pi = priorityInfo(PriorityRequest{ID: id, L1Tx: rec.L1Tx}, s.status(rec.Batch), rec.Batch)
	fillPriority(pi, tx)
	return pi, nil
}

// priorityRecord is a sealed priority request (key P/<id>).
type priorityRecord struct {
	Batch uint64      `json:"batch"`
	L1Tx  common.Hash `json:"l1Tx"`
	Raw   []byte      `json:"raw"`
}

var pfxPrioDone = []byte("P/")

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

func priorityInfo(r PriorityRequest, st rpc.TxStatus, batch uint64) *rpc.PriorityInfo {
	pi := &rpc.PriorityInfo{ID: r.ID, L1Tx: r.L1Tx, Status: st, Batch: batch}
	if tx, err := types.DecodeTx(r.Raw); err == nil {
		fillPriority(pi, tx)
	}
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

// PoolLen is the number of pooled transactions.
func (s *Sequencer) PoolLen() int { return s.pool.Len() }

// PoolStatus exposes the pool's view of a hash (tests).
func (s *Sequencer) PoolStatus(h common.Hash) (mempool.Status, error) { return s.pool.Status(h) }
