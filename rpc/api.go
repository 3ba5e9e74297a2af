package rpc

import (
	"context"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/event"
	"github.com/holiman/uint256"
)

// The API's data shapes (docs/node.md §API). Amounts are decimal strings
// (uint256.Int's JSON form); hashes and field elements are 0x-hex; ids are
// JSON numbers. Every struct here is both what the server returns and what
// the Go client (rpc/client) decodes.

// TxStatus is where a transaction stands. The order is the lifecycle:
// pending (soft-confirmed, durable in the pool) → included (applied in an
// open or sealed batch) → proven (the batch has a Groth16 proof) → finalized
// (the batch is verified on L1). A transaction refused when it was applied
// ends as failed, with Error set.
type TxStatus string

const (
	TxPending   TxStatus = "pending"
	TxIncluded  TxStatus = "included"
	TxProven    TxStatus = "proven"
	TxFinalized TxStatus = "finalized"
	TxFailed    TxStatus = "failed"
	TxReplaced  TxStatus = "replaced"
)

// TxInfo is a transaction's status.
type TxInfo struct {
	Hash    common.Hash   `json:"hash"`
	Kind    string        `json:"kind"`
	Account uint32        `json:"account"`
	Nonce   uint32        `json:"nonce"`
	Status  TxStatus      `json:"status"`
	Batch   uint64        `json:"batch,omitempty"` // 0 until included
	Error   *ErrorInfo    `json:"error,omitempty"` // why it failed
	Tx      any           `json:"tx,omitempty"`    // the decoded transaction
	Raw     hexutil.Bytes `json:"raw,omitempty"`   // types.EncodeTx
}

// ErrorInfo is a failure as the API reports it (the same code and message a
// JSON-RPC error would carry).
type ErrorInfo struct {
	Code    int    `json:"code"`
	Reason  string `json:"reason"`
	Message string `json:"message"`
}

// SubmitResult is one item of a batch submission.
type SubmitResult struct {
	Hash  common.Hash `json:"hash,omitempty"`
	Error *ErrorInfo  `json:"error,omitempty"`
}

// Balance is one asset of an account, at the soft state (the sequencer's
// latest, including the open batch) and at the proven state (the last batch
// verified on L1).
type Balance struct {
	Asset  uint32      `json:"asset"`
	Name   string      `json:"name"` // types.AssetID.String(): "base:0" (ETH), "base:1", "share:3", "credit:3"
	Soft   uint256.Int `json:"soft"`
	Proven uint256.Int `json:"proven"`
}

// OpenOrder is a resting order.
type OpenOrder struct {
	Model      uint16      `json:"model"`
	OrderID    uint32      `json:"orderId"`
	Side       string      `json:"side"` // "buy" | "sell"
	Price      uint256.Int `json:"price"`
	Amount     uint64      `json:"amount"`
	Remaining  uint64      `json:"remaining"`
	ValidUntil uint32      `json:"validUntil"`
}

// AccountInfo is an account's state.
type AccountInfo struct {
	ID          uint32         `json:"id"`
	L1Address   common.Address `json:"l1Address"`
	PubKey      [2]string      `json:"pubKey"`      // X, Y as 0x-hex field elements
	Nonce       uint32         `json:"nonce"`       // soft: next nonce to use
	ProvenNonce uint32         `json:"provenNonce"` // at the proven state
	Balances    []Balance      `json:"balances"`
	Orders      []OpenOrder    `json:"orders"`
}

// AccountUpdate is pushed to account subscribers when a batch changes an
// account (soft state).
type AccountUpdate struct {
	Account uint32      `json:"account"`
	Batch   uint64      `json:"batch"`
	Cause   common.Hash `json:"cause,omitempty"` // the transaction that changed it
	Info    AccountInfo `json:"info"`
}

// Page is one page of a cursor-paginated list. Next is the cursor of the
// following page ("" when there is none).
type Page[T any] struct {
	Items []T    `json:"items"`
	Next  string `json:"next,omitempty"`
}

