package state_test

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/holiman/uint256"

	"github.com/modex/modex/bench/workload"
	"github.com/modex/modex/state"
	"github.com/modex/modex/state/store"
	"github.com/modex/modex/types"
)

// The state crash test SIGKILLs a child that applies and seals real batches of
// signed transactions (state.Batch.Seal is one durable Badger transaction),
// at >= 50 points (>= 200 with MODEX_LONG=1). After every kill the parent
// reopens the store and checks: no acknowledged batch is lost; every stored
// batch replays from its stored transactions, on a fresh store, to exactly
// the stored header and root (so no batch is half-applied); and the root read
// from the trees equals the header's root.

const (
	stateCrashEnv   = "MODEX_STATE_CRASH_CHILD"
	stateCrashUsers = 12
)

func crashParams() types.Params {
	p := types.TestParams()
	p.BatchCapacity = 24
	return p
}

func crashTimestamp(n uint64) uint64 { return 1_700_000_000 + 12*n }

// crashBatch builds batch n's transactions from the state it starts from:
// deposits for every user in batch 1, then signed transfers (nonces read from
// the state, so a restarted child continues where the store is).
func crashBatch(b *state.Batch, n uint64, keys []*types.PrivateKey) error {
	st := b.State()
	if n == 1 {
		for u := 0; u < stateCrashUsers; u++ {
			d := &types.Deposit{PriorityID: uint64(u), Account: uint32(u), L1Address: workload.Addr(u), PubKey: types.PublicKeyOf(keys[u]), Token: 0}
			d.Amount.SetUint64(1e15)
			if _, err := b.Add(d); err != nil {
				return err
			}
		}
		return nil
	}
	r := rand.New(rand.NewPCG(n, 99))
	for j := 0; j < crashParams().BatchCapacity; j++ {
		from, to := uint32(1+r.IntN(stateCrashUsers-1)), uint32(r.IntN(stateCrashUsers))
		if from == to {
			continue
		}
		a, err := st.Account(from)
		if err != nil {
			return err
		}
		tx := &types.Transfer{From: from, To: to, Asset: types.ETH, Amount: *uint256.NewInt(uint64(1 + r.IntN(1000))),
			Fee: *uint256.NewInt(uint64(r.IntN(3))), Nonce: a.Nonce}
		if err := types.SignTx(keys[from], workload.DevDomain, tx); err != nil {
			return err
		}
		if _, err := b.Add(tx); err != nil {
			return err
		}
	}
	return nil
}

func crashKeys(t testing.TB) []*types.PrivateKey {
	keys := make([]*types.PrivateKey, stateCrashUsers)
	for i := range keys {
		k, err := workload.Key(i)
		if err != nil {
			t.Fatal(err)
		}
		keys[i] = k
	}
	return keys
}

// TestStateCrashChild is the child: it seals batches forever, printing
// "ACK n root" after each Seal returns (the batch is then durable).
func TestStateCrashChild(t *testing.T) {
	dir := os.Getenv(stateCrashEnv)
	if dir == "" {
		t.Skip("child of TestStateCrash")
	}
	keys := crashKeys(t)
	db, err := state.Open(crashParams(), workload.DevDomain, store.DefaultOptions(dir))
	if err != nil {
		fmt.Println("ERR", err)
		os.Exit(3)
	}
	out := bufio.NewWriter(os.Stdout)
	for {
		n := db.Head() + 1
		b, err := db.NewBatch(crashTimestamp(n))
		if err == nil {
			err = crashBatch(b, n, keys)
		}
		var sb *state.SealedBatch
		if err == nil {
			fmt.Fprintf(out, "SEAL %d\n", n)
			out.Flush()
			sb, err = b.Seal()
		}
		if err != nil {
			fmt.Println("ERR", err)
			os.Exit(3)
		}
		r := sb.Header.NewRoot.Bytes()
		fmt.Fprintf(out, "ACK %d %x\n", n, r)
		out.Flush()
	}
}

