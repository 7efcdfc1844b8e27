package auth_test

import (
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/usagelens/usagelens/auth"
)

var (
	testKey  = []byte("0123456789abcdef0123456789abcdef")
	otherKey = []byte("fedcba9876543210fedcba9876543210")
	testNow  = time.Date(2025, 3, 14, 15, 9, 26, 0, time.UTC)
)

const clientID = "7c9e6679-7425-40de-944b-e07fc1f90ae7"

func mint(t *testing.T, key []byte, id string, ttl time.Duration, now time.Time) string {
	t.Helper()
	tok, err := auth.Mint(key, id, ttl, now)
	if err != nil {
		t.Fatalf("Mint: %v", err)
	}
	return tok
}

// sign signs arbitrary claims with method, for tokens Mint would never make.
func sign(t *testing.T, method jwt.SigningMethod, key []byte, claims jwt.MapClaims) string {
	t.Helper()
	tok, err := jwt.NewWithClaims(method, claims).SignedString(key)
	if err != nil {
		t.Fatalf("cannot sign: %v", err)
	}
	return tok
}

// validClaims are the claims Mint writes, for variation by the failure cases.
func validClaims() jwt.MapClaims {
	return jwt.MapClaims{
		"iss": auth.Issuer,
		"sub": clientID,
		"iat": testNow.Unix(),
		"exp": testNow.Add(time.Hour).Unix(),
	}
}

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func TestMintVerify(t *testing.T) {
	f := func(name, id, wantID string, ttl time.Duration, at time.Time) {
		t.Helper()
		tok := mint(t, testKey, id, ttl, testNow)
		got, err := auth.Verify(testKey, tok, at)
		if err != nil {
			t.Fatalf("%s: Verify: %v", name, err)
		}
		want := auth.Claims{ClientID: wantID, ExpiresAt: testNow.Add(ttl).Truncate(time.Second)}
		if got.ClientID != want.ClientID || !got.ExpiresAt.Equal(want.ExpiresAt) {
			t.Fatalf("%s: got %+v, want %+v", name, got, want)
		}
	}
	f("at mint time", clientID, clientID, time.Hour, testNow)
	f("just before expiry", clientID, clientID, time.Hour, testNow.Add(time.Hour-time.Nanosecond))
	f("uppercase id is canonicalised", strings.ToUpper(clientID), clientID, time.Hour, testNow)
	f("braced id is canonicalised", "{"+clientID+"}", clientID, time.Minute, testNow)
	f("sub-second now", clientID, clientID, 30*24*time.Hour, testNow.Add(123*time.Millisecond))
}

