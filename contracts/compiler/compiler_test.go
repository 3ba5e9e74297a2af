package compiler

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestModuleRoot: the root found from this package's directory holds the
// compile script.
func TestModuleRoot(t *testing.T) {
	root, err := ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, Script)); err != nil {
		t.Fatalf("module root %s has no %s: %v", root, Script, err)
	}
}

// TestCompile compiles a two-contract file: the named contract's bytecode
// comes back, and a compile error carries solc's message. Needs `make solc`.
func TestCompile(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "Two.sol")
	code := "// SPDX-License-Identifier: MIT\npragma solidity ^0.8.20;\n" +
		"contract A { function f() external pure returns (uint256) { return 1; } }\n" +
		"contract B { function g() external pure returns (uint256) { return 2; } }\n"
	if err := os.WriteFile(src, []byte(code), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := Compile(src, "B")
	if err != nil {
		t.Fatal(err) // ErrNotInstalled: run `make solc`
	}
	if out.Contract != "B" || len(out.Bytecode) == 0 || len(out.DeployedBytecode) == 0 || !strings.Contains(string(out.ABI), `"g"`) {
		t.Fatalf("output %s: contract %q, %d bytes, ABI %s", src, out.Contract, len(out.Bytecode), out.ABI)
	}
	bad := filepath.Join(dir, "Bad.sol")
	if err := os.WriteFile(bad, []byte("pragma solidity ^0.8.20;\ncontract C { function }\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Compile(bad, ""); err == nil || !strings.Contains(err.Error(), "Bad.sol") {
		t.Fatalf("a syntax error compiled: %v", err)
	}
}
