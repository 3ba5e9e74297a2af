package node

import (
	"context"
	"fmt"
	"maps"
	"strings"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/event"
	"github.com/holiman/uint256"

	"github.com/modex/modex/bridge"
	"github.com/modex/modex/rpc"
	"github.com/modex/modex/sequencer/mempool"
	"github.com/modex/modex/types"
)

var _ rpc.Backend = (*Node)(nil)

func (n *Node) SubmitTx(ctx context.Context, raw []byte) (common.Hash, error) {
	if err := n.halted(); err != nil {
		return common.Hash{}, err
	}
	return n.seq.SubmitTx(ctx, raw)
}

func (n *Node) halted() error {
	if err := n.haltReason(); err != nil {
		return fmt.Errorf("%w: %v", rpc.ErrPipelineHalted, err)
	}
	return nil
}

// haltReason is why the sequencer (its journal or tree stage) or the
// pipeline halted, or nil.
func (n *Node) haltReason() error {
	if err := n.seq.Halted(); err != nil {
		return err
	}
	return n.pipe.Halted()
}

func (n *Node) Tx(ctx context.Context, h common.Hash) (*rpc.TxInfo, error) { return n.q.Tx(ctx, h) }

func (n *Node) History(ctx context.Context, account uint32, cursor string, limit int) (*rpc.Page[rpc.TxInfo], error) {
	return n.q.History(ctx, account, cursor, limit)
}

func (n *Node) Account(ctx context.Context, id uint32) (*rpc.AccountInfo, error) {
	return n.q.Account(ctx, id)
}

func (n *Node) AccountByAddress(ctx context.Context, a common.Address) ([]uint32, error) {
	return n.q.AccountByAddress(ctx, a)
}

func (n *Node) PlaceOrder(ctx context.Context, raw []byte) (*rpc.OrderResult, error) {
	if err := n.halted(); err != nil {
		return nil, err
	}
	return n.seq.PlaceOrder(ctx, raw)
}

func (n *Node) Markets(ctx context.Context) ([]rpc.Market, error) { return n.q.Markets(ctx) }

func (n *Node) Book(ctx context.Context, model uint16, depth int) (*rpc.BookSnapshot, error) {
	return n.q.Book(ctx, model, depth)
}

func (n *Node) Trades(ctx context.Context, model uint16, cursor string, limit int) (*rpc.Page[rpc.TradeInfo], error) {
	return n.q.Trades(ctx, model, cursor, limit)
}

func (n *Node) Models(ctx context.Context) ([]rpc.ModelInfo, error) { return n.q.Models(ctx) }

func (n *Node) Model(ctx context.Context, id uint16) (*rpc.ModelInfo, error) {
	return n.q.Model(ctx, id)
}

// Assets lists the base tokens registered on the bridge, each with its L1
// symbol and decimals, read from the token when the node first lists it
// (ERC-20 metadata does not change; a token without it is "token:<id>").
func (n *Node) Assets(ctx context.Context) ([]rpc.Asset, error) {
	eth := uint8(18)
	count := int(n.tokens.Load())
	n.assetsMu.Lock()
	defer n.assetsMu.Unlock()
	if len(n.assets) == 0 {
		n.assets = []rpc.Asset{{ID: 0, Symbol: "ETH", Decimals: &eth}}
	}
	for id := len(n.assets); id < count; id++ {
		addr, err := n.c.TokenAddress(ctx, uint16(id))
		if err != nil {
			return nil, err
		}
		meta, err := bridge.ReadTokenMeta(ctx, n.cfg.L1, addr)
		if err != nil {
			return nil, err // a transport error: read it again next time
		}
		a := rpc.Asset{ID: uint16(id), Address: addr, Symbol: meta.Symbol, Decimals: meta.Decimals}
		if a.Symbol == "" {
			a.Symbol = fmt.Sprintf("token:%d", id)
		}
		n.assets = append(n.assets, a)
	}
	return append([]rpc.Asset(nil), n.assets[:min(count, len(n.assets))]...), nil
}

// maxFee is the largest fee a transaction can carry: Fee16-packable and
// below 2^96 (docs/protocol.md §5).
var maxFee = func() *uint256.Int {
	var m uint256.Int
	m.Lsh(uint256.NewInt(1), types.AmountBits).SubUint64(&m, 1)
	return types.Fee16.RoundDown(&m)
}()

// FeeQuote is the fee rule the sequencer enforces for a kind: the signer
// sets the fee, the pool accepts any Fee16-exact fee below 2^96, 0
// included (mempool.Add), in the kind's fee token; a replacement must
// outbid by mempool.ReplaceBumpPercent. A Trade pays the books' fee bips.
func (n *Node) FeeQuote(ctx context.Context, kind string) (*rpc.FeeQuote, error) {
	for _, k := range types.AllKinds() {
		if !strings.EqualFold(k.String(), kind) {
			continue
		}
		q := &rpc.FeeQuote{Kind: k.String()}
		zero, err := types.NewTx(k)
		if err != nil {
			return nil, err
		}
		if signed, ok := zero.(types.SignedTx); ok { // the pool's kinds; a Trade pays bips, priority operations nothing
			q.Charged, q.Token, q.Format = true, signed.FeeField(), "Fee16"
			q.MaxFee = new(uint256.Int).Set(maxFee)
			q.ReplaceBumpPercent = mempool.ReplaceBumpPercent
		}
		if k == types.KindTrade {
			q.MakerFeeBips, q.TakerFeeBips = n.cfg.MakerFeeBips, n.cfg.TakerFeeBips
		}
		return q, nil
	}
	return nil, fmt.Errorf("%w: %q", rpc.ErrBadKindName, kind)
}

