package bridge

import (
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"sync"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	ethtypes "github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/modex/modex/prover"
	"github.com/modex/modex/state"
)

// The batch submitter sends commitBatch (§11.3) for one batch at a time and
// never sends a second transaction for a batch whose commit already landed
// (SECURITY item 20). Every transaction is persisted before it is sent; every
// step first asks the chain whether the batch is already there, then whether a
// persisted transaction of it was mined, and only then sends anything. All the
// transactions of one batch share one nonce (a stuck one is replaced, never
// duplicated), so at most one of them can be mined.

// Errors of Step.
var (
	// ErrNotNext: an earlier batch has not landed on L1 yet.
	ErrNotNext = errors.New("bridge: submitter: an earlier batch has not landed")
	// ErrForeignBatch: L1 holds this batch number with another root.
	ErrForeignBatch = errors.New("bridge: submitter: L1 holds another batch with this number")
	// ErrRejected: the commit would revert (nothing was sent) or a sent commit
	// reverted. The error wraps the *ContractError where the revert data is
	// known.
	ErrRejected = errors.New("bridge: submitter: commit rejected")
	// ErrFeeCapReached: a stuck transaction cannot be replaced without
	// exceeding MaxFeeCap; it stays pending as it is.
	ErrFeeCapReached = errors.New("bridge: submitter: fee cap reached")
)

// SubmitterConfig configures a Submitter.
type SubmitterConfig struct {
	Key     *ecdsa.PrivateKey // the operator's L1 key
	ChainID *big.Int          // nil: asked from the endpoint
	// BumpPercent is by how much a replacement raises both the tip and the fee
	// cap of the transaction it replaces (geth's pool requires 10). Default 25.
	BumpPercent uint64
	// StuckBlocks: a sent transaction not mined after this many new blocks is
	// replaced with bumped fees. Default 3.
	StuckBlocks uint64
	// MaxFeeCap is the fee cap no transaction ever exceeds (required).
	MaxFeeCap *big.Int
	// FeeCap, if set, gives the fees of a new transaction (and the floor of a
	// replacement's) instead of the endpoint's suggested tip and
	// 2·baseFee + tip.
	FeeCap func(ctx context.Context) (tip, feeCap *big.Int, err error)
}

// State is what a Step did or found.
type State int

const (
	Sent     State = iota + 1 // a new commit transaction was sent
	Pending                   // the commit is in flight; nothing new was signed
	Replaced                  // the stuck commit was replaced (same nonce, higher fees)
	Landed                    // L1 holds the batch with this root
)

func (s State) String() string {
	switch s {
	case Sent:
		return "sent"
	case Pending:
		return "pending"
	case Replaced:
		return "replaced"
	case Landed:
		return "landed"
	}
	return fmt.Sprintf("state(%d)", int(s))
}

// Status is the result of a Step.
type Status struct {
	State State
	Batch uint64
	// Tx and Nonce are the submitter's latest transaction for the batch (zero
	// when the submitter holds none, e.g. a batch landed by another hand).
	Tx    common.Hash
	Nonce uint64
	// Receipt is the successful commit's receipt when State is Landed and the
	// transaction that landed is one of the submitter's; nil otherwise.
	Receipt *ethtypes.Receipt
}

// Submitter commits batches to the bridge. It is safe for concurrent use (one
// Step at a time); run one Submitter per operator key and store.
type Submitter struct {
	l1     L1
	c      *Contract
	cfg    SubmitterConfig
	st     Store
	from   common.Address
	signer ethtypes.Signer
	key    string

	mu sync.Mutex
	// beforeSend, if set (tests), runs after a transaction was persisted and
	// before it is sent; an error stops the send, as a crash would.
	beforeSend func(tx *ethtypes.Transaction) error
}

// sentTx is one signed commit of a batch, persisted before it was sent.
type sentTx struct {
	Hash common.Hash `json:"hash"`
	Raw  []byte      `json:"raw"`
	Root common.Hash `json:"root"` // the batch root it commits
}

// record is the submitter's in-flight (or last) batch: every transaction it
// signed for it, all with the same nonce, oldest first.
type record struct {
	Batch     uint64      `json:"batch"`
	Root      common.Hash `json:"root"`
	Nonce     uint64      `json:"nonce"`
	Txs       []sentTx    `json:"txs"`
	SentBlock uint64      `json:"sentBlock"` // head when the latest tx was signed
}

func (r *record) latest() sentTx { return r.Txs[len(r.Txs)-1] }

