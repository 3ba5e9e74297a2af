// Command gen writes the Go bindings of the Solidity contracts: it reads every
// artifact contracts/solc/build.js wrote (contracts/artifacts/*.json) and
// generates abigen v2 bindings (go-ethereum's abigen.BindV2, as `abigen --v2`)
// for all of them into one file, contracts/bindings/bindings.go, package
// bindings, with each contract's creation bytecode (<Name>MetaData.Bin).
//
// Usage (from the module root; `make contracts` runs `gen -verifier`, build.js,
// then `gen`):
//
//	go run ./contracts/gen [-artifacts DIR] [-out DIR]
//	go run ./contracts/gen -verifier [-src DIR]
//
// With -verifier it writes the keyed Groth16 verifier's source,
// contracts/src/Groth16Verifier.sol (prover.ExportKeyedSolidity: gnark's
// exported verifier with the key in immutables set by the constructor), which
// build.js then compiles with the rest of contracts/src.
//
// All contracts go through ONE BindV2 call: BindV2 names a struct after its
// Solidity type (ModexDeposit for Modex.Deposit), not after the contract that
// uses it, so per-contract files would each declare the structs they share.
// In one call BindV2 declares each struct once. The <Method>Output structs of
// multi-value functions are not prefixed with the contract either; identical
// duplicates (a contract inheriting another's function) are dropped here, and
// any remaining duplicate declaration is an error naming the identifier.
package main

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"go/ast"
	"go/format"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/ethereum/go-ethereum/accounts/abi/abigen"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/modex/modex/contracts/compiler"
	"github.com/modex/modex/prover"
)

const (
	// Package is the package name of the generated bindings.
	Package = "bindings"
	// OutFile is the generated file, in the output directory.
	OutFile = "bindings.go"
	// generatedMarker starts every file BindV2 writes; gen owns (and removes
	// when stale) the .go files of the output directory that start with it.
	generatedMarker = "// Code generated via abigen V2 - DO NOT EDIT."
)

// Artifact is one contracts/artifacts/<Contract>.json (contracts/solc/build.js).
type Artifact struct {
	Contract         string          `json:"contract"`
	Source           string          `json:"source"`
	Compiler         string          `json:"compiler"`
	ABI              json.RawMessage `json:"abi"`
	Bytecode         string          `json:"bytecode"`
	DeployedBytecode string          `json:"deployedBytecode"`
}

func main() {
	fatal := func(err error) {
		fmt.Fprintln(os.Stderr, "contracts/gen:", err)
		os.Exit(1)
	}
	root, err := moduleRoot()
	if err != nil {
		fatal(err)
	}
	artifacts := flag.String("artifacts", filepath.Join(root, "contracts", "artifacts"), "directory of the artifact JSON files (contracts/solc/build.js)")
	out := flag.String("out", filepath.Join(root, "contracts", "bindings"), "directory of the generated Go package "+Package)
	verifier := flag.Bool("verifier", false, "write the keyed verifier's Solidity source instead of the bindings")
	src := flag.String("src", filepath.Join(root, "contracts", "src"), "directory of the Solidity sources (-verifier)")
	flag.Parse()
	if flag.NArg() != 0 {
		fatal(fmt.Errorf("unexpected arguments %q", flag.Args()))
	}
	if *verifier {
		if err := writeVerifier(*src); err != nil {
			fatal(err)
		}
		return
	}
	if err := generate(*artifacts, *out); err != nil {
		fatal(err)
	}
}

// moduleRoot walks up from the working directory to the go.mod of the Modex module.
// moduleRoot is the Modex module root (compiler.ModuleRoot).
func moduleRoot() (string, error) { return compiler.ModuleRoot() }

// VerifierFile is the keyed verifier's source file in contracts/src.
const VerifierFile = prover.KeyedVerifierContract + ".sol"

// writeVerifier writes srcDir/VerifierFile (unchanged files are not touched).
func writeVerifier(srcDir string) error {
	var b bytes.Buffer
	if err := prover.ExportKeyedSolidity(&b); err != nil {
		return err
	}
	return writeIfChanged(filepath.Join(srcDir, VerifierFile), b.Bytes())
}

