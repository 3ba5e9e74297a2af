package rpc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	gethrpc "github.com/ethereum/go-ethereum/rpc"

	"github.com/modex/modex/state"
	"github.com/modex/modex/state/smt"
	"github.com/modex/modex/state/store"
	"github.com/modex/modex/types"
	"github.com/modex/modex/types/seqerr"
)

// The node's own errors. The Backend returns them (wrapped with context is
// fine); the server maps each to its code below.
var (
	// Unknown things, one per kind of thing. ErrAccountNotFound and
	// ErrModelNotFound are the types package's.
	ErrTxNotFound         = errors.New("transaction not found")
	ErrAccountNotFound    = types.ErrAccountNotFound
	ErrBatchNotFound      = errors.New("batch not found")
	ErrModelNotFound      = types.ErrModelNotFound
	ErrMarketNotFound     = errors.New("market not found")
	ErrPriorityNotFound   = errors.New("priority request not found")
	ErrWithdrawalNotFound = errors.New("withdrawal not found")
	// ErrTxReplaced: the transaction was replaced in the pool by another one
	// with the same nonce (it will never be included).
	ErrTxReplaced = errors.New("transaction replaced by another with the same nonce")
	// ErrFamilyDisabled: this node has no prover (and the bridge no
	// verifier) for the transaction's batch family, so it could never be
	// proven; it is refused instead of wedging the pipeline.
	ErrFamilyDisabled = errors.New("transaction kind not enabled on this rollup (no verifier for its batch family)")

	// Node state.
	ErrSequencingStopped = errors.New("sequencing is stopped")
	ErrPipelineHalted    = errors.New("pipeline halted")
	ErrShuttingDown      = errors.New("node is shutting down")
	// ErrTooManySubscriptions: the connection holds Config.WSMaxSubscriptions
	// subscriptions already.
	ErrTooManySubscriptions = errors.New("too many subscriptions on this connection")

	// Parameters (code -32602).
	ErrBadParams = errors.New("invalid params")
	// ErrBadHex is any 0x-hex parameter that does not decode; the three
	// below say why (each wraps it, so errors.Is(err, ErrBadHex) holds).
	ErrBadHex       = errors.New("invalid hex")
	ErrHexPrefix    = fmt.Errorf("%w: missing 0x prefix", ErrBadHex)
	ErrHexOddLength = fmt.Errorf("%w: odd number of hex digits", ErrBadHex)
	ErrHexDigit     = fmt.Errorf("%w: invalid hex digit", ErrBadHex)
	ErrEmptyRaw     = errors.New("empty transaction or order")
	ErrRawTooLarge  = errors.New("encoded transaction or order too large")
	ErrBadLimit     = errors.New("page limit out of range")
	ErrBadCursor    = errors.New("invalid cursor")
	ErrBadDepth     = errors.New("book depth out of range")
	ErrTooManyItems = errors.New("too many items")
	// ErrBadKindName: a kind parameter (fee_quote) that names no transaction
	// kind. An encoded transaction with an unknown kind byte is
	// types.ErrUnknownKind (1001), a refusal of the transaction, not of a
	// parameter.
	ErrBadKindName = errors.New("not a transaction kind name")
)

// JSON-RPC and EIP-1474 codes.
const (
	CodeParse          = -32700
	CodeInvalidRequest = -32600
	CodeMethodNotFound = -32601
	CodeInvalidParams  = -32602
	CodeInternal       = -32603
	CodeLimitExceeded  = -32005
)

// ReasonInternal is the reason of every error the table does not know.
const ReasonInternal = "internal"

// Code ranges of the domain codes.
var codeRanges = []struct {
	Name     string
	Min, Max int
}{
	{"tx", 1000, 1999},
	{"account", 2000, 2999},
	{"asset", 3000, 3999},
	{"order", 4000, 4999},
	{"model", 5000, 5999},
	{"bridge", 6000, 6999},
	{"node", 7000, 7999},
}