func TestVerifyFailure(t *testing.T) {
	valid := mint(t, testKey, clientID, time.Hour, testNow)
	parts := strings.Split(valid, ".")
	expiredOtherKey := mint(t, otherKey, clientID, time.Minute, testNow.Add(-time.Hour))

	with := func(k string, v any) jwt.MapClaims {
		c := validClaims()
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
		return c
	}
	noneHeader := b64(`{"alg":"none","typ":"JWT"}`)
	rsHeader := b64(`{"alg":"RS256","typ":"JWT"}`)

	tests := []struct {
		name  string
		key   []byte
		token string
		at    time.Time
		want  error
	}{
		{"expired at exp", testKey, valid, testNow.Add(time.Hour), auth.ErrExpired},
		{"expired long ago", testKey, valid, testNow.Add(365 * 24 * time.Hour), auth.ErrExpired},
		{"wrong key", otherKey, valid, testNow, auth.ErrInvalid},
		{"expired and wrong key", testKey, expiredOtherKey, testNow, auth.ErrInvalid},
		{"alg none, empty signature", testKey, noneHeader + "." + parts[1] + ".", testNow, auth.ErrInvalid},
		{"alg none, original signature", testKey, noneHeader + "." + parts[1] + "." + parts[2], testNow, auth.ErrInvalid},
		{"alg RS256 header over HS256 signature", testKey, rsHeader + "." + parts[1] + "." + parts[2], testNow, auth.ErrInvalid},
		{"HS384 with same key", testKey, sign(t, jwt.SigningMethodHS384, testKey, validClaims()), testNow, auth.ErrInvalid},
		{"HS512 with same key", testKey, sign(t, jwt.SigningMethodHS512, testKey, validClaims()), testNow, auth.ErrInvalid},
		{"tampered payload", testKey, parts[0] + "." + b64(`{"iss":"usagelens","sub":"00000000-0000-4000-8000-000000000001","exp":9999999999}`) + "." + parts[2], testNow, auth.ErrInvalid},
		{"truncated signature", testKey, valid[:len(valid)-2], testNow, auth.ErrInvalid},
		{"no exp", testKey, sign(t, jwt.SigningMethodHS256, testKey, with("exp", nil)), testNow, auth.ErrInvalid},
		{"wrong issuer", testKey, sign(t, jwt.SigningMethodHS256, testKey, with("iss", "someone-else")), testNow, auth.ErrInvalid},
		{"wrong issuer and expired", testKey, sign(t, jwt.SigningMethodHS256, testKey, with("iss", "someone-else")), testNow.Add(2 * time.Hour), auth.ErrInvalid},
		{"no issuer", testKey, sign(t, jwt.SigningMethodHS256, testKey, with("iss", nil)), testNow, auth.ErrInvalid},
		{"no subject", testKey, sign(t, jwt.SigningMethodHS256, testKey, with("sub", nil)), testNow, auth.ErrInvalid},
		{"subject not a UUID", testKey, sign(t, jwt.SigningMethodHS256, testKey, with("sub", "acme")), testNow, auth.ErrInvalid},
		{"subject uppercase UUID", testKey, sign(t, jwt.SigningMethodHS256, testKey, with("sub", strings.ToUpper(clientID))), testNow, auth.ErrInvalid},
		{"subject nil UUID", testKey, sign(t, jwt.SigningMethodHS256, testKey, with("sub", "00000000-0000-0000-0000-000000000000")), testNow, auth.ErrInvalid},
		{"exp not a number", testKey, sign(t, jwt.SigningMethodHS256, testKey, with("exp", "tomorrow")), testNow, auth.ErrInvalid},
		{"not yet valid", testKey, sign(t, jwt.SigningMethodHS256, testKey, with("nbf", testNow.Add(time.Minute).Unix())), testNow, auth.ErrInvalid},
		{"empty", testKey, "", testNow, auth.ErrInvalid},
		{"garbage", testKey, "not a token", testNow, auth.ErrInvalid},
		{"three garbage parts", testKey, "a.b.c", testNow, auth.ErrInvalid},
		{"oversized", testKey, valid + strings.Repeat("A", 5000), testNow, auth.ErrInvalid},
		{"verify with short key", testKey[:16], sign(t, jwt.SigningMethodHS256, testKey[:16], validClaims()), testNow, auth.ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := auth.Verify(tt.key, tt.token, tt.at)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Verify error = %v, want %v", err, tt.want)
			}
			// Exactly one sentinel, so callers can switch on it.
			for _, other := range []error{auth.ErrInvalid, auth.ErrExpired, auth.ErrMissing} {
				if other != tt.want && errors.Is(err, other) {
					t.Fatalf("Verify error %v also wraps %v", err, other)
				}
			}
			if got != (auth.Claims{}) {
				t.Fatalf("Verify returned claims %+v alongside an error", got)
			}
		})
	}
}

func TestMintFailure(t *testing.T) {
	tests := []struct {
		name, id string
		key      []byte
		ttl      time.Duration
		wantMsg  string
	}{
		{"client id not a UUID", "acme-corp", testKey, time.Hour, `client id "acme-corp" is not a UUID`},
		{"client id empty", "", testKey, time.Hour, `client id "" is not a UUID`},
		{"client id nil UUID", "00000000-0000-0000-0000-000000000000", testKey, time.Hour, "nil UUID"},
		{"zero ttl", clientID, testKey, 0, "ttl"},
		{"negative ttl", clientID, testKey, -time.Hour, "ttl"},
		{"sub-second ttl", clientID, testKey, 500 * time.Millisecond, "ttl"},
		{"short key", clientID, testKey[:31], time.Hour, "31 bytes"},
		{"no key", clientID, nil, time.Hour, "0 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, err := auth.Mint(tt.key, tt.id, tt.ttl, testNow)
			if err == nil {
				t.Fatalf("Mint = %q, want error", tok)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Fatalf("Mint error = %q, want it to contain %q", err, tt.wantMsg)
			}
		})
	}
}

