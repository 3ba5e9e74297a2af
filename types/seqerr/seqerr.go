// Package seqerr holds the sequencer's rejection errors: the sentinels of
// the transaction pool (sequencer/mempool), of the order books
// (sequencer/book) and of the sequencer's order admission.
//
// They live here, below both the sequencer and the API, so that the API's
// error table (rpc/errors.go) maps them to wire codes without importing
// any sequencer package (rpc sits beside the sequencer, not above it).
// mempool and book re-export each sentinel under its old name
// (mempool.ErrPoolFull == seqerr.ErrPoolFull), so errors.Is works with
// either name. The texts keep their "mempool:" and "book:" prefixes: they
// are what clients and logs have always seen.
//
// Only sentinels belong here; the code that returns them stays in its
// package.
package seqerr

import (
	"errors"
	"fmt"

	"github.com/modex/modex/types"
)

// The pool's errors. The nonce errors wrap types.ErrNonce, so
// errors.Is(err, types.ErrNonce) also holds.
var (
	ErrNotPoolTx              = errors.New("mempool: not an account-signed transaction (deposits and forced withdrawals come from L1, trades from the order book)")
	ErrNonceTooLow            = fmt.Errorf("mempool: %w: below the account nonce", types.ErrNonce)
	ErrNonceGap               = fmt.Errorf("mempool: %w: too far above the account nonce and its pending transactions", types.ErrNonce)
	ErrReplacementUnderpriced = errors.New("mempool: replacement fee must be at least 10% higher, in the same fee token")
	ErrPoolFull               = errors.New("mempool: pool full")
	ErrAccountFull            = errors.New("mempool: too many pending transactions for this account")
	ErrPoolClosed             = errors.New("mempool: closed")

	// Node faults (not the sender's): the pool wraps the underlying error too.
	ErrPoolAccountLookup = errors.New("mempool: account lookup failed")              // Accounts returned an error other than types.ErrAccountNotFound
	ErrPoolStore         = errors.New("mempool: storage failed")                     // a Badger read or write failed (an Add that returns it is not acknowledged)
	ErrPoolCorrupt       = errors.New("mempool: corrupt stored transaction")         // Open found a record it cannot decode
	ErrPoolLocked        = errors.New("mempool: directory is locked")                // another pool holds Options.Dir
	ErrPoolUnsupportedDB = errors.New("mempool: unsupported shared Badger database") // Options.DB is managed, read-only, or unsynced without NoSync
)

// The order books' errors. Place and Submit fail atomically: on error
// nothing changed.
var (
	ErrBookWrongModel = errors.New("book: order is for another model")
	ErrBookBadSide    = errors.New("book: order side is neither buy nor sell")
	ErrBookBadOrderID = errors.New("book: order id wider than 24 bits")
	ErrBookZeroAmount = errors.New("book: order amount is zero")
	ErrBookBadPrice   = errors.New("book: order price is zero or wider than 96 bits")
	// ErrBookNotPackable also matches types.ErrNotPackable.
	ErrBookNotPackable = fmt.Errorf("book: order price: %w", types.ErrNotPackable)
	// ErrBookExpired also matches types.ErrOrderExpired.
	ErrBookExpired   = fmt.Errorf("book: %w", types.ErrOrderExpired)
	ErrBookDuplicate = errors.New("book: (account, order id) already resting")
	ErrBookFull      = errors.New("book: order book is full")
	ErrBookNotFound  = errors.New("book: no such resting order")
	// ErrBookRemaining: SubmitRemaining with 0 or more than the order's amount.
	ErrBookRemaining = errors.New("book: remaining shares are 0 or above the order amount")
)

// The sequencer's order admission: what it refuses, against the soft state,
// before an order reaches its book.
var (
	// ErrOrderAboveSupply: the order is for more shares than its model can
	// ever have (its maximum supply, fixed at creation), so it could never
	// fill; it would rest on the book for nothing.
	ErrOrderAboveSupply = errors.New("more shares than the model can ever have (its maximum supply): the order could never fill")
)