// TradeInfo is one executed trade.
type TradeInfo struct {
	Seq        uint64      `json:"seq"` // per-market trade number, from 1
	Model      uint16      `json:"model"`
	Price      uint256.Int `json:"price"`
	Fill       uint64      `json:"fill"`
	Buyer      uint32      `json:"buyer"`
	Seller     uint32      `json:"seller"`
	BuyOrder   uint32      `json:"buyOrder"`
	SellOrder  uint32      `json:"sellOrder"`
	Maker      string      `json:"maker"` // side of the resting order
	BuyFeeBps  uint8       `json:"buyFeeBips"`
	SellFeeBps uint8       `json:"sellFeeBips"`
	Hash       common.Hash `json:"hash"` // the Trade transaction
	Batch      uint64      `json:"batch"`
	Time       uint64      `json:"time"`
}

// OrderResult is what placing an order did.
type OrderResult struct {
	Model   uint16      `json:"model"`
	OrderID uint32      `json:"orderId"`
	Trades  []TradeInfo `json:"trades"`
	Rested  uint64      `json:"rested"`            // shares left resting
	Dropped []string    `json:"dropped,omitempty"` // orders removed while matching, with why
}

// Level is one price level.
type Level struct {
	Price  uint256.Int `json:"price"`
	Amount uint256.Int `json:"amount"`
	Orders int         `json:"orders"`
}

// BookSnapshot is the top of a market's book at version Seq.
type BookSnapshot struct {
	Model uint16  `json:"model"`
	Seq   uint64  `json:"seq"`
	Bids  []Level `json:"bids"`
	Asks  []Level `json:"asks"`
}

// BookDelta is one change of one level; Seq is the book version after it
// (a snapshot at s plus the deltas > s, in order, give the later book).
// Orders 0 means the level is gone.
type BookDelta struct {
	Model  uint16      `json:"model"`
	Seq    uint64      `json:"seq"`
	Side   string      `json:"side"`
	Price  uint256.Int `json:"price"`
	Amount uint256.Int `json:"amount"`
	Orders int         `json:"orders"`
}

// BookEvent is what an order-book subscriber receives: first one snapshot,
// then deltas.
type BookEvent struct {
	Snapshot *BookSnapshot `json:"snapshot,omitempty"`
	Delta    *BookDelta    `json:"delta,omitempty"`
}

// Market is a model's share market.
type Market struct {
	Model        uint16       `json:"model"`
	QuoteToken   uint16       `json:"quoteToken"`
	BestBid      *uint256.Int `json:"bestBid,omitempty"`
	BestAsk      *uint256.Int `json:"bestAsk,omitempty"`
	Orders       int          `json:"orders"`
	MakerFeeBips uint8        `json:"makerFeeBips"`
	TakerFeeBips uint8        `json:"takerFeeBips"`
}

// Asset is a base token, named as its L1 contract names it.
type Asset struct {
	ID      uint16         `json:"id"`
	Address common.Address `json:"address"` // zero for ETH
	// Symbol is the ERC-20 symbol() read from L1 ("ETH" for ETH); a token
	// without one is "token:<id>".
	Symbol string `json:"symbol"`
	// Decimals is the ERC-20 decimals() (18 for ETH); absent when the token
	// has none. Amounts in the API are always in base units.
	Decimals *uint8 `json:"decimals,omitempty"`
}

// ModelInfo is a model's leaf (soft state).
type ModelInfo struct {
	ID          uint16      `json:"id"`
	DAO         uint32      `json:"dao"`
	QuoteToken  uint16      `json:"quoteToken"`
	HolderBps   uint16      `json:"holderBps"`
	Supply      uint64      `json:"supply"`
	MaxSupply   uint64      `json:"maxSupply"`
	CreditPrice uint256.Int `json:"creditPrice"`
	Treasury    uint256.Int `json:"treasury"`
	Weights     string      `json:"weights"`
	Metadata    string      `json:"metadata"`
}

// Redemption is one RedeemCredits, pushed to the model's operator.
type Redemption struct {
	Model   uint16      `json:"model"`
	Account uint32      `json:"account"`
	Credits uint64      `json:"credits"`
	Request string      `json:"request"` // 0x-hex field element
	Hash    common.Hash `json:"hash"`
	Batch   uint64      `json:"batch"`
}

