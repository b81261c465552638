package xid

import "testing"

// AppendNew spells ids exactly as New does (prefix, lower-case ULID that
// Valid accepts), each one different, from one read of randomness.
func TestAppendNewMatchesNew(t *testing.T) {
	seen := map[string]bool{}
	AppendNew("use", 2000, func(b []byte) {
		id := string(b)
		if !Valid(id, "use") || len(id) != len(New("use")) {
			t.Fatalf("%q is not an id like %q", id, New("use"))
		}
		if seen[id] {
			t.Fatalf("%q twice", id)
		}
		seen[id] = true
	})
	if len(seen) != 2000 {
		t.Fatalf("%d ids, want 2000", len(seen))
	}
	for id := range seen {
		for _, c := range id {
			if c >= 'A' && c <= 'Z' {
				t.Fatalf("%q is not lower-case", id)
			}
		}
	}
}
