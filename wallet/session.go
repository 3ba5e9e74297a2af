package wallet

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/holiman/uint256"

	"github.com/modex/modex/rpc"
	"github.com/modex/modex/rpc/client"
	"github.com/modex/modex/types"
)

// DefaultRPC and DefaultL1RPC are the devnet's endpoints.
const (
	DefaultRPC   = "http://127.0.0.1:8645"
	DefaultL1RPC = "http://127.0.0.1:8545"
)

// ProgressEvery is how often a wait reports that it is still waiting.
var ProgressEvery = 5 * time.Second

// NoNodeError: nothing answers at the API's URL.
type NoNodeError struct {
	URL string
	Err error
}

func (e *NoNodeError) Error() string {
	return fmt.Sprintf("no node at %s (start one with make run or modex devnet)", e.URL)
}

func (e *NoNodeError) Unwrap() error { return e.Err }

// unreachable says whether err means nothing listens at the URL (as
// opposed to a node that answered with an error).
func unreachable(err error) bool {
	var op *net.OpError
	var ue *url.Error
	var dns *net.DNSError
	return errors.Is(err, syscall.ECONNREFUSED) || errors.As(err, &op) || errors.As(err, &ue) || errors.As(err, &dns)
}

// Session is a wallet's connection to a node's API: the key (nil for
// read-only use), the signing domain and the account it signs for.
type Session struct {
	Client  *client.Client
	URL     string
	Key     *Key
	Domain  types.Domain
	Account uint32
}

// Dial connects to the node's API and checks that a node answers there
// (a *NoNodeError if nothing does).
func Dial(ctx context.Context, apiURL string) (*Session, error) {
	c, err := client.Dial(ctx, apiURL)
	if err != nil {
		if unreachable(err) {
			return nil, &NoNodeError{URL: apiURL, Err: err}
		}
		return nil, fmt.Errorf("API %s: %w", apiURL, err)
	}
	if _, err := c.Health(ctx); err != nil {
		c.Close()
		if unreachable(err) {
			return nil, &NoNodeError{URL: apiURL, Err: err}
		}
		return nil, fmt.Errorf("API %s: %w", apiURL, err)
	}
	return &Session{Client: c, URL: apiURL}, nil
}

// Close closes the connection.
func (s *Session) Close() { s.Client.Close() }

// UseKey sets the key and reads the signing domain (node_contracts).
func (s *Session) UseKey(ctx context.Context, k *Key) error {
	ct, err := s.Client.Contracts(ctx)
	if err != nil {
		return fmt.Errorf("API %s: %w", s.URL, err)
	}
	s.Key, s.Domain = k, types.Domain{ChainID: ct.ChainID, Bridge: ct.Bridge}
	return nil
}

// UseAccount sets the account: id, or with id < 0 the one bound to the
// key's L1 address and L2 key.
func (s *Session) UseAccount(ctx context.Context, id int64) error {
	if id >= 0 {
		s.Account = uint32(id)
		return nil
	}
	ids, err := s.AccountsOf(ctx)
	if err != nil {
		return err
	}
	if len(ids) == 0 {
		addr, ok := s.Key.Address()
		if !ok {
			return ArgErr("account", "", "required: the key file has no L1 key to find the account by")
		}
		return fmt.Errorf("%w: %s has no account with this L2 key (deposit first: modex deposit --key FILE --amount WEI)", ErrNoAccount, addr)
	}
	s.Account = ids[0]
	return nil
}

// AccountsOf lists the accounts of the key's L1 address that hold its L2
// key (none without an L1 key).
func (s *Session) AccountsOf(ctx context.Context) ([]uint32, error) {
	addr, ok := s.Key.Address()
	if !ok {
		return nil, nil
	}
	ids, err := s.Client.AccountByAddress(ctx, addr)
	if err != nil {
		return nil, err
	}
	pk := s.Key.PubKey()
	want := [2]string{ElemHex(pk.X), ElemHex(pk.Y)}
	var out []uint32
	for _, id := range ids {
		info, err := s.Client.Account(ctx, id)
		if err != nil {
			return nil, err
		}
		if strings.EqualFold(info.PubKey[0], want[0]) && strings.EqualFold(info.PubKey[1], want[1]) {
			out = append(out, id)
		}
	}
	return out, nil
}

