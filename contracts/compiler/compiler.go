package compiler

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/ethereum/go-ethereum/common/hexutil"
)

const modulePath = "github.com/modex/modex"

// ErrNotInstalled: contracts/solc/node_modules is missing; run `make solc`.
var ErrNotInstalled = errors.New("compiler: solc is not installed; run `make solc` (npm ci --prefix contracts/solc)")

// Script is the compile script, relative to the module root.
const Script = "contracts/solc/compile.js"

// Output is compile.js's output for one contract.
type Output struct {
	Compiler         string          `json:"compiler"`
	Contract         string          `json:"contract"`
	ABI              json.RawMessage `json:"abi"`
	Bytecode         hexutil.Bytes   `json:"bytecode"`
	DeployedBytecode hexutil.Bytes   `json:"deployedBytecode"`
}

// ModuleRoot finds the Modex module root by walking up from the working
// directory to the go.mod that declares github.com/modex/modex.
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if isModexRoot(filepath.Join(dir, "go.mod")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("compiler: no go.mod of %s above the working directory", modulePath)
		}
		dir = parent
	}
}

func isModexRoot(gomod string) bool {
	f, err := os.Open(gomod)
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if fs := strings.Fields(sc.Text()); len(fs) == 2 && fs[0] == "module" {
			return strings.Trim(fs[1], `"`) == modulePath
		}
	}
	return false
}

// Compile compiles the Solidity file solPath with the pinned solc-js
// (node contracts/solc/compile.js, optimizer on) and returns contract's ABI
// and bytecode; contract may be empty when the file defines one contract. It
// needs node and `make solc` (ErrNotInstalled otherwise).
func Compile(solPath, contract string) (*Output, error) {
	root, err := ModuleRoot()
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(root, "contracts/solc/node_modules/solc/package.json")); err != nil {
		return nil, ErrNotInstalled
	}
	node, err := exec.LookPath("node")
	if err != nil {
		return nil, fmt.Errorf("compiler: node (Node.js) not found on PATH: %w", err)
	}
	abs, err := filepath.Abs(solPath)
	if err != nil {
		return nil, err
	}
	args := []string{filepath.Join(root, Script), abs}
	if contract != "" {
		args = append(args, "--contract", contract)
	}
	cmd := exec.Command(node, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) && ee.ExitCode() == 2 {
			return nil, ErrNotInstalled
		}
		return nil, fmt.Errorf("compiler: solc %s: %v\n%s", solPath, err, stderr.String())
	}
	var out Output
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		return nil, fmt.Errorf("compiler: solc output: %w", err)
	}
	if len(out.Bytecode) == 0 {
		return nil, fmt.Errorf("compiler: solc produced no bytecode for %s", solPath)
	}
	return &out, nil
}
