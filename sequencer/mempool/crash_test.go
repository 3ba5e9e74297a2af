package mempool

import (
	"bufio"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/modex/modex/types"
)

// The crash test SIGKILLs a child that adds (and every fourth time replaces)
// signed transfers. Before each Add the child prints "TRY slot hash", after
// it returns "ACK slot hash". After every kill the parent reopens the pool
// and checks, slot by slot, that the pending transaction is the last
// acknowledged one, or the one in flight at the kill (a replacement whose
// write was synced but whose ACK was never printed legitimately replaces the
// acknowledged one: the failure the first version of this test reported as
// "acknowledged tx lost"); that nothing else is pending; and that nonces stay
// contiguous from 0. Every third kill lands while the child opens Badger (after
// it prints "OPEN"); odd children open the database themselves and share it
// with the pool (Options.DB, as the sequencer's journal), writing a key of
// their own next to each Add.

const (
	crashEnv      = "MODEX_MEMPOOL_CRASH_CHILD"
	crashShared   = "MODEX_MEMPOOL_CRASH_SHARED"
	crashAccounts = 8
	crashKills    = 50
)

func crashOpts(dir string) Options {
	return Options{Dir: dir, MaxTxs: 1 << 20, MaxPerAccount: 1 << 20}
}

func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashEnv)
	if dir == "" {
		t.Skip("child of TestCrash")
	}
	out := bufio.NewWriter(os.Stdout)
	say := func(format string, args ...any) {
		fmt.Fprintf(out, format+"\n", args...)
		out.Flush()
	}
	fail := func(err error) {
		say("ERR %v", err)
		os.Exit(3)
	}
	acc := newAccounts(t, crashAccounts+1)
	opts := crashOpts(dir)
	var db *badger.DB
	say("OPEN")
	if os.Getenv(crashShared) != "" {
		var err error
		// the precautions (lock, empty-file clean-up) are the opener's: the
		// parent's reopen in Dir mode does them
		db, err = badger.Open(badger.DefaultOptions(dir).WithSyncWrites(true).WithLoggingLevel(badger.WARNING))
		if err != nil {
			fail(err)
		}
		opts.DB = db
	}
	p, err := Open(dom, acc, opts)
	if err != nil {
		fail(err)
	}
	for i := 0; ; i++ {
		u := uint32(1 + i%crashAccounts)
		pend := p.Pending(u)
		n, fee := uint32(len(pend)), uint64(1)
		if i%4 == 3 && len(pend) > 0 { // replace the last one at twice its fee
			last := pend[len(pend)-1].(*types.Transfer)
			if f := last.Fee.Uint64(); f < 1024 {
				n, fee = last.Nonce, 2*f
			}
		}
		tx := transfer(t, u, n, fee)
		want, err := Hash(tx)
		if err != nil {
			fail(err)
		}
		say("TRY %d/%d %x", u, n, want)
		h, err := p.Add(tx)
		if err != nil {
			fail(err)
		}
		if h != want {
			fail(fmt.Errorf("Add returned %x, Hash %x", h, want))
		}
		say("ACK %d/%d %x", u, n, h)
		if db != nil {
			if err := db.Update(func(txn *badger.Txn) error {
				return txn.Set([]byte(fmt.Sprintf("o/%d", i)), []byte("other"))
			}); err != nil {
				fail(err)
			}
		}
	}
}

func TestCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	dir := t.TempDir()
	acc := newAccounts(t, crashAccounts+1)
	rng := rand.New(rand.NewPCG(3, 5))
	last := map[string]string{} // slot -> the hash the pool must hold
	acks, inflightKept := 0, 0
	for kill := 0; kill < crashKills; kill++ {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), crashEnv+"="+dir)
		if kill%2 == 1 {
			cmd.Env = append(cmd.Env, crashShared+"=1")
		}
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
		var try, trySlot string // the Add in flight: printed TRY, no ACK yet
		opened := false
		record := func(l string) bool {
			f := strings.Fields(l)
			switch {
			case len(f) == 1 && f[0] == "OPEN":
				opened = true
			case len(f) == 3 && f[0] == "TRY":
				try, trySlot = f[2], f[1]
			case len(f) == 3 && f[0] == "ACK":
				if f[1] != trySlot || f[2] != try {
					t.Fatalf("kill %d: ACK %s %s without its TRY", kill, f[1], f[2])
				}
				last[f[1]] = f[2]
				try, trySlot = "", ""
				acks++
				return true
			case strings.HasPrefix(l, "ERR"):
				t.Fatalf("child: %s", l)
			default:
				t.Fatalf("child: unexpected line %q", l)
			}
			return false
		}
		want := rng.IntN(40) // acks before the kill
		if kill%3 == 2 {
			want = -1 // kill while the child opens Badger
		}
		timer := time.NewTimer(20 * time.Second)
	wait:
		for got := 0; got < want || (want < 0 && !opened); {
			select {
			case l, ok := <-lines:
				if !ok {
					break wait
				}
				if record(l) {
					got++
				}
			case <-timer.C:
				t.Fatal("child made no progress")
			}
		}
		timer.Stop()
		if want < 0 {
			time.Sleep(time.Duration(rng.IntN(8000)) * time.Microsecond)
		} else {
			time.Sleep(time.Duration(rng.IntN(2000)) * time.Microsecond)
		}
		_ = cmd.Process.Signal(syscall.SIGKILL)
		for l := range lines { // printed before the kill: they count too
			record(l)
		}
		_ = cmd.Wait()

		p, err := Open(dom, acc, crashOpts(dir))
		if err != nil {
			t.Fatalf("kill %d: reopen: %v", kill, err)
		}
		if err := checkCrash(p, last, try, trySlot); err != nil {
			p.Close() // before Fatal: TempDir's clean-up must not race Badger's flush
			t.Fatalf("kill %d: %v", kill, err)
		}
		if try != "" && last[trySlot] == try {
			inflightKept++
		}
		if err := p.Close(); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("%d kills, %d acknowledged adds, %d slots, %d in-flight adds found durable", crashKills, acks, len(last), inflightKept)
}

// checkCrash checks the reopened pool against the acknowledged hashes; an
// in-flight Add found pending becomes its slot's expected hash.
func checkCrash(p *Pool, last map[string]string, try, trySlot string) error {
	get := func(h string) (types.SignedTx, bool) {
		var hash [32]byte
		b, _ := hex.DecodeString(h)
		copy(hash[:], b)
		return p.Get(hash)
	}
	if try != "" {
		if tx, ok := get(try); ok {
			if s := fmt.Sprintf("%d/%d", tx.Signer(), tx.GetNonce()); s != trySlot {
				return fmt.Errorf("in-flight hash %s is slot %s, tried as %s", try, s, trySlot)
			}
			last[trySlot] = try
		}
	}
	for slot, h := range last {
		tx, ok := get(h)
		if !ok {
			return fmt.Errorf("acknowledged tx %s (slot %s) lost", h, slot)
		}
		if s := fmt.Sprintf("%d/%d", tx.Signer(), tx.GetNonce()); s != slot {
			return fmt.Errorf("hash %s is slot %s, acknowledged as %s", h, s, slot)
		}
	}
	total := 0
	for u := uint32(1); u <= crashAccounts; u++ {
		for i, tx := range p.Pending(u) {
			if tx.GetNonce() != uint32(i) {
				return fmt.Errorf("account %d pending nonces not contiguous", u)
			}
			total++
		}
	}
	// one transaction per slot, each acknowledged (or the one in flight)
	if total != p.Len() || p.Len() != len(last) {
		return fmt.Errorf("len %d, %d in accounts, %d acknowledged slots", p.Len(), total, len(last))
	}
	return nil
}