// Submit signs tx with the account's soft nonce and submits it.
func (s *Session) Submit(ctx context.Context, tx types.SignedTx) (hash common.Hash, nonce uint32, err error) {
	info, err := s.Client.Account(ctx, s.Account)
	if err != nil {
		return common.Hash{}, 0, fmt.Errorf("account %d: %w", s.Account, err)
	}
	tx.SetNonce(info.Nonce)
	if err := types.SignTx(s.Key.L2, s.Domain, tx); err != nil {
		return common.Hash{}, 0, err
	}
	h, err := s.Client.SubmitTx(ctx, tx)
	if err != nil {
		return common.Hash{}, 0, fmt.Errorf("%s: %w", tx.Kind(), err)
	}
	return h, info.Nonce, nil
}

// ValidUntil is the expiry of an order valid for d: d after the node's
// clock (node_syncStatus clock, the sequencer's, which a batch's timestamp
// and so the order's expiry follow), not after this machine's. A node that
// reports no clock: this machine's.
func (s *Session) ValidUntil(ctx context.Context, d time.Duration) (uint32, error) {
	now := uint64(time.Now().Unix())
	st, err := s.Client.SyncStatus(ctx)
	if err != nil {
		return 0, fmt.Errorf("API %s: %w", s.URL, err)
	}
	if st.Clock > 0 {
		now = st.Clock
	}
	until := now + uint64((d+time.Second-1)/time.Second) // whole seconds, rounded up
	if until >= 1<<types.TimeBits {
		return 0, ArgErr("valid", d.String(), "ends after %s, beyond the protocol's times", types.FormatTime(1<<types.TimeBits-1))
	}
	return uint32(until), nil
}

// PlaceOrder signs the order (for the session's account) and places it.
func (s *Session) PlaceOrder(ctx context.Context, o *types.Order) (*rpc.OrderResult, error) {
	o.Account = s.Account
	if err := types.SignOrder(s.Key.L2, s.Domain, o); err != nil {
		return nil, err
	}
	res, err := s.Client.PlaceOrder(ctx, o)
	if err != nil {
		return nil, fmt.Errorf("order: %w", err)
	}
	return res, nil
}

// Progress is a report of a wait.
type Progress struct {
	Status  rpc.TxStatus
	Batch   uint64
	Changed bool   // the status changed (else: still waiting)
	Stage   string // with Changed false: the batch's pipeline stage ("" unknown)
	Elapsed time.Duration
}

// WaitTx waits until the transaction reaches want (client.WaitTx),
// reporting each status change and, every ProgressEvery, where its batch
// stands. want TxPending returns at once.
func (s *Session) WaitTx(ctx context.Context, h common.Hash, want rpc.TxStatus, report func(Progress)) (*rpc.TxInfo, error) {
	if want == rpc.TxPending || want == "" {
		return s.Client.Tx(ctx, h)
	}
	start := time.Now()
	v, err := s.Client.WaitTx(ctx, h, want, client.WithProgress(ProgressEvery, func(v *rpc.TxInfo, changed bool) {
		if report == nil {
			return
		}
		p := Progress{Status: v.Status, Batch: v.Batch, Changed: changed, Elapsed: time.Since(start)}
		if !changed && v.Batch > 0 {
			if b, err := s.Client.Batch(ctx, v.Batch); err == nil {
				p.Stage = string(b.Status)
			}
		}
		report(p)
	}))
	if err != nil && ctx.Err() != nil {
		return nil, fmt.Errorf("waiting for %s to be %s after %s: %w", h, want, time.Since(start).Round(time.Second), err)
	}
	return v, err
}

// PriorityProgress is a report of WaitPriority.
type PriorityProgress struct {
	Status  rpc.TxStatus // "" while the node has not seen the request
	Batch   uint64
	Changed bool
	Seen    uint64 // while unseen: the requests the node has seen
	L1Head  uint64 // and its L1 head
	Elapsed time.Duration
}

