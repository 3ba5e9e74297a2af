package mempool

import (
	"errors"
	"fmt"
	"math/big"
	"sync"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark-crypto/ecc/bn254/twistededwards"
	"github.com/holiman/uint256"

	"github.com/modex/modex/bench/workload"
	"github.com/modex/modex/types"
)

var dom = workload.DevDomain

// memAccounts is a tiny in-memory Accounts: account i has workload.Key(i).
type memAccounts struct {
	mu     sync.Mutex
	keys   map[uint32]*types.PrivateKey
	nonces map[uint32]uint32
}

var (
	keyMu    sync.Mutex
	keyCache = map[int]*types.PrivateKey{}
)

func key(t testing.TB, i int) *types.PrivateKey {
	keyMu.Lock()
	defer keyMu.Unlock()
	if k := keyCache[i]; k != nil {
		return k
	}
	k, err := workload.Key(i)
	if err != nil {
		t.Fatal(err)
	}
	keyCache[i] = k
	return k
}

func newAccounts(t testing.TB, n int) *memAccounts {
	a := &memAccounts{keys: map[uint32]*types.PrivateKey{}, nonces: map[uint32]uint32{}}
	for i := 0; i < n; i++ {
		a.keys[uint32(i)] = key(t, i)
	}
	return a
}

func (a *memAccounts) Account(id uint32) (types.PubKey, uint32, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	k := a.keys[id]
	if k == nil {
		return types.PubKey{}, 0, fmt.Errorf("%w: %d", types.ErrAccountNotFound, id)
	}
	return types.PublicKeyOf(k), a.nonces[id], nil
}

func (a *memAccounts) setNonce(id, n uint32) {
	a.mu.Lock()
	a.nonces[id] = n
	a.mu.Unlock()
}

func transfer(t testing.TB, from uint32, nonce uint32, fee uint64) *types.Transfer {
	tx := &types.Transfer{From: from, To: from + 1000, Asset: types.ETH, Amount: *uint256.NewInt(1000 + uint64(nonce)),
		Fee: *uint256.NewInt(fee), Nonce: nonce}
	if err := types.SignTx(key(t, int(from)), dom, tx); err != nil {
		t.Fatal(err)
	}
	return tx
}

