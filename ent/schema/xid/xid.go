// Package xid makes cloudbill's global identifiers: a short type prefix and a
// ULID ("acct_01JD3…"). The ULID part is time-ordered, so ids sort roughly by
// creation, and random enough to be unguessable.
package xid

import (
	"crypto/rand"
	"strings"
	"time"

	"github.com/oklog/ulid/v2"
)

// New returns a fresh id with the given prefix.
func New(prefix string) string {
	id := ulid.MustNew(ulid.Timestamp(time.Now()), rand.Reader)
	return prefix + "_" + strings.ToLower(id.String())
}

// Prefix returns the type prefix of an id, or "" when it has none.
func Prefix(id string) string {
	i := strings.IndexByte(id, '_')
	if i <= 0 {
		return ""
	}
	return id[:i]
}

// Valid reports whether s looks like an id with the given prefix.
func Valid(s, prefix string) bool {
	if !strings.HasPrefix(s, prefix+"_") {
		return false
	}
	_, err := ulid.ParseStrict(strings.ToUpper(s[len(prefix)+1:]))
	return err == nil
}
