package archtest

import (
	"fmt"
	"maps"
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
	"internal/archtest": 0, "internal/datadir": 0, "internal/testutil/gethtest": 1, "internal/testutil/modexbin": 1, "internal/testutil/child": 0,
	// 1–3: the state and its circuit
	"types/seqerr": 1, "state/smt": 1,
	"state":    2,
	"circuits": 3,
	// 4: services over the state: the API's shapes and server, L1
	"rpc": 4, "bridge": 4,
	// 5–6: the sequencer's parts, the client, test harnesses
	"sequencer/mempool": 5, "sequencer/book": 5, "rpc/client": 5, "internal/testutil/evmtest": 5, "deploy": 5,
	"sequencer/journal": 6,
	// 7: the sequencer and the proving pipeline, beside each other
	"sequencer": 7, "pipeline": 7,
	// 8: wiring, the wallet, the embedded L1, the benchmark workload
	"node": 8, "wallet": 8, "node/devchain": 8, "bench/workload": 8,
	// 9: the devnet and the benchmarks (linked by cmd/modex and tests only)
	"node/devnet": 9, "bench/gas": 9, "bench/seqbench": 9, "bench/circuitcost": 9, "bench/apply": 9, "bench/prove": 9,
	// 10: binaries and generators
	"cmd/modex": 10, "contracts/gen": 10, "internal/e2e": 10,
}

// TestLayers checks every package's direct project imports (non-test)
// against layers.
func TestLayers(t *testing.T) {
	imports := listImports(t, moduleRoot(t))
	if len(imports) < len(layers)/2 {
		t.Fatalf("go list found %d packages", len(imports))
	}
	for _, v := range layerViolations(imports) {
		t.Error(v)
	}
}

// TestLayerRuleBites: the check finds an import upwards, one across a
// layer, a package with no layer and a layer naming no package.
func TestLayerRuleBites(t *testing.T) {
	clean := map[string][]string{}
	for p := range layers {
		clean[p] = nil
	}
	if v := layerViolations(clean); len(v) != 0 {
		t.Fatalf("no imports, yet: %v", v)
	}
	for _, c := range []struct {
		name  string
		edit  func(m map[string][]string)
		wants string
	}{
		{"upwards", func(m map[string][]string) { m["state"] = []string{"circuits"} }, "imports go only downwards"},
		{"rpc to the pool", func(m map[string][]string) { m["rpc"] = []string{"sequencer/mempool"} }, "imports go only downwards"},
		{"across a layer", func(m map[string][]string) { m["sequencer"] = []string{"pipeline"} }, "imports go only downwards"},
		{"no layer", func(m map[string][]string) { m["util"] = nil }, "has no layer"},
		{"stale layer", func(m map[string][]string) { delete(m, "wallet") }, "does not find"},
	} {
		m := maps.Clone(clean)
		c.edit(m)
		v := layerViolations(m)
		if len(v) != 1 || !strings.Contains(v[0], c.wants) {
			t.Errorf("%s: violations %q, want one saying %q", c.name, v, c.wants)
		}
	}
}

// layerViolations lists what breaks the layering in a package → direct
// project imports map.
func layerViolations(imports map[string][]string) []string {
	var out []string
	var pkgs []string
	for p := range imports {
		pkgs = append(pkgs, p)
	}
	sort.Strings(pkgs)
	for _, p := range pkgs {
		lp, ok := layers[p]
		if !ok {
			out = append(out, fmt.Sprintf("%s has no layer: give it one in layers and in docs/architecture.md", p))
			continue
		}
		for _, d := range imports[p] {
			if ld, ok := layers[d]; ok && ld >= lp {
				out = append(out, fmt.Sprintf("%s (layer %d) imports %s (layer %d): imports go only downwards", p, lp, d, ld))
			}
		}
	}
	var stale []string
	for p := range layers {
		if _, ok := imports[p]; !ok {
			stale = append(stale, fmt.Sprintf("layers names %s, which go list does not find: remove it", p))
		}
	}
	sort.Strings(stale)
	return append(out, stale...)
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
