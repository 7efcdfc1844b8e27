package query

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"hash/fnv"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Cursor is the position after the last row of a page: that row's sort key
// and app id, and a fingerprint of the filters and sort it was made for.
type Cursor struct {
	Key         string `json:"k"`
	ID          string `json:"id"`
	Fingerprint string `json:"f"`
}

// Encode makes the opaque cursor string.
func (c Cursor) Encode() string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

// DecodeCursor reads a cursor and checks it was made for the same request.
func DecodeCursor(s, fingerprint string) (*Cursor, error) {
	bad := paramErr("cursor", truncate(s, 64), "cursor is not valid: pass next_cursor from a previous response unchanged")
	if len(s) > 1024 {
		return nil, bad
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, bad
	}
	var c Cursor
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, bad
	}
	if u, err := uuid.Parse(c.ID); err != nil || u.String() != c.ID {
		return nil, bad
	}
	if c.Fingerprint != fingerprint {
		return nil, paramErr("cursor", truncate(s, 64), "cursor was made for different filters or sort: start again without a cursor")
	}
	return &c, nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

// cursorKeys names the form of the sort keys cursors carry; a cursor of
// an older form (lowerUTF8 name keys) no longer matches.
const cursorKeys = "fold1"

// Fingerprint identifies everything that decides a result's rows and
// order, so a cursor cannot be replayed against another result.
func (r *Utilization) Fingerprint() string { return fingerprint(r.resultKey()) }

// fingerprint is a short hash of a result key, for cursors.
func fingerprint(resultKey string) string {
	h := fnv.New64a()
	h.Write([]byte(resultKey))
	return strconv.FormatUint(h.Sum64(), 36)
}

// CacheKey is the request in normal form: everything that decides the
// response and nothing else (parameter order, list order and repeats, and
// singular aliases do not), the client included.
func (r *Utilization) CacheKey() string {
	k := "utilization|" + r.resultKey() + strconv.Itoa(r.PageSize) + "|"
	if r.Cursor != nil {
		k += r.Cursor.Key + "|" + r.Cursor.ID
	}
	return k
}

// resultKey spells out, each part length-prefixed so no two requests
// share it, what decides a result's rows and order.
func (r *Utilization) resultKey() string {
	day := func(t time.Time) string { return t.Format(time.DateOnly) }
	parts := []string{cursorKeys, r.ClientID, r.Granularity, day(r.Period.Start), day(r.Period.End), r.Filter, r.Q,
		strings.Join(r.CategoryIDs, ","), strings.Join(r.VendorIDs, ","), strings.Join(r.DepartmentIDs, ","),
		optBool(r.IsFavorite), optBool(r.IsApproved), r.SortBy, strconv.FormatBool(r.Desc)}
	if r.Compare != nil {
		parts = append(parts, day(r.Compare.Start), day(r.Compare.End))
	}
	return joinKey(parts)
}

// joinKey joins parts, each length-prefixed so no two lists share a key.
// It runs on every request, cached or not: no fmt.
func joinKey(parts []string) string {
	n := 0
	for _, p := range parts {
		n += len(p) + 4
	}
	b := make([]byte, 0, n)
	for _, p := range parts {
		b = strconv.AppendInt(b, int64(len(p)), 10)
		b = append(b, ':')
		b = append(b, p...)
		b = append(b, '|')
	}
	return string(b)
}

func optBool(b *bool) string {
	if b == nil {
		return "-"
	}
	return strconv.FormatBool(*b)
}

// Seal encodes the cursor encrypted and authenticated under key
// (AES-256-GCM, key derived from it), so a cursor that holds a user id
// carries none a pseudonymous client could read; nil key: Encode. The
// nonce is a keyed hash of the cursor, so the same position always gives
// the same text: answers stay byte for byte the same, as their ETags say.
func (c Cursor) Seal(key []byte) string {
	if key == nil {
		return c.Encode()
	}
	aead := cursorAEAD(key)
	plain, _ := json.Marshal(c)
	m := hmac.New(sha256.New, key)
	m.Write(plain)
	nonce := m.Sum(nil)[:aead.NonceSize()]
	return base64.RawURLEncoding.EncodeToString(aead.Seal(nonce, nonce, plain, nil))
}

// OpenCursor reads a cursor sealed with key (DecodeCursor for a nil key).
func OpenCursor(s string, key []byte, fingerprint string) (*Cursor, error) {
	if key == nil {
		return DecodeCursor(s, fingerprint)
	}
	bad := paramErr("cursor", truncate(s, 64), "cursor is not valid: pass next_cursor from a previous response unchanged")
	b, err := base64.RawURLEncoding.DecodeString(s)
	aead := cursorAEAD(key)
	if err != nil || len(b) < aead.NonceSize() {
		return nil, bad
	}
	plain, err := aead.Open(nil, b[:aead.NonceSize()], b[aead.NonceSize():], nil)
	if err != nil {
		return nil, bad
	}
	return DecodeCursor(base64.RawURLEncoding.EncodeToString(plain), fingerprint)
}

func cursorAEAD(key []byte) cipher.AEAD {
	k := sha256.Sum256(append([]byte("usagelens cursor\x00"), key...))
	block, _ := aes.NewCipher(k[:])
	aead, _ := cipher.NewGCM(block)
	return aead
}
