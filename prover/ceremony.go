package prover

import (
	"fmt"
	"io"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark/backend/groth16/bn254/mpcsetup"
	"github.com/consensys/gnark/constraint"
	csbn254 "github.com/consensys/gnark/constraint/bn254"
)

// MPC ceremony (gnark's backend/groth16/bn254/mpcsetup, the BGM17 protocol).
//
// Phase 1 ("powers of tau") depends only on the domain size N (a power of
// two ≥ the circuit's constraint count, CeremonyDomainSize); phase 2 is
// circuit specific. The keys are secure if at least one contributor in each
// phase destroyed their randomness. Flow (each arrow is one file):
//
//	coordinator: InitPhase1File(N)                  → p1.0
//	contributor i: ContributePhase1File(p1.i-1)     → p1.i      (i = 1..n)
//	coordinator: VerifyPhase1File(p1.i-1, p1.i) as each arrives
//	coordinator: SealPhase1Files(N, beacon1, p1.1..p1.n) → srs
//	coordinator: InitPhase2File(ccs, srs)           → p2.0
//	contributor j: ContributePhase2File(p2.j-1)     → p2.j      (j = 1..m)
//	coordinator: VerifyPhase2File(p2.j-1, p2.j) as each arrives
//	anyone:      SealCeremonyFiles(ccs, srs, beacon2, p2.1..p2.m) → Keys
//
// The sealing steps re-verify the whole chain from scratch, so anyone can
// re-run them from the published files and get the same keys. A beacon is
// public randomness fixed only after the last contribution of its phase (e.g.
// a future L1 block hash), the same for everyone who re-runs the seal.
//
// gnark's objects are mutated in place by Contribute and by the seal
// functions; the functions here read fresh copies from files or take
// ownership of their arguments, as documented on each.

// CeremonyDomainSize is the phase-1 domain size for ccs: the next power of
// two ≥ its constraint count (what groth16.Setup uses too).
func CeremonyDomainSize(ccs constraint.ConstraintSystem) uint64 {
	return ecc.NextPowerOfTwo(uint64(ccs.GetNbConstraints()))
}

// InitPhase1 returns the starting phase-1 object for domain size n (a power
// of two).
func InitPhase1(n uint64) (*mpcsetup.Phase1, error) {
	if n == 0 || ecc.NextPowerOfTwo(n) != n {
		return nil, fmt.Errorf("%w: domain size %d is not a power of two", ErrCeremony, n)
	}
	done := stage("ceremony-phase1-init", "domain", n)
	p := mpcsetup.NewPhase1(n)
	done(nil)
	return p, nil
}

// ContributePhase1 adds fresh randomness (from crypto/rand, discarded after
// use) to p in place. p must be the latest verified contribution.
func ContributePhase1(p *mpcsetup.Phase1) {
	done := stage("ceremony-phase1-contribute")
	p.Contribute()
	done(nil)
}

// VerifyPhase1Contribution checks that next is a valid contribution on top of
// prev (which the caller has already verified; the first contribution is
// checked against InitPhase1's object).
func VerifyPhase1Contribution(prev, next *mpcsetup.Phase1) (err error) {
	done := stage("ceremony-phase1-verify")
	defer done(&err)
	if err := prev.Verify(next); err != nil {
		return fmt.Errorf("%w: phase 1: %v", ErrCeremony, err)
	}
	return nil
}

// SealPhase1 verifies the whole chain of phase-1 contributions from the
// initial object for domain size n, applies the beacon and returns the
// circuit-independent SRS. It modifies the last contribution.
func SealPhase1(n uint64, beacon []byte, contributions ...*mpcsetup.Phase1) (_ *mpcsetup.SrsCommons, err error) {
	if len(contributions) == 0 {
		return nil, fmt.Errorf("%w: no phase-1 contributions", ErrCeremony)
	}
	if len(beacon) == 0 {
		return nil, fmt.Errorf("%w: empty beacon", ErrCeremony)
	}
	if n == 0 || ecc.NextPowerOfTwo(n) != n {
		return nil, fmt.Errorf("%w: domain size %d is not a power of two", ErrCeremony, n)
	}
	done := stage("ceremony-phase1-seal", "domain", n, "contributions", len(contributions))
	defer done(&err)
	srs, err := mpcsetup.VerifyPhase1(n, beacon, contributions...)
	if err != nil {
		return nil, fmt.Errorf("%w: phase 1: %v", ErrCeremony, err)
	}
	return &srs, nil
}

