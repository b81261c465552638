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

// AppendNew appends n fresh ids with the given prefix to dst, each passed
// to add as bytes valid only during the call. It reads the randomness of
// all n at once (one system call instead of n) and spells them without
// intermediate strings: a usage batch needs a thousand ids.
func AppendNew(prefix string, n int, add func(id []byte)) {
	entropy := make([]byte, 10*n)
	if _, err := rand.Read(entropy); err != nil {
		panic(err) // crypto/rand never fails on supported systems
	}
	ms := ulid.Timestamp(time.Now())
	buf := make([]byte, len(prefix)+1+ulid.EncodedSize)
	copy(buf, prefix)
	buf[len(prefix)] = '_'
	text := buf[len(prefix)+1:]
	for i := 0; i < n; i++ {
		var id ulid.ULID
		if err := id.SetTime(ms); err != nil {
			panic(err)
		}
		if err := id.SetEntropy(entropy[10*i : 10*i+10]); err != nil {
			panic(err)
		}
		if err := id.MarshalTextTo(text); err != nil {
			panic(err)
		}
		for j, c := range text {
			if c >= 'A' && c <= 'Z' {
				text[j] = c + ('a' - 'A')
			}
		}
		add(buf)
	}
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
