package sequencer

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/ethereum/go-ethereum/common"
	"github.com/holiman/uint256"

	"github.com/modex/modex/bench/workload"
	"github.com/modex/modex/rpc"
	"github.com/modex/modex/sequencer/journal"
	"github.com/modex/modex/sequencer/mempool"
	"github.com/modex/modex/state"
	"github.com/modex/modex/state/store"
	"github.com/modex/modex/types"
)

// TestSequencerSurvivesKill SIGKILLs a child process running a sequencer
// over an on-disk state store and journal while it takes a stream of
// signed transfers, orders and deposits, with its tree stage paused at
// random (so that kills land with batches sealed in the journal, c/<n>, and
// not committed to the state store). The child prints
//
//	TRY/ACK <hash> <acct> <nonce> around each Submit (ACK: it returned nil)
//	TRYO <acct> <id> / ACKO ...   around each Place
//	TRYDEP <id> / DEP <id>        around each AddPriority (a deposit)
//
// After every kill the parent reopens state, journal and sequencer in
// process, drains everything into committed batches and checks: every
// acknowledged transaction is known, and if included, is in the committed
// batch its record names; account nonces cover the acknowledged ones; every
// acknowledged deposit is in the queue's past; the store's head is the
// last sealed batch and nothing halted; the ETH balances add up to the
// deposits, the fee account holds exactly the fees (and transfers to it) of
// the committed batches, the shares add up to the supply, soft and
// committed state agree; every acknowledged order rests, traded or was
// superseded by a later one of its account in its slot; every trade in a
// committed batch has its trade record; the new batches re-execute to
// their roots. The next child continues from what the kill left.

const (
	killEnvDir   = "MODEX_SEQ_KILL_DIR"
	killEnvRound = "MODEX_SEQ_KILL_ROUND"
	killEnvSeed  = "MODEX_SEQ_KILL_SEED"
	killEnvKills = "MODEX_SEQ_KILL_ROUNDS" // more kills, for a longer soak
	killUsers    = 6                       // accounts 0 (the fee account) .. 5
	killModel    = uint16(1)
	killSupply   = 1_000_000
	killRounds   = 50 // default: the normal suite kills at least 50 times (make test-long more)
)

func killParams() types.Params {
	p := types.TestParams()
	p.BatchCapacity = 4
	return p
}

var killKeyCache struct {
	once sync.Once
	keys []*types.PrivateKey
	err  error
}

func killKeys() ([]*types.PrivateKey, error) {
	c := &killKeyCache
	c.once.Do(func() {
		for i := 0; i < killUsers; i++ {
			k, err := workload.Key(i)
			if err != nil {
				c.err = err
				return
			}
			c.keys = append(c.keys, k)
		}
	})
	return c.keys, c.err
}

// killDeposit is priority request id's deposit: accounts 0..killUsers-1
// first (the fee account with nothing), then top-ups of accounts 1.. in turn.
func killDeposit(id uint64) (acct uint32, amount uint64) {
	if id == 0 {
		return 0, 0
	}
	if id < killUsers {
		acct = uint32(id)
	} else {
		acct = 1 + uint32(id%(killUsers-1))
	}
	return acct, 100_000_000 + id
}

func killPriority(id uint64) (PriorityRequest, error) {
	keys, err := killKeys()
	if err != nil {
		return PriorityRequest{}, err
	}
	acct, amount := killDeposit(id)
	d := &types.Deposit{PriorityID: id, Account: acct, L1Address: workload.Addr(int(acct)), PubKey: types.PublicKeyOf(keys[acct])}
	d.Amount.SetUint64(amount)
	raw, err := types.EncodeTx(d)
	if err != nil {
		return PriorityRequest{}, err
	}
	return PriorityRequest{ID: id, Raw: raw, L1Tx: common.BigToHash(new(big.Int).SetUint64(id + 1))}, nil
}

// killNode is a sequencer over an on-disk state store and journal in dir.
type killNode struct {
	db *state.DB
	j  *store.Plain
	s  *Sequencer
}

func openKillStores(dir string) (*killNode, error) {
	db, err := state.Open(killParams(), testDomain, store.Options{Dir: filepath.Join(dir, "state"), KeepBatches: 1 << 12})
	if err != nil {
		return nil, fmt.Errorf("state: %w", err)
	}
	j, err := store.OpenPlain(filepath.Join(dir, "journal"), false, false)
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("journal: %w", err)
	}
	return &killNode{db: db, j: j}, nil
}

