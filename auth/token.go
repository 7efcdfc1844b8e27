// Package auth mints and verifies the bearer tokens that scope an API caller
// to one client. Tokens are JWTs signed with HMAC-SHA256 (HS256); the signing
// key comes from configuration (USAGELENS_TOKEN_KEY or a key file), never code.
package auth

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
)

// Issuer is the "iss" claim of every token usagelens mints; Verify rejects
// tokens from any other issuer, so a key shared with another system by
// mistake does not let that system's tokens in.
const Issuer = "usagelens"

// MinKeyLen is the shortest signing key accepted, in bytes: HS256 keys
// shorter than the hash output weaken the MAC (RFC 7518 section 3.2).
const MinKeyLen = 32

// maxTokenLen bounds the work spent on a token before its signature is
// checked; a minted token is about 250 bytes.
const maxTokenLen = 4096

// Errors returned by FromHeader and Verify. Verify wraps exactly one of
// ErrInvalid and ErrExpired; callers map all three to 401.
var (
	ErrMissing = errors.New("missing bearer token")
	ErrInvalid = errors.New("invalid token")
	ErrExpired = errors.New("token expired")
)

// Claims is what a verified token grants: access to one client's data until
// ExpiresAt.
type Claims struct {
	// ClientID is the client the token is scoped to, a lowercase canonical UUID.
	ClientID string
	// ExpiresAt is the token's expiry, with whole-second precision.
	ExpiresAt time.Time
}

// tokenClaims is the JWT payload: the client id travels in "sub".
type tokenClaims struct {
	jwt.RegisteredClaims
}

// Validate implements jwt.ClaimsValidator: the subject must be a canonical
// lowercase UUID, exactly as Mint writes it, so one client has one spelling.
func (c tokenClaims) Validate() error {
	if !isCanonicalUUID(c.Subject) {
		return fmt.Errorf("%w: subject is not a lowercase client UUID", jwt.ErrTokenInvalidSubject)
	}
	return nil
}

func isCanonicalUUID(s string) bool {
	u, err := uuid.Parse(s)
	return err == nil && u.String() == s && u != uuid.Nil
}

// Mint returns a token scoped to clientID that expires ttl after now.
// clientID may be any UUID spelling uuid.Parse accepts; the token carries its
// lowercase canonical form.
func Mint(key []byte, clientID string, ttl time.Duration, now time.Time) (string, error) {
	if err := checkKeyLen(key); err != nil {
		return "", err
	}
	u, err := uuid.Parse(clientID)
	if err != nil {
		return "", fmt.Errorf("client id %q is not a UUID: %w", clientID, err)
	}
	if u == uuid.Nil {
		return "", fmt.Errorf("client id %q is the nil UUID", clientID)
	}
	// exp has whole-second precision; a shorter ttl could mint a token that
	// is already expired.
	if ttl < time.Second {
		return "", fmt.Errorf("token ttl must be at least 1s, got %s", ttl)
	}
	claims := tokenClaims{RegisteredClaims: jwt.RegisteredClaims{
		Issuer:    Issuer,
		Subject:   u.String(),
		IssuedAt:  jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
	}}
	token, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(key)
	if err != nil {
		return "", fmt.Errorf("cannot sign token: %w", err)
	}
	return token, nil
}