// FeeQuote is the fee rule the sequencer enforces for a kind
// (docs/protocol.md §5, §7). The signer sets the fee; the sequencer accepts
// any fee from Fee (its minimum) to MaxFee that Fee16 packs exactly, paid in
// the token Token names.
type FeeQuote struct {
	Kind string `json:"kind"`
	// Fee is the least fee the sequencer accepts (in the fee token's base
	// units). This sequencer asks none: 0.
	Fee uint256.Int `json:"fee"`
	// Charged: the kind carries a fee the signer sets. L1 requests (Deposit,
	// ForcedWithdraw) and Noop carry none; a Trade pays its orders' fee bips
	// (MakerFeeBips, TakerFeeBips) instead.
	Charged bool `json:"charged"`
	// Token is the token that pays the fee: "asset" (a Transfer's base
	// token; the model's quote token for shares and credits), "token" (a
	// Withdraw's token), "quoteToken" (CreateModel's), "model" (the model's
	// quote token).
	Token string `json:"token,omitempty"`
	// MaxFee is the largest fee: below 2^96 and Fee16-packable.
	MaxFee *uint256.Int `json:"maxFee,omitempty"`
	// Format is how a fee must be exact: "Fee16" (mantissa < 2^11 times
	// 10^e, e < 32).
	Format string `json:"format,omitempty"`
	// ReplaceBumpPercent: a pending transaction is replaced (same nonce) only
	// by one whose fee, in the same token, is at least this much higher.
	ReplaceBumpPercent int `json:"replaceBumpPercent,omitempty"`
	// MakerFeeBips and TakerFeeBips are what the books charge a Trade's
	// resting and incoming side (each capped by its order's maxFeeBips).
	MakerFeeBips uint8 `json:"makerFeeBips,omitempty"`
	TakerFeeBips uint8 `json:"takerFeeBips,omitempty"`
}

// BatchStatus is where a batch stands in the pipeline.
type BatchStatus string

const (
	BatchOpen      BatchStatus = "open"
	BatchSealed    BatchStatus = "sealed"    // sequenced and durable; no roots yet
	BatchCommitted BatchStatus = "committed" // the tree stage hashed it: roots known
	BatchWitness   BatchStatus = "witness"
	BatchProven    BatchStatus = "proven"
	BatchSubmitted BatchStatus = "submitted"
	BatchVerified  BatchStatus = "verified"
)

// BatchInfo is a batch's header and pipeline status.
type BatchInfo struct {
	Number        uint64        `json:"number"`
	Family        string        `json:"family"`
	Status        BatchStatus   `json:"status"`
	Timestamp     uint64        `json:"timestamp"`
	Txs           int           `json:"txs"`
	PrevRoot      string        `json:"prevRoot,omitempty"` // empty while sealed: the tree stage computes the roots
	NewRoot       string        `json:"newRoot,omitempty"`
	FirstPriority uint64        `json:"firstPriority"`
	PriorityCount uint32        `json:"priorityCount"`
	Commitment    string        `json:"pubdataCommitment,omitempty"`
	L1Tx          common.Hash   `json:"l1Tx,omitempty"`
	ProveMillis   int64         `json:"proveMillis,omitempty"`
	Hashes        []common.Hash `json:"hashes,omitempty"` // its transactions
}

// SyncStatus is the node's heads (op-node's unsafe/safe/finalized).
type SyncStatus struct {
	Sealed       uint64 `json:"sealed"`       // last sealed batch
	Committed    uint64 `json:"committed"`    // last batch the tree stage hashed (its root known)
	Proven       uint64 `json:"proven"`       // last proven batch
	Submitted    uint64 `json:"submitted"`    // last batch sent to L1
	Verified     uint64 `json:"verified"`     // last batch verified on L1
	L1Head       uint64 `json:"l1Head"`       // the L1 block the node last saw
	PriorityIn   uint64 `json:"priorityIn"`   // L1 requests seen
	PriorityDone uint64 `json:"priorityDone"` // L1 requests applied
	Sequencing   bool   `json:"sequencing"`
	Halted       string `json:"halted,omitempty"` // why the pipeline stopped, if it did
	// Clock is the sequencer's clock (unix seconds): the earliest timestamp
	// of the next batch, and the time an order's validUntil is checked
	// against (a batch's timestamp decides expiry on L1). Wallets set an
	// order's validity from it, not from their own clock.
	Clock uint64 `json:"clock"`
}

