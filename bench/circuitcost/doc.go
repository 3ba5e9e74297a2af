// Package circuitcost measures the circuits' size: KindCosts compiles every
// kind gadget alone (wrapped in a Standalone circuit) and BatchCosts every
// family's batch circuit at capacities 1 and 2, which gives each family's
// exact per-slot and fixed constraint counts. `modex bench circuit` prints
// both, and the prove benchmark proves Standalone circuits.
//
// A Standalone circuit is for measurement only: its digest binds just the
// first 253 pubdata bits and not the fee token, so it must never carry a
// real proof. The batch circuits in package circuits compose the same
// gadgets with the full public input.
//
// The tests pin the gadgets' constraint budgets (TestGadgetCosts), so a
// regression in a gadget fails here before it shows in a benchmark.
package circuitcost
