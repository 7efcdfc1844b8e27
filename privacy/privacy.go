// Package privacy holds what a pseudonymous client's outputs show instead
// of its users: keyed, stable pseudonyms.
package privacy

import (
	"crypto/hmac"
	"crypto/sha256"

	"github.com/google/uuid"
)

// Pseudonym is the pseudonym of a client's user: HMAC-SHA256 under key of
// the two ids, shaped as a UUID (version 8, RFC 9562's custom layout). The
// same key gives the same pseudonym on every request, endpoint, export and
// restart, so a tenant's files still join; another client, or another key,
// gives another; without the key it cannot be reversed or recomputed.
func Pseudonym(key []byte, clientID, userID uuid.UUID) uuid.UUID {
	m := hmac.New(sha256.New, key)
	m.Write(clientID[:])
	m.Write(userID[:])
	var u uuid.UUID
	copy(u[:], m.Sum(nil))
	u[6] = u[6]&0x0f | 0x80
	u[8] = u[8]&0x3f | 0x80
	return u
}
