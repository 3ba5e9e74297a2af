package prover

import (
	"bytes"
	"fmt"
	"io"
	"math/big"
	"regexp"
	"strings"

	curve "github.com/consensys/gnark-crypto/ecc/bn254"
	"github.com/consensys/gnark/backend/groth16"
	groth16bn254 "github.com/consensys/gnark/backend/groth16/bn254"
	"github.com/consensys/gnark/backend/solidity"
)

// The keyed verifier (docs/protocol.md §11) is gnark's exported Groth16
// verifier with its verifying key moved from `constant`s into `immutable`s
// set by the constructor, so ONE contract, compiled once at build time
// (contracts/src/Groth16Verifier.sol, contracts/artifacts), serves every
// family and every key: deploying a family's verifier is the committed
// creation code followed by the key as constructor arguments. No compiler is
// needed at run time.
//
// The source is derived mechanically from gnark's template (ExportKeyedSolidity),
// so its checks, precompile calls and errors are gnark's, and the arguments
// are read from gnark's own export of the key (KeyedVerifierArgs), so the
// values (β, γ and δ negated, gnark's field encoding) are gnark's too.
// Solidity cannot read immutables in inline assembly; each assembly block
// that reads the key gets it from a memory array filled from the immutables
// just before it (about 0.2% more gas per verification, measured in
// bridge's keyed-verifier test).

// KeyedVerifierContract is the keyed verifier's contract name.
const KeyedVerifierContract = "Groth16Verifier"

// KeyedVerifierInputs is the number of public inputs the keyed verifier
// takes (every Modex batch circuit has one, docs/protocol.md §8).
const KeyedVerifierInputs = 1

// keyedNames are the verifying key's constants in gnark's template, in
// declaration order: the constructor's uint256[18] takes them in this order.
var keyedNames = []string{
	"ALPHA_X", "ALPHA_Y",
	"BETA_NEG_X_0", "BETA_NEG_X_1", "BETA_NEG_Y_0", "BETA_NEG_Y_1",
	"GAMMA_NEG_X_0", "GAMMA_NEG_X_1", "GAMMA_NEG_Y_0", "GAMMA_NEG_Y_1",
	"DELTA_NEG_X_0", "DELTA_NEG_X_1", "DELTA_NEG_Y_0", "DELTA_NEG_Y_1",
	"CONSTANT_X", "CONSTANT_Y",
	"PUB_0_X", "PUB_0_Y",
}

var constLine = regexp.MustCompile(`(?m)^(\s*)uint256 constant ([A-Z0-9_]+) = ([0-9]+);[ \t]*$`)

const keyedConstructor = `    /// @param vk the verifying key, in the order of gnark's constants:
    /// ALPHA_X, ALPHA_Y, BETA_NEG_{X_0,X_1,Y_0,Y_1}, GAMMA_NEG_{…}, DELTA_NEG_{…},
    /// CONSTANT_X, CONSTANT_Y, PUB_0_X, PUB_0_Y (prover.KeyedVerifierArgs).
    constructor(uint256[18] memory vk) {
%s    }`

const keyedFunctions = `    /// @notice The verifying key this verifier was deployed with, in the
    /// constructor's order.
    function verifyingKey() external view returns (uint256[18] memory vk) {
%s    }`

// ExportKeyedSolidity writes the keyed verifier's Solidity source
// (contract Groth16Verifier). The output does not depend on any key.
func ExportKeyedSolidity(w io.Writer) error {
	// Any key with one public input and no commitment gives the template its
	// shape; every value it carries is replaced below.
	vk := &groth16bn254.VerifyingKey{}
	vk.G1.K = make([]curve.G1Affine, KeyedVerifierInputs+1)
	var ctor, getter strings.Builder
	for i, n := range keyedNames {
		fmt.Fprintf(&ctor, "        %s = vk[%d];\n", n, i)
		fmt.Fprintf(&getter, "        vk[%d] = %s;\n", i, n)
	}
	var src bytes.Buffer
	err := vk.ExportSolidity(&src,
		solidity.WithPragmaVersion("0.8.37"),
		solidity.WithConstructor(strings.NewReader(fmt.Sprintf(keyedConstructor, ctor.String()))),
		solidity.WithFunctions(strings.NewReader(fmt.Sprintf(keyedFunctions, getter.String()))))
	if err != nil {
		return fmt.Errorf("prover: export keyed verifier: %w", err)
	}
	out, err := keyedSource(src.String())
	if err != nil {
		return err
	}
	_, err = io.WriteString(w, out)
	return err
}

