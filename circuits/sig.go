package circuits

import (
	"fmt"

	geddsa "github.com/consensys/gnark-crypto/ecc/bn254/twistededwards/eddsa"
	tedwards "github.com/consensys/gnark-crypto/ecc/twistededwards"
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/std/algebra/native/twistededwards"
	poseidon2hash "github.com/consensys/gnark/std/hash/poseidon2"
	"github.com/consensys/gnark/std/signature/eddsa"

	"github.com/modex/modex/types"
)

// SigVars is a signature: R (affine) and S.
type SigVars struct{ RX, RY, S frontend.Variable }

// PubKeyVars is an account key.
type PubKeyVars struct{ X, Y frontend.Variable }

// VerifySignature asserts sig is a valid EdDSA signature of msg under pk,
// with the Poseidon2 Merkle–Damgård challenge H(R.x, R.y, A.x, A.y, msg): the
// twin of types.VerifySignature. gnark's std verifier asserts S < ℓ (S+ℓ
// fails) and checks the cofactor-cleared equation, as gnark-crypto does
// natively. Keys need no subgroup test: deposits refuse keys outside the
// prime-order subgroup (docs/protocol.md §5.1).
func VerifySignature(api frontend.API, pk PubKeyVars, sig SigVars, msg frontend.Variable) error {
	curve, err := twistededwards.NewEdCurve(api, tedwards.BN254)
	if err != nil {
		return err
	}
	hasher, err := poseidon2hash.New(api)
	if err != nil {
		return err
	}
	// R must be a curve point. gnark's eddsa.Verify does not check it, and its
	// Edwards formulas divide with DivUnchecked: with R = (0, 0) a doubling
	// becomes 0/0, leaving a free wire that a malicious prover sets to √−1 to
	// reach the identity for any key and message (a universal forgery found
	// in review). With R and [S]B − [h]A on the curve, the complete formulas
	// (a = −1 a square, d not) never divide by zero.
	r := twistededwards.Point{X: sig.RX, Y: sig.RY}
	curve.AssertIsOnCurve(r)
	return eddsa.Verify(curve, eddsa.Signature{R: r, S: sig.S},
		msg, eddsa.PublicKey{A: twistededwards.Point{X: pk.X, Y: pk.Y}}, hasher)
}

// AssignSignature decompresses a native signature for the circuit. S is
// taken as encoded (not reduced), so a malleated S+ℓ reaches the circuit's
// range check.
func AssignSignature(sig types.Signature) (SigVars, error) {
	var s geddsa.Signature
	if _, err := s.R.SetBytes(sig[:32]); err != nil {
		return SigVars{}, fmt.Errorf("circuits: signature R: %w", err)
	}
	return SigVars{RX: s.R.X, RY: s.R.Y, S: sig[32:]}, nil
}

// AssignPubKey gives the circuit fields of a key.
func AssignPubKey(k types.PubKey) PubKeyVars { return PubKeyVars{X: k.X, Y: k.Y} }
