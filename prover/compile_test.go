package prover

import (
	"errors"
	"os"
	"testing"
)

func TestCompileCache(t *testing.T) {
	dir := t.TempDir()
	const key = "test/compress/k=2"
	circuit := func() *compressCircuit { return &compressCircuit{K: 2} }

	compile := func(t *testing.T, wantCompile bool) {
		t.Helper()
		before := defineCalls.Load()
		ccs, err := Compile(circuit(), key, dir)
		if err != nil {
			t.Fatal(err)
		}
		if got := defineCalls.Load() != before; got != wantCompile {
			t.Fatalf("compiled = %v, want %v", got, wantCompile)
		}
		if n := ccs.GetNbConstraints(); n < 2*186 || n > 2*186+10 {
			t.Fatalf("constraints = %d, want about %d", n, 2*186)
		}
		if n := ccs.GetNbPublicVariables(); n != 2 {
			t.Fatalf("public variables = %d, want 2 (1 + Out)", n)
		}
	}

	compile(t, true)  // miss: compiles and writes
	compile(t, false) // hit
	path := CachePath(dir, key)
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}

	corruptions := []struct {
		name string
		mut  func([]byte) []byte
	}{
		{"empty", func(b []byte) []byte { return nil }},
		{"garbage", func(b []byte) []byte { return []byte("not a cache file at all") }},
		{"bad magic", func(b []byte) []byte { b[0] ^= 1; return b }},
		{"truncated", func(b []byte) []byte { return b[:len(b)/2] }},
		{"flipped payload byte", func(b []byte) []byte { b[len(b)-100] ^= 0x40; return b }},
		{"trailing byte", func(b []byte) []byte { return append(b, 0) }},
		{"other key", func(b []byte) []byte {
			// same length id, one character changed: the id check must catch it
			i := len(cacheMagic) + 4 + len(cacheID(key)) - 1
			b[i] ^= 1
			return b
		}},
	}
	for _, c := range corruptions {
		t.Run(c.name, func(t *testing.T) {
			b := c.mut(append([]byte(nil), good...))
			if err := os.WriteFile(path, b, 0o644); err != nil {
				t.Fatal(err)
			}
			if _, err := readCache(path, cacheID(key)); !errors.Is(err, ErrCacheCorrupt) {
				t.Fatalf("readCache: err = %v, want ErrCacheCorrupt", err)
			}
			compile(t, true)  // recompiles, rewrites
			compile(t, false) // and the rewritten file is good
		})
	}

	t.Run("key changes the file", func(t *testing.T) {
		if CachePath(dir, key) == CachePath(dir, key+"x") {
			t.Fatal("different keys share a cache file")
		}
	})
}

func TestCompileRejectsCommitments(t *testing.T) {
	_, err := Compile(&withCommit{}, "test/commit", "")
	if !errors.Is(err, ErrCommitment) {
		t.Fatalf("err = %v, want ErrCommitment", err)
	}
}
