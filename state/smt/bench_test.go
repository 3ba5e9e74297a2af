package smt_test

import (
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/modex/modex/bench/workload"
	"github.com/modex/modex/state/smt"
	"github.com/modex/modex/state/store"
	"github.com/modex/modex/types"
)

// Benchmarks run the tree on a real on-disk Badger store at production depth.
// The fixtures (N random leaves at indices 0..N-1) are built once per
// process, bottom-up in memory, and written node by node through many Txns.

const (
	benchDepth     = 24
	benchChunk     = 20_000 // nodes per Txn while loading
	benchTxnUpdate = 100    // updates per committed Txn in BenchmarkTreeUpdate*
)

type fixture struct {
	db     *store.DB
	tree   *smt.Tree
	n      uint64
	dir    string
	diskMB float64
	heapMB float64
	rssMB  float64
	loadS  float64
}

var (
	fixtures   = map[uint64]*fixture{}
	fixturesMu sync.Mutex
	fixtureDir string
)

func TestMain(m *testing.M) {
	code := m.Run()
	fixturesMu.Lock()
	for _, f := range fixtures {
		_ = f.db.Close()
	}
	if fixtureDir != "" {
		_ = os.RemoveAll(fixtureDir)
	}
	fixturesMu.Unlock()
	os.Exit(code)
}

// getFixture returns the process-wide fixture with n leaves, building it on first use.
func getFixture(b *testing.B, n uint64) *fixture {
	fixturesMu.Lock()
	defer fixturesMu.Unlock()
	if f, ok := fixtures[n]; ok {
		return f
	}
	b.StopTimer()
	defer b.StartTimer()
	if fixtureDir == "" {
		d, err := os.MkdirTemp("", "modex-smt-bench-")
		if err != nil {
			b.Fatal(err)
		}
		fixtureDir = d
	}
	f, err := buildFixture(filepath.Join(fixtureDir, strconv.FormatUint(n, 10)), n)
	if err != nil {
		b.Fatal(err)
	}
	fixtures[n] = f
	b.Logf("fixture %d leaves: loaded in %.1fs, disk %.1f MB, heap %.1f MB, peak RSS %.1f MB",
		n, f.loadS, f.diskMB, f.heapMB, f.rssMB)
	return f
}

func buildFixture(dir string, n uint64) (*fixture, error) {
	start := time.Now()
	tree := smt.New([]byte("acct"), benchDepth, fr.Element{})
	db, err := store.Open(store.DefaultOptions(dir))
	if err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(42, n))
	level := make([]fr.Element, n)
	for i := range level {
		level[i].SetUint64(rng.Uint64())
	}
	var txn *store.Txn
	pending := 0
	put := func(h int, i uint64, e *fr.Element) error {
		if e.Equal(ptr(tree.Zero(h))) {
			return nil
		}
		if txn == nil {
			if txn, err = db.Begin(); err != nil {
				return err
			}
		}
		v := e.Bytes()
		if err := txn.Set(tree.NodeKey(h, i), v[:]); err != nil {
			return err
		}
		if pending++; pending == benchChunk {
			pending = 0
			err := txn.Commit()
			txn = nil
			return err
		}
		return nil
	}
	for h := 0; ; h++ {
		for i := range level {
			if err := put(h, uint64(i), &level[i]); err != nil {
				return nil, err
			}
		}
		if h == smt.Levels(benchDepth) {
			break
		}
		level = parentLevel(level, tree.Zero(h))
	}
	if txn != nil {
		if err := txn.Commit(); err != nil {
			return nil, err
		}
	}
	want := level[0]
	level = nil
	snap, err := db.View(db.Head())
	if err != nil {
		return nil, err
	}
	root, err := tree.Root(snap)
	snap.Discard()
	if err != nil || root != want {
		return nil, fmt.Errorf("fixture root mismatch (%v)", err)
	}
	f := &fixture{db: db, tree: tree, n: n, dir: dir, loadS: time.Since(start).Seconds()}
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	f.heapMB = float64(ms.HeapInuse) / (1 << 20)
	f.diskMB = float64(diskBytes(dir)) / (1 << 20)
	f.rssMB = workload.PeakRSSMB()
	return f, nil
}

func ptr(e fr.Element) *fr.Element { return &e }

