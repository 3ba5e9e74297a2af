package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// TestCommittedUpToDate rebuilds the artifacts (node contracts/solc/build.js)
// and the bindings into a temporary directory and requires them to equal the
// committed contracts/artifacts and contracts/bindings byte for byte. It
// fails (it does not skip) without node or the pinned solc.
func TestCommittedUpToDate(t *testing.T) {
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node (Node.js) is not on PATH; install it and run `make solc`: %v", err)
	}
	if _, err := os.Stat(filepath.Join(root, "contracts/solc/node_modules/solc/package.json")); err != nil {
		t.Fatal("solc is not installed: run `make solc` (npm ci --prefix contracts/solc)")
	}
	tmp := t.TempDir()
	// The keyed verifier's source is generated too: it must equal a fresh
	// export of gnark's template.
	if err := writeVerifier(tmp); err != nil {
		t.Fatal(err)
	}
	var stale []string
	want, _ := os.ReadFile(filepath.Join(tmp, VerifierFile))
	if have, err := os.ReadFile(filepath.Join(root, "contracts/src", VerifierFile)); err != nil || !bytes.Equal(have, want) {
		stale = append(stale, "contracts/src/"+VerifierFile+" (go run ./contracts/gen -verifier)")
	}
	artifacts, bindings := filepath.Join(tmp, "artifacts"), filepath.Join(tmp, "bindings")
	cmd := exec.Command(node, filepath.Join(root, "contracts/solc/build.js"), artifacts)
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) && ee.ExitCode() == 2 {
			t.Fatalf("solc is not installed: run `make solc`\n%s", stderr.String())
		}
		t.Fatalf("node contracts/solc/build.js: %v (contracts/src does not compile)\n%s", err, stderr.String())
	}
	if err := generate(artifacts, bindings); err != nil {
		t.Fatalf("generate bindings: %v", err)
	}

	stale = append(stale, compareDirs(t, artifacts, filepath.Join(root, "contracts/artifacts"), "contracts/artifacts", isJSON)...)
	stale = append(stale, compareDirs(t, bindings, filepath.Join(root, "contracts/bindings"), "contracts/bindings", isGeneratedGo)...)
	if len(stale) > 0 {
		t.Fatalf("the committed artifacts or bindings differ from a rebuild of contracts/src; run `make contracts` and commit the result:\n  %s",
			strings.Join(stale, "\n  "))
	}
}

func isJSON(p string) bool { return strings.HasSuffix(p, ".json") }

func isGeneratedGo(p string) bool {
	if !strings.HasSuffix(p, ".go") {
		return false
	}
	g, err := isGenerated(p)
	return err == nil && g
}

// compareDirs compares the files of want (all of them) with the files of have
// that own selects, and returns one line per differing, missing or extra file.
func compareDirs(t *testing.T, want, have, name string, own func(string) bool) []string {
	t.Helper()
	list := func(dir string, filter func(string) bool) map[string][]byte {
		files := map[string][]byte{}
		entries, err := os.ReadDir(dir)
		if errors.Is(err, os.ErrNotExist) {
			return files
		} else if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			p := filepath.Join(dir, e.Name())
			if !e.Type().IsRegular() || (filter != nil && !filter(p)) {
				continue
			}
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			files[e.Name()] = b
		}
		return files
	}
	w, h := list(want, nil), list(have, own)
	var out []string
	for n, b := range w {
		if hb, ok := h[n]; !ok {
			out = append(out, name+"/"+n+": missing")
		} else if !bytes.Equal(hb, b) {
			out = append(out, name+"/"+n+": differs")
		}
	}
	for n := range h {
		if _, ok := w[n]; !ok {
			out = append(out, name+"/"+n+": stale (no longer generated)")
		}
	}
	sort.Strings(out)
	return out
}

// Two contracts sharing a struct, an error, an event and a multi-value
// function: one file, each shared declaration once, errors and events
// prefixed with the contract.
func TestBindSharedNames(t *testing.T) {
	const shared = `[
	 {"type":"error","name":"Bad","inputs":[{"name":"code","type":"uint256","internalType":"uint256"}]},
	 {"type":"event","name":"Done","anonymous":false,"inputs":[{"name":"who","type":"address","indexed":true,"internalType":"address"}]},
	 {"type":"function","name":"multi","stateMutability":"pure","inputs":[],
	  "outputs":[{"name":"x","type":"uint256","internalType":"uint256"},{"name":"y","type":"uint256","internalType":"uint256"}]},
	 {"type":"function","name":"take","stateMutability":"pure","outputs":[],
	  "inputs":[{"name":"i","type":"tuple","internalType":"struct Shared.Info","components":[{"name":"a","type":"uint256","internalType":"uint256"}]}]}
	]`
	arts := []Artifact{
		{Contract: "Alpha", Source: "A.sol", ABI: []byte(shared), Bytecode: "0x6000"},
		{Contract: "Beta", Source: "test/B.sol", ABI: []byte(shared), Bytecode: "0x6001"},
	}
	code, err := bind(arts)
	if err != nil {
		t.Fatal(err)
	}
	for decl, n := range map[string]int{
		"type MultiOutput struct": 1, "type SharedInfo struct": 1,
		"type AlphaBad struct": 1, "type BetaBad struct": 1, "type AlphaDone struct": 1, "type BetaDone struct": 1,
		"func (alpha *Alpha) UnpackMulti(data []byte) (MultiOutput, error)": 1,
		"func (beta *Beta) UnpackMulti(data []byte) (MultiOutput, error)":   1,
		"\npackage bindings\n": 1, "// Package bindings": 1,
	} {
		if got := bytes.Count(code, []byte(decl)); got != n {
			t.Errorf("%q appears %d times, want %d", decl, got, n)
		}
	}

	// Same function name, different results: an error naming the type.
	arts[1].ABI = []byte(strings.ReplaceAll(shared, `"name":"y"`, `"name":"z"`))
	if _, err := bind(arts); err == nil || !strings.Contains(err.Error(), "MultiOutput") {
		t.Fatalf("conflicting MultiOutput: err = %v", err)
	}
}

// A contract calling an external library function: the library's MetaData is
// a dependency of the contract's (bind.LinkAndDeploy links it).
func TestBindLibraryDeps(t *testing.T) {
	const fn = `[{"type":"function","name":"f","stateMutability":"pure","inputs":[],"outputs":[]}]`
	arts := []Artifact{
		{Contract: "Lib", Source: "L.sol", ABI: []byte(fn), Bytecode: "0x6000"},
		{Contract: "User", Source: "U.sol", ABI: []byte(fn), Bytecode: "0x73__$" + linkPattern("L.sol", "Lib") + "$__6000"},
	}
	code, err := bind(arts)
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`Deps: \[\]\*bind\.MetaData\{\s*&LibMetaData,\s*\}`).Match(code) {
		t.Error("UserMetaData does not list LibMetaData in Deps")
	}
	if !bytes.Contains(code, []byte(`ID:  "`+linkPattern("L.sol", "Lib")+`"`)) {
		t.Error("LibMetaData.ID is not its link pattern")
	}
	arts[0].Source = "Other.sol"
	if _, err := bind(arts); err == nil {
		t.Error("an unknown link placeholder is accepted")
	}
}
