package auth

import (
	"testing"
	"time"
)

// Delays start at First once Free attempts are used and double with each
// further attempt up to Max, without overflowing however many attempts.
func TestThrottleDelays(t *testing.T) {
	r := ThrottleRule{Free: 5, First: time.Minute, Max: 30 * time.Minute}
	want := map[int]time.Duration{0: 0, 1: 0, 4: 0, 5: time.Minute, 6: 2 * time.Minute, 7: 4 * time.Minute,
		9: 16 * time.Minute, 10: 30 * time.Minute, 11: 30 * time.Minute, 1 << 30: 30 * time.Minute}
	for n, d := range want {
		if got := r.delay(n); got != d {
			t.Errorf("after %d attempts: %v, want %v", n, got, d)
		}
	}
}

// An IPv6 client is counted by its /64 (one subscriber holds a whole
// one); IPv4, also mapped into IPv6, by its address.
func TestThrottleAddressKeys(t *testing.T) {
	for in, want := range map[string]string{
		"203.0.113.9": "203.0.113.9", "::ffff:203.0.113.9": "203.0.113.9",
		"2001:db8:1:2:3:4:5:6": "2001:db8:1:2::/64", "2001:db8:1:2::ffff": "2001:db8:1:2::/64",
	} {
		if got := addressKey(in); got != want {
			t.Errorf("addressKey(%q) = %q, want %q", in, got, want)
		}
	}
	if LoginAccountKey("a@example.com").Key == LoginAccountKey("b@example.com").Key {
		t.Fatal("two emails share a key")
	}
}