func (n *killNode) start() error {
	s, err := New(Config{Params: killParams(), Domain: testDomain, BatchTimeout: 20 * time.Millisecond,
		FamilyWait: 5 * time.Millisecond, MakerFeeBips: 2, TakerFeeBips: 5,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, n.db, n.j)
	if err != nil {
		return err
	}
	if err := s.Start(context.Background()); err != nil {
		return errors.Join(err, s.Stop(context.Background()))
	}
	n.s = s
	return nil
}

func (n *killNode) close() {
	if n.s != nil {
		_ = n.s.Stop(context.Background())
	}
	_ = n.j.Close()
	_ = n.db.Close()
}

// drain applies and seals everything waiting (pool, priority queue) and
// waits for the tree stage; it leaves sequencing stopped with no open
// batch, so that the soft state is the committed one, fees settled.
func (n *killNode) drain(ctx context.Context) error {
	s := n.s
	for i := 0; ; i++ {
		if err := s.Flush(ctx); err != nil {
			return err
		}
		idle := false
		if err := s.do(ctx, func() {
			idle = len(s.prio) == 0 && (s.open == nil || s.open.Len() == 0) && len(s.pool.Executable(1)) == 0
		}); err != nil {
			return err
		}
		if idle {
			break
		}
		if i == 200 {
			return errors.New("drain: the pool and queue do not empty")
		}
	}
	s.Pause()
	if err := s.Flush(ctx); err != nil {
		return err
	}
	return s.WaitCommitted(ctx, s.Sealed())
}

func TestSequencerKillChild(t *testing.T) {
	dir := os.Getenv(killEnvDir)
	if dir == "" {
		t.Skip("child of TestSequencerSurvivesKill")
	}
	round, _ := strconv.Atoi(os.Getenv(killEnvRound))
	seed, _ := strconv.ParseUint(os.Getenv(killEnvSeed), 10, 64)
	out := bufio.NewWriter(os.Stdout)
	var outMu sync.Mutex
	say := func(format string, args ...any) {
		outMu.Lock()
		fmt.Fprintf(out, format+"\n", args...)
		out.Flush()
		outMu.Unlock()
	}
	fail := func(format string, args ...any) {
		say("ERR "+format, args...)
		os.Exit(3)
	}
	ctx := context.Background()
	keys, err := killKeys()
	if err != nil {
		fail("keys: %v", err)
	}
	say("OPEN")
	n, err := openKillStores(dir)
	if err != nil {
		fail("%v", err)
	}
	if err := n.start(); err != nil {
		fail("open: %v", err)
	}
	s := n.s
	flush := func() {
		if err := s.Flush(ctx); err != nil {
			fail("flush: %v", err)
		}
	}
	prio, err := s.PriorityNext(ctx)
	if err != nil {
		fail("%v", err)
	}
	deposit := func() { // one goroutine at a time
		req, err := killPriority(prio)
		if err != nil {
			fail("%v", err)
		}
		say("TRYDEP %d", prio)
		if err := s.AddPriority(ctx, []PriorityRequest{req}); err != nil {
			fail("AddPriority %d: %v", prio, err)
		}
		say("DEP %d", prio)
		prio++
	}
	nonce := func(u uint32) uint32 {
		info, err := s.Queries().Account(ctx, u)
		if err != nil {
			fail("account %d: %v", u, err)
		}
		return info.Nonce
	}
	submit := func(u uint32, tx types.SignedTx) {
		if err := types.SignTx(keys[u], testDomain, tx); err != nil {
			fail("sign: %v", err)
		}
		h, err := types.TxHash(tx)
		if err != nil {
			fail("hash: %v", err)
		}
		for {
			say("TRY %x %d %d", h, u, tx.GetNonce())
			got, err := s.Submit(ctx, tx)
			if errors.Is(err, mempool.ErrAccountFull) || errors.Is(err, mempool.ErrPoolFull) {
				time.Sleep(2 * time.Millisecond)
				continue
			}
			if err != nil {
				// what became of the account's earlier transactions
				var hist []string
				if page, herr := s.Queries().History(ctx, u, "", 3); herr == nil {
					for _, it := range page.Items {
						hist = append(hist, fmt.Sprintf("%s nonce %d batch %d %s %v", it.Kind, it.Nonce, it.Batch, it.Status, it.Error))
					}
				}
				fail("submit %x (account %d nonce %d): %v; latest: %s", h, u, tx.GetNonce(), err, strings.Join(hist, "; "))
			}
			if got != common.Hash(h) {
				fail("Submit returned %x, TxHash %x", got, h)
			}
			say("ACK %x %d %d", h, u, tx.GetNonce())
			return
		}
	}

	// set-up, in the first round (or the rounds after a kill during it)
	for prio < killUsers {
		deposit()
	}
	flush()
	var haveModel bool
	if err := s.do(ctx, func() { haveModel = s.models[killModel] }); err != nil {
		fail("%v", err)
	}
	if !haveModel {
		cm := &types.CreateModel{Account: 1, Model: killModel, Supply: killSupply, MaxSupply: killSupply, HolderBps: 5000, Nonce: nonce(1)}
		cm.CreditPrice.SetUint64(10)
		cm.Weights.SetUint64(1)
		submit(1, cm)
		flush()
	}
	say("READY")

	// one worker per account 1..: transfers from it, orders of it (the DAO,
	// account 1, sells shares, the others buy them); worker 1 also queues
	// deposits and pauses and resumes the tree stage
	for u := uint32(1); u < killUsers; u++ {
		go func(u uint32) {
			rng := rand.New(rand.NewPCG(seed, uint64(round)<<8|uint64(u)))
			next, orderID := nonce(u), uint32(round)*100_000
			paused := rng.IntN(2) == 0
			if u == 1 {
				s.PauseTree(paused)
			}
			for {
				switch r := rng.IntN(100); {
				case r < 4 && u == 1:
					paused = !paused
					s.PauseTree(paused)
				case r < 10 && u == 1:
					deposit()
				case r < 25:
					side, amount, price := types.Buy, uint64(1+rng.IntN(10)), uint64(990+rng.IntN(30))
					if u == 1 {
						side, amount = types.Sell, uint64(1+rng.IntN(20))
					}
					orderID++
					o := &types.Order{Account: u, Model: killModel, Side: side, OrderID: orderID, Amount: amount, MaxFeeBips: 10,
						ValidUntil: uint32(time.Now().Unix() + 3600)}
					o.Price.SetUint64(price)
					if err := types.SignOrder(keys[u], testDomain, o); err != nil {
						fail("sign order: %v", err)
					}
					say("TRYO %d %d", u, orderID)
					if _, err := s.Place(ctx, o); err != nil {
						fail("place %d/%d: %v", u, orderID, err)
					}
					say("ACKO %d %d", u, orderID)
				default:
					to := uint32(rng.IntN(killUsers - 1))
					if to >= u {
						to++
					}
					tr := transfer(u, to, uint64(1+rng.IntN(1000)), next)
					tr.Fee.SetUint64(uint64(1 + rng.IntN(3)))
					submit(u, tr)
					next++
				}
			}
		}(u)
	}
	select {}
}

// killLedger is what the parent learned from the children's output.
type killLedger struct {
	acked      map[common.Hash]bool
	ackedNonce map[uint32]uint32 // account → 1 + the highest acknowledged nonce
	depAcked   uint64            // 1 + the highest acknowledged deposit id
	orders     []orderKey        // acknowledged orders
	triedOrder map[uint32][]uint32
	inflight   map[common.Hash]bool // tried, not acknowledged at the kill
}

func TestSequencerSurvivesKill(t *testing.T) {
	dir := t.TempDir()
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv(killEnvSeed); v != "" {
		seed, _ = strconv.ParseUint(v, 10, 64)
	}
	t.Logf("seed %d (%s=%d to repeat the child workloads; kill timing is not repeatable)", seed, killEnvSeed, seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	rounds := killRounds
	if v, err := strconv.Atoi(os.Getenv(killEnvKills)); err == nil && v > 0 {
		rounds = v
	}
	if _, err := killKeys(); err != nil {
		t.Fatal(err)
	}
	led := &killLedger{acked: map[common.Hash]bool{}, ackedNonce: map[uint32]uint32{}, triedOrder: map[uint32][]uint32{}}
	var st killStats
	for round := 0; round < rounds; round++ {
		openKill := round > 0 && round%4 == 3 // kill while the child opens and replays
		stderr, ready := runKillChild(t, dir, round, seed, rng, openKill, led)
		if !ready {
			st.openKills++
		}
		if strings.Contains(stderr, "DATA RACE") {
			t.Fatalf("round %d: the child (-race) reported a data race:\n%s", round, stderr)
		}
		if err := verifyKill(dir, led, &st); err != nil {
			t.Fatalf("round %d (kill %s): %v\nchild stderr:\n%s", round, map[bool]string{true: "at open", false: "under load"}[openKill], err, stderr)
		}
	}
	t.Logf("%d kills: %d acknowledged txs, %d orders, %d deposits; %d batches committed (%d trades, %d re-executed); "+
		"%d reopens found sealed batches awaiting the tree stage (%d batches in all); %d kills before the child was ready; %d in-flight txs found durable",
		rounds, len(led.acked), len(led.orders), led.depAcked, st.head, st.trades, st.reexec, st.lagging, st.lagBatches, st.openKills, st.inflightKept)
}

type killStats struct {
	head         uint64 // the last batch verified
	trades       int    // trades in batches 1..head
	fees         uint256.Int
	reexec       int
	lagging      int
	lagBatches   uint64
	inflightKept int
	openKills    int
	batchTxs     map[uint64]map[common.Hash]bool // committed batches' tx hashes (immutable)
}

// runKillChild runs one child and SIGKILLs it, recording what it printed
// into led; it returns the child's stderr and whether it had finished its
// start (READY).
func runKillChild(t *testing.T, dir string, round int, seed uint64, rng *rand.Rand, openKill bool, led *killLedger) (string, bool) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestSequencerKillChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), killEnvDir+"="+dir, killEnvRound+"="+strconv.Itoa(round), killEnvSeed+"="+strconv.FormatUint(seed, 10))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 1024)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	led.inflight = map[common.Hash]bool{}
	var ready, opened bool
	bad := func(format string, args ...any) {
		_ = cmd.Process.Signal(syscall.SIGKILL)
		_ = cmd.Wait()
		t.Fatalf("round %d: "+format+"\nchild stderr:\n%s", append([]any{round}, append(args, stderr.String())...)...)
	}
	record := func(l string) {
		f := strings.Fields(l)
		switch {
		case len(f) == 1 && f[0] == "OPEN":
			opened = true
		case len(f) == 1 && f[0] == "READY":
			ready = true
		case len(f) == 4 && f[0] == "TRY":
			led.inflight[common.HexToHash(f[1])] = true
		case len(f) == 4 && f[0] == "ACK":
			h := common.HexToHash(f[1])
			if !led.inflight[h] {
				bad("ACK %s without its TRY", f[1])
			}
			delete(led.inflight, h)
			a, _ := strconv.ParseUint(f[2], 10, 32)
			nonce, _ := strconv.ParseUint(f[3], 10, 32)
			led.acked[h] = true
			led.ackedNonce[uint32(a)] = max(led.ackedNonce[uint32(a)], uint32(nonce)+1)
		case len(f) == 3 && (f[0] == "TRYO" || f[0] == "ACKO"):
			a, _ := strconv.ParseUint(f[1], 10, 32)
			id, _ := strconv.ParseUint(f[2], 10, 32)
			if f[0] == "TRYO" {
				led.triedOrder[uint32(a)] = append(led.triedOrder[uint32(a)], uint32(id))
			} else {
				led.orders = append(led.orders, orderKey{account: uint32(a), model: killModel, id: uint32(id)})
			}
		case len(f) == 2 && f[0] == "TRYDEP":
		case len(f) == 2 && f[0] == "DEP":
			id, _ := strconv.ParseUint(f[1], 10, 64)
			led.depAcked = max(led.depAcked, id+1)
		case strings.HasPrefix(l, "ERR"):
			bad("child: %s", l)
		default:
			bad("child: unexpected line %q", l)
		}
	}
	var kill <-chan time.Time
	deadline := time.NewTimer(30 * time.Second)
	defer deadline.Stop()