func TestFromHeader(t *testing.T) {
	tests := []struct {
		header, want string
	}{
		{"Bearer abc.def.ghi", "abc.def.ghi"},
		{"bearer abc.def.ghi", "abc.def.ghi"},
		{"BEARER abc.def.ghi", "abc.def.ghi"},
		{"Bearer   abc.def.ghi ", "abc.def.ghi"},
	}
	for _, tt := range tests {
		got, err := auth.FromHeader(tt.header)
		if err != nil || got != tt.want {
			t.Errorf("FromHeader(%q) = %q, %v; want %q", tt.header, got, err, tt.want)
		}
	}
}

func TestFromHeaderFailure(t *testing.T) {
	for _, header := range []string{
		"",
		"   ",
		"Bearer",
		"Bearer ",
		"Basic dXNlcjpwYXNz",
		"Token abc.def.ghi",
		"Bearerabc.def.ghi",
		"abc.def.ghi",
		"Bearer abc def",
		"Bearer abc\tdef",
	} {
		got, err := auth.FromHeader(header)
		if !errors.Is(err, auth.ErrMissing) {
			t.Errorf("FromHeader(%q) = %q, %v; want ErrMissing", header, got, err)
		}
	}
}

func TestLoadKey(t *testing.T) {
	dir := t.TempDir()
	file := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	key := string(testKey)
	tests := []struct {
		name, env, path, want string
	}{
		{"from env", key, "", key},
		{"from file", "", file("plain", key), key},
		{"file trailing newline", "", file("lf", "A"+key+"\n"), "A" + key},
		{"file trailing CRLF", "", file("crlf", "B"+key+"\r\n"), "B" + key},
	}
	for _, tt := range tests {
		got, err := auth.LoadKey(tt.env, tt.path)
		if err != nil || string(got) != tt.want {
			t.Errorf("%s: LoadKey = %q, %v; want %q", tt.name, got, err, tt.want)
		}
	}
}

func TestLoadKeyFailure(t *testing.T) {
	dir := t.TempDir()
	short := filepath.Join(dir, "short")
	if err := os.WriteFile(short, []byte("too-short\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, env, path, wantMsg string
	}{
		{"neither", "", "", "no token signing key: set USAGELENS_TOKEN_KEY or --token-key-file"},
		{"both", string(testKey), short, "use one"},
		{"short env", "short", "", "5 bytes, need at least 32"},
		{"short file", "", short, "9 bytes, need at least 32"},
		{"missing file", "", filepath.Join(dir, "absent"), "cannot read the token signing key file"},
	}
	for _, tt := range tests {
		key, err := auth.LoadKey(tt.env, tt.path)
		if err == nil || !strings.Contains(err.Error(), tt.wantMsg) {
			t.Errorf("%s: LoadKey = %q, %v; want error containing %q", tt.name, key, err, tt.wantMsg)
		}
		if err != nil && strings.Contains(err.Error(), "too-short") {
			t.Errorf("%s: error leaks the key: %v", tt.name, err)
		}
	}
}

func TestVerifierRemembersOnlyValidTokensUntilTheyExpire(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	now := time.Now()
	tok, err := auth.Mint(key, "c0000000-0000-4000-8000-000000000001", time.Minute, now)
	if err != nil {
		t.Fatal(err)
	}
	v := auth.NewVerifier(key)
	for range 2 {
		if c, err := v.Verify(tok, now); err != nil || c.ClientID != "c0000000-0000-4000-8000-000000000001" {
			t.Fatalf("a valid token: %+v %v", c, err)
		}
	}
	if _, err := v.Verify(tok, now.Add(2*time.Minute)); !errors.Is(err, auth.ErrExpired) {
		t.Errorf("a remembered token past its expiry: %v, want expired", err)
	}
	forged := tok[:len(tok)-2] + "xx"
	for range 2 {
		if _, err := v.Verify(forged, now); !errors.Is(err, auth.ErrInvalid) {
			t.Errorf("a forged token: %v", err)
		}
	}
}