func r1csOf(ccs constraint.ConstraintSystem) (*csbn254.R1CS, error) {
	if err := checkCCS(ccs); err != nil {
		return nil, err
	}
	return ccs.(*csbn254.R1CS), nil
}

func checkSRS(ccs constraint.ConstraintSystem, srs *mpcsetup.SrsCommons) error {
	if srs == nil || len(srs.G1.AlphaTau) < ccs.GetNbConstraints() {
		n := 0
		if srs != nil {
			n = len(srs.G1.AlphaTau)
		}
		return fmt.Errorf("%w: SRS domain %d < %d constraints", ErrCeremony, n, ccs.GetNbConstraints())
	}
	return nil
}

// InitPhase2 returns the starting phase-2 object for ccs from the sealed
// phase-1 SRS.
func InitPhase2(ccs constraint.ConstraintSystem, srs *mpcsetup.SrsCommons) (_ *mpcsetup.Phase2, err error) {
	r, err := r1csOf(ccs)
	if err != nil {
		return nil, err
	}
	if err := checkSRS(ccs, srs); err != nil {
		return nil, err
	}
	done := stage("ceremony-phase2-init", "constraints", ccs.GetNbConstraints())
	defer done(&err)
	p := new(mpcsetup.Phase2)
	p.Initialize(r, srs)
	return p, nil
}

// ContributePhase2 adds fresh randomness to p in place. p must be the latest
// verified contribution.
func ContributePhase2(p *mpcsetup.Phase2) {
	done := stage("ceremony-phase2-contribute")
	p.Contribute()
	done(nil)
}

// VerifyPhase2Contribution checks that next is a valid contribution on top of
// prev (already verified; the first is checked against InitPhase2's object).
func VerifyPhase2Contribution(prev, next *mpcsetup.Phase2) (err error) {
	done := stage("ceremony-phase2-verify")
	defer done(&err)
	if err := prev.Verify(next); err != nil {
		return fmt.Errorf("%w: phase 2: %v", ErrCeremony, err)
	}
	return nil
}

// SealCeremony verifies the whole phase-2 chain from InitPhase2(ccs, srs),
// applies the beacon and returns the circuit's keys. It modifies the last
// contribution.
func SealCeremony(ccs constraint.ConstraintSystem, srs *mpcsetup.SrsCommons, beacon []byte, contributions ...*mpcsetup.Phase2) (_ *Keys, err error) {
	r, err := r1csOf(ccs)
	if err != nil {
		return nil, err
	}
	if err := checkSRS(ccs, srs); err != nil {
		return nil, err
	}
	if len(contributions) == 0 {
		return nil, fmt.Errorf("%w: no phase-2 contributions", ErrCeremony)
	}
	if len(beacon) == 0 {
		return nil, fmt.Errorf("%w: empty beacon", ErrCeremony)
	}
	done := stage("ceremony-seal", "contributions", len(contributions))
	defer done(&err)
	pk, vk, err := mpcsetup.VerifyPhase2(r, srs, beacon, contributions...)
	if err != nil {
		return nil, fmt.Errorf("%w: phase 2: %v", ErrCeremony, err)
	}
	k := &Keys{CCS: ccs, PK: pk, VK: vk}
	return k, k.Check()
}

// ---- file-in/file-out variants (what the CLI subcommands wrap) ----

