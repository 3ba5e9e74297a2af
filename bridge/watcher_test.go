package bridge

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"math/big"
	"net"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/accounts/abi/bind/v2"
	"github.com/ethereum/go-ethereum/common"
	ethtypes "github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/eth/ethconfig"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/ethclient/simulated"
	"github.com/ethereum/go-ethereum/node"

	"github.com/modex/modex/types"
)

// The watcher tests need no proofs: the bridge is deployed without verifiers
// (zero addresses) on the simulated chain, and the chain is driven block by
// block (Commit), reorged with Fork.

type watchUser struct {
	key  *ecdsa.PrivateKey
	addr common.Address
	pkX  *big.Int // an L2 key (any field elements: the bridge only checks the range)
}

type watchEnv struct {
	t        *testing.T
	ctx      context.Context
	sim      *simulated.Backend
	cl       simulated.Client // sends transactions
	l1       L1               // what the watcher reads
	chainID  *big.Int
	users    []*watchUser
	contract common.Address
	deployed uint64 // the deployment block
	amount   int64  // the next deposit amount (every deposit is distinct)
}

const watchConf = 3

func newWatchEnv(t *testing.T, opts ...func(*node.Config, *ethconfig.Config)) *watchEnv {
	t.Helper()
	e := &watchEnv{t: t, ctx: context.Background(), amount: 1000}
	alloc := ethtypes.GenesisAlloc{}
	for i := 0; i < 8; i++ {
		k, err := crypto.GenerateKey()
		if err != nil {
			t.Fatal(err)
		}
		u := &watchUser{key: k, addr: crypto.PubkeyToAddress(k.PublicKey), pkX: big.NewInt(int64(100 + i))}
		e.users = append(e.users, u)
		alloc[u.addr] = ethtypes.Account{Balance: new(big.Int).Lsh(big.NewInt(1), 100)}
	}
	e.sim = simulated.NewBackend(alloc, opts...)
	t.Cleanup(func() { e.sim.Close() })
	e.cl = e.sim.Client()
	e.l1 = e.cl
	id, err := e.cl.ChainID(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	e.chainID = id
	op := e.users[0]
	o := bind.NewKeyedTransactor(op.key, id)
	addr, tx, err := DeployTx(o, e.cl, DeployConfig{
		Params: types.TestParams(), Operator: op.addr, Governor: op.addr,
		PriorityDeadline: 50,
	})
	if err != nil {
		t.Fatal(err)
	}
	e.sim.Commit()
	r, err := WaitSuccess(e.ctx, e.cl, tx)
	if err != nil {
		t.Fatal(err)
	}
	e.contract, e.deployed = addr, r.BlockNumber.Uint64()
	return e
}

func (e *watchEnv) head() uint64 {
	e.t.Helper()
	n, err := e.cl.BlockNumber(e.ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	return n
}

func (e *watchEnv) hash(n uint64) common.Hash {
	e.t.Helper()
	h, err := e.cl.HeaderByNumber(e.ctx, new(big.Int).SetUint64(n))
	if err != nil {
		e.t.Fatal(err)
	}
	return h.Hash()
}

// deposit signs and sends (does not mine) a depositETH of user u; every
// deposit has its own amount, its identity in the tests.
func (e *watchEnv) deposit(u *watchUser) *ethtypes.Transaction {
	e.t.Helper()
	e.amount++
	data := ABI.PackDepositETH(u.pkX, big.NewInt(7))
	nonce, err := e.cl.PendingNonceAt(e.ctx, u.addr)
	if err != nil {
		e.t.Fatal(err)
	}
	tx, err := ethtypes.SignNewTx(u.key, ethtypes.LatestSignerForChainID(e.chainID), &ethtypes.DynamicFeeTx{
		ChainID: e.chainID, Nonce: nonce, GasTipCap: big.NewInt(1e9), GasFeeCap: big.NewInt(100e9),
		Gas: 300_000, To: &e.contract, Value: big.NewInt(e.amount), Data: data,
	})
	if err != nil {
		e.t.Fatal(err)
	}
	e.send(tx)
	return tx
}

// send sends a signed transaction (again, to model its re-inclusion).
func (e *watchEnv) send(tx *ethtypes.Transaction) {
	e.t.Helper()
	if err := e.cl.SendTransaction(e.ctx, tx); err != nil {
		e.t.Fatalf("send %s: %v", tx.Hash(), err)
	}
}

// fork reorgs the chain to continue from block n: the blocks after it are
// dropped, and so are their transactions (the pool re-injects them; they are
// cleared so that the test decides where they are re-included).
func (e *watchEnv) fork(n uint64) {
	e.t.Helper()
	if err := e.sim.Fork(e.hash(n)); err != nil {
		e.t.Fatal(err)
	}
	e.sim.Rollback()
	if h := e.head(); h != n {
		e.t.Fatalf("fork: head %d, want %d", h, n)
	}
}

// canonical is the queue on the canonical chain, from the events.
func (e *watchEnv) canonical() []Request {
	e.t.Helper()
	logs, err := e.cl.FilterLogs(e.ctx, ethereum.FilterQuery{
		FromBlock: new(big.Int).SetUint64(e.deployed), Addresses: []common.Address{e.contract},
		Topics: [][]common.Hash{{EventID("PriorityRequest")}},
	})
	if err != nil {
		e.t.Fatal(err)
	}
	var out []Request
	for i := range logs {
		ev, err := ABI.UnpackPriorityRequestEvent(&logs[i])
		if err != nil {
			e.t.Fatal(err)
		}
		out = append(out, Request{ID: ev.Id, Request: ev.Request, Rolling: ev.Rolling, Block: logs[i].BlockNumber})
	}
	return out
}

func (e *watchEnv) watcher(st Store) *Watcher {
	e.t.Helper()
	w, err := NewWatcher(e.l1, WatcherConfig{Contract: e.contract, Confirmations: watchConf, FromBlock: e.deployed, MaxRange: 4}, st)
	if err != nil {
		e.t.Fatal(err)
	}
	return w
}

// ledger is what the L2 would have credited: every delivery, checked for
// contiguous ids delivered once.
type ledger struct {
	t    *testing.T
	reqs []Request
}

func (l *ledger) add(got []Request) {
	l.t.Helper()
	for _, r := range got {
		if r.ID != uint64(len(l.reqs)) {
			l.t.Fatalf("delivered id %d, want %d (ids must be contiguous and delivered once)", r.ID, len(l.reqs))
		}
		if _, ok := r.Tx.(*types.Deposit); !ok {
			l.t.Fatalf("request %d: %T", r.ID, r.Tx)
		}
		l.reqs = append(l.reqs, r)
	}
}

// poll polls w and records its deliveries; it fails on an error.
func (l *ledger) poll(ctx context.Context, w *Watcher) []Request {
	l.t.Helper()
	got, err := w.Poll(ctx)
	if err != nil {
		l.t.Fatalf("poll: %v", err)
	}
	l.add(got)
	return got
}

// amounts counts the delivered deposits by amount (their content).
func (l *ledger) amounts() map[uint64]int {
	m := map[uint64]int{}
	for _, r := range l.reqs {
		m[r.Tx.(*types.Deposit).Amount.Uint64()]++
	}
	return m
}

// check compares the ledger with the canonical queue confirmed at the head.
func (l *ledger) check(e *watchEnv) {
	l.t.Helper()
	head := e.head()
	var want []Request
	for _, r := range e.canonical() {
		if r.Block+watchConf <= head {
			want = append(want, r)
		}
	}
	if len(l.reqs) != len(want) {
		l.t.Fatalf("delivered %d requests, the confirmed queue has %d", len(l.reqs), len(want))
	}
	for i, r := range want {
		d := l.reqs[i]
		if d.ID != r.ID || d.Rolling != r.Rolling || string(d.Request) != string(r.Request) {
			l.t.Fatalf("request %d: delivered %x (id %d), canonical %x", i, d.Rolling, d.ID, r.Rolling)
		}
	}
	for amt, n := range l.amounts() {
		if n != 1 {
			l.t.Fatalf("deposit of %d delivered %d times", amt, n)
		}
	}
}

func TestWatcherConfirmations(t *testing.T) {
	for _, kind := range []string{"mem", "badger"} {
		t.Run(kind, func(t *testing.T) {
			e := newWatchEnv(t)
			dir := t.TempDir()
			var st Store = NewMemStore()
			var bs *BadgerStore
			open := func() {
				if kind != "badger" {
					return
				}
				var err error
				if bs, err = OpenBadgerStore(dir); err != nil {
					t.Fatal(err)
				}
				st = bs
			}
			closeStore := func() {
				if bs != nil {
					if err := bs.Close(); err != nil {
						t.Fatal(err)
					}
					bs = nil
				}
			}
			open()
			t.Cleanup(closeStore)
			l := &ledger{t: t}
			w := e.watcher(st)

			// Request 0 (the operator's, at deployment) needs 3 confirmations.
			for i := 0; i < watchConf; i++ {
				if got := l.poll(e.ctx, w); len(got) != 0 {
					t.Fatalf("head %d: delivered %d before %d confirmations", e.head(), got[0].ID, watchConf)
				}
				e.sim.Commit()
			}
			if got := l.poll(e.ctx, w); len(got) != 1 || got[0].ID != 0 || got[0].Block != e.deployed {
				t.Fatalf("want request 0 of block %d, got %+v", e.deployed, got)
			}

			// A deposit: not before its confirmations, then exactly once.
			u := e.users[1]
			tx := e.deposit(u)
			e.sim.Commit()
			at := e.head()
			for e.head() < at+watchConf {
				if got := l.poll(e.ctx, w); len(got) != 0 {
					t.Fatalf("delivered at %d confirmations", e.head()-at)
				}
				e.sim.Commit()
			}
			got := l.poll(e.ctx, w)
			if len(got) != 1 {
				t.Fatalf("want the deposit, got %d requests", len(got))
			}
			r := got[0]
			d := r.Tx.(*types.Deposit)
			if r.ID != 1 || r.Block != at || r.TxHash != tx.Hash() || r.BlockHash != e.hash(at) ||
				d.PriorityID != 1 || d.L1Address != u.addr || d.Amount.Uint64() != uint64(e.amount) ||
				r.Deadline != at+50 || w.Next() != 2 {
				t.Fatalf("bad request %+v (deposit %+v), next %d", r, d, w.Next())
			}
			for i := 0; i < 3; i++ {
				l.poll(e.ctx, w) // fails on a second delivery
				e.sim.Commit()
			}

			// Restart: nothing new, then it continues.
			closeStore()
			open()
			w = e.watcher(st)
			if w.Next() != 2 {
				t.Fatalf("restart: next %d, want 2", w.Next())
			}
			if got := l.poll(e.ctx, w); len(got) != 0 {
				t.Fatalf("restart re-delivered %d", got[0].ID)
			}
			e.deposit(e.users[2])
			e.deposit(e.users[3])
			e.sim.Commit()
			for i := 0; i < watchConf; i++ {
				e.sim.Commit()
			}
			// Restart again before polling: the deposits are delivered once.
			closeStore()
			open()
			w = e.watcher(st)
			if got := l.poll(e.ctx, w); len(got) != 2 || got[0].ID != 2 || got[1].ID != 3 {
				t.Fatalf("after restart: %+v", got)
			}
			l.check(e)
		})
	}
}

// reorgCase drives one reorg scenario (docs: TestWatcherReorgs).
type reorgCase struct {
	depth    uint64
	reverse  bool // re-include the dropped deposits in reverse order
	extra    bool // a new deposit on the fork
	conflict bool // the first dropped deposit is replaced by another one
	missing  bool // the dropped deposits are never re-included
}

func (c reorgCase) String() string {
	s := fmt.Sprintf("depth%d", c.depth)
	for _, f := range []struct {
		on   bool
		name string
	}{{c.reverse, "reverse"}, {c.extra, "extra"}, {c.conflict, "conflict"}, {c.missing, "missing"}} {
		if f.on {
			s += "-" + f.name
		}
	}
	return s
}

func TestWatcherReorgs(t *testing.T) {
	var cases []reorgCase
	for _, d := range []uint64{1, 2, 5, watchConf + 1} {
		cases = append(cases, reorgCase{depth: d}, reorgCase{depth: d, extra: true})
		if d <= watchConf {
			cases = append(cases, reorgCase{depth: d, reverse: true})
		}
	}
	cases = append(cases,
		reorgCase{depth: watchConf + 1, conflict: true},
		reorgCase{depth: watchConf + 1, missing: true},
	)
	for _, c := range cases {
		t.Run(c.String(), func(t *testing.T) {
			e := newWatchEnv(t)
			runReorg(t, e, c)
		})
	}
}

func runReorg(t *testing.T, e *watchEnv, c reorgCase) {
	st := NewMemStore()
	w := e.watcher(st)
	l := &ledger{t: t}
	// step mines a block and polls. A conflict is expected only in the
	// conflict variants: the first one is recorded with its head.
	var conflict error
	var conflictHead uint64
	step := func() {
		t.Helper()
		e.sim.Commit()
		got, err := w.Poll(e.ctx)
		l.add(got)
		if err == nil {
			return
		}
		if !(c.conflict || c.missing) || !errors.Is(err, ErrReorgConflict) {
			t.Fatalf("head %d: poll: %v", e.head(), err)
		}
		if conflict == nil {
			conflict, conflictHead = err, e.head()
		}
	}
	// Deposits well before the reorg.
	for i := 0; i < 4; i++ {
		e.deposit(e.users[1+i%3])
		step()
	}
	step()
	// The blocks that get reorged: a deposit in each, polled as they come.
	base := e.head()
	var dropped []*ethtypes.Transaction
	for i := uint64(0); i < c.depth; i++ {
		dropped = append(dropped, e.deposit(e.users[1+int(i)%5]))
		step()
	}
	oldHead := e.head()
	var early []Request // delivered from the blocks that get reorged
	for _, r := range l.reqs {
		if r.Block > base {
			early = append(early, r)
		}
	}
	if c.depth <= watchConf && len(early) != 0 {
		t.Fatalf("depth %d ≤ confirmations: request %d of block %d delivered before the reorg", c.depth, early[0].ID, early[0].Block)
	}
	if c.depth > watchConf && uint64(len(early)) != c.depth-watchConf {
		t.Fatalf("depth %d: %d requests of the reorged blocks delivered, want %d", c.depth, len(early), c.depth-watchConf)
	}
	delivered := len(l.reqs)

	// The reorg: the fork starts from base; the watcher polls as it grows.
	e.fork(base)
	step() // an empty block: re-inclusions land at other heights
	switch {
	case c.missing:
	case c.conflict:
		// Another deposit takes the id of the first dropped (and delivered) one.
		e.deposit(e.users[6])
		step()
		fallthrough
	default:
		order := append([]*ethtypes.Transaction(nil), dropped...)
		if c.reverse {
			for i, j := 0, len(order)-1; i < j; i, j = i+1, j-1 {
				order[i], order[j] = order[j], order[i]
			}
		}
		for i, tx := range order {
			e.send(tx)
			if i%2 == 1 || i == len(order)-1 {
				step()
			}
		}
	}
	if c.extra {
		e.deposit(e.users[7])
		step()
	}

	if c.conflict || c.missing {
		for i := 0; i < 20 && conflict == nil; i++ {
			step()
		}
		var ce *ConflictError
		if !errors.As(conflict, &ce) {
			t.Fatalf("want ErrReorgConflict, got %v", conflict)
		}
		if ce.ID != early[0].ID || ce.Delivered != early[0].Rolling || (ce.Found == nil) != c.missing {
			t.Fatalf("conflict %+v, want id %d delivered %x", ce, early[0].ID, early[0].Rolling)
		}
		t.Logf("head %d: %v", conflictHead, conflict)
		if c.missing && conflictHead != oldHead+watchConf+1 {
			// Waited for until the new chain is confirmed past the old head.
			t.Fatalf("missing reported at head %d, want %d (first poll past the old head %d)", conflictHead, oldHead+watchConf+1, oldHead)
		}
		// Sticky, across restarts too; nothing more is delivered.
		for i := 0; i < 3; i++ {
			e.sim.Commit()
			if got, err := w.Poll(e.ctx); len(got) != 0 || !errors.Is(err, ErrReorgConflict) {
				t.Fatalf("after the conflict: %d requests, %v", len(got), err)
			}
		}
		w2 := e.watcher(st)
		if got, err := w2.Poll(e.ctx); len(got) != 0 || !errors.Is(err, ErrReorgConflict) {
			t.Fatalf("restarted after the conflict: %d requests, %v", len(got), err)
		}
		if len(l.reqs) != delivered {
			t.Fatalf("delivered %d requests after the reorg", len(l.reqs)-delivered)
		}
		return
	}

	// Until the fork is past the old head and confirmed, then a restart.
	for e.head() < oldHead+watchConf+2 {
		step()
	}
	w = e.watcher(st)
	step()
	l.check(e)
	want := 1 + 4 + int(c.depth)
	if c.extra {
		want++
	}
	if len(l.reqs) != want {
		t.Fatalf("delivered %d requests, want %d", len(l.reqs), want)
	}
	for _, tx := range dropped {
		r, err := e.cl.TransactionReceipt(e.ctx, tx.Hash())
		if err != nil {
			t.Fatal(err)
		}
		if r.BlockNumber.Uint64() <= base {
			t.Fatalf("tx re-included at %d", r.BlockNumber)
		}
	}
}

// TestWatcherRanges scans a long stretch in many small eth_getLogs ranges,
// then a reorg deeper than the checkpoints' spacing.
func TestWatcherRanges(t *testing.T) {
	e := newWatchEnv(t)
	for i := 0; i < 30; i++ {
		if i%3 == 0 {
			e.deposit(e.users[1+i%5])
		}
		e.sim.Commit()
	}
	st := NewMemStore()
	w, err := NewWatcher(e.l1, WatcherConfig{Contract: e.contract, Confirmations: watchConf, FromBlock: e.deployed, MaxRange: 2}, st)
	if err != nil {
		t.Fatal(err)
	}
	l := &ledger{t: t}
	l.poll(e.ctx, w)
	l.check(e)
	if len(l.reqs) != 10 {
		t.Fatalf("delivered %d, want 10", len(l.reqs))
	}
	// A reorg of 12 blocks (6 ranges) dropping 4 delivered deposits, all
	// re-included in one block.
	base := e.head() - 12
	var dropped []*ethtypes.Transaction
	for n := base + 1; n <= e.head(); n++ {
		b, err := e.cl.BlockByNumber(e.ctx, new(big.Int).SetUint64(n))
		if err != nil {
			t.Fatal(err)
		}
		dropped = append(dropped, b.Transactions()...)
	}
	if len(dropped) != 4 {
		t.Fatalf("%d dropped txs", len(dropped))
	}
	e.fork(base)
	for _, tx := range dropped {
		e.send(tx)
	}
	for i := 0; i < 16; i++ {
		e.sim.Commit()
		l.poll(e.ctx, w)
	}
	l.check(e)
	if len(l.reqs) != 11 {
		t.Fatalf("delivered %d, want 11", len(l.reqs))
	}
}

// TestWatcherQueueErrors: a broken queue is a typed error, never skipped.
func TestWatcherQueueErrors(t *testing.T) {
	e := newWatchEnv(t)
	e.deposit(e.users[1])
	for i := 0; i < 5; i++ {
		e.sim.Commit()
	}
	for _, c := range []struct {
		name string
		edit func([]ethtypes.Log) []ethtypes.Log
		want error
	}{
		{"gap", func(ls []ethtypes.Log) []ethtypes.Log { return ls[1:] }, ErrQueueGap},
		{"rolling", func(ls []ethtypes.Log) []ethtypes.Log {
			d := append([]byte(nil), ls[1].Data...)
			d[64] ^= 1 // the event's rolling (data: offset, deadline, rolling, request)
			ls[1].Data = d
			return ls
		}, ErrRollingMismatch},
	} {
		t.Run(c.name, func(t *testing.T) {
			bad := &editLogs{L1: e.cl, edit: c.edit}
			w, err := NewWatcher(bad, WatcherConfig{Contract: e.contract, Confirmations: watchConf, FromBlock: e.deployed}, NewMemStore())
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i < 2; i++ {
				got, err := w.Poll(e.ctx)
				var qe *QueueError
				if len(got) != 0 || !errors.Is(err, c.want) || !errors.As(err, &qe) {
					t.Fatalf("got %d requests, %v; want %v", len(got), err, c.want)
				}
				t.Log(err)
			}
			if w.Next() != 0 {
				t.Fatalf("next %d", w.Next())
			}
		})
	}
}

type editLogs struct {
	L1
	edit func([]ethtypes.Log) []ethtypes.Log
}

func (b *editLogs) FilterLogs(ctx context.Context, q ethereum.FilterQuery) ([]ethtypes.Log, error) {
	ls, err := b.L1.FilterLogs(ctx, q)
	if err != nil || len(ls) < 2 {
		return ls, err
	}
	return b.edit(ls), nil
}

// TestWatcherHTTP runs the watcher against the simulated chain's JSON-RPC
// server over HTTP (ethclient.Dial), through a reorg.
func TestWatcherHTTP(t *testing.T) {
	e, url := newHTTPWatchEnv(t)
	cl, err := ethclient.Dial(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	if n, err := cl.BlockNumber(e.ctx); err != nil || n != e.head() {
		t.Fatalf("over HTTP: head %d, %v", n, err)
	}
	e.l1 = cl
	runReorg(t, e, reorgCase{depth: watchConf + 1, extra: true})
}

// newHTTPWatchEnv starts the simulated chain with its node's HTTP server on a
// free port. The backend does not expose its node (so not the bound address
// of port 0): the port is picked first, and a start that loses the port to
// another process is retried.
func newHTTPWatchEnv(t *testing.T) (*watchEnv, string) {
	for try := 0; ; try++ {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		e, err := func() (e *watchEnv, err error) {
			defer func() {
				if r := recover(); r != nil {
					err = fmt.Errorf("%v", r)
				}
			}()
			return newWatchEnv(t, func(nc *node.Config, _ *ethconfig.Config) {
				nc.HTTPHost, nc.HTTPPort = "127.0.0.1", port
				nc.HTTPModules = []string{"eth", "net", "web3"}
				nc.HTTPVirtualHosts = []string{"*"}
			}), nil
		}()
		if err == nil {
			return e, fmt.Sprintf("http://127.0.0.1:%d", port)
		}
		if try == 4 || !strings.Contains(err.Error(), "address already in use") {
			t.Fatal(err)
		}
	}
}

func TestWatcherThin(t *testing.T) {
	var cps []checkpoint
	for i := uint64(0); i < 2000; i++ {
		cps = thin(append(cps, checkpoint{Number: i}))
		if len(cps) > maxCheckpoints || cps[0].Number != 0 || cps[len(cps)-1].Number != i {
			t.Fatalf("%d: %d checkpoints, first %d last %d", i, len(cps), cps[0].Number, cps[len(cps)-1].Number)
		}
	}
	for i := 1; i < len(cps); i++ {
		if cps[i].Number <= cps[i-1].Number {
			t.Fatal("not ascending")
		}
	}
	if cps[len(cps)-maxCheckpoints/2].Number != 2000-maxCheckpoints/2 {
		t.Fatalf("the newest %d are not dense", maxCheckpoints/2)
	}
}