// NewSubmitter returns a submitter that signs with cfg.Key and keeps its
// transactions in st (under a key of its own address).
func NewSubmitter(l1 L1, c *Contract, cfg SubmitterConfig, st Store) (*Submitter, error) {
	if cfg.Key == nil {
		return nil, errors.New("bridge: submitter: no key")
	}
	if cfg.MaxFeeCap == nil || cfg.MaxFeeCap.Sign() <= 0 {
		return nil, errors.New("bridge: submitter: MaxFeeCap is required")
	}
	if cfg.BumpPercent == 0 {
		cfg.BumpPercent = 25
	}
	if cfg.BumpPercent < 10 {
		return nil, fmt.Errorf("bridge: submitter: BumpPercent %d below the 10 geth requires", cfg.BumpPercent)
	}
	if cfg.StuckBlocks == 0 {
		cfg.StuckBlocks = 3
	}
	if st == nil {
		return nil, errors.New("bridge: submitter: no store")
	}
	if cfg.ChainID == nil {
		id, err := l1.ChainID(context.Background())
		if err != nil {
			return nil, fmt.Errorf("bridge: submitter: chain id: %w", err)
		}
		cfg.ChainID = id
	}
	from := crypto.PubkeyToAddress(cfg.Key.PublicKey)
	return &Submitter{
		l1: l1, c: c, cfg: cfg, st: st, from: from,
		signer: ethtypes.LatestSignerForChainID(cfg.ChainID),
		key:    "submitter/" + c.Address.Hex() + "/" + from.Hex(),
	}, nil
}

// Address is the operator address the submitter sends from.
func (s *Submitter) Address() common.Address { return s.from }

// Submit runs Step every poll until the batch has landed, for endpoints that
// mine by themselves. The receipt is nil if another hand committed the batch.
func (s *Submitter) Submit(ctx context.Context, h *state.Header, pubdata []byte, proof *prover.Proof, poll time.Duration) (*ethtypes.Receipt, error) {
	for {
		st, err := s.Step(ctx, h, pubdata, proof)
		if err != nil && !errors.Is(err, ErrFeeCapReached) {
			return nil, err
		}
		if err == nil && st.State == Landed {
			return st.Receipt, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(poll):
		}
	}
}

// Step does one non-blocking step of committing batch h.Number:
//
//  1. L1's lastBatch ≥ n: Landed if batchRoot(n) is h.NewRoot, else
//     ErrForeignBatch. Nothing is ever sent for a batch L1 holds.
//  2. The store holds transactions for n: a mined one gives Landed (or
//     ErrRejected if it reverted); otherwise the latest is re-broadcast if the
//     node forgot it (Pending) or, after StuckBlocks blocks, replaced with the
//     same nonce and bumped fees (Replaced).
//  3. Otherwise (ErrNotNext unless lastBatch = n−1) the commit is simulated
//     (a revert is ErrRejected, nothing sent), signed, persisted, and sent
//     (Sent).
func (s *Submitter) Step(ctx context.Context, h *state.Header, pubdata []byte, proof *prover.Proof) (Status, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := h.Number
	root := common.Hash(h.NewRoot.Bytes())

	last, err := s.c.LastBatch(ctx)
	if err != nil {
		return Status{}, err
	}
	rec, err := s.load()
	if err != nil {
		return Status{}, err
	}
	if last >= n {
		return s.landed(ctx, n, h.NewRoot, rec)
	}
	if rec != nil && rec.Batch == n {
		st, done, err := s.follow(ctx, rec, h, pubdata, proof)
		if done || err != nil {
			return st, err
		}
		// The record's nonce was used by a transaction that is not ours and
		// none of ours was mined: the record can never land.
	}
	if last+1 < n {
		return Status{Batch: n}, fmt.Errorf("%w: batch %d, L1 is at %d", ErrNotNext, n, last)
	}
	return s.sendNew(ctx, rec, h, pubdata, proof, root)
}

// landed reports batch n, which L1 holds.
func (s *Submitter) landed(ctx context.Context, n uint64, want fr.Element, rec *record) (Status, error) {
	got, err := s.c.BatchRoot(ctx, n)
	if err != nil {
		return Status{}, err
	}
	if !got.Equal(&want) {
		return Status{Batch: n}, fmt.Errorf("%w: batch %d has root %s on L1, ours is %s", ErrForeignBatch, n, got.String(), want.String())
	}
	st := Status{State: Landed, Batch: n}
	if rec != nil && rec.Batch == n {
		st.Tx, st.Nonce = rec.latest().Hash, rec.Nonce
		for _, tx := range rec.Txs {
			r, err := s.l1.TransactionReceipt(ctx, tx.Hash)
			if errors.Is(err, ethereum.NotFound) {
				continue
			}
			if err != nil {
				return Status{}, err
			}
			if r.Status == ethtypes.ReceiptStatusSuccessful {
				st.Tx, st.Receipt = tx.Hash, r
				break
			}
		}
	}
	return st, nil
}

