// Package types holds the protocol's data types and encodings, below every
// other package (it imports no project package): transaction kinds, their
// wire and pubdata encodings (codec.go), the messages their signers sign
// and their EdDSA signatures (sign.go), assets, families of kinds that share
// a batch circuit, tree parameters, the packed float formats of amounts and
// fees, and the protocol's error sentinels.
//
// Each kind sits in kind_<name>.go: its fields, CheckWidths (every field
// fits its bit width, docs/protocol.md §5), Message, the fee it pays and its
// encodings. Packer refuses a value wider than its field, so a message can
// never silently drop high bits.
package types
