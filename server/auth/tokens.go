package auth

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"os"
	"strings"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/golang-jwt/jwt/v5"
)

// Token types. Each JWT names its type so that an access token, a refresh
// token and an API token can never stand in for one another.
const (
	TypeAccess  = "access"
	TypeRefresh = "refresh"
	// TypeInvitation names an invitation (its id as subject) to be
	// accepted by the invitee's own session; it is no credential.
	TypeInvitation = "invitation"
)

// APITokenPrefix marks partner API tokens, so they are recognisable in logs
// and secret scanners and never parsed as JWTs.
const APITokenPrefix = "cbk_"

// Claims are cloudbill's JWT claims.
type Claims struct {
	jwt.RegisteredClaims
	Type  string   `json:"typ"`
	Org   string   `json:"org,omitempty"`
	Roles []string `json:"roles,omitempty"`
	Email string   `json:"email,omitempty"`
	// External is set for tokens of an identity provider (JWKS keys).
	External bool `json:"-"`
}

// Tokens mints and verifies JWTs.
type Tokens struct {
	secret     []byte
	Issuer     string
	Audience   string
	AccessTTL  time.Duration
	RefreshTTL time.Duration
	external   map[string]any // kid → *rsa.PublicKey | *ecdsa.PublicKey
	Now        func() time.Time
	// SetClock: Now is a clock set by CLOUDBILL_CLOCK, not the system's;
	// a token refused for its times then says so (ClockMismatch).
	SetClock bool
	// principals: accounts' principals by account id (see cachedPrincipal).
	principals *lru.Cache[string, cachedPrincipal]
}

// NewTokens configures HS256 minting with secret, checked against issuer and audience.
func NewTokens(secret []byte, issuer, audience string) (*Tokens, error) {
	if len(secret) < 32 {
		return nil, errors.New("the JWT secret must be at least 32 bytes")
	}
	principals, _ := lru.New[string, cachedPrincipal](50000)
	return &Tokens{secret: secret, Issuer: issuer, Audience: audience,
		AccessTTL: 15 * time.Minute, RefreshTTL: 30 * 24 * time.Hour, Now: time.Now, principals: principals}, nil
}

// Mint signs claims of the given type for subject.
func (t *Tokens) Mint(typ, subject, org, jti string, roles []string, ttl time.Duration) (string, time.Time, error) {
	now := t.Now()
	exp := now.Add(ttl)
	c := Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer: t.Issuer, Subject: subject, Audience: jwt.ClaimStrings{t.Audience},
			IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(exp), ID: jti,
		},
		Type: typ, Org: org, Roles: roles,
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(t.secret)
	return s, exp, err
}

// maxTokenLen refuses absurd tokens before any parsing.
const maxTokenLen = 8192

// Leeway is how long after its exp (and before its nbf/iat) a JWT is still
// accepted, for clocks that differ a little.
const Leeway = 30 * time.Second

// Parse verifies a JWT strictly: allow-listed algorithms only (HS256 with our
// key; RS256/ES256 only with a key from the JWKS file, chosen by kid), exp
// required, iss and aud checked, Leeway, and the expected type.
func (t *Tokens) Parse(raw, wantType string) (*Claims, error) {
	if len(raw) > maxTokenLen || strings.Count(raw, ".") != 2 {
		return nil, errors.New("malformed token")
	}
	methods := []string{"HS256"}
	if len(t.external) > 0 {
		methods = append(methods, "RS256", "ES256")
	}
	p := jwt.NewParser(
		jwt.WithValidMethods(methods),
		jwt.WithExpirationRequired(),
		jwt.WithIssuer(t.Issuer),
		jwt.WithAudience(t.Audience),
		jwt.WithLeeway(Leeway),
		jwt.WithIssuedAt(),
		jwt.WithTimeFunc(t.Now),
	)
	var c Claims
	_, err := p.ParseWithClaims(raw, &c, func(tok *jwt.Token) (any, error) {
		switch tok.Method.(type) {
		case *jwt.SigningMethodHMAC:
			return t.secret, nil
		case *jwt.SigningMethodRSA, *jwt.SigningMethodECDSA:
			kid, _ := tok.Header["kid"].(string)
			key, ok := t.external[kid]
			if !ok {
				return nil, errors.New("unknown key id")
			}
			// The key's kind must match the algorithm's, never cross over.
			switch key.(type) {
			case *rsa.PublicKey:
				if _, ok := tok.Method.(*jwt.SigningMethodRSA); ok {
					return key, nil
				}
			case *ecdsa.PublicKey:
				if _, ok := tok.Method.(*jwt.SigningMethodECDSA); ok {
					return key, nil
				}
			}
			return nil, errors.New("key does not match algorithm")
		}
		return nil, errors.New("unexpected signing method")
	})
	if err != nil {
		return nil, err
	}
	c.External = t.isExternal(raw)
	typ := c.Type
	if c.External {
		typ = TypeAccess // an identity provider's tokens are only ever access tokens
	}
	if typ != wantType {
		return nil, fmt.Errorf("token type %q where %q is required", c.Type, wantType)
	}
	return &c, nil
}