// parentLevel hashes one 4-ary level into the next, on all CPUs.
func parentLevel(level []fr.Element, zero fr.Element) []fr.Element {
	next := make([]fr.Element, (len(level)+3)/4)
	workers := runtime.GOMAXPROCS(0)
	var wg sync.WaitGroup
	per := (len(next) + workers - 1) / workers
	for w := 0; w < workers; w++ {
		lo, hi := w*per, min((w+1)*per, len(next))
		if lo >= hi {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := lo; i < hi; i++ {
				var c [4]fr.Element
				for k := range c {
					c[k] = zero
					if 4*i+k < len(level) {
						c[k] = level[4*i+k]
					}
				}
				next[i] = types.Compress4(c[0], c[1], c[2], c[3])
			}
		}()
	}
	wg.Wait()
	return next
}

// diskBytes returns the allocated size (like du) of the files under dir.
func diskBytes(dir string) int64 {
	var total int64
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return nil
		}
		if st, ok := info.Sys().(*syscall.Stat_t); ok {
			total += st.Blocks * 512
		} else {
			total += info.Size()
		}
		return nil
	})
	return total
}

func (f *fixture) report(b *testing.B) {
	b.ReportMetric(f.diskMB, "disk-MB")
	b.ReportMetric(f.heapMB, "heap-MB")
	b.ReportMetric(f.rssMB, "peakRSS-MB")
}

func benchUpdate(b *testing.B, n uint64) {
	f := getFixture(b, n)
	rng := rand.New(rand.NewPCG(1, uint64(b.N)))
	b.ReportAllocs()
	b.ResetTimer()
	var txn *store.Txn
	var err error
	for i := 0; i < b.N; i++ {
		if txn == nil {
			if txn, err = f.db.Begin(); err != nil {
				b.Fatal(err)
			}
		}
		var leaf fr.Element
		leaf.SetUint64(rng.Uint64())
		if _, err := f.tree.Update(txn, rng.Uint64N(n), leaf); err != nil {
			b.Fatal(err)
		}
		if i%benchTxnUpdate == benchTxnUpdate-1 || i == b.N-1 {
			if err := txn.Commit(); err != nil {
				b.Fatal(err)
			}
			txn = nil
		}
	}
	b.StopTimer()
	f.report(b)
}

func benchProve(b *testing.B, n uint64) {
	f := getFixture(b, n)
	snap, err := f.db.View(f.db.Head())
	if err != nil {
		b.Fatal(err)
	}
	defer snap.Discard()
	root, err := f.tree.Root(snap)
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(2, uint64(b.N)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := f.tree.Prove(snap, rng.Uint64N(n)); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if p, _ := f.tree.Prove(snap, 7); !p.Verify(root, benchDepth) {
		b.Fatal("proof does not verify")
	}
	f.report(b)
}

// 1M accounts: production scale. Building the fixture takes a while.
func BenchmarkTreeUpdate1M(b *testing.B) { benchUpdate(b, 1_000_000) }
func BenchmarkTreeProve1M(b *testing.B)  { benchProve(b, 1_000_000) }

// 10k accounts: quick versions of the above.
func BenchmarkTreeUpdate10k(b *testing.B) { benchUpdate(b, 10_000) }
func BenchmarkTreeProve10k(b *testing.B)  { benchProve(b, 10_000) }

// BenchmarkTreeUpdateMem is Update on an in-memory map at depth 24: the
// hashing cost without storage.
func BenchmarkTreeUpdateMem(b *testing.B) {
	kv := memKV{}
	tree := smt.New([]byte("acct"), benchDepth, fr.Element{})
	rng := rand.New(rand.NewPCG(3, 3))
	for i := 0; i < 10_000; i++ {
		var leaf fr.Element
		leaf.SetUint64(rng.Uint64())
		if _, err := tree.Update(kv, uint64(i), leaf); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var leaf fr.Element
		leaf.SetUint64(rng.Uint64())
		if _, err := tree.Update(kv, rng.Uint64N(10_000), leaf); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCompress is one Poseidon2 2-to-1 compression: the unit cost of a
// level of the binary trees these replaced (two levels per Compress4); still
// the hash of stateRoot = Compress(accountRoot, modelRoot).
func BenchmarkCompress(b *testing.B) {
	var x, y fr.Element
	x.SetUint64(1)
	y.SetUint64(2)
	for i := 0; i < b.N; i++ {
		x = types.Compress(x, y)
	}
}

// BenchmarkCompress4 is one Poseidon2 4-to-1 compression, the unit cost of a
// tree level (two bits of the index).
func BenchmarkCompress4(b *testing.B) {
	var x, y fr.Element
	x.SetUint64(1)
	y.SetUint64(2)
	for i := 0; i < b.N; i++ {
		x = types.Compress4(x, y, y, y)
	}
}