// follow advances the persisted transactions of batch rec.Batch, which L1 did
// not hold when Step began. done is false when the record is dead (its nonce
// was consumed by a transaction that is not one of them).
func (s *Submitter) follow(ctx context.Context, rec *record, h *state.Header, pubdata []byte, proof *prover.Proof) (Status, bool, error) {
	st := Status{Batch: rec.Batch, Tx: rec.latest().Hash, Nonce: rec.Nonce}
	// The nonce is read before the receipts: if it was consumed then and none
	// of ours is mined afterwards, the transaction that consumed it is not ours.
	chainNonce, err := s.l1.NonceAt(ctx, s.from, nil)
	if err != nil {
		return st, true, err
	}
	for i := len(rec.Txs) - 1; i >= 0; i-- {
		tx := rec.Txs[i]
		r, err := s.l1.TransactionReceipt(ctx, tx.Hash)
		if errors.Is(err, ethereum.NotFound) {
			continue
		}
		if err != nil {
			return st, true, err
		}
		st.Tx = tx.Hash
		if r.Status == ethtypes.ReceiptStatusSuccessful {
			if tx.Root != common.Hash(h.NewRoot.Bytes()) {
				return st, true, fmt.Errorf("%w: batch %d landed with root %s (an earlier version)", ErrForeignBatch, rec.Batch, tx.Root)
			}
			st.State, st.Receipt = Landed, r
			return st, true, nil
		}
		// Mined and reverted: it can never land. Forget it, so that a later
		// Step (with a corrected batch) starts afresh.
		rerr := s.revertReason(ctx, tx, r)
		if err := s.st.Delete(s.key); err != nil {
			return st, true, err
		}
		return st, true, fmt.Errorf("%w: batch %d, tx %s reverted in block %d: %w", ErrRejected, rec.Batch, tx.Hash, r.BlockNumber, rerr)
	}
	if chainNonce > rec.Nonce {
		return st, false, nil
	}

	head, err := s.l1.BlockNumber(ctx)
	if err != nil {
		return st, true, err
	}
	root := common.Hash(h.NewRoot.Bytes())
	if rec.Root != root {
		// The batch was rebuilt since: replace the old commit (same nonce, so
		// only one of them can ever be mined) with the new one.
		data, gas, err := s.simulate(ctx, h, pubdata, proof)
		if err != nil {
			return st, true, err
		}
		st, err := s.replace(ctx, rec, data, gas, root, head)
		return st, true, err
	}
	if head < rec.SentBlock+s.cfg.StuckBlocks {
		if err := s.rebroadcast(ctx, rec.latest()); err != nil {
			return st, true, err
		}
		st.State = Pending
		return st, true, nil
	}
	old, err := decodeTx(rec.latest().Raw)
	if err != nil {
		return st, true, err
	}
	st, err = s.replace(ctx, rec, old.Data(), old.Gas(), root, head)
	return st, true, err
}

// replace signs a transaction with rec's nonce and fees bumped over its latest
// one, persists it, then sends it.
func (s *Submitter) replace(ctx context.Context, rec *record, data []byte, gas uint64, root common.Hash, head uint64) (Status, error) {
	st := Status{State: Pending, Batch: rec.Batch, Tx: rec.latest().Hash, Nonce: rec.Nonce}
	old, err := decodeTx(rec.latest().Raw)
	if err != nil {
		return st, err
	}
	tip, feeCap, err := s.fees(ctx, old)
	if err != nil {
		if errors.Is(err, ErrFeeCapReached) {
			// Keep the old one on the wire.
			if berr := s.rebroadcast(ctx, rec.latest()); berr != nil {
				return st, berr
			}
		}
		return st, err
	}
	tx, err := s.sign(rec.Nonce, tip, feeCap, gas, data)
	if err != nil {
		return st, err
	}
	raw, err := tx.MarshalBinary()
	if err != nil {
		return st, err
	}
	next := *rec
	next.Txs = append(append([]sentTx(nil), rec.Txs...), sentTx{Hash: tx.Hash(), Raw: raw, Root: root})
	next.Root, next.SentBlock = root, head
	if err := s.save(&next); err != nil {
		return st, err
	}
	st.State, st.Tx = Replaced, tx.Hash()
	return st, s.send(ctx, tx)
}