// ErrorCode is one row of the error table: the errors that mean one
// rejection reason, its code and its stable snake_case reason.
type ErrorCode struct {
	Code   int
	Reason string
	// Errs are the sentinels of this reason, matched with errors.Is.
	Errs []error
	// Internal rows are faults of the node, not of the request: the client
	// gets the code, the reason and the sentinel's text, never the wrapped
	// context (which is logged).
	Internal bool
}

func row(code int, reason string, errs ...error) ErrorCode {
	return ErrorCode{Code: code, Reason: reason, Errs: errs}
}

func internal(code int, reason string, errs ...error) ErrorCode {
	return ErrorCode{Code: code, Reason: reason, Errs: errs, Internal: true}
}

// errorTable is matched in order, so an error that wraps a more general one
// (seqerr.ErrNonceTooLow wraps types.ErrNonce, seqerr.ErrBookNotPackable wraps
// types.ErrNotPackable, state.ErrBadExitProof wraps range errors,
// state.ErrWriteFailed wraps anything) comes before it.
var errorTable = []ErrorCode{
	// Node faults that wrap other errors: first.
	internal(7100, "state_write_failed", state.ErrWriteFailed),
	internal(7101, "batch_broken", state.ErrBatchBroken),
	row(6100, "bad_exit_proof", state.ErrBadExitProof),

	// Parameters.
	row(CodeInvalidParams, "bad_hex", ErrHexPrefix, ErrHexOddLength, ErrHexDigit, ErrBadHex),
	row(CodeInvalidParams, "empty_raw", ErrEmptyRaw),
	row(CodeInvalidParams, "raw_too_large", ErrRawTooLarge),
	row(CodeInvalidParams, "bad_kind_name", ErrBadKindName),
	row(CodeInvalidParams, "bad_limit", ErrBadLimit),
	row(CodeInvalidParams, "bad_cursor", ErrBadCursor),
	row(CodeInvalidParams, "bad_depth", ErrBadDepth),
	row(CodeInvalidParams, "too_many_items", ErrTooManyItems),
	row(CodeInvalidParams, "invalid_params", ErrBadParams),

	// Order-book errors that wrap the types package's: before them.
	row(4008, "order_price_not_packable", seqerr.ErrBookNotPackable),

	// tx 1000–1999: encoding, signature, nonce, pool.
	row(1000, "malformed", types.ErrMalformed),
	row(1001, "unknown_kind", types.ErrUnknownKind),
	row(1002, "not_field_element", types.ErrFieldElement),
	row(1003, "not_packable", types.ErrNotPackable),
	row(1004, "amount_too_large", types.ErrAmountTooLarge),
	row(1005, "zero_amount", types.ErrZeroAmount),
	row(1010, "bad_signature", types.ErrBadSignature),
	row(1011, "signature_malleable", types.ErrSignatureMalleable),
	row(1012, "bad_public_key", types.ErrBadPublicKey),
	row(1020, "nonce_too_low", seqerr.ErrNonceTooLow),
	row(1021, "nonce_gap", seqerr.ErrNonceGap),
	row(1022, "bad_nonce", types.ErrNonce),
	row(1023, "nonce_exhausted", types.ErrNonceOverflow),
	row(1030, "not_pool_tx", seqerr.ErrNotPoolTx),
	row(1031, "replacement_underpriced", seqerr.ErrReplacementUnderpriced),
	row(1032, "pool_full", seqerr.ErrPoolFull),
	row(1033, "account_pool_full", seqerr.ErrAccountFull),
	row(1040, "tx_not_found", ErrTxNotFound),
	row(1041, "tx_replaced", ErrTxReplaced),
	row(1042, "family_disabled", ErrFamilyDisabled),

	// account 2000–2999.
	row(2000, "account_not_found", types.ErrAccountNotFound),
	row(2001, "account_out_of_range", types.ErrAccountRange),
	row(2002, "account_mismatch", types.ErrAccountMismatch),
	row(2003, "insufficient_funds", types.ErrInsufficientFunds),
	row(2004, "balance_overflow", types.ErrBalanceOverflow),
	row(2005, "self_transfer", types.ErrSelfTransfer),

	// asset 3000–3999.
	row(3000, "asset_out_of_range", types.ErrAssetRange),
	row(3001, "asset_not_withdrawable", types.ErrAssetNotWithdrawable),
	row(3002, "fee_assets_full", types.ErrFeeAssetsFull),

	// order 4000–4999: the order book's, then the state's.
	row(4000, "order_wrong_model", seqerr.ErrBookWrongModel),
	row(4001, "order_bad_side", seqerr.ErrBookBadSide),
	row(4002, "order_bad_id", seqerr.ErrBookBadOrderID),
	row(4003, "order_zero_amount", seqerr.ErrBookZeroAmount),
	row(4004, "order_bad_price", seqerr.ErrBookBadPrice),
	row(4005, "order_duplicate", seqerr.ErrBookDuplicate),
	row(4006, "book_full", seqerr.ErrBookFull),
	row(4007, "order_not_resting", seqerr.ErrBookNotFound),
	row(4010, "order_expired", types.ErrOrderExpired, seqerr.ErrBookExpired),
	row(4011, "order_side_mismatch", types.ErrOrderSide),
	row(4012, "order_price", types.ErrOrderPrice),
	row(4013, "order_overfill", types.ErrOrderOverfill),
	row(4014, "order_slot_taken", types.ErrOrderSlotTaken),
	row(4015, "order_closed", types.ErrOrderClosed),
	row(4016, "order_fee", types.ErrOrderFee),
	row(4017, "self_trade", types.ErrSelfTrade),
	row(4018, "order_above_supply", seqerr.ErrOrderAboveSupply),
	row(4050, "market_not_found", ErrMarketNotFound),

	// model 5000–5999.
	row(5000, "model_out_of_range", types.ErrModelRange),
	row(5001, "model_exists", types.ErrModelExists),
	row(5002, "model_not_found", types.ErrModelNotFound),
	row(5003, "not_model_dao", types.ErrNotModelDAO),
	row(5004, "supply_cap", types.ErrSupplyCap),
	row(5005, "bad_bps", types.ErrBadBps),
	row(5006, "credit_price", types.ErrCreditPrice),
	row(5007, "insufficient_credits", types.ErrInsufficientCredits),
	row(5008, "insufficient_shares", types.ErrInsufficientShares),
	row(5009, "revenue_overflow", types.ErrRevenueOverflow),
	row(5010, "nothing_to_claim", types.ErrNothingToClaim),
	row(5011, "zero_supply", types.ErrZeroSupply),

	// bridge 6000–6999.
	row(6000, "priority_out_of_order", types.ErrPriorityOrder),
	row(6001, "priority_not_found", ErrPriorityNotFound),
	row(6002, "withdrawal_not_found", ErrWithdrawalNotFound),

	// node 7000–7999.
	row(7000, "sequencing_stopped", ErrSequencingStopped),
	row(7001, "pipeline_halted", ErrPipelineHalted),
	row(7002, "shutting_down", ErrShuttingDown, seqerr.ErrPoolClosed, store.ErrClosed),
	row(7003, "batch_not_found", ErrBatchNotFound, state.ErrUnknownBatch, store.ErrBatchUnknown),
	row(7004, "batch_pruned", store.ErrBatchPruned),
	// 7005 is not used: go-ethereum answers an unknown modex_subscribe
	// channel itself (-32601, before the namespace is called).
	row(7006, "timeout", context.DeadlineExceeded),
	row(7008, "too_many_subscriptions", ErrTooManySubscriptions),
	row(7007, "cancelled", context.Canceled),
	row(7010, "batch_full", state.ErrBatchFull),
	row(7011, "wrong_family", state.ErrFamily),
	internal(7012, "batch_timestamp", state.ErrTimestamp),
	internal(7013, "read_only_state", state.ErrReadOnlyState),
	internal(7014, "empty_batch", state.ErrEmptyBatch),
	internal(7020, "bad_pubdata", state.ErrBadPubdata),
	internal(7021, "pubdata_length", state.ErrPubdataLength),
	internal(7022, "pubdata_family", state.ErrPubdataFamily),
	internal(7023, "pubdata_padding", state.ErrPubdataPadding),
	internal(7024, "replay_sequence", state.ErrReplaySequence),
	internal(7025, "replay_mismatch", state.ErrReplayMismatch),
	internal(7030, "store_invalid_options", store.ErrInvalidOptions),
	internal(7031, "store_locked", store.ErrLocked),
	internal(7032, "store_txn_open", store.ErrTxnOpen),
	internal(7033, "store_txn_done", store.ErrTxnDone),
	internal(7034, "store_reserved_key", store.ErrReservedKey),
	internal(7035, "store_batch_too_large", store.ErrBatchTooLarge),
	internal(7036, "store_rollback_finalized", store.ErrRollbackFinalized),
	internal(7037, "store_corrupt", store.ErrCorrupt),
	internal(7038, "store_failed", store.ErrFailed),
	internal(7040, "smt_index_out_of_range", smt.ErrIndexOutOfRange),
	internal(7041, "smt_corrupt_node", smt.ErrCorruptNode),
	internal(7050, "pool_store", seqerr.ErrPoolStore, seqerr.ErrPoolCorrupt, seqerr.ErrPoolLocked, seqerr.ErrPoolUnsupportedDB),
	internal(7051, "pool_account_lookup", seqerr.ErrPoolAccountLookup),
	internal(7052, "reexecute_mismatch", state.ErrReexecMismatch),
}