// Verify checks token's signature and claims against key at time now and
// returns the claims. Only HS256 is accepted; exp, iss "usagelens" and a
// client UUID subject are required. A token that is well formed, correctly
// signed and expired yields an error wrapping ErrExpired; every other failure
// wraps ErrInvalid.
func Verify(key []byte, token string, now time.Time) (Claims, error) {
	if err := checkKeyLen(key); err != nil {
		return Claims{}, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if len(token) > maxTokenLen {
		return Claims{}, fmt.Errorf("%w: token longer than %d bytes", ErrInvalid, maxTokenLen)
	}
	parser := jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithExpirationRequired(),
		jwt.WithIssuer(Issuer),
		jwt.WithTimeFunc(func() time.Time { return now }),
		jwt.WithStrictDecoding(),
	)
	var tc tokenClaims
	_, err := parser.ParseWithClaims(token, &tc, func(*jwt.Token) (any, error) { return key, nil })
	if err != nil {
		if onlyExpired(err) {
			return Claims{}, fmt.Errorf("%w: %v", ErrExpired, err)
		}
		return Claims{}, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	return Claims{ClientID: tc.Subject, ExpiresAt: tc.ExpiresAt.Time}, nil
}

// onlyExpired reports whether expiry is the token's only fault. The parser
// checks claims only after the signature, and joins every claim failure, so a
// token that is expired and also wrong in another way must stay ErrInvalid.
func onlyExpired(err error) bool {
	if !errors.Is(err, jwt.ErrTokenExpired) {
		return false
	}
	for _, other := range []error{
		jwt.ErrTokenSignatureInvalid,
		jwt.ErrTokenMalformed,
		jwt.ErrTokenUnverifiable,
		jwt.ErrTokenRequiredClaimMissing,
		jwt.ErrTokenInvalidIssuer,
		jwt.ErrTokenInvalidSubject,
		jwt.ErrTokenNotValidYet,
		jwt.ErrTokenUsedBeforeIssued,
		jwt.ErrTokenInvalidAudience,
	} {
		if errors.Is(err, other) {
			return false
		}
	}
	return true
}

// FromHeader extracts the token from an Authorization header value of the
// form "Bearer <token>" (scheme case-insensitive, RFC 6750 section 2.1). An
// empty header, another scheme or an empty token yields an error wrapping
// ErrMissing.
func FromHeader(authorization string) (string, error) {
	if authorization == "" {
		return "", ErrMissing
	}
	scheme, token, ok := strings.Cut(strings.TrimSpace(authorization), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", fmt.Errorf("%w: authorization scheme is not Bearer", ErrMissing)
	}
	token = strings.TrimLeft(token, " ")
	if token == "" || strings.ContainsAny(token, " \t") {
		return "", fmt.Errorf("%w: malformed Bearer credentials", ErrMissing)
	}
	return token, nil
}

// LoadKey returns the token signing key from the value of
// USAGELENS_TOKEN_KEY (envValue) or, when that is empty, from the file
// keyFile, whose trailing newlines are dropped. Setting both is an error, so
// it is never a guess which key signs. The key must be at least MinKeyLen
// bytes.
func LoadKey(envValue, keyFile string) ([]byte, error) {
	return KeyFrom(KeySource{What: "token signing key", Env: "USAGELENS_TOKEN_KEY", Flag: "--token-key-file"}, envValue, keyFile)
}

// KeySource names a secret and where it is set, for its errors.
type KeySource struct{ What, Env, Flag string }

// KeyFrom is LoadKey for any secret of the service: the value of src.Env
// (envValue) or the file keyFile of src.Flag.
func KeyFrom(src KeySource, envValue, keyFile string) ([]byte, error) {
	var key []byte
	switch {
	case envValue != "" && keyFile != "":
		return nil, fmt.Errorf("both %s and %s are set: use one", src.Env, src.Flag)
	case envValue != "":
		key = []byte(envValue)
	case keyFile != "":
		b, err := os.ReadFile(keyFile)
		if err != nil {
			return nil, fmt.Errorf("cannot read the %s file: %w", src.What, err)
		}
		key = []byte(strings.TrimRight(string(b), "\r\n"))
	default:
		return nil, fmt.Errorf("no %s: set %s or %s", src.What, src.Env, src.Flag)
	}
	if len(key) < MinKeyLen {
		return nil, fmt.Errorf("the %s is %d bytes, need at least %d (e.g. openssl rand -hex 32)", src.What, len(key), MinKeyLen)
	}
	return key, nil
}

func checkKeyLen(key []byte) error {
	if len(key) < MinKeyLen {
		return fmt.Errorf("token signing key is %d bytes, need at least %d (e.g. openssl rand -hex 32)", len(key), MinKeyLen)
	}
	return nil
}

// maxVerified bounds the verified tokens a Verifier remembers.
const maxVerified = 10_000

// Verifier is Verify with a memory: a token verified once is accepted
// again without parsing and checking its signature until it expires. A
// dashboard sends the same token with every request, and on a cached
// answer the check was most of the request's time. Only tokens that passed
// Verify are remembered; when maxVerified are held, the memory starts over.
type Verifier struct {
	key  []byte
	mu   sync.Mutex
	seen map[string]Claims
}

// NewVerifier verifies tokens signed with key.
func NewVerifier(key []byte) *Verifier { return &Verifier{key: key, seen: map[string]Claims{}} }

// Verify is Verify(v's key, token, now), remembered while unexpired.
func (v *Verifier) Verify(token string, now time.Time) (Claims, error) {
	v.mu.Lock()
	c, ok := v.seen[token]
	v.mu.Unlock()
	if ok && now.Before(c.ExpiresAt) {
		return c, nil
	}
	c, err := Verify(v.key, token, now)
	if err != nil {
		return c, err
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if len(v.seen) >= maxVerified {
		v.seen = map[string]Claims{}
	}
	v.seen[token] = c
	return c, nil
}
