package readmodel

import (
	"context"
	"fmt"
	"testing"
)

// The cache serves a view while the organization's revision is unchanged,
// refills it when the revision moves, and stays within its weight budget
// by dropping the least recently used organizations.
func TestCachedView(t *testing.T) {
	v := NewViews(DefaultViewRows)
	fills := 0
	get := func(org string, rev int64, rows int) []int {
		ctx := v.WithOrgRevision(context.Background(), org, rev, 0)
		out, err := CachedView(ctx, org, "k", func() ([]int, error) { fills++; return make([]int, rows), nil })
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	get("org_a", 1, 10)
	get("org_a", 1, 10)
	if fills != 1 {
		t.Fatalf("%d fills for an unchanged revision, want 1", fills)
	}
	get("org_a", 2, 10)
	if fills != 2 {
		t.Fatalf("%d fills after the revision moved, want 2", fills)
	}
	if w := v.items.Load(); w != 11 {
		t.Fatalf("weight %d after a replaced view, want 11 (1 + 10 rows)", w)
	}
	// Another organization's request never reads org_a's views.
	ctx := v.WithOrgRevision(context.Background(), "org_b", 2, 0)
	if _, err := CachedView(ctx, "org_a", "k", func() ([]int, error) { fills++; return nil, nil }); err != nil || fills != 3 {
		t.Fatalf("a view of org_a served to org_b's request (fills %d)", fills)
	}
	// Over budget: the oldest organizations go.
	for i := 0; i < 30; i++ {
		get(fmt.Sprintf("org_%02d", i), 1, DefaultViewRows/10)
	}
	if w := v.items.Load(); w > DefaultViewRows || v.orgs.Len() > 10 {
		t.Fatalf("cache holds weight %d in %d organizations, budget %d", w, v.orgs.Len(), DefaultViewRows)
	}
	// Without a revision (a mutation, a job) nothing is cached.
	n := fills
	CachedView(context.Background(), "org_a", "k", func() (int, error) { fills++; return 0, nil })
	CachedView(context.Background(), "org_a", "k", func() (int, error) { fills++; return 0, nil })
	if fills != n+2 {
		t.Fatal("a request without a revision was served from the cache")
	}
}
