// Package fold is the one Unicode case folding usagelens sorts and searches
// app names by. It is computed in Go, never by the server: ClickHouse's
// lowerUTF8 folds some letters differently from one release to the next
// (final sigma, dotted İ, ß, Roman numerals, Greek with iota), which would
// make sort order, cursors and matches depend on the server's version.
package fold

import (
	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// Key is s under Unicode full case folding (CaseFolding.txt, statuses C
// and F: ß → ss, ς → σ, ﬁ → fi, İ → i̇, Ⅻ → ⅻ, ᾈ → ἀι), applied to the
// canonical decomposition and recomposed (NFC), so that precomposed and
// combining spellings of the same letters get the same key. Keys compare
// as bytes: that is the case-insensitive name order.
func Key(s string) string {
	return norm.NFC.String(cases.Fold().String(norm.NFD.String(s)))
}