func TestStateCrash(t *testing.T) {
	kills := 50
	if os.Getenv("MODEX_LONG") == "1" {
		kills = 200
	}
	dir := t.TempDir()
	p := crashParams()
	// the replay store: every stored batch is re-applied here from its stored txs
	replay, err := state.Open(p, workload.DevDomain, store.Options{InMemory: true, KeepBatches: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer replay.Close()
	rng := rand.New(rand.NewPCG(7, 7))
	acked := map[uint64]string{}
	var lastAck uint64
	inSeal := 0 // kills that landed between "SEAL" and its acknowledgement
	for kill := 0; kill < kills; kill++ {
		cmd := exec.Command(os.Args[0], "-test.run=^TestStateCrashChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), stateCrashEnv+"="+dir)
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// half the kills come 0–0.8 ms after the child announces a Seal (inside
		// the commit), the rest after 0–2 acknowledged batches plus 0–15 ms
		sealKill := kill%2 == 1
		wantAcks := rng.IntN(3)
		delay := time.Duration(rng.IntN(15000)) * time.Microsecond
		if sealKill {
			wantAcks = 0
			delay = time.Duration(rng.IntN(800)) * time.Microsecond
		}
		sealing := false
		lines := make(chan string, 64)
		go func() {
			sc := bufio.NewScanner(stdout)
			for sc.Scan() {
				lines <- sc.Text()
			}
			close(lines)
		}()
		got := 0
		timer := time.NewTimer(10 * time.Second)
	wait:
		for got < wantAcks || (sealKill && !sealing) {
			select {
			case l, ok := <-lines:
				if !ok {
					break wait
				}
				if n, root, ok := parseAck(l); ok {
					acked[n], lastAck = root, max(lastAck, n)
					got++
				} else if strings.HasPrefix(l, "SEAL") {
					sealing = true
				} else if strings.HasPrefix(l, "ERR") {
					t.Fatalf("child: %s", l)
				}
			case <-timer.C:
				t.Fatal("child made no progress")
			}
		}
		time.Sleep(delay)
		_ = cmd.Process.Signal(syscall.SIGKILL)
		ackedAfter := false
		for l := range lines { // acknowledgements printed before the kill count too
			if n, root, ok := parseAck(l); ok {
				acked[n], lastAck = root, max(lastAck, n)
				ackedAfter = true
			}
		}
		_ = cmd.Wait()
		if sealKill && !ackedAfter {
			inSeal++
		}

		db, err := state.Open(p, workload.DevDomain, store.DefaultOptions(dir))
		if err != nil {
			t.Fatalf("kill %d: reopen: %v", kill, err)
		}
		head := db.Head()
		if head < lastAck {
			t.Fatalf("kill %d: head %d < acknowledged batch %d: acknowledged batch lost", kill, head, lastAck)
		}
		for n := replay.Head() + 1; n <= head; n++ {
			hdr, err := db.Header(n)
			if err != nil {
				t.Fatalf("kill %d: header %d: %v", kill, n, err)
			}
			txs, err := db.Txs(n)
			if err != nil {
				t.Fatalf("kill %d: txs %d: %v", kill, n, err)
			}
			b, err := replay.NewBatch(hdr.Timestamp)
			if err != nil {
				t.Fatal(err)
			}
			for _, tx := range txs {
				if _, err := b.Add(tx); err != nil {
					t.Fatalf("kill %d: batch %d does not replay: %v", kill, n, err)
				}
			}
			sb, err := b.Seal()
			if err != nil {
				t.Fatal(err)
			}
			if sb.Header != *hdr {
				t.Fatalf("kill %d: batch %d replays to a different header", kill, n)
			}
			stored, err := db.Root(n)
			if err != nil {
				t.Fatal(err)
			}
			if stored != hdr.NewRoot {
				t.Fatalf("kill %d: batch %d: tree root differs from its header root: half-applied", kill, n)
			}
			if r, ok := acked[n]; ok && r != fmt.Sprintf("%x", hdr.NewRoot.Bytes()) {
				t.Fatalf("kill %d: batch %d: root differs from the acknowledged one", kill, n)
			}
		}
		if head < replay.Head() {
			t.Fatalf("kill %d: head went back from %d to %d", kill, replay.Head(), head)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("%d kills (%d inside Seal), %d batches committed, last acknowledged %d", kills, inSeal, replay.Head(), lastAck)
	if inSeal < kills/5 {
		t.Fatalf("only %d kills landed inside Seal", inSeal)
	}
}

func parseAck(l string) (uint64, string, bool) {
	f := strings.Fields(l)
	if len(f) != 3 || f[0] != "ACK" {
		return 0, "", false
	}
	n, err := strconv.ParseUint(f[1], 10, 64)
	return n, f[2], err == nil
}