// ErrorTable returns a copy of the error table, in matching order.
func ErrorTable() []ErrorCode {
	t := make([]ErrorCode, len(errorTable))
	for i, r := range errorTable {
		r.Errs = append([]error(nil), r.Errs...)
		t[i] = r
	}
	return t
}

// lookup finds the first row with a sentinel err wraps, and that sentinel.
func lookup(err error) (*ErrorCode, error) {
	for i := range errorTable {
		for _, s := range errorTable[i].Errs {
			if errors.Is(err, s) {
				return &errorTable[i], s
			}
		}
	}
	return nil, nil
}

// lookupExact finds the row that lists target itself.
func lookupExact(target error) *ErrorCode {
	for i := range errorTable {
		for _, s := range errorTable[i].Errs {
			if s == target {
				return &errorTable[i]
			}
		}
	}
	return nil
}

// APIError is an error as the API carries it: the code, the stable reason and
// the message, plus the detail (the full error text, with context). The
// server sends it (it implements go-ethereum's rpc.Error and rpc.DataError);
// the client (rpc/client) returns it, so callers can errors.As it, or
// errors.Is it against an APIError of the same code or against a sentinel of
// the table (errors.Is(err, types.ErrBadSignature)).
type APIError struct {
	Code    int    `json:"code"`
	Reason  string `json:"reason"`
	Message string `json:"message"`
	Detail  string `json:"detail,omitempty"`

	cause error // server side: the backend's error
}

