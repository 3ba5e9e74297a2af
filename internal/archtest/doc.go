// Package archtest holds the project's architecture tests: rules about which
// packages may link which, checked against the real build graph (`go list`),
// so a layering mistake fails the test suite instead of waiting for review.
//
// The rules are a table in imports_test.go; a new rule is one more row. Each
// row names a canary, a package that is known to break the rule, so the test
// proves on every run that it can still see a violation.
//
// The package has no non-test code.
package archtest
