package circuits

import "github.com/consensys/gnark/frontend"

// WordBits is the width of a message word (docs/protocol.md §1).
const WordBits = 248

// MessageWords is the circuit twin of types.Packer: fields fill 248-bit words
// from bit 0 upward in order; a field that would cross 248 bits starts the next
// word; a field of Bits 0 is a whole field element and takes its own word.
// Every sized field is range-checked to its width.
func MessageWords(api frontend.API, fields ...Field) []frontend.Variable {
	var words []frontend.Variable
	var cur []Field
	used := 0
	flush := func() {
		if len(cur) > 0 {
			words = append(words, Pack(api, cur...))
		}
		cur, used = nil, 0
	}
	for _, f := range fields {
		if f.Bits == 0 {
			flush()
			words = append(words, f.V)
			continue
		}
		if used+f.Bits > WordBits {
			flush()
		}
		cur = append(cur, f)
		used += f.Bits
	}
	flush()
	return words
}

// MessageHash is H(domain, words...), the element a signer signs.
func MessageHash(h *Hasher, domain frontend.Variable, words []frontend.Variable) frontend.Variable {
	return h.Chain(append([]frontend.Variable{domain}, words...)...)
}
