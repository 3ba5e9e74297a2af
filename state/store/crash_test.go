package store_test

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/modex/modex/state/smt"
	"github.com/modex/modex/state/store"
	"github.com/modex/modex/types"
)

// The crash test SIGKILLs a child process that commits batches (tree updates
// plus plain keys) at many different points, then checks that (1) no
// acknowledged batch is lost and (2) the store holds exactly the replay of
// batches 1..Head(): no batch is half-applied.

const (
	crashEnv        = "MODEX_CRASH_CHILD"
	crashDepth      = 16
	crashTrees      = 3
	crashPool       = 256 // distinct leaf indices per tree
	crashUpdates    = 200 // leaf updates per batch
	crashDataOps    = 40  // plain key writes per batch
	crashDataKeys   = 300
	crashKeep       = 4
	crashFinalEvery = 5
)

func crashOptions(dir string) store.Options {
	o := store.DefaultOptions(dir) // synced commits
	o.MemTableSize = 8 << 20
	o.KeepBatches = crashKeep
	return o
}

func crashTreesFor() []*smt.Tree {
	trees := make([]*smt.Tree, crashTrees)
	for i := range trees {
		var zero fr.Element
		if i == 2 {
			zero.SetUint64(7) // one tree with a non-zero empty leaf
		}
		trees[i] = smt.New([]byte{'T', byte('0' + i)}, crashDepth, zero)
	}
	return trees
}

// crashPools are the leaf indices each tree draws from (always including 0 and max).
var crashPools = func() [][]uint64 {
	pools := make([][]uint64, crashTrees)
	for t := range pools {
		rng := rand.New(rand.NewPCG(100, uint64(t)))
		pools[t] = []uint64{0, 1<<crashDepth - 1}
		for len(pools[t]) < crashPool {
			pools[t] = append(pools[t], rng.Uint64N(1<<crashDepth))
		}
	}
	return pools
}()

