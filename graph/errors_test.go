package graph

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/cloudbill/cloudbill/billing/kernel"
	"github.com/cloudbill/cloudbill/graph/scalars"
)

// Internal errors are masked with the request id; client errors keep their
// code and field; scalar parsers refuse bad input as BAD_USER_INPUT.
func TestErrorPresenter(t *testing.T) {
	ctx := graphql.WithResponseContext(WithRequestID(context.Background(), "req-42"), graphql.DefaultErrorPresenter, graphql.DefaultRecover)
	present := ErrorPresenter(slog.New(slog.NewTextHandler(io.Discard, nil)))
	e := present(ctx, fmt.Errorf("pq: relation \"secrets\" does not exist"))
	if e.Extensions["code"] != "INTERNAL" || strings.Contains(e.Message, "secrets") || !strings.Contains(e.Message, "req-42") {
		t.Fatalf("internal error shown as %q %v", e.Message, e.Extensions)
	}
	e = present(ctx, fmt.Errorf("wrapped: %w", kernel.FieldError("amount", "too large")))
	if e.Extensions["code"] != "BAD_USER_INPUT" || e.Extensions["field"] != "amount" || e.Message != "too large" {
		t.Fatalf("client error shown as %q %v", e.Message, e.Extensions)
	}
	// A throttled attempt says when to try again, in whole seconds rounded up.
	e = present(ctx, kernel.Throttled(1500*time.Millisecond, "too many attempts"))
	if e.Extensions["code"] != "THROTTLED" || e.Extensions["retryAfterSeconds"] != int64(2) {
		t.Fatalf("throttled error shown as %q %v", e.Message, e.Extensions)
	}
	// A client that went away is not an internal error.
	var logged strings.Builder
	e = ErrorPresenter(slog.New(slog.NewTextHandler(&logged, nil)))(ctx, fmt.Errorf("pq: %w", context.Canceled))
	if e.Extensions["code"] != "CANCELLED" || logged.Len() != 0 {
		t.Fatalf("a cancelled request shown as %q %v, logged %q", e.Message, e.Extensions, logged.String())
	}
	if err := RecoverFunc(slog.New(slog.NewTextHandler(io.Discard, nil)))(ctx, "boom"); err == nil {
		t.Fatal("a panic must become an error")
	} else if e := present(ctx, err); e.Extensions["code"] != "INTERNAL" || strings.Contains(e.Message, "boom") {
		t.Fatalf("panic shown as %q", e.Message)
	}
}

func FuzzScalars(f *testing.F) {
	for _, s := range []string{"12.5", "2026-10", "1e5", "", "\xff\xfe", "2026-13", "-0", strings.Repeat("9", 100)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, v := range []any{s, 12.5, int64(3), nil, map[string]any{"a": s}, []any{s}, true} {
			var d scalars.Decimal
			if err := d.UnmarshalGQL(v); err != nil {
				if be, ok := kernel.AsError(err); !ok || be.Code != kernel.CodeBadUserInput {
					t.Fatalf("Decimal(%v): %v", v, err)
				}
			}
			var m scalars.Month
			if err := m.UnmarshalGQL(v); err != nil {
				if be, ok := kernel.AsError(err); !ok || be.Code != kernel.CodeBadUserInput {
					t.Fatalf("Month(%v): %v", v, err)
				}
			}
		}
	})
}
