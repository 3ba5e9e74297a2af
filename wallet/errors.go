package wallet

import (
	"errors"
	"fmt"
	"strings"
)

var (
	// ErrInvalidArgument is wrapped by every ArgError.
	ErrInvalidArgument = errors.New("invalid argument")
	// ErrNoAccount: the key has no L2 account (yet).
	ErrNoAccount = errors.New("no L2 account for this key")
)

// ArgError is a bad argument; Field names it as the CLI's flag does.
type ArgError struct {
	Field  string
	Value  string // the offending value ("" when missing)
	Reason string
}

func (e *ArgError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "invalid argument: --%s", e.Field)
	if e.Value != "" {
		fmt.Fprintf(&b, " %q", e.Value)
	}
	fmt.Fprintf(&b, ": %s", e.Reason)
	return b.String()
}

func (e *ArgError) Unwrap() error { return ErrInvalidArgument }

// ArgErr is an ArgError with a formatted reason.
func ArgErr(field, value, format string, args ...any) *ArgError {
	return &ArgError{Field: field, Value: value, Reason: fmt.Sprintf(format, args...)}
}
