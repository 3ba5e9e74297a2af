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

	"github.com/modex/modex/types"
)

// The crash test SIGKILLs a child that adds (and sometimes replaces) signed
// transfers and prints "ACK slot hash" as soon as each Add returns. After
// every kill the parent reopens the pool and checks that the last
// acknowledged transaction of every (account, nonce) slot is pending, that
// no slot holds two transactions, and that nonces stay contiguous from 0.

const (
	crashEnv      = "MODEX_MEMPOOL_CRASH_CHILD"
	crashAccounts = 8
)

func crashOpts(dir string) Options {
	return Options{Dir: dir, MaxTxs: 1 << 20, MaxPerAccount: 1 << 20}
}

func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashEnv)
	if dir == "" {
		t.Skip("child of TestCrash")
	}
	p, err := Open(dom, newAccounts(t, crashAccounts+1), crashOpts(dir))
	if err != nil {
		fmt.Println("ERR", err)
		os.Exit(3)
	}
	out := bufio.NewWriter(os.Stdout)
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
		h, err := p.Add(transfer(t, u, n, fee))
		if err != nil {
			fmt.Println("ERR", err)
			os.Exit(3)
		}
		fmt.Fprintf(out, "ACK %d/%d %x\n", u, n, h)
		out.Flush()
	}
}

func TestCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	const kills = 20
	dir := t.TempDir()
	acc := newAccounts(t, crashAccounts+1)
	rng := rand.New(rand.NewPCG(3, 5))
	last := map[string]string{} // slot -> last acknowledged hash
	acks := 0
	for kill := 0; kill < kills; kill++ {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), crashEnv+"="+dir)
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
		record := func(l string) bool {
			f := strings.Fields(l)
			if len(f) == 3 && f[0] == "ACK" {
				last[f[1]] = f[2]
				acks++
				return true
			}
			if strings.HasPrefix(l, "ERR") {
				t.Fatalf("child: %s", l)
			}
			return false
		}
		want := rng.IntN(40)
		timer := time.NewTimer(20 * time.Second)
	wait:
		for got := 0; got < want; {
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
		time.Sleep(time.Duration(rng.IntN(2000)) * time.Microsecond)
		_ = cmd.Process.Signal(syscall.SIGKILL)
		for l := range lines { // acknowledged before the kill: they count too
			record(l)
		}
		_ = cmd.Wait()

		p, err := Open(dom, acc, crashOpts(dir))
		if err != nil {
			t.Fatalf("kill %d: reopen: %v", kill, err)
		}
		for slot, h := range last {
			var hash [32]byte
			b, _ := hex.DecodeString(h)
			copy(hash[:], b)
			tx, ok := p.Get(hash)
			if !ok {
				t.Fatalf("kill %d: acknowledged tx %s (slot %s) lost", kill, h, slot)
			}
			if s := fmt.Sprintf("%d/%d", tx.Signer(), tx.GetNonce()); s != slot {
				t.Fatalf("kill %d: hash %s is slot %s, acknowledged as %s", kill, h, s, slot)
			}
		}
		total := 0
		for u := uint32(1); u <= crashAccounts; u++ {
			for i, tx := range p.Pending(u) {
				if tx.GetNonce() != uint32(i) {
					t.Fatalf("kill %d: account %d pending nonces not contiguous", kill, u)
				}
				total++
			}
		}
		if total != p.Len() || p.Len() < len(last) {
			t.Fatalf("kill %d: len %d, %d in accounts, %d acknowledged slots", kill, p.Len(), total, len(last))
		}
		if err := p.Close(); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("%d kills, %d acknowledged adds, %d slots", kills, acks, len(last))
}