// Batch is a sealed batch with its pipeline stage.
func (n *Node) Batch(ctx context.Context, num uint64) (*rpc.BatchInfo, error) {
	if num == 0 || num > n.db.Head() {
		if num > 0 && num <= n.seq.Sealed() { // sealed; the tree stage has not committed it yet
			if info := n.q.SealedBatch(num); info != nil {
				return info, nil
			}
		}
		return nil, fmt.Errorf("%w: %d", rpc.ErrBatchNotFound, num)
	}
	h, err := n.db.Header(num)
	if err != nil {
		return nil, fmt.Errorf("%w: %d: %v", rpc.ErrBatchNotFound, num, err)
	}
	txs, err := n.db.Txs(num)
	if err != nil {
		return nil, err
	}
	st, l1Tx, ms, err := n.pipe.StageOf(num)
	if err != nil {
		return nil, err
	}
	return &rpc.BatchInfo{Number: h.Number, Family: h.Family.String(), Status: st, Timestamp: h.Timestamp, Txs: len(txs),
		PrevRoot: "0x" + h.PrevRoot.Text(16), NewRoot: "0x" + h.NewRoot.Text(16), FirstPriority: h.FirstPriority,
		PriorityCount: h.PriorityCount, Commitment: "0x" + h.PubdataCommitment.Text(16), L1Tx: l1Tx, ProveMillis: ms}, nil
}

func (n *Node) SyncStatus(ctx context.Context) (*rpc.SyncStatus, error) {
	proven, sent, verified := n.pipe.Heads()
	next, err := n.seq.PriorityNext(ctx)
	if err != nil {
		return nil, err
	}
	st := &rpc.SyncStatus{Sealed: n.seq.Sealed(), Committed: n.seq.Committed(), Proven: proven, Submitted: sent, Verified: verified,
		L1Head: n.l1Head.Load(), PriorityIn: next, Sequencing: !n.seq.Paused(), Clock: n.seq.Now()}
	if err := n.haltReason(); err != nil {
		st.Halted = err.Error()
	}
	if h := n.db.Head(); h > 0 {
		if hd, err := n.db.Header(h); err == nil {
			st.PriorityDone = hd.FirstPriority + uint64(hd.PriorityCount)
		}
	}
	return st, nil
}

// Contracts are the bridge and its verifier per batch family (by family
// name; a family without a verifier is absent), read from the bridge once.
func (n *Node) Contracts(ctx context.Context) (*rpc.Contracts, error) {
	n.verifiersMu.Lock()
	defer n.verifiersMu.Unlock()
	if n.verifiers == nil {
		m := map[string]common.Address{}
		for _, f := range types.AllFamilies() {
			addr, err := n.c.Verifier(ctx, f)
			if err != nil {
				return nil, err
			}
			if addr != (common.Address{}) {
				m[f.String()] = addr
			}
		}
		n.verifiers = m
	}
	return &rpc.Contracts{ChainID: n.d.ChainID, Bridge: n.d.Bridge, Verifiers: maps.Clone(n.verifiers), InsecureDevKeys: n.cfg.InsecureDevKeys}, nil
}

func (n *Node) Priority(ctx context.Context, id uint64) (*rpc.PriorityInfo, error) {
	return n.q.Priority(ctx, id)
}

func (n *Node) Withdrawal(ctx context.Context, h common.Hash) (*rpc.WithdrawalInfo, error) {
	return n.q.Withdrawal(ctx, h)
}

func (n *Node) StartSequencing(ctx context.Context) error {
	if err := n.seq.Resume(); err != nil {
		return err
	}
	n.log.Info("sequencing started by the operator")
	return nil
}

func (n *Node) StopSequencing(ctx context.Context) error {
	n.seq.Pause()
	n.log.Warn("sequencing stopped by the operator")
	return nil
}

func (n *Node) Health() rpc.Health {
	_, _, verified := n.pipe.Heads()
	h := rpc.Health{OK: true, Version: Version, Sealed: n.seq.Sealed(), Verified: verified}
	if err := n.haltReason(); err != nil {
		h.OK, h.Halted = false, err.Error()
	}
	return h
}

func (n *Node) SubscribeBatches(ch chan<- *rpc.BatchInfo) event.Subscription {
	return n.q.SubscribeBatches(ch)
}

func (n *Node) SubscribeTxs(ch chan<- *rpc.TxInfo) event.Subscription { return n.q.SubscribeTxs(ch) }

func (n *Node) SubscribeAccounts(ch chan<- *rpc.AccountUpdate) event.Subscription {
	return n.q.SubscribeAccounts(ch)
}

func (n *Node) SubscribeBook(model uint16, ch chan<- *rpc.BookDelta) (*rpc.BookSnapshot, event.Subscription, error) {
	return n.q.SubscribeBook(model, ch)
}

func (n *Node) SubscribeTrades(ch chan<- *rpc.TradeInfo) event.Subscription {
	return n.q.SubscribeTrades(ch)
}

func (n *Node) SubscribeRedemptions(ch chan<- *rpc.Redemption) event.Subscription {
	return n.q.SubscribeRedemptions(ch)
}
