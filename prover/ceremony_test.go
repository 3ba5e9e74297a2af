package prover

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
)

// TestCeremony runs a 2-contributor ceremony through the file API, seals the
// keys, and proves and verifies with them.
func TestCeremony(t *testing.T) {
	dir := t.TempDir()
	f := func(name string, i int) string { return filepath.Join(dir, fmt.Sprintf("%s.%d", name, i)) }
	ccs, err := Compile(&compressCircuit{K: 1}, "test/compress/k=1", "")
	if err != nil {
		t.Fatal(err)
	}
	n := CeremonyDomainSize(ccs)

	// phase 1
	if err := InitPhase1File(n, f("p1", 0)); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 2; i++ {
		if err := ContributePhase1File(f("p1", i-1), f("p1", i)); err != nil {
			t.Fatal(err)
		}
		if err := VerifyPhase1File(f("p1", i-1), f("p1", i)); err != nil {
			t.Fatalf("phase-1 contribution %d: %v", i, err)
		}
	}
	// a contribution does not verify against the wrong predecessor
	if err := VerifyPhase1File(f("p1", 0), f("p1", 2)); !errors.Is(err, ErrCeremony) {
		t.Fatalf("skipped contribution: err = %v, want ErrCeremony", err)
	}
	if err := SealPhase1Files(n, nil, filepath.Join(dir, "srs"), f("p1", 1), f("p1", 2)); !errors.Is(err, ErrCeremony) {
		t.Fatalf("empty beacon: err = %v, want ErrCeremony", err)
	}
	if err := SealPhase1Files(n, []byte("beacon 1"), filepath.Join(dir, "srs"), f("p1", 2)); !errors.Is(err, ErrCeremony) {
		t.Fatalf("chain without its first link: err = %v, want ErrCeremony", err)
	}
	if err := SealPhase1Files(n, []byte("beacon 1"), filepath.Join(dir, "srs"), f("p1", 1), f("p1", 2)); err != nil {
		t.Fatal(err)
	}

	// phase 2
	if err := InitPhase2File(ccs, filepath.Join(dir, "srs"), f("p2", 0)); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 2; i++ {
		if err := ContributePhase2File(f("p2", i-1), f("p2", i)); err != nil {
			t.Fatal(err)
		}
		if err := VerifyPhase2File(f("p2", i-1), f("p2", i)); err != nil {
			t.Fatalf("phase-2 contribution %d: %v", i, err)
		}
	}
	if err := VerifyPhase2File(f("p2", 0), f("p2", 2)); !errors.Is(err, ErrCeremony) {
		t.Fatalf("skipped contribution: err = %v, want ErrCeremony", err)
	}
	keys, err := SealCeremonyFiles(ccs, filepath.Join(dir, "srs"), []byte("beacon 2"), f("p2", 1), f("p2", 2))
	if err != nil {
		t.Fatal(err)
	}
	// Sealing is deterministic: anyone re-running it gets the same verifying key.
	again, err := SealCeremonyFiles(ccs, filepath.Join(dir, "srs"), []byte("beacon 2"), f("p2", 1), f("p2", 2))
	if err != nil {
		t.Fatal(err)
	}
	if keys.VK.(interface{ IsDifferent(any) bool }).IsDifferent(again.VK) {
		t.Fatal("re-sealing gave a different verifying key")
	}

	proof, err := NewCPU(keys).Prove(context.Background(), compressAssignment(1, 5, 6))
	if err != nil {
		t.Fatal(err)
	}
	if err := proof.Verify(keys.VK); err != nil {
		t.Fatal(err)
	}
	// the sealed keys survive Save/Load, marked as a ceremony's: secure,
	// accepted without allowing insecure keys
	if keys.Insecure {
		t.Fatal("ceremony keys marked Insecure")
	}
	if err := keys.Save(filepath.Join(dir, "keys")); err != nil {
		t.Fatal(err)
	}
	if m := readManifestFile(t, filepath.Join(dir, "keys")); m["origin"] != OriginCeremony || m["warning"] != "" {
		t.Errorf("manifest of ceremony keys: %v", m)
	}
	loaded, err := LoadKeys(filepath.Join(dir, "keys"))
	if err != nil {
		t.Fatal(err)
	}
	if loaded.Insecure {
		t.Fatal("loaded ceremony keys marked Insecure")
	}
	if err := loaded.CheckSecure(false); err != nil {
		t.Fatalf("CheckSecure(false) on ceremony keys: %v", err)
	}
	h, err := loaded.VKHash()
	if err != nil {
		t.Fatal(err)
	}
	if dev, _ := VKHash(loaded.VK, true); dev == h {
		t.Fatal("a ceremony key hashes like the same points marked insecure")
	}
}
