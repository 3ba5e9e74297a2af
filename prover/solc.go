package prover

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

// SolcScript is the compile script, relative to the module root.
const SolcScript = "contracts/solc/compile.js"

// SolcOutput is compile.js's output for one contract.
type SolcOutput struct {
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
			return "", fmt.Errorf("prover: no go.mod of %s above the working directory", modulePath)
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

// CompileSolidity compiles the Solidity file solPath with the pinned solc-js
// (node contracts/solc/compile.js, optimizer on) and returns contract's ABI
// and bytecode; contract may be empty when the file defines one contract. It
// needs node and `make solc` (ErrSolcNotInstalled otherwise).
func CompileSolidity(solPath, contract string) (*SolcOutput, error) {
	root, err := ModuleRoot()
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(root, "contracts/solc/node_modules/solc/package.json")); err != nil {
		return nil, ErrSolcNotInstalled
	}
	node, err := exec.LookPath("node")
	if err != nil {
		return nil, fmt.Errorf("prover: node (Node.js) not found on PATH: %w", err)
	}
	abs, err := filepath.Abs(solPath)
	if err != nil {
		return nil, err
	}
	args := []string{filepath.Join(root, SolcScript), abs}
	if contract != "" {
		args = append(args, "--contract", contract)
	}
	cmd := exec.Command(node, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) && ee.ExitCode() == 2 {
			return nil, ErrSolcNotInstalled
		}
		return nil, fmt.Errorf("prover: solc %s: %v\n%s", solPath, err, stderr.String())
	}
	var out SolcOutput
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		return nil, fmt.Errorf("prover: solc output: %w", err)
	}
	if len(out.Bytecode) == 0 {
		return nil, fmt.Errorf("prover: solc produced no bytecode for %s", solPath)
	}
	return &out, nil
}
