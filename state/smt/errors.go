package smt

import "errors"

var (
	// ErrIndexOutOfRange is returned when a leaf index is >= 2^depth.
	ErrIndexOutOfRange = errors.New("smt: leaf index out of range")
	// ErrCorruptNode is returned when a stored node value is not a 32-byte
	// canonical big-endian field element.
	ErrCorruptNode = errors.New("smt: corrupt stored node")
)
