// Package prover turns circuits into Groth16 proofs over BN254 and exports the
// Solidity verifier that checks them on L1.
//
// Pieces:
//
//   - Compile: gnark frontend → R1CS, cached on disk (see "Cache keys").
//   - Keys (CCS + proving key + verifying key): Save/LoadKeys, made by
//     DevSetup (insecure, see below) or by an MPC ceremony (InitPhase1,
//     ContributePhase1, SealPhase1, InitPhase2, ContributePhase2,
//     SealCeremony, each with a file-in/file-out variant for the CLI).
//   - Prover, with NewCPU (gnark's CPU backend) as the default; an ICICLE GPU
//     implementation will sit behind the `icicle` build tag (see Prover).
//   - ExportSolidity (gnark's verifier template), SolidityCalldata and
//     SolidityArgs.Pack (the arguments of its verifyProof(bytes, uint256[N])).
//     Compiling the exported Solidity is contracts/compiler's job.
//
// Invariants:
//
//   - Every proof is verified natively before it leaves the package: Prove
//     checks it against the verifying key and the public witness, and a proof
//     that fails is an error (ErrProofRejected), never returned. GPU
//     implementations must keep this and verify on the CPU.
//   - Plain Groth16 only: constraint systems or keys with gnark commitments
//     (Pedersen; std/rangecheck and api.Commit produce them) are rejected with
//     ErrCommitment, so the exported verifier is the standard one (~190k gas
//     execution for one public input) and proofs are the 256-byte EIP-197 form.
//   - DevSetup is INSECURE: it runs gnark's single-party groth16.Setup, so the
//     toxic waste is known to the process that ran it and anyone able to read
//     its memory can forge proofs of false statements. It logs
//     "INSECURE development setup: toxic waste known to this process; never use
//     for real funds" and is for tests and devnets only. Keys that protect real
//     funds come from the MPC ceremony, secure when at least one contributor
//     per phase destroyed their randomness.
//   - Keys say what they are: DevSetup's keys have Keys.Insecure set, Save
//     writes it into the directory's keys.json (ManifestFile: the origin,
//     "insecure-dev-setup" or "ceremony", and the VKHash), LoadKeys reads it
//     back and refuses a manifest that does not match the verifying key
//     (ErrKeysManifest). VKHash covers the origin, so a dev key and a
//     ceremony key with the same points hash differently. A directory
//     without keys.json (saved before the mark existed) loads as insecure.
//     Keys.CheckSecure(allow) refuses insecure keys with ErrInsecureKeys
//     unless allowed (modex node --insecure-dev-keys; the devnet always).
//     The mark guards against mistakes (dev keys deployed for real funds),
//     not against whoever can write the keys directory: they could replace
//     the keys themselves.
//   - Public inputs are field elements in [0, r). The batch circuit has one,
//     a 253-bit integer (docs/protocol.md §8), so it is always below r; the
//     exported verifier rejects any input ≥ r (PublicInputNotInField) instead
//     of reducing it.
//
// Cache keys: Compile(circuit, key, cacheDir) stores the serialized constraint
// system under a hash of key and of the gnark version. The key must name the
// circuit and every parameter that changes its constraints, and must change
// whenever the circuit's code changes (e.g. "batch/v1/depths=24,16/slots=64" →
// "batch/v2/…"); the cache cannot detect a circuit edited under an unchanged
// key. A cache file that fails its integrity checks (magic, key, length,
// SHA-256, exact deserialization) is recompiled and rewritten, never trusted.
//
// Long steps (compile, setup, proving, ceremony steps) log through log/slog
// (component=prover, stage=…) at start and end with the elapsed time, and
// "running" at most every 8 s in between.
package prover