// sendNew simulates, signs, persists and sends the first commit of batch n.
func (s *Submitter) sendNew(ctx context.Context, prev *record, h *state.Header, pubdata []byte, proof *prover.Proof, root common.Hash) (Status, error) {
	n := h.Number
	data, gas, err := s.simulate(ctx, h, pubdata, proof)
	if err != nil {
		return Status{Batch: n}, err
	}
	nonce, err := s.l1.PendingNonceAt(ctx, s.from)
	if err != nil {
		return Status{Batch: n}, err
	}
	var floor *ethtypes.Transaction // a transaction of ours this one replaces
	if prev != nil {
		chainNonce, err := s.l1.NonceAt(ctx, s.from, nil)
		if err != nil {
			return Status{Batch: n}, err
		}
		if chainNonce > prev.Nonce {
			nonce = max(nonce, prev.Nonce+1)
		} else if prev.Nonce <= nonce {
			// prev (a commit of a batch that has landed by another hand, or
			// one rebuilt since) was never mined and still holds its nonce:
			// this commit takes it over, so that prev can never be mined.
			// Where the node holds it, the fees must be bumped over its.
			if prev.Nonce < nonce {
				if floor, err = decodeTx(prev.latest().Raw); err != nil {
					return Status{Batch: n}, err
				}
			}
			nonce = prev.Nonce
		}
		// else the node forgot prev and the nonces below it: the pending
		// nonce leaves no gap.
	}
	tip, feeCap, err := s.fees(ctx, floor)
	if err != nil {
		return Status{Batch: n}, err
	}
	tx, err := s.sign(nonce, tip, feeCap, gas, data)
	if err != nil {
		return Status{Batch: n}, err
	}
	raw, err := tx.MarshalBinary()
	if err != nil {
		return Status{Batch: n}, err
	}
	head, err := s.l1.BlockNumber(ctx)
	if err != nil {
		return Status{Batch: n}, err
	}
	rec := &record{Batch: n, Root: root, Nonce: nonce, Txs: []sentTx{{Hash: tx.Hash(), Raw: raw, Root: root}}, SentBlock: head}
	if err := s.save(rec); err != nil {
		return Status{Batch: n}, err
	}
	st := Status{State: Sent, Batch: n, Tx: tx.Hash(), Nonce: nonce}
	return st, s.send(ctx, tx)
}

// simulate packs the commit and estimates its gas: a commit that would revert
// is ErrRejected.
func (s *Submitter) simulate(ctx context.Context, h *state.Header, pubdata []byte, proof *prover.Proof) ([]byte, uint64, error) {
	data, err := CommitData(h, pubdata, proof)
	if err != nil {
		return nil, 0, err
	}
	gas, err := s.l1.EstimateGas(ctx, ethereum.CallMsg{From: s.from, To: &s.c.Address, Data: data})
	if err != nil {
		if rerr, ok := asRevert(err); ok {
			return nil, 0, fmt.Errorf("%w: batch %d would revert: %w", ErrRejected, h.Number, rerr)
		}
		return nil, 0, fmt.Errorf("bridge: submitter: estimate gas: %w", err)
	}
	return data, gas + gas/4, nil
}

// asRevert reports whether err is a revert, as a *ContractError where it
// carries revert data.
func asRevert(err error) (error, bool) {
	r := Revert(err)
	var ce *ContractError
	if errors.As(r, &ce) {
		return ce, true
	}
	if strings.Contains(err.Error(), "execution reverted") {
		return err, true
	}
	return err, false
}

// revertReason replays a reverted commit on the state after its block, which
// holds whatever made it revert (best effort: the transactions after it in the
// block are included too).
func (s *Submitter) revertReason(ctx context.Context, stx sentTx, r *ethtypes.Receipt) error {
	tx, err := decodeTx(stx.Raw)
	if err != nil {
		return ErrReverted
	}
	_, err = s.l1.CallContract(ctx, ethereum.CallMsg{From: s.from, To: tx.To(), Gas: tx.Gas(), Data: tx.Data()}, r.BlockNumber)
	if err != nil {
		if rerr, ok := asRevert(err); ok {
			return rerr
		}
	}
	return ErrReverted
}