// keyedSource rewrites gnark's exported verifier into the keyed one.
func keyedSource(src string) (string, error) {
	isKey := map[string]bool{}
	for _, n := range keyedNames {
		isKey[n] = true
	}
	replaced := 0
	src = constLine.ReplaceAllStringFunc(src, func(line string) string {
		m := constLine.FindStringSubmatch(line)
		if !isKey[m[2]] {
			return line
		}
		replaced++
		return m[1] + "uint256 private immutable " + m[2] + ";"
	})
	if replaced != len(keyedNames) {
		return "", fmt.Errorf("prover: keyed verifier: replaced %d of %d key constants (gnark's template changed?)", replaced, len(keyedNames))
	}
	src = strings.Replace(src, "contract Verifier {", "contract "+KeyedVerifierContract+" {", 1)
	if !strings.Contains(src, "contract "+KeyedVerifierContract+" {") {
		return "", fmt.Errorf("prover: keyed verifier: no `contract Verifier {` in gnark's template")
	}
	// Every assembly block reading the key reads it from a memory copy.
	lines := strings.Split(src, "\n")
	var out []string
	blocks := 0
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		if !strings.Contains(l, "assembly") || !strings.HasSuffix(strings.TrimSpace(l), "{") {
			out = append(out, l)
			continue
		}
		end := blockEnd(lines, i)
		if end < 0 {
			return "", fmt.Errorf("prover: keyed verifier: unbalanced assembly block at line %d", i+1)
		}
		body := lines[i : end+1]
		var used []string
		seen := map[string]bool{}
		for _, b := range body {
			for _, tok := range identifiers.FindAllString(b, -1) {
				if isKey[tok] && !seen[tok] {
					seen[tok] = true
					used = append(used, tok)
				}
			}
		}
		if len(used) == 0 {
			out = append(out, body...)
			i = end
			continue
		}
		blocks++
		indent := l[:len(l)-len(strings.TrimLeft(l, " \t"))]
		elems := make([]string, len(used))
		for j, n := range used {
			elems[j] = n
		}
		elems[0] = "uint256(" + elems[0] + ")"
		out = append(out, fmt.Sprintf("%s// The key's immutables, which inline assembly cannot read (keyed verifier).", indent))
		out = append(out, fmt.Sprintf("%suint256[%d] memory vk_ = [%s];", indent, len(used), strings.Join(elems, ", ")))
		pos := map[string]int{}
		for j, n := range used {
			pos[n] = j
		}
		for _, b := range body {
			b = identifiers.ReplaceAllStringFunc(b, func(tok string) string {
				j, ok := pos[tok]
				if !ok {
					return tok
				}
				if j == 0 {
					return "mload(vk_)"
				}
				return fmt.Sprintf("mload(add(vk_, 0x%x))", 0x20*j)
			})
			out = append(out, b)
		}
		i = end
	}
	if blocks != 2 {
		return "", fmt.Errorf("prover: keyed verifier: %d assembly blocks read the key, want 2 (gnark's template changed?)", blocks)
	}
	res := strings.TrimLeft(strings.Join(out, "\n"), "\n")
	const spdx = "// SPDX-License-Identifier: MIT\n"
	if !strings.HasPrefix(res, spdx) {
		return "", fmt.Errorf("prover: keyed verifier: gnark's template no longer starts with %q", spdx)
	}
	return spdx + "// Code generated by prover.ExportKeyedSolidity (go run ./contracts/gen -verifier) from\n" +
		"// gnark v0.16's Groth16 verifier template; DO NOT EDIT.\n" + strings.TrimPrefix(res, spdx), nil
}

var identifiers = regexp.MustCompile(`[A-Za-z_][A-Za-z0-9_]*`)

// blockEnd returns the line closing the brace block opened on line i.
func blockEnd(lines []string, i int) int {
	depth := 0
	for j := i; j < len(lines); j++ {
		code := lines[j]
		if k := strings.Index(code, "//"); k >= 0 {
			code = code[:k]
		}
		depth += strings.Count(code, "{") - strings.Count(code, "}")
		if depth == 0 {
			return j
		}
	}
	return -1
}

// KeyedVerifierArgs returns the keyed verifier's constructor argument for
// vk: the values of the key's constants in gnark's own export of vk.
func KeyedVerifierArgs(vk groth16.VerifyingKey) ([18]*big.Int, error) {
	var args [18]*big.Int
	v, ok := vk.(*groth16bn254.VerifyingKey)
	if !ok {
		return args, fmt.Errorf("%w: verifying key %T", ErrNotBN254, vk)
	}
	if n := len(v.G1.K) - 1; n != KeyedVerifierInputs {
		return args, fmt.Errorf("%w: %d public inputs (the keyed verifier takes %d)", ErrKeyMismatch, n, KeyedVerifierInputs)
	}
	var src bytes.Buffer
	if err := ExportSolidity(vk, &src); err != nil {
		return args, err
	}
	vals := map[string]*big.Int{}
	for _, m := range constLine.FindAllStringSubmatch(src.String(), -1) {
		x, ok := new(big.Int).SetString(m[3], 10)
		if !ok {
			return args, fmt.Errorf("prover: keyed verifier: constant %s = %q", m[2], m[3])
		}
		vals[m[2]] = x
	}
	for i, n := range keyedNames {
		x, ok := vals[n]
		if !ok {
			return args, fmt.Errorf("prover: keyed verifier: gnark's export has no %s", n)
		}
		args[i] = x
	}
	return args, nil
}
