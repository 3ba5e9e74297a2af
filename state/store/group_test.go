package store

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/dgraph-io/badger/v4"
)

// TestGroupWriter: concurrent writes all commit and each caller learns its
// own result; a failing write fails alone, not the group it was in.
func TestGroupWriter(t *testing.T) {
	pl, err := OpenPlain("", true, true)
	if err != nil {
		t.Fatal(err)
	}
	defer pl.Close()
	w := NewGroupWriter(pl.DB)
	boom := errors.New("boom")
	const n = 200
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			w.Write(func(txn *badger.Txn) error {
				if i%50 == 7 {
					return boom
				}
				return txn.Set([]byte(fmt.Sprintf("k%03d", i)), []byte{byte(i)})
			}, func(err error) { errs[i] = err; wg.Done() })
		}(i)
	}
	wg.Wait()
	w.Close()
	for i, err := range errs {
		want := error(nil)
		if i%50 == 7 {
			want = boom
		}
		if !errors.Is(err, want) && !(want == nil && err == nil) {
			t.Fatalf("write %d: %v, want %v", i, err, want)
		}
	}
	err = pl.DB.View(func(txn *badger.Txn) error {
		for i := 0; i < n; i++ {
			_, err := txn.Get([]byte(fmt.Sprintf("k%03d", i)))
			if i%50 == 7 {
				if !errors.Is(err, badger.ErrKeyNotFound) {
					return fmt.Errorf("failed write %d is there: %v", i, err)
				}
				continue
			}
			if err != nil {
				return fmt.Errorf("write %d: %w", i, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