// generate reads every *.json artifact of artifactsDir and writes the bindings
// of all of them to outDir/bindings.go; it removes the other generated files
// of outDir (and bindings.go when there is no artifact). The output depends
// only on the artifacts' contents.
func generate(artifactsDir, outDir string) error {
	arts, err := readArtifacts(artifactsDir)
	if err != nil {
		return err
	}
	files := map[string][]byte{}
	if len(arts) > 0 {
		code, err := bind(arts)
		if err != nil {
			return err
		}
		files[OutFile] = code
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return err
	}
	for name, code := range files {
		if err := writeIfChanged(filepath.Join(outDir, name), code); err != nil {
			return err
		}
	}
	entries, err := os.ReadDir(outDir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if _, keep := files[e.Name()]; keep || !e.Type().IsRegular() || !strings.HasSuffix(e.Name(), ".go") {
			continue
		}
		p := filepath.Join(outDir, e.Name())
		if generated, err := isGenerated(p); err != nil {
			return err
		} else if generated {
			if err := os.Remove(p); err != nil {
				return err
			}
		}
	}
	return nil
}

// isGenerated reports whether the file at p is a BindV2 output.
func isGenerated(p string) (bool, error) {
	b, err := os.ReadFile(p)
	if err != nil {
		return false, err
	}
	return bytes.HasPrefix(b, []byte(generatedMarker+"\n")), nil
}

func writeIfChanged(p string, b []byte) error {
	if old, err := os.ReadFile(p); err == nil && bytes.Equal(old, b) {
		return nil
	}
	return os.WriteFile(p, b, 0o644)
}

var contractName = regexp.MustCompile(`^[A-Za-z_$][A-Za-z0-9_$]*$`)

// readArtifacts reads and checks the artifacts of dir, sorted by contract name.
func readArtifacts(dir string) ([]Artifact, error) {
	if _, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("artifacts: %w (run `make contracts`)", err)
	}
	paths, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, err
	}
	sort.Strings(paths)
	var arts []Artifact
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		var a Artifact
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&a); err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		switch base := strings.TrimSuffix(filepath.Base(p), ".json"); {
		case !contractName.MatchString(a.Contract):
			return nil, fmt.Errorf("%s: bad contract name %q", p, a.Contract)
		case a.Contract != base:
			return nil, fmt.Errorf("%s: holds contract %q, not %q", p, a.Contract, base)
		case a.Source == "":
			return nil, fmt.Errorf("%s: no source", p)
		case len(a.ABI) == 0 || bytes.Equal(bytes.TrimSpace(a.ABI), []byte("[]")):
			return nil, fmt.Errorf("%s: empty ABI", p)
		case !strings.HasPrefix(a.Bytecode, "0x") || len(a.Bytecode) <= 2:
			return nil, fmt.Errorf("%s: no bytecode", p)
		}
		arts = append(arts, a)
	}
	return arts, nil
}

// linkPattern is the placeholder solc writes into unlinked bytecode for the
// library source:name: __$<linkPattern>$__.
func linkPattern(source, name string) string {
	return hex.EncodeToString(crypto.Keccak256([]byte(source + ":" + name)))[:34]
}

var placeholder = regexp.MustCompile(`__\$([0-9a-f]{34})\$__`)

