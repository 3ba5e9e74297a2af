// Command modex is the one Modex binary: the devnet, the node, the CLI
// wallet, the prover's setup and ceremony tools, the benchmarks and the
// native state demo.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
)

func main() {
	a := newApp(os.Stdout, os.Stderr)
	err := a.run(context.Background(), os.Args)
	if errors.Is(err, errShown) {
		return // --version: printed
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "modex:", describeError(err))
		os.Exit(1)
	}
}
