package prover

import "errors"

// Sentinel errors. Functions wrap them with %w and add detail; test with errors.Is.
var (
	// ErrCommitment: the constraint system uses gnark commitments (Pedersen, e.g.
	// through std/rangecheck). The exported Solidity verifier would need the
	// non-standard commitment check (~+121k gas); Modex circuits must avoid them.
	ErrCommitment = errors.New("prover: circuit uses gnark commitments (not allowed: plain Groth16 only)")
	// ErrNotBN254: a constraint system, key or proof is not over BN254.
	ErrNotBN254 = errors.New("prover: not a BN254 object")
	// ErrCacheCorrupt: a cached constraint system failed its integrity check
	// (Compile recompiles; the error is only logged).
	ErrCacheCorrupt = errors.New("prover: corrupt constraint-system cache file")
	// ErrKeyMismatch: keys and constraint system do not belong together.
	ErrKeyMismatch = errors.New("prover: keys do not match the constraint system")
	// ErrWitness: the assignment could not be turned into a witness.
	ErrWitness = errors.New("prover: bad assignment")
	// ErrProve: gnark's prover failed (most often: the assignment does not
	// satisfy the constraints).
	ErrProve = errors.New("prover: proving failed")
	// ErrProofRejected: a freshly made proof failed native verification. It is
	// never returned to the caller; this error is.
	ErrProofRejected = errors.New("prover: proof failed native verification")
	// ErrCeremony: an MPC ceremony object is malformed or a contribution does
	// not verify.
	ErrCeremony = errors.New("prover: ceremony verification failed")
	// ErrInsecureKeys: the keys come from the INSECURE development setup
	// (DevSetup) and the caller did not allow them (Keys.CheckSecure).
	ErrInsecureKeys = errors.New("prover: insecure development keys")
	// ErrKeysManifest: a keys directory's ManifestFile is malformed, names an
	// unknown origin, or its vkHash is not the hash of the verifying key
	// beside it under that origin (the mark was edited or the keys replaced).
	ErrKeysManifest = errors.New("prover: keys manifest does not match the keys")
)
