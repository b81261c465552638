package rated

import (
	"testing"
	"time"
)

// The dashboards' terms cache: a group's entry is served within the TTL,
// dropped by Invalidate (a change on this replica) and after the TTL; a nil
// cache holds nothing, so an engine without one always reads afresh.
func TestTermsCache(t *testing.T) {
	c := NewTerms()
	fresh := &ttlEntry{at: time.Now()}
	c.put("bg-1", fresh)
	if c.get("bg-1") != fresh {
		t.Fatal("a fresh entry is not served")
	}
	c.Invalidate("bg-1")
	if c.get("bg-1") != nil {
		t.Fatal("an invalidated entry is still served")
	}
	c.put("bg-2", &ttlEntry{at: time.Now().Add(-viewCacheTTL - time.Millisecond)})
	if c.get("bg-2") != nil {
		t.Fatal("an entry older than the TTL is still served")
	}
	other := NewTerms()
	c.put("bg-3", fresh)
	if other.get("bg-3") != nil {
		t.Fatal("two caches share an entry")
	}
	var none *Terms
	none.put("bg-1", fresh)
	none.Invalidate("bg-1")
	if none.get("bg-1") != nil {
		t.Fatal("a nil cache served an entry")
	}
}
