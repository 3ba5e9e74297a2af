package rpc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"regexp"
	"testing"

	gethrpc "github.com/ethereum/go-ethereum/rpc"

	"github.com/modex/modex/state"
	"github.com/modex/modex/state/smt"
	"github.com/modex/modex/state/store"
	"github.com/modex/modex/types"
	"github.com/modex/modex/types/seqerr"
)

func TestMain(m *testing.M) {
	// Wrap logs internal errors; keep the test output readable.
	if os.Getenv("MODEX_RPC_TEST_LOG") == "" {
		slog.SetDefault(slog.New(slog.DiscardHandler))
	}
	os.Exit(m.Run())
}

var snakeCase = regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)*$`)

func TestErrorTableShape(t *testing.T) {
	codes := map[int]string{}
	reasons := map[string]int{}
	sentinels := map[error]string{}
	for _, r := range errorTable {
		if !snakeCase.MatchString(r.Reason) {
			t.Errorf("reason %q is not snake_case", r.Reason)
		}
		if prev, ok := reasons[r.Reason]; ok {
			t.Errorf("reason %q used by codes %d and %d", r.Reason, prev, r.Code)
		}
		reasons[r.Reason] = r.Code
		if r.Reason == ReasonInternal {
			t.Errorf("reason %q is reserved for unknown errors", r.Reason)
		}
		if len(r.Errs) == 0 {
			t.Errorf("%s: no sentinel", r.Reason)
		}
		for _, e := range r.Errs {
			if prev, ok := sentinels[e]; ok {
				t.Errorf("sentinel %q in rows %s and %s", e, prev, r.Reason)
			}
			sentinels[e] = r.Reason
		}
		if r.Code == CodeInvalidParams {
			if r.Internal {
				t.Errorf("%s: a parameter error cannot be internal", r.Reason)
			}
			continue // one JSON-RPC code, told apart by reason
		}
		if prev, ok := codes[r.Code]; ok {
			t.Errorf("code %d used by %s and %s", r.Code, prev, r.Reason)
		}
		codes[r.Code] = r.Reason
		in := false
		for _, rg := range codeRanges {
			if r.Code >= rg.Min && r.Code <= rg.Max {
				in = true
			}
		}
		if !in {
			t.Errorf("%s: code %d outside every domain range", r.Reason, r.Code)
		}
	}
	t.Logf("%d domain codes, %d parameter reasons, %d sentinels", len(codes), len(reasons)-len(codes), len(sentinels))
}

// rangeOf is the name of the range holding code.
func rangeOf(code int) string {
	for _, rg := range codeRanges {
		if code >= rg.Min && code <= rg.Max {
			return rg.Name
		}
	}
	return ""
}

// TestSentinelCodes: every exported sentinel of types, state, state/store,
// state/smt, types/seqerr (the pool's and the books') and rpc maps to its code and
// reason, bare and wrapped with context.
func TestSentinelCodes(t *testing.T) {
	cases := []struct {
		err    error
		code   int
		reason string
	}{
		// types
		{types.ErrMalformed, 1000, "malformed"},
		{types.ErrUnknownKind, 1001, "unknown_kind"},
		{types.ErrFieldElement, 1002, "not_field_element"},
		{types.ErrNotPackable, 1003, "not_packable"},
		{types.ErrAmountTooLarge, 1004, "amount_too_large"},
		{types.ErrZeroAmount, 1005, "zero_amount"},
		{types.ErrBadSignature, 1010, "bad_signature"},
		{types.ErrSignatureMalleable, 1011, "signature_malleable"},
		{types.ErrBadPublicKey, 1012, "bad_public_key"},
		{types.ErrNonce, 1022, "bad_nonce"},
		{types.ErrNonceOverflow, 1023, "nonce_exhausted"},
		{types.ErrAccountRange, 2001, "account_out_of_range"},
		{types.ErrAccountNotFound, 2000, "account_not_found"},
		{types.ErrAccountMismatch, 2002, "account_mismatch"},
		{types.ErrInsufficientFunds, 2003, "insufficient_funds"},
		{types.ErrBalanceOverflow, 2004, "balance_overflow"},
		{types.ErrSelfTransfer, 2005, "self_transfer"},
		{types.ErrAssetRange, 3000, "asset_out_of_range"},
		{types.ErrAssetNotWithdrawable, 3001, "asset_not_withdrawable"},
		{types.ErrFeeAssetsFull, 3002, "fee_assets_full"},
		{types.ErrModelRange, 5000, "model_out_of_range"},
		{types.ErrModelExists, 5001, "model_exists"},
		{types.ErrModelNotFound, 5002, "model_not_found"},
		{types.ErrNotModelDAO, 5003, "not_model_dao"},
		{types.ErrSupplyCap, 5004, "supply_cap"},
		{types.ErrBadBps, 5005, "bad_bps"},
		{types.ErrCreditPrice, 5006, "credit_price"},
		{types.ErrInsufficientCredits, 5007, "insufficient_credits"},
		{types.ErrInsufficientShares, 5008, "insufficient_shares"},
		{types.ErrRevenueOverflow, 5009, "revenue_overflow"},
		{types.ErrNothingToClaim, 5010, "nothing_to_claim"},
		{types.ErrZeroSupply, 5011, "zero_supply"},
		{types.ErrOrderSide, 4011, "order_side_mismatch"},
		{types.ErrOrderExpired, 4010, "order_expired"},
		{types.ErrOrderPrice, 4012, "order_price"},
		{types.ErrOrderOverfill, 4013, "order_overfill"},
		{types.ErrOrderSlotTaken, 4014, "order_slot_taken"},
		{types.ErrOrderClosed, 4015, "order_closed"},
		{types.ErrOrderFee, 4016, "order_fee"},
		{types.ErrSelfTrade, 4017, "self_trade"},
		{types.ErrPriorityOrder, 6000, "priority_out_of_order"},

		// types/seqerr: the pool's (the nonce errors wrap types.ErrNonce)
		{seqerr.ErrNotPoolTx, 1030, "not_pool_tx"},
		{seqerr.ErrNonceTooLow, 1020, "nonce_too_low"},
		{seqerr.ErrNonceGap, 1021, "nonce_gap"},
		{seqerr.ErrReplacementUnderpriced, 1031, "replacement_underpriced"},
		{seqerr.ErrPoolFull, 1032, "pool_full"},
		{seqerr.ErrAccountFull, 1033, "account_pool_full"},
		{seqerr.ErrPoolClosed, 7002, "shutting_down"},

		// types/seqerr: the books' (ErrBookNotPackable, ErrExpired wrap types errors)
		{seqerr.ErrBookWrongModel, 4000, "order_wrong_model"},
		{seqerr.ErrBookBadSide, 4001, "order_bad_side"},
		{seqerr.ErrBookBadOrderID, 4002, "order_bad_id"},
		{seqerr.ErrBookZeroAmount, 4003, "order_zero_amount"},
		{seqerr.ErrBookBadPrice, 4004, "order_bad_price"},
		{seqerr.ErrBookNotPackable, 4008, "order_price_not_packable"},
		{seqerr.ErrBookExpired, 4010, "order_expired"},
		{seqerr.ErrBookDuplicate, 4005, "order_duplicate"},
		{seqerr.ErrBookFull, 4006, "book_full"},
		{seqerr.ErrBookNotFound, 4007, "order_not_resting"},

		// types/seqerr: the sequencer's order admission
		{seqerr.ErrOrderAboveSupply, 4018, "order_above_supply"},

		// state
		{state.ErrWriteFailed, 7100, "state_write_failed"},
		{state.ErrBatchFull, 7010, "batch_full"},
		{state.ErrBatchBroken, 7101, "batch_broken"},
		{state.ErrTimestamp, 7012, "batch_timestamp"},
		{state.ErrUnknownBatch, 7003, "batch_not_found"},
		{state.ErrReadOnlyState, 7013, "read_only_state"},
		{state.ErrFamily, 7011, "wrong_family"},
		{state.ErrEmptyBatch, 7014, "empty_batch"},
		{state.ErrBadPubdata, 7020, "bad_pubdata"},
		{state.ErrPubdataLength, 7021, "pubdata_length"},
		{state.ErrPubdataFamily, 7022, "pubdata_family"},
		{state.ErrPubdataPadding, 7023, "pubdata_padding"},
		{state.ErrReplaySequence, 7024, "replay_sequence"},
		{state.ErrReplayMismatch, 7025, "replay_mismatch"},
		{state.ErrBadExitProof, 6100, "bad_exit_proof"},

		// state/store
		{store.ErrInvalidOptions, 7030, "store_invalid_options"},
		{store.ErrLocked, 7031, "store_locked"},
		{store.ErrClosed, 7002, "shutting_down"},
		{store.ErrTxnOpen, 7032, "store_txn_open"},
		{store.ErrTxnDone, 7033, "store_txn_done"},
		{store.ErrReservedKey, 7034, "store_reserved_key"},
		{store.ErrBatchTooLarge, 7035, "store_batch_too_large"},
		{store.ErrBatchUnknown, 7003, "batch_not_found"},
		{store.ErrBatchPruned, 7004, "batch_pruned"},
		{store.ErrRollbackFinalized, 7036, "store_rollback_finalized"},
		{store.ErrCorrupt, 7037, "store_corrupt"},
		{store.ErrFailed, 7038, "store_failed"},

		// state/smt
		{smt.ErrIndexOutOfRange, 7040, "smt_index_out_of_range"},
		{smt.ErrCorruptNode, 7041, "smt_corrupt_node"},
		{ErrFamilyDisabled, 1042, "family_disabled"},
		{seqerr.ErrPoolStore, 7050, "pool_store"},
		{seqerr.ErrPoolCorrupt, 7050, "pool_store"},
		{seqerr.ErrPoolLocked, 7050, "pool_store"},
		{seqerr.ErrPoolUnsupportedDB, 7050, "pool_store"},
		{seqerr.ErrPoolAccountLookup, 7051, "pool_account_lookup"},
		{state.ErrReexecMismatch, 7052, "reexecute_mismatch"},

		// rpc's own
		{ErrTxNotFound, 1040, "tx_not_found"},
		{ErrTxReplaced, 1041, "tx_replaced"},
		{ErrAccountNotFound, 2000, "account_not_found"},
		{ErrBatchNotFound, 7003, "batch_not_found"},
		{ErrModelNotFound, 5002, "model_not_found"},
		{ErrMarketNotFound, 4050, "market_not_found"},
		{ErrPriorityNotFound, 6001, "priority_not_found"},
		{ErrWithdrawalNotFound, 6002, "withdrawal_not_found"},
		{ErrSequencingStopped, 7000, "sequencing_stopped"},
		{ErrPipelineHalted, 7001, "pipeline_halted"},
		{ErrShuttingDown, 7002, "shutting_down"},
		{ErrTooManySubscriptions, 7008, "too_many_subscriptions"},
		{ErrBadParams, CodeInvalidParams, "invalid_params"},
		{ErrBadHex, CodeInvalidParams, "bad_hex"},
		{ErrHexPrefix, CodeInvalidParams, "bad_hex"},
		{ErrHexOddLength, CodeInvalidParams, "bad_hex"},
		{ErrHexDigit, CodeInvalidParams, "bad_hex"},
		{ErrEmptyRaw, CodeInvalidParams, "empty_raw"},
		{ErrBadKindName, CodeInvalidParams, "bad_kind_name"},
		{ErrRawTooLarge, CodeInvalidParams, "raw_too_large"},
		{ErrBadLimit, CodeInvalidParams, "bad_limit"},
		{ErrBadCursor, CodeInvalidParams, "bad_cursor"},
		{ErrBadDepth, CodeInvalidParams, "bad_depth"},
		{ErrTooManyItems, CodeInvalidParams, "too_many_items"},
		{context.DeadlineExceeded, 7006, "timeout"},
		{context.Canceled, 7007, "cancelled"},
	}
	// Every sentinel of the table is in the cases (no row without a test).
	tested := map[error]bool{}
	for _, c := range cases {
		tested[c.err] = true
	}
	for _, r := range errorTable {
		for _, e := range r.Errs {
			if !tested[e] {
				t.Errorf("table sentinel %q (%s) has no case", e, r.Reason)
			}
		}
	}
	for _, c := range cases {
		for _, err := range []error{c.err, fmt.Errorf("context: %w", c.err), fmt.Errorf("outer: %w", fmt.Errorf("inner: %w", c.err))} {
			got := Wrap(err)
			var ae *APIError
			if !errors.As(got, &ae) {
				t.Fatalf("Wrap(%v) = %T, not *APIError", err, got)
			}
			if ae.Code != c.code || ae.Reason != c.reason {
				t.Errorf("Wrap(%q) = %d %s, want %d %s", err, ae.Code, ae.Reason, c.code, c.reason)
			}
			if c.code > 0 && rangeOf(ae.Code) == "" {
				t.Errorf("%q: code %d in no range", err, ae.Code)
			}
			var re gethrpc.Error = ae
			var de gethrpc.DataError = ae
			if re.ErrorCode() != c.code {
				t.Errorf("ErrorCode = %d", re.ErrorCode())
			}
			data, _ := de.ErrorData().(map[string]string)
			if data["reason"] != c.reason {
				t.Errorf("ErrorData reason = %v", de.ErrorData())
			}
			if !errors.Is(got, c.err) {
				t.Errorf("errors.Is(Wrap(%q), sentinel) = false", err)
			}
			if Reason(err) != c.reason {
				t.Errorf("Reason(%q) = %s", err, Reason(err))
			}
		}
	}
}

func TestWrapDetail(t *testing.T) {
	err := fmt.Errorf("%w: have 5, need 10", types.ErrInsufficientFunds)
	ae := Wrap(err).(*APIError)
	if ae.Error() != err.Error() || ae.Detail != err.Error() {
		t.Errorf("message %q detail %q, want the full text", ae.Error(), ae.Detail)
	}
	if d := ae.ErrorData().(map[string]string); d["detail"] != err.Error() {
		t.Errorf("data %v", d)
	}
	// Internal rows: the sentinel's text only, never the wrapped context.
	secret := fmt.Errorf("%w: badger: /var/lib/modex/secret-path", store.ErrCorrupt)
	ae = Wrap(secret).(*APIError)
	if ae.Error() != store.ErrCorrupt.Error() || ae.Detail != "" {
		t.Errorf("internal row leaks context: %q / %q", ae.Error(), ae.Detail)
	}
	// Unknown errors: -32603, generic message.
	ae = Wrap(errors.New("disk on fire at /dev/sda")).(*APIError)
	if ae.Code != CodeInternal || ae.Reason != ReasonInternal || ae.Error() != "internal error" {
		t.Errorf("unknown error = %d %s %q", ae.Code, ae.Reason, ae.Error())
	}
	if _, ok := ae.ErrorData().(map[string]string)["detail"]; ok {
		t.Errorf("unknown error carries a detail")
	}
	if Wrap(nil) != nil || Info(nil) != nil {
		t.Errorf("nil error wrapped")
	}
	// An APIError passes through.
	in := &APIError{Code: 4242, Reason: "x", Message: "y"}
	if Wrap(in) != error(in) {
		t.Errorf("APIError not passed through")
	}
}

func TestAPIErrorIs(t *testing.T) {
	e := &APIError{Code: 1010, Reason: "bad_signature", Message: "invalid signature"}
	if !errors.Is(e, types.ErrBadSignature) {
		t.Errorf("not Is its sentinel")
	}
	if errors.Is(e, types.ErrNonce) {
		t.Errorf("Is another sentinel")
	}
	if !errors.Is(e, &APIError{Code: 1010}) || errors.Is(e, &APIError{Code: 1011}) {
		t.Errorf("Is by code wrong")
	}
	p := &APIError{Code: CodeInvalidParams, Reason: "bad_hex"}
	if !errors.Is(p, ErrBadHex) || errors.Is(p, ErrBadLimit) {
		t.Errorf("parameter errors must match by reason")
	}
	// DecodeError of a geth-like error with data.
	got := DecodeError(fakeRPCError{code: 2003, msg: "balance too low: x", data: map[string]any{"reason": "insufficient_funds", "detail": "balance too low: x"}})
	var ae *APIError
	if !errors.As(got, &ae) || ae.Code != 2003 || ae.Reason != "insufficient_funds" || !errors.Is(got, types.ErrInsufficientFunds) {
		t.Errorf("DecodeError = %#v", got)
	}
	if got := DecodeError(fakeRPCError{code: -32601, msg: "the method x does not exist"}); got.(*APIError).Reason != "method_not_found" {
		t.Errorf("DecodeError(-32601) reason = %v", got)
	}
	plain := errors.New("dial tcp: refused")
	if DecodeError(plain) != plain {
		t.Errorf("DecodeError changed a transport error")
	}
}

type fakeRPCError struct {
	code int
	msg  string
	data any
}

func (e fakeRPCError) Error() string  { return e.msg }
func (e fakeRPCError) ErrorCode() int { return e.code }
func (e fakeRPCError) ErrorData() any { return e.data }
