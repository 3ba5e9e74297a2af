package prover

import (
	"fmt"
	"io"
	"math/big"
	"reflect"

	"github.com/consensys/gnark/backend/groth16"
	groth16bn254 "github.com/consensys/gnark/backend/groth16/bn254"
	"github.com/ethereum/go-ethereum/accounts/abi"
)

// ExportSolidity writes gnark's Groth16 verifier contract (`contract Verifier`)
// for vk. Its entry points (gnark v0.16, no commitments, N public inputs):
//
//	function verifyProof(bytes calldata proof, uint256[N] calldata input) public view
//	function verifyCompressedProof(uint256[4] calldata compressedProof, uint256[N] calldata input) public view
//	function compressProof(bytes calldata proof) public view returns (uint256[4] memory)
//
// They return nothing and revert on failure: ProofInvalid() for a bad proof,
// PublicInputNotInField() for an input ≥ r. Keys with commitments are refused.
func ExportSolidity(vk groth16.VerifyingKey, w io.Writer) error {
	v, ok := vk.(*groth16bn254.VerifyingKey)
	if !ok {
		return fmt.Errorf("%w: verifying key %T", ErrNotBN254, vk)
	}
	if len(v.PublicAndCommitmentCommitted) > 0 {
		return ErrCommitment
	}
	return v.ExportSolidity(w)
}

// SolidityArgs are the arguments of the exported verifier's
// verifyProof(bytes proof, uint256[N] input).
type SolidityArgs struct {
	// Proof is 256 bytes: A.x ‖ A.y ‖ B.x.a1 ‖ B.x.a0 ‖ B.y.a1 ‖ B.y.a0 ‖ C.x ‖ C.y,
	// 32-byte big-endian words (EIP-197 order; gnark's Proof.MarshalSolidity).
	Proof []byte
	// Input are the public inputs, each in [0, r).
	Input []*big.Int
}

// SolidityCalldata returns the arguments the exported contract's verifyProof
// takes for proof.
func SolidityCalldata(proof *Proof) (*SolidityArgs, error) {
	p, ok := proof.Groth16.(*groth16bn254.Proof)
	if !ok {
		return nil, fmt.Errorf("%w: proof %T", ErrNotBN254, proof.Groth16)
	}
	if len(p.Commitments) > 0 {
		return nil, ErrCommitment
	}
	in, err := proof.PublicInputs()
	if err != nil {
		return nil, err
	}
	b := p.MarshalSolidity()
	if len(b) != 256 {
		return nil, fmt.Errorf("prover: solidity proof is %d bytes, want 256", len(b))
	}
	return &SolidityArgs{Proof: b, Input: in}, nil
}

// VerifyProofSignature is the Solidity signature of the exported verifier's
// entry point for n public inputs, e.g. "verifyProof(bytes,uint256[1])".
func VerifyProofSignature(n int) string { return fmt.Sprintf("verifyProof(bytes,uint256[%d])", n) }

// Pack returns the complete calldata (4-byte selector + ABI-encoded
// arguments) of verifyProof(a.Proof, a.Input). It does not check that the
// inputs are below r, so tests can present out-of-field values.
func (a *SolidityArgs) Pack() ([]byte, error) {
	n := len(a.Input)
	bytesT, err := abi.NewType("bytes", "", nil)
	if err != nil {
		return nil, err
	}
	arrT, err := abi.NewType(fmt.Sprintf("uint256[%d]", n), "", nil)
	if err != nil {
		return nil, err
	}
	m := abi.NewMethod("verifyProof", "verifyProof", abi.Function, "view", false, false,
		abi.Arguments{{Name: "proof", Type: bytesT}, {Name: "input", Type: arrT}}, nil)
	arr := reflect.New(reflect.ArrayOf(n, reflect.TypeFor[*big.Int]())).Elem()
	for i, x := range a.Input {
		if x.Sign() < 0 || x.BitLen() > 256 {
			return nil, fmt.Errorf("prover: input %d does not fit uint256", i)
		}
		arr.Index(i).Set(reflect.ValueOf(x))
	}
	args, err := m.Inputs.Pack(a.Proof, arr.Interface())
	if err != nil {
		return nil, err
	}
	return append(m.ID[:4:4], args...), nil
}
