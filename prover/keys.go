package prover

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark/backend/groth16"
	groth16bn254 "github.com/consensys/gnark/backend/groth16/bn254"
	"github.com/consensys/gnark/constraint"
	csbn254 "github.com/consensys/gnark/constraint/bn254"
)

// Keys are one circuit's constraint system and its Groth16 keys. They belong
// together: keys from one compilation do not fit another.
type Keys struct {
	CCS constraint.ConstraintSystem
	PK  groth16.ProvingKey
	VK  groth16.VerifyingKey
}

// File names inside a keys directory (Keys.Save, LoadKeys).
const (
	CCSFile = "circuit.ccs"
	PKFile  = "proving.key"
	VKFile  = "verifying.key"
)

func newR1CS() constraint.ConstraintSystem { return groth16.NewCS(ecc.BN254) }

// DevSetup runs gnark's single-party Groth16 setup for ccs.
//
// INSECURE: the toxic waste (τ, α, β, γ, δ) exists in this process's memory,
// so whoever controls or inspects the process can forge proofs. It is for
// tests and devnets only; real funds need keys from an MPC ceremony
// (InitPhase1 … SealCeremony). DevSetup logs a warning saying so.
func DevSetup(ccs constraint.ConstraintSystem) (k *Keys, err error) {
	if err := checkCCS(ccs); err != nil {
		return nil, err
	}
	logger().Warn("INSECURE development setup: toxic waste known to this process; never use for real funds",
		"constraints", ccs.GetNbConstraints())
	done := stage("dev-setup", "constraints", ccs.GetNbConstraints())
	pk, vk, err := groth16.Setup(ccs)
	done(&err)
	if err != nil {
		return nil, fmt.Errorf("prover: groth16 setup: %w", err)
	}
	k = &Keys{CCS: ccs, PK: pk, VK: vk}
	return k, k.Check()
}

func checkCCS(ccs constraint.ConstraintSystem) error {
	if _, ok := ccs.(*csbn254.R1CS); !ok {
		return fmt.Errorf("%w: constraint system %T (want BN254 R1CS)", ErrNotBN254, ccs)
	}
	return checkNoCommitments(ccs)
}

// Check verifies that the three parts are BN254, have no commitments and
// belong together as far as their shapes tell (public input count, domain
// size, wire counts). It cannot prove that PK and VK come from one setup: the
// native verification of every proof catches that.
func (k *Keys) Check() error {
	if k == nil || k.CCS == nil || k.PK == nil || k.VK == nil {
		return fmt.Errorf("%w: incomplete keys", ErrKeyMismatch)
	}
	if err := checkCCS(k.CCS); err != nil {
		return err
	}
	pk, ok := k.PK.(*groth16bn254.ProvingKey)
	if !ok {
		return fmt.Errorf("%w: proving key %T", ErrNotBN254, k.PK)
	}
	vk, ok := k.VK.(*groth16bn254.VerifyingKey)
	if !ok {
		return fmt.Errorf("%w: verifying key %T", ErrNotBN254, k.VK)
	}
	if len(vk.PublicAndCommitmentCommitted) > 0 || len(pk.CommitmentKeys) > 0 {
		return fmt.Errorf("%w (in the keys)", ErrCommitment)
	}
	nPub := k.CCS.GetNbPublicVariables() // includes the constant 1 wire
	if len(vk.G1.K) != nPub {
		return fmt.Errorf("%w: verifying key has %d public inputs, circuit %d", ErrKeyMismatch, len(vk.G1.K)-1, nPub-1)
	}
	if pk.Domain.Cardinality < uint64(k.CCS.GetNbConstraints()) {
		return fmt.Errorf("%w: proving key domain %d < %d constraints", ErrKeyMismatch, pk.Domain.Cardinality, k.CCS.GetNbConstraints())
	}
	nWires := k.CCS.GetNbPublicVariables() + k.CCS.GetNbSecretVariables() + k.CCS.GetNbInternalVariables()
	if len(pk.InfinityA) != nWires || len(pk.InfinityB) != nWires {
		return fmt.Errorf("%w: proving key has %d wires, circuit %d", ErrKeyMismatch, len(pk.InfinityA), nWires)
	}
	return nil
}

// Save writes the keys into dir (created if missing) as CCSFile, PKFile and
// VKFile, each atomically, the keys in gnark's raw (uncompressed) form.
func (k *Keys) Save(dir string) error {
	if err := k.Check(); err != nil {
		return err
	}
	if err := writeTo(filepath.Join(dir, CCSFile), k.CCS.WriteTo); err != nil {
		return err
	}
	if err := writeTo(filepath.Join(dir, PKFile), k.PK.WriteRawTo); err != nil {
		return err
	}
	return WriteVerifyingKey(filepath.Join(dir, VKFile), k.VK)
}

// LoadKeys reads keys written by Save and checks them (Keys.Check). The
// proving key is read without subgroup checks (gnark's UnsafeReadFrom, much
// faster for large keys): a corrupt proving key can only yield proofs that fail
// the native verification every Prove runs. The verifying key is fully checked.
func LoadKeys(dir string) (*Keys, error) {
	ccs := newR1CS()
	if err := readFrom(filepath.Join(dir, CCSFile), ccs.ReadFrom); err != nil {
		return nil, err
	}
	pk := groth16.NewProvingKey(ecc.BN254)
	if err := readFrom(filepath.Join(dir, PKFile), pk.UnsafeReadFrom); err != nil {
		return nil, err
	}
	vk, err := ReadVerifyingKey(filepath.Join(dir, VKFile))
	if err != nil {
		return nil, err
	}
	k := &Keys{CCS: ccs, PK: pk, VK: vk}
	if err := k.Check(); err != nil {
		return nil, fmt.Errorf("prover: load keys from %s: %w", dir, err)
	}
	return k, nil
}

// WriteVerifyingKey writes vk (raw form) to path atomically.
func WriteVerifyingKey(path string, vk groth16.VerifyingKey) error {
	return writeTo(path, vk.WriteRawTo)
}

// ReadVerifyingKey reads a verifying key (raw or compressed form) with full
// point checks.
func ReadVerifyingKey(path string) (groth16.VerifyingKey, error) {
	vk := groth16.NewVerifyingKey(ecc.BN254)
	if err := readFrom(path, vk.ReadFrom); err != nil {
		return nil, err
	}
	return vk, nil
}

func writeTo(path string, wt func(io.Writer) (int64, error)) error {
	err := writeFileAtomic(path, func(w io.Writer) error { _, err := wt(w); return err })
	if err != nil {
		return fmt.Errorf("prover: write %s: %w", path, err)
	}
	return nil
}

// readFrom reads path with rf and insists that rf consumed the whole file.
func readFrom(path string, rf func(io.Reader) (int64, error)) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("prover: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("prover: %w", err)
	}
	n, err := rf(bufio.NewReaderSize(f, 1<<20))
	if err != nil {
		return fmt.Errorf("prover: read %s: %w", path, err)
	}
	if n != st.Size() {
		return fmt.Errorf("prover: read %s: %d of %d bytes used (trailing data)", path, n, st.Size())
	}
	return nil
}
