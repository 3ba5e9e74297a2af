// Package compiler compiles Solidity with the project's pinned solc-js
// (contracts/solc, installed by `make solc`): Compile runs
// contracts/solc/compile.js under Node.js on one source file and returns the
// contract's ABI and bytecode.
//
// Invariants:
//
//   - One compiler for every Solidity file the Go code builds at run time or
//     in tests (the exported Groth16 verifiers, test harnesses): the version
//     and optimizer settings are those of compile.js and its lock file, the
//     same that produce contracts/artifacts, so gas figures and bytecode agree
//     with the committed artifacts.
//   - A missing installation is ErrNotInstalled, never a half-compiled
//     result; a compile error carries solc's stderr.
//
// ModuleRoot locates the module's checkout (the go.mod declaring
// github.com/modex/modex) from the working directory, which is how the
// compile script and sources are found from tests and the CLI alike.
package compiler
