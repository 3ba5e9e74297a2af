package prover

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func readManifestFile(t *testing.T, dir string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]string
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// Dev keys carry their mark through Save and LoadKeys, and the mark is in
// their hash: the same points marked ceremony hash differently.
func TestDevKeysMarkedInsecure(t *testing.T) {
	k := mustDevKeys(t)
	if !k.Insecure {
		t.Fatal("DevSetup keys are not marked Insecure")
	}
	dir := t.TempDir()
	if err := k.Save(dir); err != nil {
		t.Fatal(err)
	}
	m := readManifestFile(t, dir)
	if m["origin"] != OriginDevSetup || !strings.Contains(m["warning"], "INSECURE") {
		t.Errorf("manifest: %v", m)
	}
	l, err := LoadKeys(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !l.Insecure {
		t.Fatal("loaded dev keys lost their mark")
	}
	dev, err := l.VKHash()
	if err != nil {
		t.Fatal(err)
	}
	if want, _ := k.VKHash(); dev != want || m["vkHash"] != "0x"+hex.EncodeToString(want[:]) {
		t.Errorf("hash after load %x, before %x, manifest %s", dev, want, m["vkHash"])
	}
	asCeremony, err := VKHash(l.VK, false)
	if err != nil {
		t.Fatal(err)
	}
	if asCeremony == dev {
		t.Fatal("a dev key and a ceremony key with the same points hash alike")
	}
	// only the verifying key and the mark
	vk, insecure, err := LoadVerifyingKey(dir)
	if err != nil || !insecure {
		t.Fatalf("LoadVerifyingKey: insecure %v, %v", insecure, err)
	}
	if h, _ := VKHash(vk, insecure); h != dev {
		t.Errorf("LoadVerifyingKey's key hashes to %x, want %x", h, dev)
	}

	err = l.CheckSecure(false)
	if !errors.Is(err, ErrInsecureKeys) || !strings.Contains(err.Error(), "INSECURE development setup") || !strings.Contains(err.Error(), "--insecure-dev-keys") {
		t.Fatalf("CheckSecure(false) = %v, want ErrInsecureKeys naming the flag", err)
	}
	if err := l.CheckSecure(true); err != nil {
		t.Fatalf("CheckSecure(true) = %v", err)
	}
	if _, err := VKHash(nil, true); !errors.Is(err, ErrNotBN254) {
		t.Errorf("VKHash(nil) = %v", err)
	}
}

// A keys directory whose mark does not match its verifying key is refused
// before anything else is read; one with no mark at all (saved before the
// mark existed) loads as insecure.
func TestKeysManifestRefused(t *testing.T) {
	k := mustDevKeys(t)
	ccs2, err := Compile(&twoPublic{}, "test/two-public", "")
	if err != nil {
		t.Fatal(err)
	}
	other, err := DevSetup(ccs2)
	if err != nil {
		t.Fatal(err)
	}
	otherDir := t.TempDir()
	if err := other.Save(otherDir); err != nil {
		t.Fatal(err)
	}
	edit := func(f func(m map[string]string)) func(t *testing.T, dir string) {
		return func(t *testing.T, dir string) {
			m := readManifestFile(t, dir)
			f(m)
			b, _ := json.Marshal(m)
			if err := os.WriteFile(filepath.Join(dir, ManifestFile), b, 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	write := func(body string) func(t *testing.T, dir string) {
		return func(t *testing.T, dir string) {
			if err := os.WriteFile(filepath.Join(dir, ManifestFile), []byte(body), 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	cases := []struct {
		name   string
		tamper func(t *testing.T, dir string)
	}{
		{"origin flipped to ceremony", edit(func(m map[string]string) { m["origin"] = OriginCeremony })},
		{"hash edited", edit(func(m map[string]string) { m["vkHash"] = "0x" + strings.Repeat("00", 32) })},
		{"hash missing", edit(func(m map[string]string) { delete(m, "vkHash") })},
		{"unknown origin", edit(func(m map[string]string) { m["origin"] = "trusted" })},
		{"unknown field", edit(func(m map[string]string) { m["secure"] = "yes" })},
		{"not JSON", write("origin=ceremony")},
		{"trailing data", func(t *testing.T, dir string) {
			b, _ := os.ReadFile(filepath.Join(dir, ManifestFile))
			write(string(b)+"{}")(t, dir)
		}},
		{"verifying key replaced", func(t *testing.T, dir string) {
			b, err := os.ReadFile(filepath.Join(otherDir, VKFile))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, VKFile), b, 0o600); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := k.Save(dir); err != nil {
				t.Fatal(err)
			}
			c.tamper(t, dir)
			if _, err := LoadKeys(dir); !errors.Is(err, ErrKeysManifest) {
				t.Fatalf("LoadKeys = %v, want ErrKeysManifest", err)
			}
			if _, _, err := LoadVerifyingKey(dir); !errors.Is(err, ErrKeysManifest) {
				t.Fatalf("LoadVerifyingKey = %v, want ErrKeysManifest", err)
			}
		})
	}

	// no manifest: the keys of an older cache, all from the dev setup
	dir := t.TempDir()
	if err := k.Save(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, ManifestFile)); err != nil {
		t.Fatal(err)
	}
	l, err := LoadKeys(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !l.Insecure || !errors.Is(l.CheckSecure(false), ErrInsecureKeys) {
		t.Fatalf("keys without a mark: Insecure %v", l.Insecure)
	}
}