func open(t testing.TB, acc Accounts, opts Options) *Pool {
	t.Helper()
	p, err := Open(dom, acc, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func mustAdd(t testing.TB, p *Pool, tx types.SignedTx) [32]byte {
	t.Helper()
	h, err := p.Add(tx)
	if err != nil {
		t.Fatalf("add %v nonce %d: %v", tx.Kind(), tx.GetNonce(), err)
	}
	return h
}

func wantErr(t *testing.T, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("got %v, want %v", err, want)
	}
}

// nonces renders Executable's output as "signer:nonce" pairs.
func nonces(txs []types.SignedTx) string {
	s := ""
	for i, tx := range txs {
		if i > 0 {
			s += " "
		}
		s += fmt.Sprintf("%d:%d", tx.Signer(), tx.GetNonce())
	}
	return s
}

func TestSignatureRejected(t *testing.T) {
	acc := newAccounts(t, 3)
	p := open(t, acc, Options{})

	tx := transfer(t, 1, 0, 5)
	tx.Amount.SetUint64(999_999) // altered after signing
	h, err := p.Add(tx)
	wantErr(t, err, types.ErrBadSignature)
	if h != ([32]byte{}) || p.Len() != 0 {
		t.Fatal("rejected tx stored")
	}
	if hh, _ := Hash(tx); func() bool { _, ok := p.Get(hh); return ok }() {
		t.Fatal("rejected tx retrievable")
	}

	// signed by another account's key
	tx = transfer(t, 2, 0, 5)
	tx.From = 1
	_, err = p.Add(tx)
	wantErr(t, err, types.ErrBadSignature)

	// another domain
	tx = transfer(t, 1, 0, 5)
	if err := types.SignTx(key(t, 1), types.Domain{ChainID: 1}, tx); err != nil {
		t.Fatal(err)
	}
	_, err = p.Add(tx)
	wantErr(t, err, types.ErrBadSignature)

	// S ≥ ℓ that is no re-encoding of a valid signature: a bad signature
	tx = transfer(t, 1, 0, 5)
	for i := 32; i < 64; i++ {
		tx.Signature[i] = 0xff
	}
	_, err = p.Add(tx)
	wantErr(t, err, types.ErrBadSignature)

	// malleable S: S+ℓ of the valid signature
	tx = transfer(t, 1, 0, 5)
	var sv big.Int
	sv.SetBytes(tx.Signature[32:])
	ord := twistededwards.GetEdwardsCurve().Order
	sv.Add(&sv, &ord)
	if sv.BitLen() <= 256 {
		sv.FillBytes(tx.Signature[32:])
		_, err = p.Add(tx)
		wantErr(t, err, types.ErrSignatureMalleable)
	}

	// unknown signer
	_, err = p.Add(transfer(t, 7, 0, 5))
	wantErr(t, err, types.ErrAccountNotFound)

	// unpackable fee: the encoding check, before any signature work
	tx = transfer(t, 1, 0, 5)
	tx.Fee.SetUint64(123_456_789_123)
	_, err = p.Add(tx)
	wantErr(t, err, types.ErrNotPackable)

	if p.Len() != 0 {
		t.Fatalf("len %d after rejections", p.Len())
	}
	mustAdd(t, p, transfer(t, 1, 0, 5))
}

func TestNotPoolTx(t *testing.T) {
	p := open(t, newAccounts(t, 2), Options{})
	// None of these kinds is a types.SignedTx; wrapped as one (as an RPC
	// layer might), Add still refuses them by kind.
	for _, tx := range []types.Tx{&types.Trade{}, &types.Deposit{}, &types.ForcedWithdraw{}, &types.Noop{}} {
		if _, ok := tx.(types.SignedTx); ok {
			t.Fatalf("%v is a SignedTx: test it directly", tx.Kind())
		}
		_, err := p.Add(foreign{tx})
		wantErr(t, err, ErrNotPoolTx)
	}
	// nil, and a typed nil pointer (its methods would panic)
	_, err := p.Add(nil)
	wantErr(t, err, ErrNotPoolTx)
	_, err = p.Add((*types.Transfer)(nil))
	wantErr(t, err, ErrNotPoolTx)
	_, err = Hash(nil)
	wantErr(t, err, ErrNotPoolTx)
	_, err = Hash((*types.Withdraw)(nil))
	wantErr(t, err, ErrNotPoolTx)
	if p.Len() != 0 {
		t.Fatalf("len %d", p.Len())
	}
}

// foreign is a SignedTx wrapper around a kind the pool does not take.
type foreign struct{ types.Tx }

func (foreign) Signer() uint32                           { return 1 }
func (foreign) GetNonce() uint32                         { return 0 }
func (foreign) SetNonce(uint32)                          {}
func (foreign) Message(types.Domain) (fr.Element, error) { return fr.Element{}, nil }
func (foreign) Sig() *types.Signature                    { return new(types.Signature) }
func (foreign) SetSigner(uint32)                         {}
func (foreign) FeePaid() (uint256.Int, types.FeeToken)   { return uint256.Int{}, types.FeeToken{} }
func (foreign) FeeField() string                         { return "" }

func TestFeeTooLarge(t *testing.T) {
	p := open(t, newAccounts(t, 2), Options{})
	tx := transfer(t, 1, 0, 1)
	tx.Fee.Lsh(uint256.NewInt(1), types.AmountBits) // one bit too wide
	types.SignTx(key(t, 1), dom, tx)
	_, err := p.Add(tx)
	wantErr(t, err, types.ErrAmountTooLarge)
	if p.Len() != 0 {
		t.Fatal("stored")
	}
}

func TestNonceRules(t *testing.T) {
	acc := newAccounts(t, 3)
	acc.setNonce(1, 3)
	p := open(t, acc, Options{MaxNonceGap: 2})

	_, err := p.Add(transfer(t, 1, 2, 1))
	wantErr(t, err, ErrNonceTooLow)
	wantErr(t, err, types.ErrNonce)

	// account nonce 3, nothing pending, gap 2: up to nonce 5
	_, err = p.Add(transfer(t, 1, 6, 1))
	wantErr(t, err, ErrNonceGap)
	mustAdd(t, p, transfer(t, 1, 5, 1))
	// one pending now: up to 6
	mustAdd(t, p, transfer(t, 1, 6, 1))
	_, err = p.Add(transfer(t, 1, 9, 1))
	wantErr(t, err, ErrNonceGap)
	mustAdd(t, p, transfer(t, 1, 7, 1))
	if p.Len() != 3 {
		t.Fatalf("len %d", p.Len())
	}

	// gap 0: strictly contiguous
	p0 := open(t, acc, Options{})
	_, err = p0.Add(transfer(t, 1, 4, 1))
	wantErr(t, err, ErrNonceGap)
	mustAdd(t, p0, transfer(t, 1, 3, 1))
	mustAdd(t, p0, transfer(t, 1, 4, 1))

	// the same transaction twice is idempotent
	tx := transfer(t, 1, 5, 1)
	h1 := mustAdd(t, p0, tx)
	h2 := mustAdd(t, p0, tx)
	if h1 != h2 || p0.Len() != 3 {
		t.Fatalf("duplicate: %x %x len %d", h1, h2, p0.Len())
	}
}

func TestReplacement(t *testing.T) {
	acc := newAccounts(t, 3)
	p := open(t, acc, Options{})
	h0 := mustAdd(t, p, transfer(t, 1, 0, 100))

	_, err := p.Add(transfer(t, 1, 0, 109)) // +9%
	wantErr(t, err, ErrReplacementUnderpriced)
	if _, ok := p.Get(h0); !ok || p.Len() != 1 {
		t.Fatal("refused replacement changed the pool")
	}
	// another fee token (withdraw of token 1) at the same nonce, higher fee
	w := &types.Withdraw{Account: 1, Token: 1, Amount: *uint256.NewInt(5), Fee: *uint256.NewInt(1000), Nonce: 0}
	if err := types.SignTx(key(t, 1), dom, w); err != nil {
		t.Fatal(err)
	}
	_, err = p.Add(w)
	wantErr(t, err, ErrReplacementUnderpriced)

	h1 := mustAdd(t, p, transfer(t, 1, 0, 110)) // +10%
	if _, ok := p.Get(h0); ok {
		t.Fatal("replaced tx still pending")
	}
	if s, _ := p.Status(h0); s != StatusUnknown {
		t.Fatalf("replaced status %v", s)
	}
	got, ok := p.Get(h1)
	if !ok || got.(*types.Transfer).Fee.Uint64() != 110 || p.Len() != 1 {
		t.Fatal("replacement not pending")
	}
	// same token via a withdraw of ETH (token 0) is a valid replacement
	w = &types.Withdraw{Account: 1, Token: 0, Amount: *uint256.NewInt(5), Fee: *uint256.NewInt(121), Nonce: 0}
	if err := types.SignTx(key(t, 1), dom, w); err != nil {
		t.Fatal(err)
	}
	mustAdd(t, p, w)

	// a zero fee is replaced only by a positive one
	mustAdd(t, p, transfer(t, 2, 0, 0))
	tx := transfer(t, 2, 0, 0)
	tx.Amount.SetUint64(7)
	types.SignTx(key(t, 2), dom, tx)
	_, err = p.Add(tx)
	wantErr(t, err, ErrReplacementUnderpriced)
	mustAdd(t, p, transfer(t, 2, 0, 1))
	if p.Len() != 2 {
		t.Fatalf("len %d", p.Len())
	}
}

func TestBounds(t *testing.T) {
	acc := newAccounts(t, 4)
	p := open(t, acc, Options{MaxTxs: 5, MaxPerAccount: 3})
	for n := uint32(0); n < 3; n++ {
		mustAdd(t, p, transfer(t, 1, n, 1))
	}
	_, err := p.Add(transfer(t, 1, 3, 1))
	wantErr(t, err, ErrAccountFull)
	// a replacement needs no room
	mustAdd(t, p, transfer(t, 1, 2, 2))
	mustAdd(t, p, transfer(t, 2, 0, 1))
	mustAdd(t, p, transfer(t, 2, 1, 1))
	_, err = p.Add(transfer(t, 3, 0, 1))
	wantErr(t, err, ErrPoolFull)
	if p.Len() != 5 {
		t.Fatalf("len %d", p.Len())
	}
	// room comes back after Remove
	first := p.Executable(1)
	h, _ := Hash(first[0])
	if err := p.Remove(h); err != nil {
		t.Fatal(err)
	}
	mustAdd(t, p, transfer(t, 3, 0, 1))
}

func TestExecutable(t *testing.T) {
	acc := newAccounts(t, 4)
	acc.setNonce(3, 3)
	p := open(t, acc, Options{MaxNonceGap: 4})
	// arrival: A(1) 0,1,2 then B(2) 0,1; C(3) has nonce 3 and sends 5 first
	for n := uint32(0); n < 3; n++ {
		mustAdd(t, p, transfer(t, 1, n, 1))
	}
	mustAdd(t, p, transfer(t, 2, 0, 1))
	h5 := mustAdd(t, p, transfer(t, 3, 5, 1))
	mustAdd(t, p, transfer(t, 2, 1, 1))

	if got, want := nonces(p.Executable(0)), "1:0 2:0 1:1 2:1 1:2"; got != want {
		t.Fatalf("executable %q, want %q", got, want)
	}
	if got, want := nonces(p.Executable(3)), "1:0 2:0 1:1"; got != want {
		t.Fatalf("executable(3) %q, want %q", got, want)
	}
	if s, _ := p.Status(h5); s != StatusQueued {
		t.Fatalf("nonce 5 status %v", s)
	}
	h3 := mustAdd(t, p, transfer(t, 3, 3, 1))
	if got, want := nonces(p.Executable(0)), "1:0 2:0 3:3 1:1 2:1 1:2"; got != want {
		t.Fatalf("executable %q, want %q (5 waits for 4)", got, want)
	}
	mustAdd(t, p, transfer(t, 3, 4, 1))
	if got, want := nonces(p.Executable(0)), "1:0 2:0 3:3 1:1 2:1 3:4 1:2 3:5"; got != want {
		t.Fatalf("executable %q, want %q", got, want)
	}
	if s, _ := p.Status(h5); s != StatusReady {
		t.Fatalf("nonce 5 status %v", s)
	}
	if got := nonces(p.Pending(3)); got != "3:3 3:4 3:5" {
		t.Fatalf("pending %q", got)
	}

	// a batch includes 1:0, 1:1, 3:3: the sequencer removes them
	var hs [][32]byte
	for _, tx := range p.Executable(0) {
		if (tx.Signer() == 1 && tx.GetNonce() < 2) || (tx.Signer() == 3 && tx.GetNonce() == 3) {
			h, _ := Hash(tx)
			hs = append(hs, h)
		}
	}
	if err := p.Remove(hs...); err != nil {
		t.Fatal(err)
	}
	acc.setNonce(1, 2)
	acc.setNonce(3, 4)
	if s, _ := p.Status(h3); s != StatusUnknown {
		t.Fatalf("removed status %v", s)
	}
	// the soft state moved past 2:0 (e.g. another route), so it is stale
	acc.setNonce(2, 1)
	if got, want := nonces(p.Executable(0)), "1:2 2:1 3:4 3:5"; got != want {
		t.Fatalf("executable %q, want %q", got, want)
	}
	n, err := p.Revalidate()
	if err != nil || n != 1 {
		t.Fatalf("revalidate dropped %d, %v", n, err)
	}
	if p.Len() != 4 {
		t.Fatalf("len %d", p.Len())
	}
}

func TestDurableReopen(t *testing.T) {
	dir := t.TempDir()
	acc := newAccounts(t, 4)
	p, err := Open(dom, acc, Options{Dir: dir, MaxNonceGap: 2})
	if err != nil {
		t.Fatal(err)
	}
	var hashes [][32]byte
	for i := 0; i < 12; i++ {
		from := uint32(1 + i%3)
		hashes = append(hashes, mustAdd(t, p, transfer(t, from, uint32(i/3), 1)))
	}
	mustAdd(t, p, transfer(t, 3, 5, 1)) // queued behind a gap
	rep := mustAdd(t, p, transfer(t, 1, 3, 10))
	if err := p.Remove(hashes[0]); err != nil {
		t.Fatal(err)
	}
	acc.setNonce(1, 1) // hashes[0] was included
	wantExec, wantLen := nonces(p.Executable(0)), p.Len()
	wantPending := nonces(p.Pending(3))
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}

	q, err := Open(dom, acc, Options{Dir: dir, MaxNonceGap: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	if q.Len() != wantLen || nonces(q.Executable(0)) != wantExec || nonces(q.Pending(3)) != wantPending {
		t.Fatalf("reopened: len %d exec %q pending %q; want %d %q %q", q.Len(), nonces(q.Executable(0)), nonces(q.Pending(3)), wantLen, wantExec, wantPending)
	}
	if _, ok := q.Get(hashes[0]); ok {
		t.Fatal("removed tx came back")
	}
	if _, ok := q.Get(hashes[9]); ok {
		t.Fatal("replaced tx came back")
	}
	for _, h := range append(hashes[1:9], append(hashes[10:], rep)...) {
		if _, ok := q.Get(h); !ok {
			t.Fatalf("tx %x lost", h)
		}
	}
	// arrival order survives: a new tx goes last
	mustAdd(t, q, transfer(t, 3, 4, 1))
	if got := nonces(q.Executable(0)); got != wantExec+" 3:4 3:5" {
		t.Fatalf("after reopen: %q", got)
	}
}

func TestConcurrentAdd(t *testing.T) {
	acc := newAccounts(t, 9)
	p := open(t, acc, Options{NoSync: true})
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for u := uint32(1); u <= 8; u++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := uint32(0); n < 6; n++ {
				if _, err := p.Add(transfer(t, u, n, 1)); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if p.Len() != 48 || len(p.Executable(0)) != 48 {
		t.Fatalf("len %d", p.Len())
	}
}

func benchTxs(b *testing.B, accounts int) ([]types.SignedTx, *memAccounts) {
	acc := newAccounts(b, accounts+1)
	txs := make([]types.SignedTx, b.N)
	for i := range txs {
		txs[i] = transfer(b, uint32(1+i%accounts), uint32(i/accounts), 1)
	}
	return txs, acc
}

// BenchmarkAdd is dominated by the signature check (in-memory, no fsync).
func BenchmarkAdd(b *testing.B) {
	txs, acc := benchTxs(b, 64)
	p := open(b, acc, Options{MaxTxs: 1 << 30, MaxPerAccount: 1 << 30, NoSync: true})
	b.ResetTimer()
	for _, tx := range txs {
		if _, err := p.Add(tx); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tx/s")
}

// BenchmarkAddParallel: 64 accounts added concurrently (one goroutine each
// per GOMAXPROCS worker), on disk with fsync: verification in parallel,
// Badger group commit.
func BenchmarkAddParallel(b *testing.B) {
	for _, synced := range []bool{false, true} {
		b.Run(fmt.Sprintf("sync=%v", synced), func(b *testing.B) {
			const accounts = 64
			txs, acc := benchTxs(b, accounts)
			p := open(b, acc, Options{MaxTxs: 1 << 30, MaxPerAccount: 1 << 30, Dir: b.TempDir(), NoSync: !synced})
			b.ResetTimer()
			var wg sync.WaitGroup
			for u := 0; u < accounts; u++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := u; i < len(txs); i += accounts {
						if _, err := p.Add(txs[i]); err != nil {
							b.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tx/s")
		})
	}
}