// fees are the tip and fee cap of a new transaction: the configured or
// suggested ones, at least BumpPercent over those of over (the transaction it
// replaces, if any), never above MaxFeeCap.
func (s *Submitter) fees(ctx context.Context, over *ethtypes.Transaction) (tip, feeCap *big.Int, err error) {
	if s.cfg.FeeCap != nil {
		tip, feeCap, err = s.cfg.FeeCap(ctx)
	} else {
		tip, feeCap, err = s.suggest(ctx)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("bridge: submitter: fees: %w", err)
	}
	tip, feeCap = new(big.Int).Set(tip), new(big.Int).Set(feeCap)
	var minTip, minCap *big.Int
	if over != nil {
		minTip, minCap = bump(over.GasTipCap(), s.cfg.BumpPercent), bump(over.GasFeeCap(), s.cfg.BumpPercent)
		if tip.Cmp(minTip) < 0 {
			tip.Set(minTip)
		}
		if feeCap.Cmp(minCap) < 0 {
			feeCap.Set(minCap)
		}
	}
	if feeCap.Cmp(s.cfg.MaxFeeCap) > 0 {
		feeCap.Set(s.cfg.MaxFeeCap)
	}
	if tip.Cmp(feeCap) > 0 {
		tip.Set(feeCap)
	}
	if over != nil && (feeCap.Cmp(minCap) < 0 || tip.Cmp(minTip) < 0) {
		return nil, nil, fmt.Errorf("%w: a replacement needs tip %v and fee cap %v, the cap is %v", ErrFeeCapReached, minTip, minCap, s.cfg.MaxFeeCap)
	}
	return tip, feeCap, nil
}

func (s *Submitter) suggest(ctx context.Context) (*big.Int, *big.Int, error) {
	tip, err := s.l1.SuggestGasTipCap(ctx)
	if err != nil {
		return nil, nil, err
	}
	head, err := s.l1.HeaderByNumber(ctx, nil)
	if err != nil {
		return nil, nil, err
	}
	if head.BaseFee == nil {
		return nil, nil, errors.New("no base fee: not a London chain")
	}
	feeCap := new(big.Int).Add(new(big.Int).Mul(head.BaseFee, big.NewInt(2)), tip)
	return tip, feeCap, nil
}

// bump is v raised by pct percent, rounded up, and by at least 1.
func bump(v *big.Int, pct uint64) *big.Int {
	b := new(big.Int).Mul(v, new(big.Int).SetUint64(100+pct))
	b.Add(b, big.NewInt(99))
	b.Div(b, big.NewInt(100))
	if b.Cmp(v) <= 0 {
		b.Add(v, big.NewInt(1))
	}
	return b
}

func (s *Submitter) sign(nonce uint64, tip, feeCap *big.Int, gas uint64, data []byte) (*ethtypes.Transaction, error) {
	to := s.c.Address
	return ethtypes.SignNewTx(s.cfg.Key, s.signer, &ethtypes.DynamicFeeTx{
		ChainID: s.cfg.ChainID, Nonce: nonce, GasTipCap: tip, GasFeeCap: feeCap, Gas: gas, To: &to, Data: data,
	})
}

// send hands a persisted transaction to the node.
func (s *Submitter) send(ctx context.Context, tx *ethtypes.Transaction) error {
	if s.beforeSend != nil {
		if err := s.beforeSend(tx); err != nil {
			return err
		}
	}
	if err := s.l1.SendTransaction(ctx, tx); err != nil && !harmlessSendError(err) {
		return fmt.Errorf("bridge: submitter: send %s: %w", tx.Hash(), err)
	}
	return nil
}

// rebroadcast sends a persisted transaction again if the node does not know it.
func (s *Submitter) rebroadcast(ctx context.Context, stx sentTx) error {
	_, _, err := s.l1.TransactionByHash(ctx, stx.Hash)
	if err == nil {
		return nil
	}
	if !errors.Is(err, ethereum.NotFound) {
		return err
	}
	tx, err := decodeTx(stx.Raw)
	if err != nil {
		return err
	}
	return s.send(ctx, tx)
}

// harmlessSendError: the node has it already, or its nonce is taken (by it, a
// replacement of it, or another transaction: the receipts tell).
func harmlessSendError(err error) bool {
	msg := err.Error()
	for _, m := range []string{"already known", "nonce too low", "replacement transaction underpriced"} {
		if strings.Contains(msg, m) {
			return true
		}
	}
	return false
}

func decodeTx(raw []byte) (*ethtypes.Transaction, error) {
	tx := new(ethtypes.Transaction)
	if err := tx.UnmarshalBinary(raw); err != nil {
		return nil, fmt.Errorf("bridge: submitter: stored tx: %w", err)
	}
	return tx, nil
}

func (s *Submitter) load() (*record, error) {
	b, err := s.st.Get(s.key)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var r record
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("bridge: submitter: stored record: %w", err)
	}
	if len(r.Txs) == 0 {
		return nil, errors.New("bridge: submitter: stored record without transactions")
	}
	return &r, nil
}

func (s *Submitter) save(r *record) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return s.st.Put(s.key, b)
}