func (e *APIError) Error() string {
	if e.Detail != "" && e.Detail != e.Message {
		return e.Detail
	}
	return e.Message
}

// ErrorCode implements go-ethereum's rpc.Error.
func (e *APIError) ErrorCode() int { return e.Code }

// ErrorData implements go-ethereum's rpc.DataError.
func (e *APIError) ErrorData() any {
	d := map[string]string{"reason": e.Reason}
	if e.Detail != "" {
		d["detail"] = e.Detail
	}
	return d
}

// Unwrap is the original error (server side only).
func (e *APIError) Unwrap() error { return e.cause }

// Is matches an APIError with the same code (and the same reason when both
// have one; codes like -32602 carry several reasons), or a sentinel of the
// error table whose code and reason these are.
func (e *APIError) Is(target error) bool {
	if t, ok := target.(*APIError); ok {
		return t.Code == e.Code && (t.Reason == "" || e.Reason == "" || t.Reason == e.Reason)
	}
	if r := lookupExact(target); r != nil {
		return r.Code == e.Code && r.Reason == e.Reason
	}
	return false
}

// Info is the error as TxInfo and SubmitResult carry it.
func (e *APIError) Info() *ErrorInfo {
	return &ErrorInfo{Code: e.Code, Reason: e.Reason, Message: e.Error()}
}

