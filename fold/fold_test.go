package fold

import "testing"

// The expected keys are worked out by hand from Unicode's CaseFolding.txt
// (full foldings) and the canonical decompositions.
func TestKey(t *testing.T) {
	f := func(in, want string) {
		t.Helper()
		if got := Key(in); got != want {
			t.Errorf("Key(%q) = %q (%+q), want %q (%+q)", in, got, got, want, want)
		}
	}
	f("Alpha Chat", "alpha chat")
	f("ÉCLAIR Pro", "\u00e9clair pro")
	f("ΣΊΣΥΦΟΣ", "\u03c3\u03af\u03c3\u03c5\u03c6\u03bf\u03c3") // final capital sigma folds to σ, not ς
	f("σίσυφος", "\u03c3\u03af\u03c3\u03c5\u03c6\u03bf\u03c3") // final small sigma folds to σ
	f("İstanbul", "i\u0307stanbul")                            // dotted capital I: i + combining dot above
	f("Straße", "strasse")
	f("STRASSE", "strasse")
	f("\ufb01le", "file") // the fi ligature
	f("Ⅻ Clock", "\u217b clock")
	f("ᾈ", "\u1f00\u03b9") // alpha with psili and prosgegrammeni: ἀ + ι
	f("ᾀ", "\u1f00\u03b9")
	f("Cafe\u0301", "caf\u00e9") // combining acute recomposes
	f("CAFÉ", "caf\u00e9")
	f("", "")
}