// WaitPriority polls a priority request (a deposit) until the node has
// applied it (at least included, or want).
func (s *Session) WaitPriority(ctx context.Context, id uint64, want rpc.TxStatus, report func(PriorityProgress)) (*rpc.PriorityInfo, error) {
	if client.StatusRank(want) < client.StatusRank(rpc.TxIncluded) {
		want = rpc.TxIncluded
	}
	start := time.Now()
	var last rpc.TxStatus
	lastReport := time.Now()
	tick := func(p PriorityProgress) {
		if report != nil {
			p.Elapsed = time.Since(start)
			report(p)
		}
		lastReport = time.Now()
	}
	for {
		pi, err := s.Client.Priority(ctx, id)
		switch {
		case errors.Is(err, rpc.ErrPriorityNotFound):
			if time.Since(lastReport) >= ProgressEvery {
				p := PriorityProgress{}
				if st, _ := s.Client.SyncStatus(ctx); st != nil {
					p.Seen, p.L1Head = st.PriorityIn, st.L1Head
				}
				tick(p)
			}
		case err != nil:
			return nil, err
		default:
			if pi.Status != last {
				last = pi.Status
				tick(PriorityProgress{Status: pi.Status, Batch: pi.Batch, Changed: true})
			}
			if client.StatusRank(pi.Status) >= client.StatusRank(want) {
				return pi, nil
			}
			if time.Since(lastReport) >= ProgressEvery {
				tick(PriorityProgress{Status: pi.Status, Batch: pi.Batch})
			}
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for priority request %d after %s: %w", id, time.Since(start).Round(time.Second), ctx.Err())
		case <-time.After(client.PollInterval):
		}
	}
}

// NextOrderID is one above the highest order id the account has used on
// the market: its open orders, its trades there and its cancellations.
func (s *Session) NextOrderID(ctx context.Context, model uint16) (uint32, error) {
	var top uint32
	info, err := s.Client.Account(ctx, s.Account)
	if err != nil {
		return 0, err
	}
	for _, o := range info.Orders {
		if o.Model == model {
			top = max(top, o.OrderID)
		}
	}
	cursor := ""
	for range 20 { // the newest 10,000 trades of the market
		page, err := s.Client.Trades(ctx, model, cursor, rpc.MaxPageLimit)
		if err != nil {
			return 0, err
		}
		for _, t := range page.Items {
			if t.Buyer == s.Account {
				top = max(top, t.BuyOrder)
			}
			if t.Seller == s.Account {
				top = max(top, t.SellOrder)
			}
		}
		if page.Next == "" {
			break
		}
		cursor = page.Next
	}
	cursor = ""
	for range 20 {
		page, err := s.Client.History(ctx, s.Account, cursor, rpc.MaxPageLimit)
		if err != nil {
			return 0, err
		}
		for _, t := range page.Items {
			if t.Kind != types.KindCancelOrder.String() || len(t.Raw) == 0 {
				continue
			}
			if tx, err := types.DecodeTx(t.Raw); err == nil {
				if c, ok := tx.(*types.CancelOrder); ok && c.Model == model {
					top = max(top, c.OrderID)
				}
			}
		}
		if page.Next == "" {
			break
		}
		cursor = page.Next
	}
	if top+1 >= 1<<types.OrderIDBits {
		return 0, ArgErr("id", "", "the account's order ids are used up on model %d", model)
	}
	return top + 1, nil
}

// Balance is the account's soft balance of an asset.
func (s *Session) Balance(ctx context.Context, a types.AssetID) (*uint256.Int, error) {
	info, err := s.Client.Account(ctx, s.Account)
	if err != nil {
		return nil, err
	}
	for _, b := range info.Balances {
		if b.Asset == uint32(a) {
			v := b.Soft
			return &v, nil
		}
	}
	return new(uint256.Int), nil
}

// FindToken resolves a token id or L1 address against the node's assets.
func (s *Session) FindToken(ctx context.Context, t string) (uint16, common.Address, error) {
	assets, err := s.Client.Assets(ctx)
	if err != nil {
		return 0, common.Address{}, err
	}
	for _, a := range assets {
		if a.ID == 0 {
			continue
		}
		if strconv.FormatUint(uint64(a.ID), 10) == t || (common.IsHexAddress(t) && a.Address == common.HexToAddress(t)) {
			return a.ID, a.Address, nil
		}
	}
	return 0, common.Address{}, ArgErr("token", t, "not a token registered on the bridge (modex status lists none; ask the governor to register it)")
}