// Contracts are the L1 addresses and the domain.
type Contracts struct {
	ChainID   uint64                    `json:"chainId"`
	Bridge    common.Address            `json:"bridge"`
	Verifiers map[string]common.Address `json:"verifiers"`
	// InsecureDevKeys: the node proves with keys from the INSECURE
	// development setup (a devnet, or modex node --insecure-dev-keys with
	// dev keys): whoever made them can forge proofs. Never for real funds.
	InsecureDevKeys bool `json:"insecureDevKeys"`
}

// PriorityInfo is a deposit's or forced withdrawal's status.
type PriorityInfo struct {
	ID      uint64      `json:"id"`
	Kind    string      `json:"kind"`
	Account uint32      `json:"account"`
	Token   uint16      `json:"token"`
	Amount  uint256.Int `json:"amount"`
	L1Tx    common.Hash `json:"l1Tx"`
	Status  TxStatus    `json:"status"` // pending (seen on L1), included, proven, finalized
	Batch   uint64      `json:"batch,omitempty"`
	Refused bool        `json:"refused,omitempty"`
}

// WithdrawalInfo is an L2 withdrawal's status and its L1 payout.
type WithdrawalInfo struct {
	Hash    common.Hash    `json:"hash"`
	Account uint32         `json:"account"`
	Token   uint16         `json:"token"`
	Amount  uint256.Int    `json:"amount"`
	To      common.Address `json:"to"`
	Status  TxStatus       `json:"status"`
	Batch   uint64         `json:"batch,omitempty"`
	// Claimable is true once the batch is verified: the amount is a pending
	// balance of To on the bridge (withdraw / claim on L1).
	Claimable bool `json:"claimable"`
}

// Health is the /healthz body.
type Health struct {
	OK       bool   `json:"ok"`
	Version  string `json:"version"`
	Sealed   uint64 `json:"sealed"`
	Verified uint64 `json:"verified"`
	Halted   string `json:"halted,omitempty"`
}

// Backend is what the API serves; the node (package node) implements it over
// the sequencer, the pipeline and the bridge. Errors are the components'
// typed errors; the server maps them to codes (errors.go).
type Backend interface {
	// txs
	SubmitTx(ctx context.Context, raw []byte) (common.Hash, error)
	Tx(ctx context.Context, hash common.Hash) (*TxInfo, error)
	History(ctx context.Context, account uint32, cursor string, limit int) (*Page[TxInfo], error)

	// accounts
	Account(ctx context.Context, id uint32) (*AccountInfo, error)
	AccountByAddress(ctx context.Context, l1 common.Address) ([]uint32, error)

	// markets and order books
	PlaceOrder(ctx context.Context, raw []byte) (*OrderResult, error)
	Markets(ctx context.Context) ([]Market, error)
	Book(ctx context.Context, model uint16, depth int) (*BookSnapshot, error)
	Trades(ctx context.Context, model uint16, cursor string, limit int) (*Page[TradeInfo], error)

	// models, assets, fees
	Models(ctx context.Context) ([]ModelInfo, error)
	Model(ctx context.Context, id uint16) (*ModelInfo, error)
	Assets(ctx context.Context) ([]Asset, error)
	FeeQuote(ctx context.Context, kind string) (*FeeQuote, error)

	// batches and sync
	Batch(ctx context.Context, n uint64) (*BatchInfo, error)
	SyncStatus(ctx context.Context) (*SyncStatus, error)
	Contracts(ctx context.Context) (*Contracts, error)

	// bridge
	Priority(ctx context.Context, id uint64) (*PriorityInfo, error)
	Withdrawal(ctx context.Context, hash common.Hash) (*WithdrawalInfo, error)

	// admin (served only with the admin flag)
	StartSequencing(ctx context.Context) error
	StopSequencing(ctx context.Context) error

	// health
	Health() Health

	// feeds (go-ethereum event.Feed subscriptions); SubscribeBook returns
	// the snapshot the deltas sent after it apply to.
	SubscribeBatches(ch chan<- *BatchInfo) event.Subscription
	SubscribeTxs(ch chan<- *TxInfo) event.Subscription
	SubscribeAccounts(ch chan<- *AccountUpdate) event.Subscription
	SubscribeBook(model uint16, ch chan<- *BookDelta) (*BookSnapshot, event.Subscription, error)
	SubscribeTrades(ch chan<- *TradeInfo) event.Subscription
	SubscribeRedemptions(ch chan<- *Redemption) event.Subscription
}