// bind runs BindV2 over all artifacts (sorted by contract name) and post-processes its output.
func bind(arts []Artifact) ([]byte, error) {
	byPattern := map[string]string{}
	for _, a := range arts {
		byPattern[linkPattern(a.Source, a.Contract)] = a.Contract
	}
	// libs: the libraries some contract links against (external library
	// functions); BindV2 makes their MetaData.ID the link pattern and lists
	// them in the Deps of the contracts that need them (bind.LinkAndDeploy).
	libs := map[string]string{}
	var types, abis, bins []string
	for _, a := range arts {
		for _, m := range placeholder.FindAllStringSubmatch(a.Bytecode, -1) {
			lib, ok := byPattern[m[1]]
			if !ok {
				return nil, fmt.Errorf("%s links a library (placeholder %s) that has no artifact", a.Contract, m[0])
			}
			libs[m[1]] = lib
		}
		types = append(types, a.Contract)
		abis = append(abis, string(a.ABI))
		bins = append(bins, a.Bytecode)
	}
	code, err := abigen.BindV2(types, abis, bins, Package, libs, nil)
	if err != nil {
		return nil, fmt.Errorf("abigen: %w", err)
	}
	return postProcess([]byte(code))
}

// packageDoc is the package comment added to the generated file.
const packageDoc = `// Package bindings holds the abigen v2 bindings of the Solidity contracts of
// contracts/src, generated by contracts/gen from contracts/artifacts. Run
// ` + "`make contracts`" + ` to regenerate them; do not edit.
`

// postProcess adds the package comment, drops duplicate type declarations
// that are identical (BindV2 declares <Method>Output once per contract), and
// refuses any other duplicate top-level declaration with an error naming it.
func postProcess(code []byte) ([]byte, error) {
	if !bytes.HasPrefix(code, []byte(generatedMarker+"\n")) {
		return nil, errors.New("abigen output does not start with " + generatedMarker)
	}
	clause := []byte("\npackage " + Package + "\n")
	i := bytes.Index(code, clause)
	if i < 0 {
		return nil, errors.New("abigen output has no package clause")
	}
	code = append(code[:i+1:i+1], append([]byte(packageDoc), code[i+1:]...)...)

	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, OutFile, code, parser.ParseComments)
	if err != nil {
		return nil, fmt.Errorf("abigen output: %w", err)
	}
	type span struct{ from, to int }
	var drop []span
	seen := map[string]string{} // identifier -> declaration text
	for _, d := range f.Decls {
		switch d := d.(type) {
		case *ast.FuncDecl:
			key := d.Name.Name
			if d.Recv != nil && len(d.Recv.List) == 1 {
				key = recvType(d.Recv.List[0].Type) + "." + key
			}
			if _, dup := seen[key]; dup {
				return nil, dupError(key)
			}
			seen[key] = ""
		case *ast.GenDecl:
			for _, s := range d.Specs {
				switch s := s.(type) {
				case *ast.TypeSpec:
					from, to := fset.Position(s.Pos()).Offset, fset.Position(s.End()).Offset
					text := string(code[from:to])
					prev, dup := seen[s.Name.Name]
					if !dup {
						seen[s.Name.Name] = text
						continue
					}
					if prev != text || len(d.Specs) != 1 {
						return nil, dupError(s.Name.Name)
					}
					start := d.Pos()
					if d.Doc != nil {
						start = d.Doc.Pos()
					}
					drop = append(drop, span{fset.Position(start).Offset, fset.Position(d.End()).Offset})
				case *ast.ValueSpec:
					for _, n := range s.Names {
						if n.Name == "_" {
							continue
						}
						if _, dup := seen[n.Name]; dup {
							return nil, dupError(n.Name)
						}
						seen[n.Name] = ""
					}
				}
			}
		}
	}
	for k := len(drop) - 1; k >= 0; k-- {
		code = append(code[:drop[k].from:drop[k].from], code[drop[k].to:]...)
	}
	out, err := format.Source(code)
	if err != nil {
		return nil, fmt.Errorf("gofmt bindings: %w", err)
	}
	return out, nil
}

func recvType(e ast.Expr) string {
	if s, ok := e.(*ast.StarExpr); ok {
		e = s.X
	}
	if id, ok := e.(*ast.Ident); ok {
		return id.Name
	}
	return fmt.Sprintf("%T", e)
}

func dupError(name string) error {
	return fmt.Errorf("the bindings would declare %s twice: two contracts define a struct, or a function returning several values (%s = <Function>Output), "+
		"of that name with different fields, or two contract names map to the same Go name; rename one in contracts/src", name, name)
}
