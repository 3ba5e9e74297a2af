package archtest

import (
	"sort"
	"strings"
	"testing"
)

const module = "github.com/modex/modex"

// layers is docs/architecture.md's layering as data: a package may import
// only project packages of a strictly lower layer, so two services of one
// layer (rpc and bridge; sequencer and pipeline) talk through interfaces,
// never through each other's packages. A package missing here fails the
// test: a new package takes its place in the layering (and the document)
// deliberately.
var layers = map[string]int{
	// 0: no project imports
	"types": 0, "state/store": 0, "prover": 0,
	"contracts/bindings": 0, "contracts/compiler": 0, "contracts/poseidon2": 0,
	"internal/archtest": 0,
	// 1–3: the state and its circuit
	"types/seqerr": 1, "state/smt": 1,
	"state":    2,
	"circuits": 3,
	// 4: services over the state: the API's shapes and server, L1
	"rpc": 4, "bridge": 4,
	// 5–6: the sequencer's parts, the client, test harnesses
	"sequencer/mempool": 5, "sequencer/book": 5, "rpc/client": 5, "internal/testutil/evmtest": 5,
	"sequencer/journal": 6,
	// 7: the sequencer and the proving pipeline, beside each other
	"sequencer": 7, "pipeline": 7,
	// 8: wiring, the wallet, the embedded L1, the benchmark workload
	"node": 8, "wallet": 8, "node/devchain": 8, "bench/workload": 8,
	// 9: the devnet and the benchmarks (linked by cmd/modex and tests only)
	"node/devnet": 9, "bench/gas": 9, "bench/seqbench": 9, "bench/circuitcost": 9, "bench/apply": 9, "bench/prove": 9,
	// 10: binaries and generators
	"cmd/modex": 10, "contracts/gen": 10,
}

// TestLayers checks every package's direct project imports (non-test)
// against layers.
func TestLayers(t *testing.T) {
	root := moduleRoot(t)
	imports := listImports(t, root)
	if len(imports) < len(layers)/2 {
		t.Fatalf("go list found %d packages", len(imports))
	}
	var pkgs []string
	for p := range imports {
		pkgs = append(pkgs, p)
	}
	sort.Strings(pkgs)
	for _, p := range pkgs {
		lp, ok := layers[p]
		if !ok {
			t.Errorf("%s has no layer: give it one in layers and in docs/architecture.md", p)
			continue
		}
		for _, d := range imports[p] {
			ld, ok := layers[d]
			if ok && ld >= lp {
				t.Errorf("%s (layer %d) imports %s (layer %d): imports go only downwards", p, lp, d, ld)
			}
		}
	}
	for p := range layers {
		if _, ok := imports[p]; !ok {
			t.Errorf("layers names %s, which go list does not find: remove it", p)
		}
	}
}

// TestLayerRuleBites: the check refuses an import upwards and one across a
// layer (the rule is not vacuous).
func TestLayerRuleBites(t *testing.T) {
	for _, c := range [][2]string{{"rpc", "sequencer/mempool"}, {"sequencer", "pipeline"}, {"pipeline", "sequencer"}, {"rpc", "bridge"}, {"state", "circuits"}, {"types", "state"}} {
		if layers[c[0]] > layers[c[1]] {
			t.Errorf("%s may import %s", c[0], c[1])
		}
	}
}

// listImports maps each project package (relative to the module) to its
// direct project imports, test files excluded.
func listImports(t *testing.T, root string) map[string][]string {
	t.Helper()
	m := map[string][]string{}
	for p, deps := range listWith(t, root, "{{.ImportPath}}{{range .Imports}} {{.}}{{end}}", "./...") {
		rel := strings.TrimPrefix(strings.TrimPrefix(p, module), "/")
		for _, d := range deps {
			if d == module || strings.HasPrefix(d, module+"/") {
				m[rel] = append(m[rel], strings.TrimPrefix(d, module+"/"))
			}
		}
		if _, ok := m[rel]; !ok {
			m[rel] = nil
		}
	}
	return m
}
