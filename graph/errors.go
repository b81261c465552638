package graph

import (
	"context"
	"errors"
	"log/slog"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/cloudbill/cloudbill/billing"
	"github.com/cloudbill/cloudbill/ent"
)

type requestIDKey struct{}

// WithRequestID stores the request id used in logs and masked errors.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// RequestID returns the request's id.
func RequestID(ctx context.Context) string {
	s, _ := ctx.Value(requestIDKey{}).(string)
	return s
}

// ErrorPresenter gives every error an extensions.code. Client errors keep
// their message; anything else is logged in full and answered as INTERNAL
// with only the request id, so no internal detail leaks.
func ErrorPresenter(log *slog.Logger) graphql.ErrorPresenterFunc {
	return func(ctx context.Context, err error) *gqlerror.Error {
		gqlErr := graphql.DefaultErrorPresenter(ctx, err)
		if gqlErr.Extensions == nil {
			gqlErr.Extensions = map[string]any{}
		}
		if _, ok := gqlErr.Extensions["code"]; ok && !errors.As(err, new(*billing.Error)) {
			return gqlErr // validation and parse errors from gqlgen
		}
		var be *billing.Error
		var nf *ent.NotFoundError
		switch {
		case errors.As(err, &be):
			gqlErr.Message = be.Message
			gqlErr.Extensions["code"] = be.Code
			if be.Field != "" {
				gqlErr.Extensions["field"] = be.Field
			}
			if s := be.RetryAfterSeconds(); s > 0 {
				gqlErr.Extensions["retryAfterSeconds"] = s
			}
		case errors.As(err, &nf):
			gqlErr.Message = "not found"
			gqlErr.Extensions["code"] = billing.CodeNotFound
		case errors.Is(err, context.DeadlineExceeded):
			gqlErr.Message = "the request took too long"
			gqlErr.Extensions["code"] = "TIMEOUT"
		case errors.Is(err, context.Canceled):
			// The client went away (or a load tool stopped): nobody reads
			// this answer and nothing went wrong here.
			log.DebugContext(ctx, "request cancelled", "request_id", RequestID(ctx), "path", gqlErr.Path.String())
			gqlErr.Message = "the request was cancelled"
			gqlErr.Extensions["code"] = "CANCELLED"
		default:
			var unwrapped *gqlerror.Error
			if errors.As(err, &unwrapped) && unwrapped.Err == nil && unwrapped.Extensions["code"] == nil {
				// A message gqlgen made itself (bad variable, bad scalar input).
				gqlErr.Extensions["code"] = billing.CodeBadUserInput
				return gqlErr
			}
			rid := RequestID(ctx)
			log.ErrorContext(ctx, "internal error", "request_id", rid, "path", gqlErr.Path.String(), "err", err)
			gqlErr.Message = "internal error (request " + rid + ")"
			gqlErr.Extensions["code"] = billing.CodeInternal
			gqlErr.Extensions["requestId"] = rid
		}
		return gqlErr
	}
}

// RecoverFunc turns a resolver panic into a masked INTERNAL error.
func RecoverFunc(log *slog.Logger) graphql.RecoverFunc {
	return func(ctx context.Context, v any) error {
		log.ErrorContext(ctx, "panic in resolver", "request_id", RequestID(ctx), "panic", v)
		return errors.New("panic")
	}
}