// Wrap maps err to its API error: the table's code and reason when err wraps
// one of its sentinels, an error that already carries a JSON-RPC code as it
// is, and anything else to -32603 "internal error" (the detail is logged with
// slog's default logger, never sent). Wrap(nil) is nil.
func Wrap(err error) error { return wrap(err, slog.Default()) }

func wrap(err error, log *slog.Logger) error {
	if err == nil {
		return nil
	}
	ae := toAPIError(err)
	if ae.Code == CodeInternal || internalReason(ae.Reason) {
		if log != nil {
			log.Error("rpc: internal error", "reason", ae.Reason, "err", err)
		}
	}
	return ae
}

func internalReason(reason string) bool {
	for i := range errorTable {
		if errorTable[i].Reason == reason {
			return errorTable[i].Internal
		}
	}
	return false
}

// Info maps err like Wrap, in the form TxInfo.Error and SubmitResult.Error
// carry. Info(nil) is nil.
func Info(err error) *ErrorInfo {
	if err == nil {
		return nil
	}
	return toAPIError(err).Info()
}

// Reason is err's stable reason ("internal" for errors the table does not
// know), for metrics labels.
func Reason(err error) string {
	if err == nil {
		return ""
	}
	return toAPIError(err).Reason
}

func toAPIError(err error) *APIError {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae
	}
	if r, s := lookup(err); r != nil {
		e := &APIError{Code: r.Code, Reason: r.Reason, Message: s.Error(), cause: err}
		if !r.Internal && err.Error() != e.Message {
			e.Detail = err.Error()
		}
		return e
	}
	var re gethrpc.Error
	if errors.As(err, &re) {
		e := &APIError{Code: re.ErrorCode(), Message: re.Error(), cause: err}
		e.Reason = reasonOfCode(e.Code)
		return e
	}
	return &APIError{Code: CodeInternal, Reason: ReasonInternal, Message: "internal error", cause: err}
}

func reasonOfCode(code int) string {
	switch code {
	case CodeParse:
		return "parse_error"
	case CodeInvalidRequest:
		return "invalid_request"
	case CodeMethodNotFound:
		return "method_not_found"
	case CodeInvalidParams:
		return "invalid_params"
	case CodeLimitExceeded:
		return "limit_exceeded"
	}
	return ReasonInternal
}

// paramErr is a -32602 error naming the parameter.
func paramErr(sentinel error, param string, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", sentinel, param, fmt.Sprintf(format, args...))
}

// DecodeError turns a JSON-RPC error received by a go-ethereum rpc client
// (rpc.Error, rpc.DataError) into an *APIError, so that errors.As and
// errors.Is work on it. Other errors (transport, context) are returned as
// they are.
func DecodeError(err error) error {
	if err == nil {
		return nil
	}
	var ae *APIError
	if errors.As(err, &ae) {
		return ae
	}
	var re gethrpc.Error
	if !errors.As(err, &re) {
		return err
	}
	out := &APIError{Code: re.ErrorCode(), Message: re.Error()}
	var de gethrpc.DataError
	if errors.As(err, &de) {
		switch d := de.ErrorData().(type) {
		case map[string]any:
			out.Reason, _ = d["reason"].(string)
			out.Detail, _ = d["detail"].(string)
		case map[string]string:
			out.Reason, out.Detail = d["reason"], d["detail"]
		}
	}
	if out.Reason == "" {
		out.Reason = reasonOfCode(out.Code)
	}
	return out
}
