package archtest

import (
	"bytes"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// production are the packages the node binary is built from (a trailing /...
// is a tree): the ones the rules below constrain.
var production = []string{"./sequencer/...", "./pipeline", "./node", "./bridge", "./rpc/...", "./state/...", "./circuits", "./prover", "./wallet", "./types/..."}

// importRules: packages (pkgs) must not link any forbidden import path, in
// their transitive non-test dependencies. A forbidden entry ending in /...
// forbids the whole tree. canary is a package that does link a forbidden
// path: the rule must see it, or the check itself is broken.
var importRules = []struct {
	name      string
	pkgs      []string
	forbidden []string
	canary    string
	why       string
}{
	{
		name:      "no simulated chain in production",
		pkgs:      production,
		forbidden: []string{"github.com/ethereum/go-ethereum/ethclient/simulated"},
		canary:    "./node/devnet",
		why:       "test chains live in tests, node/devchain and node/devnet",
	},
	{
		name:      "no measurement code in production",
		pkgs:      production,
		forbidden: []string{"github.com/modex/modex/bench/..."},
		canary:    "./cmd/modex",
		why:       "benchmarks and their workload live in the bench tree, linked only by `modex bench` and tests",
	},
	{
		name:      "no Solidity compiler at run time",
		pkgs:      []string{"./cmd/modex"},
		forbidden: []string{"github.com/modex/modex/contracts/compiler"},
		canary:    "./contracts/gen",
		why:       "the binary deploys the committed keyed verifier (bridge.VerifierDeployCode); solc-js runs at build time (make contracts) and in tests only",
	},
	{
		name:      "the sequencer and the pipeline meet L1 through interfaces",
		pkgs:      []string{"./sequencer/...", "./pipeline"},
		forbidden: []string{"github.com/modex/modex/bridge"},
		canary:    "./node",
		why:       "pipeline.Submitter is the seam; node adapts bridge.Submitter to it",
	},
	{
		name:      "the API imports no sequencer package",
		pkgs:      []string{"./rpc/..."},
		forbidden: []string{"github.com/modex/modex/sequencer/...", "github.com/modex/modex/pipeline"},
		canary:    "./node",
		why:       "rpc is below the sequencer; shared errors live in types/seqerr",
	},
}

// TestImportRules lists every rule's packages with their dependencies and
// fails on each package that links a forbidden path.
func TestImportRules(t *testing.T) {
	root := moduleRoot(t)
	for _, r := range importRules {
		t.Run(r.name, func(t *testing.T) {
			for pkg, deps := range listDeps(t, root, r.pkgs...) {
				for _, d := range deps {
					if forbidden(r.forbidden, d) {
						t.Errorf("%s links %s: %s", pkg, d, r.why)
					}
				}
			}
			canary := listDeps(t, root, r.canary)
			if len(canary) != 1 {
				t.Fatalf("canary %s: go list gave %d packages", r.canary, len(canary))
			}
			for _, deps := range canary {
				if !slices.ContainsFunc(deps, func(d string) bool { return forbidden(r.forbidden, d) }) {
					t.Fatalf("canary %s links none of %v: the rule cannot see a violation (or the canary moved)", r.canary, r.forbidden)
				}
			}
		})
	}
}

// forbidden reports whether import path d matches a rule's forbidden list.
func forbidden(list []string, d string) bool {
	for _, f := range list {
		if tree, ok := strings.CutSuffix(f, "/..."); ok {
			if d == tree || strings.HasPrefix(d, tree+"/") {
				return true
			}
		} else if d == f {
			return true
		}
	}
	return false
}

// listDeps runs go list in the module root and returns each package matched
// by patterns with its transitive non-test dependencies (go list -deps of
// that package, less the package itself).
func listDeps(t *testing.T, root string, patterns ...string) map[string][]string {
	t.Helper()
	return listWith(t, root, "{{.ImportPath}}{{range .Deps}} {{.}}{{end}}", patterns...)
}

// listWith runs go list -f format over patterns in the module root; each
// output line is a package followed by the paths format lists for it.
func listWith(t *testing.T, root, format string, patterns ...string) map[string][]string {
	t.Helper()
	args := append([]string{"list", "-f", format}, patterns...)
	cmd := exec.Command(goTool(t), args...)
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	m := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if f := strings.Fields(line); len(f) > 0 {
			m[f[0]] = f[1:]
		}
	}
	if len(m) == 0 {
		t.Fatalf("go list %v matched no packages", patterns)
	}
	return m
}

func goTool(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to read the build graph: %v", err)
	}
	return p
}

// moduleRoot is the directory of the module's go.mod.
func moduleRoot(t *testing.T) string {
	t.Helper()
	out, err := exec.Command(goTool(t), "env", "GOMOD").Output()
	if err != nil {
		t.Fatal(err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == "/dev/null" {
		t.Fatal("not inside the module")
	}
	return filepath.Dir(gomod)
}