func (t *Tokens) isExternal(raw string) bool {
	h, _, ok := strings.Cut(raw, ".")
	if !ok {
		return false
	}
	b, err := base64.RawURLEncoding.DecodeString(h)
	if err != nil {
		return false
	}
	var hdr struct{ Alg string }
	return json.Unmarshal(b, &hdr) == nil && hdr.Alg != "HS256"
}

// LoadJWKS reads an identity provider's public keys (RSA and P-256 EC) from a
// JWKS file; tokens signed by them are accepted too.
func (t *Tokens) LoadJWKS(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var set struct {
		Keys []struct {
			Kty, Kid, Crv, N, E, X, Y, Use string
		} `json:"keys"`
	}
	if err := json.Unmarshal(b, &set); err != nil {
		return fmt.Errorf("parse JWKS: %w", err)
	}
	t.external = map[string]any{}
	dec := base64.RawURLEncoding
	for _, k := range set.Keys {
		if k.Use != "" && k.Use != "sig" {
			continue
		}
		switch k.Kty {
		case "RSA":
			n, err1 := dec.DecodeString(k.N)
			e, err2 := dec.DecodeString(k.E)
			if err1 != nil || err2 != nil {
				return fmt.Errorf("JWKS key %q: bad n or e", k.Kid)
			}
			pub := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
			if pub.N.BitLen() < 2048 {
				return fmt.Errorf("JWKS key %q: RSA keys must be at least 2048 bits", k.Kid)
			}
			t.external[k.Kid] = pub
		case "EC":
			if k.Crv != "P-256" {
				return fmt.Errorf("JWKS key %q: only P-256 is accepted", k.Kid)
			}
			x, err1 := dec.DecodeString(k.X)
			y, err2 := dec.DecodeString(k.Y)
			if err1 != nil || err2 != nil {
				return fmt.Errorf("JWKS key %q: bad x or y", k.Kid)
			}
			if len(x) > 32 || len(y) > 32 {
				return fmt.Errorf("JWKS key %q: bad x or y", k.Kid)
			}
			// The uncompressed point 04 || x || y; parsing checks it is on the curve.
			point := make([]byte, 65)
			point[0] = 4
			copy(point[33-len(x):33], x)
			copy(point[65-len(y):], y)
			pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), point)
			if err != nil {
				return fmt.Errorf("JWKS key %q: point not on curve", k.Kid)
			}
			t.external[k.Kid] = pub
		}
	}
	return nil
}

// NewAPITokenSecret returns a fresh partner token secret and its storage hash.
func NewAPITokenSecret() (secret, hash string) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err) // the system's randomness failing is not recoverable
	}
	secret = APITokenPrefix + base64.RawURLEncoding.EncodeToString(b)
	return secret, HashAPIToken(secret)
}

// HashAPIToken is how API token secrets are stored and looked up: their
// 256 bits of randomness make a fast hash as safe as a slow one.
func HashAPIToken(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// MintInvitation signs an invitation's id, valid until it expires.
func (t *Tokens) MintInvitation(invitationID, orgID string, expires time.Time) (string, error) {
	s, _, err := t.Mint(TypeInvitation, invitationID, orgID, "", nil, expires.Sub(t.Now()))
	return s, err
}

// InvitationID reads the invitation a token of MintInvitation names.
func (t *Tokens) InvitationID(raw string) (string, error) {
	c, err := t.Parse(raw, TypeInvitation)
	if err != nil || c.External {
		return "", errors.New("not an invitation")
	}
	return c.Subject, nil
}
