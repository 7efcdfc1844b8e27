package privacy

import (
	"testing"

	"github.com/google/uuid"
)

func TestPseudonymIsStableKeyedAndPerClient(t *testing.T) {
	c1, c2 := uuid.MustParse("c0000000-0000-4000-8000-000000000001"), uuid.MustParse("c0000000-0000-4000-8000-000000000002")
	u := uuid.MustParse("b0000000-0000-4000-8000-000000000001")
	k1, k2 := []byte("key one, thirty-two bytes long!!"), []byte("key two, thirty-two bytes long!!")
	p := Pseudonym(k1, c1, u)
	if p != Pseudonym(k1, c1, u) {
		t.Fatal("not stable")
	}
	for _, other := range []uuid.UUID{Pseudonym(k2, c1, u), Pseudonym(k1, c2, u), u} {
		if other == p {
			t.Errorf("pseudonym %s repeats under another key or client, or is the raw id", p)
		}
	}
	if p.Version() != 8 || p.Variant() != uuid.RFC4122 {
		t.Errorf("%s: version %d variant %v, want a version-8 RFC 9562 UUID", p, p.Version(), p.Variant())
	}
}
