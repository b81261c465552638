// Package auth turns credentials into a Principal: passwords (argon2id),
// access and refresh JWTs, external identity providers' JWTs (JWKS) and
// partner API tokens.
package auth

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"runtime"
	"strings"
	"sync/atomic"
	"unicode"

	"golang.org/x/crypto/argon2"
)

// argon2id parameters: OWASP's minimum (19 MiB, 2 passes, 1 lane).
const (
	argonTime    = 2
	argonMemory  = 19 * 1024
	argonThreads = 1
	argonKeyLen  = 32
)

// Password hashing is the dearest thing a caller without an account can
// make the server do (argon2id: 19 MiB and tens of milliseconds of a CPU
// each). At most hashers run at once, whoever asks (sign-in, sign-up, the
// demo seed), so hashing never takes every CPU from the other requests;
// the rest wait their turn, and the sign-in mutations are refused while
// too many wait (graph.SignInGate, HashingBacklog).
var (
	hashers     atomic.Pointer[chan struct{}] // nil: defaultHashers
	hashWaiting atomic.Int64
	hashRunning atomic.Int64
	hashPeak    atomic.Int64
)

// defaultHashers is half the CPUs, at least one.
func defaultHashers() int { return max(1, runtime.GOMAXPROCS(0)/2) }

// LimitHashing sets how many password hashes may run at once (at least
// one), and starts HashingPeak over; called at start.
func LimitHashing(n int) {
	slots := make(chan struct{}, max(1, n))
	hashers.Store(&slots)
	hashPeak.Store(0)
}

// HashingBacklog is how many password hashes are waiting for their turn.
func HashingBacklog() int { return int(hashWaiting.Load()) }

// HashingPeak is the most password hashes that ran at once since the
// limit was set (for /metrics: it never exceeds the limit).
func HashingPeak() int { return int(hashPeak.Load()) }

// hashSlots is the semaphore of running hashes, made with the default
// size if LimitHashing was not called.
func hashSlots() chan struct{} {
	if hashers.Load() == nil {
		slots := make(chan struct{}, defaultHashers())
		hashers.CompareAndSwap(nil, &slots)
	}
	return *hashers.Load()
}

// HoldHashing takes every hashing slot until release is called, so that
// password hashes wait for their turn as they do when the server is busy.
// Tests use it to show the sign-in gate at work without depending on how
// fast this machine hashes.
func HoldHashing() (release func()) {
	slots := hashSlots()
	for i := 0; i < cap(slots); i++ {
		slots <- struct{}{}
	}
	return func() {
		for i := 0; i < cap(slots); i++ {
			<-slots
		}
	}
}

// hashing runs f when its turn comes.
func hashing(f func()) {
	slots := hashSlots()
	hashWaiting.Add(1)
	slots <- struct{}{}
	hashWaiting.Add(-1)
	defer func() { <-slots }()
	n := hashRunning.Add(1)
	defer hashRunning.Add(-1)
	for p := hashPeak.Load(); n > p && !hashPeak.CompareAndSwap(p, n); p = hashPeak.Load() {
	}
	f()
}

// HashPassword returns an encoded argon2id hash with a random salt.
func HashPassword(password string) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	var key []byte
	hashing(func() { key = argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen) })
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime,
		argonThreads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// CheckPassword reports whether password matches the encoded hash.
func CheckPassword(encoded, password string) bool {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || m > 1<<20 || t > 10 || p == 0 {
		return false
	}
	b64 := base64.RawStdEncoding
	salt, err1 := b64.DecodeString(parts[4])
	want, err2 := b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 {
		return false
	}
	var got []byte
	hashing(func() { got = argon2.IDKey([]byte(password), salt, t, m, p, uint32(len(want))) })
	return subtle.ConstantTimeCompare(got, want) == 1
}

// dummyHash is checked when no account matches, so that a login's timing
// does not reveal whether an email is registered.
var dummyHash, _ = HashPassword("cloudbill-dummy-password-1!")

// CheckNoAccount spends the time a real check would.
func CheckNoAccount(password string) { CheckPassword(dummyHash, password) }

// PasswordProblem says what is wrong with a sign-up password, or "" (R-02:
// 8–16 characters combining letters, digits and special characters).
func PasswordProblem(pw string) string {
	n := len([]rune(pw))
	if n < 8 || n > 16 {
		return "password must be 8 to 16 characters long"
	}
	var letter, digit, special bool
	for _, r := range pw {
		switch {
		case r > unicode.MaxASCII || unicode.IsSpace(r) || unicode.IsControl(r):
			return "password may contain only printable ASCII letters, digits and special characters"
		case unicode.IsLetter(r):
			letter = true
		case unicode.IsDigit(r):
			digit = true
		default:
			special = true
		}
	}
	if !letter || !digit || !special {
		return "password must combine letters, digits and special characters"
	}
	return ""
}