// InitPhase1File writes the starting phase-1 object for domain size n to out.
func InitPhase1File(n uint64, out string) error {
	p, err := InitPhase1(n)
	if err != nil {
		return err
	}
	return writeTo(out, p.WriteTo)
}

// ContributePhase1File reads the latest phase-1 object from in, contributes
// and writes the result to out.
func ContributePhase1File(in, out string) error {
	p, err := ReadPhase1(in)
	if err != nil {
		return err
	}
	ContributePhase1(p)
	return writeTo(out, p.WriteTo)
}

// VerifyPhase1File checks the contribution in next against prev.
func VerifyPhase1File(prev, next string) error {
	a, err := ReadPhase1(prev)
	if err != nil {
		return err
	}
	b, err := ReadPhase1(next)
	if err != nil {
		return err
	}
	return VerifyPhase1Contribution(a, b)
}

// SealPhase1Files verifies the phase-1 contribution files (in order) and
// writes the sealed SRS to out.
func SealPhase1Files(n uint64, beacon []byte, out string, contributions ...string) error {
	ps := make([]*mpcsetup.Phase1, len(contributions))
	for i, f := range contributions {
		p, err := ReadPhase1(f)
		if err != nil {
			return err
		}
		ps[i] = p
	}
	srs, err := SealPhase1(n, beacon, ps...)
	if err != nil {
		return err
	}
	return writeTo(out, srs.WriteTo)
}

// InitPhase2File writes the starting phase-2 object for ccs and the SRS in
// srsFile to out.
func InitPhase2File(ccs constraint.ConstraintSystem, srsFile, out string) error {
	srs, err := ReadSRS(srsFile)
	if err != nil {
		return err
	}
	p, err := InitPhase2(ccs, srs)
	if err != nil {
		return err
	}
	return writeTo(out, p.WriteTo)
}

// ContributePhase2File reads the latest phase-2 object from in, contributes
// and writes the result to out.
func ContributePhase2File(in, out string) error {
	p, err := ReadPhase2(in)
	if err != nil {
		return err
	}
	ContributePhase2(p)
	return writeTo(out, p.WriteTo)
}

// VerifyPhase2File checks the contribution in next against prev.
func VerifyPhase2File(prev, next string) error {
	a, err := ReadPhase2(prev)
	if err != nil {
		return err
	}
	b, err := ReadPhase2(next)
	if err != nil {
		return err
	}
	return VerifyPhase2Contribution(a, b)
}

// SealCeremonyFiles verifies the phase-2 contribution files (in order) against
// ccs and the SRS in srsFile and returns the keys (save them with Keys.Save).
func SealCeremonyFiles(ccs constraint.ConstraintSystem, srsFile string, beacon []byte, contributions ...string) (*Keys, error) {
	srs, err := ReadSRS(srsFile)
	if err != nil {
		return nil, err
	}
	ps := make([]*mpcsetup.Phase2, len(contributions))
	for i, f := range contributions {
		p, err := ReadPhase2(f)
		if err != nil {
			return nil, err
		}
		ps[i] = p
	}
	return SealCeremony(ccs, srs, beacon, ps...)
}

// ReadPhase1 reads a phase-1 object (gnark checks its well-formedness).
func ReadPhase1(path string) (*mpcsetup.Phase1, error) {
	p := new(mpcsetup.Phase1)
	return p, readCeremony(path, p)
}

// ReadPhase2 reads a phase-2 object (gnark checks its well-formedness).
func ReadPhase2(path string) (*mpcsetup.Phase2, error) {
	p := new(mpcsetup.Phase2)
	return p, readCeremony(path, p)
}

// ReadSRS reads a sealed phase-1 SRS.
func ReadSRS(path string) (*mpcsetup.SrsCommons, error) {
	s := new(mpcsetup.SrsCommons)
	return s, readCeremony(path, s)
}

func readCeremony(path string, r io.ReaderFrom) error {
	if err := readFrom(path, r.ReadFrom); err != nil {
		return fmt.Errorf("%w: %v", ErrCeremony, err)
	}
	return nil
}
