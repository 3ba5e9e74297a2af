package types

import "errors"

// Rejection reasons. Every check in the state transition fails with exactly one
// of these (wrapped with context), and a rejected transaction changes nothing.
// Codes() gives each its stable wire code for the API.
var (
	// encoding
	ErrMalformed      = errors.New("malformed encoding")
	ErrUnknownKind    = errors.New("unknown transaction kind")
	ErrFieldElement   = errors.New("value is not a canonical field element")
	ErrNotPackable    = errors.New("amount is not exactly representable in the packed float format")
	ErrAmountTooLarge = errors.New("amount exceeds its bit bound")

	// signature and replay
	ErrBadSignature       = errors.New("invalid signature")
	ErrSignatureMalleable = errors.New("signature scalar S is not below the subgroup order")
	ErrBadPublicKey       = errors.New("public key is not a valid subgroup point")
	ErrNonce              = errors.New("nonce does not match the account nonce")
	ErrNonceOverflow      = errors.New("account nonce exhausted")

	// accounts and balances
	ErrAccountRange      = errors.New("account id outside the account tree")
	ErrAccountNotFound   = errors.New("account does not exist")
	ErrAccountMismatch   = errors.New("account is bound to another L1 address or key")
	ErrInsufficientFunds = errors.New("balance too low")
	ErrBalanceOverflow   = errors.New("balance would exceed its bit bound")
	ErrSelfTransfer      = errors.New("sender and receiver are the same account")
	ErrZeroAmount        = errors.New("amount must be positive")

	// assets
	ErrAssetRange           = errors.New("asset id outside its range")
	ErrAssetNotWithdrawable = errors.New("only base tokens can be withdrawn to L1")
	ErrFeeAssetsFull        = errors.New("batch already collects the maximum number of fee assets")

	// models
	ErrModelRange          = errors.New("model id outside the model tree")
	ErrModelExists         = errors.New("model id already registered")
	ErrModelNotFound       = errors.New("model does not exist")
	ErrNotModelDAO         = errors.New("signer is not the model's DAO account")
	ErrSupplyCap           = errors.New("share supply would exceed the model's cap")
	ErrBadBps              = errors.New("basis points above 10,000")
	ErrCreditPrice         = errors.New("model credit price is above the buyer's limit")
	ErrInsufficientCredits = errors.New("credit balance too low")
	ErrInsufficientShares  = errors.New("share balance too low")
	ErrRevenueOverflow     = errors.New("revenue accumulator would exceed its bit bound")
	ErrNothingToClaim      = errors.New("no revenue to claim")
	ErrZeroSupply          = errors.New("initial share supply must be positive")

	// orders
	ErrOrderSide      = errors.New("orders are not one buy and one sell of the same model")
	ErrOrderExpired   = errors.New("order expired")
	ErrOrderPrice     = errors.New("execution price outside an order's limit")
	ErrOrderOverfill  = errors.New("fill exceeds the order's remaining amount")
	ErrOrderSlotTaken = errors.New("order slot holds a newer order")
	ErrOrderClosed    = errors.New("order is cancelled or fully filled")
	ErrOrderFee       = errors.New("trade fee above the order's maximum")
	ErrSelfTrade      = errors.New("buyer and seller are the same account")

	// priority operations
	ErrPriorityOrder = errors.New("priority operation out of order")
)
