// Package workload drives the native state transition with real signed
// transactions: a World of deterministic users over a real state.DB, and
// generators of valid transactions of every kind. The apply and seal
// measurement bodies (ApplyN, SealN) time against a Timer: *testing.B in
// state's benchmarks, bench/apply's Stopwatch in `modex bench apply|seal`;
// `modex bench prove` and the `modex demo` flow run on it too.
//
// It is measurement and test machinery, not part of the node: production
// packages never import it (internal/archtest checks that), while benchmarks,
// the bench and demo commands, and tests of every layer do. Users' keys and
// addresses are deterministic (Key, Addr), so a run is reproducible from its
// seed and user count.
package workload