// applyCrashBatch applies the deterministic content of batch n to w.
func applyCrashBatch(w smt.Writer, trees []*smt.Tree, n uint64) error {
	rng := rand.New(rand.NewPCG(0xC0FFEE, n))
	for i := 0; i < crashUpdates; i++ {
		t := rng.IntN(crashTrees)
		idx := crashPools[t][rng.IntN(crashPool)]
		leaf := trees[t].Zero(0)
		if rng.IntN(8) != 0 {
			leaf.SetUint64(rng.Uint64())
		}
		if _, err := trees[t].Update(w, idx, leaf); err != nil {
			return err
		}
	}
	for i := 0; i < crashDataOps; i++ {
		k := []byte(fmt.Sprintf("D%03d", rng.IntN(crashDataKeys)))
		var err error
		if rng.IntN(5) == 0 {
			err = w.Delete(k)
		} else {
			v := make([]byte, 8+rng.IntN(64))
			for j := range v {
				v[j] = byte(rng.Uint32())
			}
			binary.BigEndian.PutUint64(v, n) // the batch that wrote it
			err = w.Set(k, v)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func rootsHex(r smt.Reader, trees []*smt.Tree) ([]string, error) {
	out := make([]string, len(trees))
	for i, tr := range trees {
		root, err := tr.Root(r)
		if err != nil {
			return nil, err
		}
		b := root.Bytes()
		out[i] = hex.EncodeToString(b[:])
	}
	return out, nil
}

// TestCrashChild is the child process of TestCrash; it only runs with
// MODEX_CRASH_CHILD=<dir> and loops committing batches until killed.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashEnv)
	if dir == "" {
		t.Skip("child process of TestCrash")
	}
	db, err := store.Open(crashOptions(dir))
	if err != nil {
		fmt.Fprintln(os.Stderr, "child open:", err)
		os.Exit(3)
	}
	trees := crashTreesFor()
	for n := db.Head() + 1; n < 1_000_000; n++ {
		txn, err := db.Begin()
		if err == nil && txn.Batch() != n {
			err = fmt.Errorf("txn batch %d, want %d", txn.Batch(), n)
		}
		if err == nil {
			err = applyCrashBatch(txn, trees, n)
		}
		var roots []string
		if err == nil {
			roots, err = rootsHex(txn, trees)
		}
		if err == nil {
			// Tell the parent the commit starts, so it can aim kills into it.
			fmt.Fprintf(os.Stdout, "COMMIT %d\n", n)
			err = txn.Commit()
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "child batch", n, ":", err)
			os.Exit(3)
		}
		// os.Stdout is unbuffered: the line is in the pipe when Write returns.
		fmt.Fprintf(os.Stdout, "ACK %d %s\n", n, strings.Join(roots, " "))
		if n%crashFinalEvery == 0 {
			if err := db.SetFinalized(n - 2); err != nil {
				fmt.Fprintln(os.Stderr, "child finalize:", err)
				os.Exit(3)
			}
		}
	}
	os.Exit(4)
}

type crashModel struct {
	kv    memKV
	head  uint64
	trees []*smt.Tree
	roots map[uint64][]string // roots after each replayed batch
}

func (m *crashModel) advance(t *testing.T, to uint64) {
	for m.head < to {
		m.head++
		if err := applyCrashBatch(m.kv, m.trees, m.head); err != nil {
			t.Fatal(err)
		}
		r, err := rootsHex(m.kv, m.trees)
		if err != nil {
			t.Fatal(err)
		}
		m.roots[m.head] = r
	}
}

// rootFromLeaves recomputes a tree's root from the leaves present in dump
// (sparse bottom-up, absent nodes are zero hashes).
func rootFromLeaves(t *testing.T, tr *smt.Tree, dump map[string]string) fr.Element {
	prefix := string(tr.Namespace()) + "\x00"
	level := map[uint64]fr.Element{}
	for k, v := range dump {
		if !strings.HasPrefix(k, prefix) {
			continue
		}
		var e fr.Element
		if err := e.SetBytesCanonical([]byte(v)); err != nil {
			t.Fatalf("stored leaf %x: %v", k, err)
		}
		level[binary.BigEndian.Uint64([]byte(k[len(prefix):]))] = e
	}
	for h := 0; h < smt.Levels(tr.Depth()); h++ {
		next := make(map[uint64]fr.Element, len(level)/4+1)
		for i := range level {
			p := i >> 2
			if _, done := next[p]; done {
				continue
			}
			var c [4]fr.Element
			for k := range c {
				v, ok := level[4*p+uint64(k)]
				if !ok {
					v = tr.Zero(h)
				}
				c[k] = v
			}
			next[p] = types.Compress4(c[0], c[1], c[2], c[3])
		}
		level = next
	}
	if r, ok := level[0]; ok {
		return r
	}
	return tr.EmptyRoot()
}

type ackLine struct {
	commit bool // "COMMIT n" (commit starts) rather than "ACK n roots..."
	n      uint64
	roots  []string
}

func TestCrash(t *testing.T) {
	if os.Getenv(crashEnv) != "" {
		t.Skip("in child")
	}
	want := 50
	if os.Getenv("MODEX_LONG") == "1" {
		want = 200
	}
	dir := t.TempDir()
	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, 0))
	t.Logf("seed %d, %d kills", seed, want)

	model := &crashModel{kv: memKV{}, trees: crashTreesFor(), roots: map[uint64][]string{}}
	acks := map[uint64][]string{}
	var lastAck uint64
	points := map[string]bool{}
	var unacked, duringOpen, inCommit int
	start := time.Now()

	for run := 0; len(points) < want; run++ {
		if run > 4*want {
			t.Fatalf("only %d distinct kill points after %d runs", len(points), run)
		}
		// Plan: wait for the after-th ACK (mode "ack": kill while the next
		// batch is built or committed, 0-15 ms later) or the after-th
		// "COMMIT" line (mode "commit": kill inside Commit, 0-3 ms later).
		// after == 0 kills during process start, store recovery or the first batch.
		after := 1 + rng.IntN(2)
		mode := "ack"
		delay := time.Duration(rng.IntN(15_000)) * time.Microsecond
		switch rng.IntN(8) {
		case 0:
			after = 0
		case 1, 2, 3, 4:
			mode = "commit"
			delay = time.Duration(rng.IntN(3_000)) * time.Microsecond
		}

		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1", "-test.timeout=5m")
		cmd.Env = append(os.Environ(), crashEnv+"="+dir)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := make(chan ackLine, 64)
		go func() {
			defer close(lines)
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				f := strings.Fields(sc.Text())
				isAck := len(f) == 2+crashTrees && f[0] == "ACK"
				isCommit := len(f) == 2 && f[0] == "COMMIT"
				if !isAck && !isCommit {
					continue
				}
				n, err := strconv.ParseUint(f[1], 10, 64)
				if err != nil {
					continue
				}
				lines <- ackLine{isCommit, n, f[2:]}
			}
			_, _ = io.Copy(io.Discard, out)
		}()
		var commitSeen uint64
		record := func(a ackLine) {
			if a.commit {
				commitSeen = a.n
				return
			}
			if a.n <= lastAck {
				t.Fatalf("ACK %d after ACK %d", a.n, lastAck)
			}
			lastAck = a.n
			acks[a.n] = a.roots
		}
		exited := false
		for got := 0; got < after; {
			var a ackLine
			var ok bool
			select {
			case a, ok = <-lines:
			case <-time.After(30 * time.Second):
				_ = cmd.Process.Kill()
				_ = cmd.Wait()
				t.Fatalf("run %d: child stalled: %s", run, stderr.String())
			}
			if !ok {
				exited = true
				break
			}
			record(a)
			if a.commit == (mode == "commit") {
				got++
			}
		}
		if exited {
			_ = cmd.Wait()
			t.Fatalf("child exited early: %s", stderr.String())
		}
		ackAtKill := lastAck
		time.Sleep(delay)
		if err := cmd.Process.Kill(); err != nil { // SIGKILL
			t.Fatal(err)
		}
		for a := range lines { // ACKs written before the kill
			record(a)
		}
		if err := cmd.Wait(); err == nil || !strings.Contains(err.Error(), "killed") {
			t.Fatalf("child did not die by SIGKILL: %v\n%s", err, stderr.String())
		}
		points[fmt.Sprintf("%s/%d/%d/%d", mode, ackAtKill, after, delay/time.Millisecond)] = true
		if commitSeen > lastAck {
			inCommit++ // killed after Commit started, before its ACK arrived
		}

		// Recover and check.
		db, err := store.Open(crashOptions(dir))
		if err != nil {
			t.Fatalf("run %d: reopen: %v\n%s", run, err, stderr.String())
		}
		head := db.Head()
		if head < lastAck {
			t.Fatalf("run %d: head %d < last acknowledged batch %d: acknowledged batch lost", run, head, lastAck)
		}
		// A run starts from the previous head, which may itself be one
		// unacknowledged batch past lastAck; it can add at most one more
		// batch that was durable before its ACK got out.
		base := max(lastAck, model.head)
		if head > base+1 {
			t.Fatalf("run %d: head %d > %d + 1 (last ACK %d, head at start %d)", run, head, base, lastAck, model.head)
		}
		if head > lastAck {
			unacked++ // killed between the durable commit and the ACK
		}
		if after == 0 && head == model.head {
			duringOpen++
		}
		model.advance(t, head)
		for n := head; n > head-min(head, 3); n-- { // recently ACKed roots match the replay
			if r, ok := acks[n]; ok && strings.Join(r, " ") != strings.Join(model.roots[n], " ") {
				t.Fatalf("batch %d: ACKed roots %v, replay %v", n, r, model.roots[n])
			}
		}
		snap, err := db.View(head)
		if err != nil {
			t.Fatal(err)
		}
		dump := store.DumpSnapshot(snap)
		if len(dump) != len(model.kv) {
			t.Errorf("run %d: store has %d keys at batch %d, replay %d", run, len(dump), head, len(model.kv))
		}
		for k, v := range model.kv {
			if got, ok := dump[k]; !ok || got != string(v) {
				t.Fatalf("run %d batch %d: key %x = %x (present %v), replay %x", run, head, k, got, ok, v)
			}
		}
		roots, err := rootsHex(snap, model.trees)
		if err != nil {
			t.Fatal(err)
		}
		for i, tr := range model.trees {
			if head == 0 && roots[i] != hexRoot(tr.EmptyRoot()) {
				t.Fatalf("run %d: tree %d not empty at genesis", run, i)
			}
			if head > 0 && roots[i] != model.roots[head][i] {
				t.Fatalf("run %d: tree %d root %s, replay %s", run, i, roots[i], model.roots[head][i])
			}
			if hexRoot(rootFromLeaves(t, tr, dump)) != roots[i] {
				t.Fatalf("run %d: tree %d: root recomputed from stored leaves differs from stored root", run, i)
			}
		}
		snap.Discard()
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		if t.Failed() {
			return
		}
	}
	t.Logf("%d distinct kill points in %v; head %d; %d kills inside Commit (before its ACK), of which %d after the batch was durable; %d kills before the first batch of a run",
		len(points), time.Since(start).Round(time.Millisecond), model.head, inCommit, unacked, duringOpen)
}

func hexRoot(e fr.Element) string {
	b := e.Bytes()
	return hex.EncodeToString(b[:])
}
