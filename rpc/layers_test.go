package rpc

import (
	"go/build"
	"os/exec"
	"strings"
	"testing"
)

// TestImportsNoSequencer: the API sits beside the sequencer, not above it.
// rpc (the package, not its tests) must not import any sequencer package;
// the sequencer's rejection errors it maps come from types/seqerr.
func TestImportsNoSequencer(t *testing.T) {
	pkg, err := build.ImportDir(".", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, imp := range pkg.Imports {
		if strings.HasPrefix(imp, "github.com/modex/modex/sequencer") {
			t.Errorf("rpc imports %s", imp)
		}
	}
	// and not through another package either
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Skipf("go list: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		if strings.HasPrefix(dep, "github.com/modex/modex/sequencer") {
			t.Errorf("rpc depends on %s", dep)
		}
	}
}