wait:
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				bad("child exited before the kill: %v", cmd.Wait())
			}
			record(l)
			switch {
			case kill != nil:
			case openKill && opened:
				kill = time.After(time.Duration(rng.IntN(40_000)) * time.Microsecond)
			case !openKill && ready:
				kill = time.After(time.Duration(20+rng.IntN(280)) * time.Millisecond)
			}
		case <-kill:
			break wait
		case <-deadline.C:
			bad("child made no progress")
		}
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	for l := range lines { // printed before the kill: they count too
		record(l)
	}
	_ = cmd.Wait()
	return stderr.String(), ready
}

// verifyKill reopens what the last child left and checks it (see
// TestSequencerSurvivesKill).
func verifyKill(dir string, led *killLedger, st *killStats) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	n, err := openKillStores(dir)
	if err != nil {
		return err
	}
	defer n.close()
	// sealed batches the tree stage had not committed at the kill
	head0 := n.db.Head()
	var lag uint64
	if err := n.j.View(func(txn *badger.Txn) error {
		ns, err := journal.SealedBatchNumbers(txn)
		for _, b := range ns {
			if b > head0 {
				lag++
			}
		}
		return err
	}); err != nil {
		return err
	}
	if lag > 0 {
		st.lagging++
		st.lagBatches += lag
	}
	if err := n.start(); err != nil {
		return fmt.Errorf("reopen: %w", err)
	}
	s, db := n.s, n.db
	if err := n.drain(ctx); err != nil {
		return fmt.Errorf("drain: %w (halted: %v)", err, s.Halted())
	}
	if err := s.Halted(); err != nil {
		return fmt.Errorf("halted: %w", err)
	}
	head := db.Head()
	if head != s.Sealed() || head != s.Committed() || s.TreeBacklog() != 0 {
		return fmt.Errorf("store head %d, sealed %d, committed %d, backlog %d", head, s.Sealed(), s.Committed(), s.TreeBacklog())
	}
	if head < st.head {
		return fmt.Errorf("store head went back from %d to %d", st.head, head)
	}

	// the committed batches: their transactions' hashes, and the new ones'
	// fees and trades
	if st.batchTxs == nil {
		st.batchTxs = map[uint64]map[common.Hash]bool{}
	}
	batchTxs := st.batchTxs
	inBatch := func(b uint64, h common.Hash) (bool, error) {
		if batchTxs[b] == nil {
			txs, err := db.Txs(b)
			if err != nil {
				return false, fmt.Errorf("batch %d txs: %w", b, err)
			}
			m := map[common.Hash]bool{}
			for _, tx := range txs {
				th, err := types.TxHash(tx)
				if err != nil {
					return false, err
				}
				m[th] = true
			}
			batchTxs[b] = m
		}
		return batchTxs[b][h], nil
	}
	for b := st.head + 1; b <= head; b++ {
		txs, err := db.Txs(b)
		if err != nil {
			return fmt.Errorf("batch %d txs: %w", b, err)
		}
		for _, tx := range txs {
			switch x := tx.(type) {
			case *types.Transfer:
				if x.Asset != types.ETH {
					return fmt.Errorf("batch %d: a transfer of %v", b, x.Asset)
				}
				st.fees.Add(&st.fees, &x.Fee)
				if x.To == types.FeeAccount {
					st.fees.Add(&st.fees, &x.Amount)
				}
			case *types.Trade:
				st.trades++
				quote := new(uint256.Int).Mul(uint256.NewInt(x.Fill), &x.Price)
				st.fees.Add(&st.fees, state.BipsFee(quote, x.BuyFeeBips))
				st.fees.Add(&st.fees, state.BipsFee(quote, x.SellFeeBips))
			case *types.CreateModel:
				st.fees.Add(&st.fees, &x.Fee)
			}
		}
	}

	// 1. nothing acknowledged is lost; an included transaction is in the
	// committed batch its record names
	for h := range led.inflight {
		if _, err := s.Queries().Tx(ctx, h); err == nil {
			st.inflightKept++
		}
	}
	for h := range led.acked {
		info, err := s.Queries().Tx(ctx, h)
		if errors.Is(err, rpc.ErrTxNotFound) {
			return fmt.Errorf("acknowledged tx %x lost", h)
		}
		if err != nil {
			return fmt.Errorf("tx %x: %w", h, err)
		}
		switch info.Status {
		case rpc.TxIncluded, rpc.TxProven, rpc.TxFinalized:
			if info.Batch == 0 || info.Batch > head {
				return fmt.Errorf("acknowledged tx %x %s in batch %d, store head %d", h, info.Status, info.Batch, head)
			}
			ok, err := inBatch(info.Batch, h)
			if err != nil {
				return err
			}
			if !ok {
				return fmt.Errorf("acknowledged tx %x recorded in batch %d, which does not hold it", h, info.Batch)
			}
		case rpc.TxFailed:
			return fmt.Errorf("acknowledged tx %x failed: %+v (the workload never overdraws)", h, info.Error)
		default:
			var at uint32
			if acc, err := s.Queries().Account(ctx, info.Account); err == nil {
				at = acc.Nonce
			}
			return fmt.Errorf("acknowledged tx %x (account %d nonce %d) still %s after the drain; the account is at nonce %d (an earlier acknowledged one lost?)",
				h, info.Account, info.Nonce, info.Status, at)
		}
	}
	// account nonces cover the acknowledged transactions
	balances := map[uint32]*uint256.Int{}
	var sum uint256.Int
	var shares uint64
	for a := uint32(0); a < killUsers; a++ {
		info, err := s.Queries().Account(ctx, a)
		if errors.Is(err, types.ErrAccountNotFound) {
			continue // the set-up was killed before its deposit
		}
		if err != nil {
			return fmt.Errorf("account %d: %w", a, err)
		}
		if info.Nonce < led.ackedNonce[a] {
			return fmt.Errorf("account %d nonce %d, acknowledged up to %d", a, info.Nonce, led.ackedNonce[a]-1)
		}
		for _, b := range info.Balances {
			switch b.Asset {
			case uint32(types.ETH):
				balances[a] = new(uint256.Int).Set(&b.Soft)
				sum.Add(&sum, &b.Soft)
			case uint32(types.ShareAsset(killModel)):
				shares += b.Soft.Uint64()
			}
		}
	}
	// acknowledged deposits are in the queue's past
	next, err := s.PriorityNext(ctx)
	if err != nil {
		return err
	}
	if next < led.depAcked {
		return fmt.Errorf("priority queue at %d, deposits acknowledged up to %d", next, led.depAcked-1)
	}
	// 2. (above) nothing halted, the store is at the last sealed batch
	// 3. conservation
	var deposited uint256.Int
	for id := uint64(0); id < next; id++ {
		_, amount := killDeposit(id)
		deposited.Add(&deposited, uint256.NewInt(amount))
	}
	if !sum.Eq(&deposited) {
		return fmt.Errorf("ETH balances add up to %s, %s deposited (%d priority requests)", sum.Dec(), deposited.Dec(), next)
	}
	if fee := balances[types.FeeAccount]; fee != nil && !fee.Eq(&st.fees) {
		return fmt.Errorf("fee account holds %s, the committed batches paid it %s", fee.Dec(), st.fees.Dec())
	}
	var haveModel bool
	if err := s.do(ctx, func() { haveModel = s.models[killModel] }); err != nil {
		return err
	}
	if haveModel && shares != killSupply {
		return fmt.Errorf("shares add up to %d, supply %d", shares, killSupply)
	}
	// the soft state is the committed one
	cst, release, err := db.View(head)
	if err != nil {
		return err
	}
	for a, want := range balances {
		got, err := cst.Balance(a, 0)
		if err != nil {
			release()
			return err
		}
		if !got.Eq(want) {
			release()
			return fmt.Errorf("account %d: committed balance %s, soft %s", a, got.Dec(), want.Dec())
		}
	}
	release()
	// acknowledged orders rest, traded, or were superseded in their slot
	slots := uint32(1) << uint(killParams().OrderDepth)
	var oerr error
	if err := s.do(ctx, func() {
		oerr = s.soft(func(sst *state.State) error {
			resting := map[orderKey]bool{}
			if b := s.books[killModel]; b != nil {
				for a := uint32(0); a < killUsers; a++ {
					for _, r := range b.Orders(a) {
						resting[orderKey{a, killModel, r.Order.OrderID}] = true
					}
				}
			}
		next:
			for _, o := range led.orders {
				if resting[o] {
					continue
				}
				slot, err := sst.Slot(o.account, killModel, uint64(o.id%slots))
				if err != nil {
					return err
				}
				if slot.OrderID >= o.id {
					continue
				}
				for _, later := range led.triedOrder[o.account] {
					if later > o.id && later%slots == o.id%slots {
						continue next
					}
				}
				return fmt.Errorf("acknowledged order %d/%d neither rests nor traded (slot %+v)", o.account, o.id, slot)
			}
			return nil
		})
	}); err != nil {
		return err
	}
	if oerr != nil {
		return oerr
	}
	// every trade of a committed batch has its trade record
	var records int
	pfx := journal.TradePrefix(killModel)
	if err := n.j.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{PrefetchValues: false})
		defer it.Close()
		for it.Seek(pfx); it.ValidForPrefix(pfx); it.Next() {
			records++
		}
		return nil
	}); err != nil {
		return err
	}
	if records != st.trades {
		return fmt.Errorf("%d trade records in the journal, %d trades in batches 1..%d", records, st.trades, head)
	}
	// 4. the new batches re-execute to their roots
	from := max(st.head+1, head-min(head, 40)+1)
	if head >= 3 {
		from = min(from, head-2)
	}
	for b := max(from, 1); b <= head; b++ {
		if _, err := db.Reexecute(b); err != nil {
			return fmt.Errorf("re-execute batch %d: %w", b, err)
		}
		st.reexec++
	}
	st.head = head
	return nil
}
