package prover

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"math/big"
	"sync"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark/backend"
	"github.com/consensys/gnark/backend/groth16"
	"github.com/consensys/gnark/backend/solidity"
	"github.com/consensys/gnark/backend/witness"
	"github.com/consensys/gnark/frontend"
)

// Proof is a Groth16 proof with the public inputs it proves.
type Proof struct {
	Groth16 groth16.Proof
	// Public is the public witness (without the constant 1 wire), in the
	// circuit's declaration order of public fields.
	Public witness.Witness
}

// PublicInputs returns the public inputs as integers in [0, r), in order.
func (p *Proof) PublicInputs() ([]*big.Int, error) {
	vec, ok := p.Public.Vector().(fr.Vector)
	if !ok {
		return nil, fmt.Errorf("%w: public witness %T", ErrNotBN254, p.Public.Vector())
	}
	out := make([]*big.Int, len(vec))
	for i := range vec {
		out[i] = vec[i].BigInt(new(big.Int))
	}
	return out, nil
}

// Verify checks p natively against vk.
func (p *Proof) Verify(vk groth16.VerifyingKey) error {
	if err := groth16.Verify(p.Groth16, vk, p.Public, verifierOpts...); err != nil {
		return fmt.Errorf("%w: %v", ErrProofRejected, err)
	}
	return nil
}

// MarshalBinary encodes the proof (gnark raw form) and its public witness,
// each behind a u32 length, for storing proofs between pipeline stages.
func (p *Proof) MarshalBinary() ([]byte, error) {
	var pb bytes.Buffer
	if _, err := p.Groth16.WriteRawTo(&pb); err != nil {
		return nil, err
	}
	wb, err := p.Public.MarshalBinary()
	if err != nil {
		return nil, err
	}
	out := binary.BigEndian.AppendUint32(nil, uint32(pb.Len()))
	out = append(out, pb.Bytes()...)
	out = binary.BigEndian.AppendUint32(out, uint32(len(wb)))
	return append(out, wb...), nil
}

// UnmarshalBinary decodes MarshalBinary's output (with full point checks).
// It does not verify the proof: call Verify.
func (p *Proof) UnmarshalBinary(b []byte) error {
	part := func() ([]byte, error) {
		if len(b) < 4 || uint64(len(b)-4) < uint64(binary.BigEndian.Uint32(b)) {
			return nil, fmt.Errorf("prover: truncated proof encoding")
		}
		n := binary.BigEndian.Uint32(b)
		v := b[4 : 4+n]
		b = b[4+n:]
		return v, nil
	}
	pb, err := part()
	if err != nil {
		return err
	}
	wb, err := part()
	if err != nil {
		return err
	}
	if len(b) != 0 {
		return fmt.Errorf("prover: trailing bytes after proof")
	}
	proof := groth16.NewProof(ecc.BN254)
	if n, err := proof.ReadFrom(bytes.NewReader(pb)); err != nil || n != int64(len(pb)) {
		return fmt.Errorf("prover: decode proof: %v (%d of %d bytes)", err, n, len(pb))
	}
	w, err := witness.New(ecc.BN254.ScalarField())
	if err != nil {
		return err
	}
	if err := w.UnmarshalBinary(wb); err != nil {
		return fmt.Errorf("prover: decode public witness: %w", err)
	}
	p.Groth16, p.Public = proof, w
	return nil
}

// Prover makes Groth16 proofs for one circuit.
//
// Invariant, for every implementation: Prove verifies each proof natively
// (Proof.Verify against VerifyingKey) before returning it; a proof that fails
// is reported as ErrProofRejected and never returned.
//
// The GPU implementation is NewGPU (prover/gpu_icicle.go, built with
// `-tags icicle`; without the tag NewGPU returns ErrNoICICLE): gnark's ICICLE
// backend on the same keys, verifying every device proof on the CPU and
// falling back to the CPU prover when one fails (seen when a GPU ran out of
// memory). Callers choose the implementation; everything downstream depends
// only on this interface.
type Prover interface {
	// Prove builds the full witness from assignment (a circuit struct with
	// every field assigned), proves, verifies natively and returns the proof.
	Prove(ctx context.Context, assignment frontend.Circuit) (*Proof, error)
	// VerifyingKey is the key every returned proof verifies against.
	VerifyingKey() groth16.VerifyingKey
}

// The options make proofs match gnark's exported Solidity verifier (they only
// matter for commitments, which Modex rejects; kept so that stays true).
var (
	proverOpts   = []backend.ProverOption{solidity.WithProverTargetSolidityVerifier(backend.GROTH16)}
	verifierOpts = []backend.VerifierOption{solidity.WithVerifierTargetSolidityVerifier(backend.GROTH16)}
)

type cpuProver struct {
	keys *Keys
	mu   sync.Mutex // one proof at a time: each uses every core and its memory
}

// NewCPU returns the default Prover: gnark's CPU Groth16 backend. keys must
// pass Keys.Check (use DevSetup, SealCeremony or LoadKeys). It is safe for
// concurrent use; proofs are made one at a time.
func NewCPU(keys *Keys) Prover { return &cpuProver{keys: keys} }

func (c *cpuProver) VerifyingKey() groth16.VerifyingKey { return c.keys.VK }

// Prove honours ctx between its stages (witness, prove, verify); gnark's
// prover itself cannot be interrupted.
func (c *cpuProver) Prove(ctx context.Context, assignment frontend.Circuit) (_ *Proof, err error) {
	if err := c.keys.Check(); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	w, pub, err := witnesses(assignment)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	done := stage("prove", "constraints", c.keys.CCS.GetNbConstraints())
	proof, err := groth16.Prove(c.keys.CCS, c.keys.PK, w, proverOpts...)
	done(&err)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrProve, err)
	}
	p := &Proof{Groth16: proof, Public: pub}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := p.Verify(c.keys.VK); err != nil {
		logger().Error("fresh proof failed native verification; discarded", "err", err)
		return nil, err
	}
	return p, nil
}

// witnesses builds the full and the public witness of an assignment.
func witnesses(assignment frontend.Circuit) (full, public witness.Witness, err error) {
	full, err = frontend.NewWitness(assignment, ecc.BN254.ScalarField())
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrWitness, err)
	}
	public, err = full.Public()
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrWitness, err)
	}
	return full, public, nil
}
