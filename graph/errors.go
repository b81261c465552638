package graph

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/99designs/gqlgen/graphql"
	"github.com/cloudbill/cloudbill/billing/kernel"
	"github.com/cloudbill/cloudbill/ent"
	"github.com/vektah/gqlparser/v2/gqlerror"
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
		gqlErr := present(ctx, log, err)
		gqlErr.Message = capMessage(gqlErr.Message)
		return gqlErr
	}
}

// present gives err its message and code.
func present(ctx context.Context, log *slog.Logger, err error) *gqlerror.Error {
	gqlErr := graphql.DefaultErrorPresenter(ctx, err)
	if gqlErr.Extensions == nil {
		gqlErr.Extensions = map[string]any{}
	}
	if _, ok := gqlErr.Extensions["code"]; ok && !errors.As(err, new(*kernel.Error)) {
		return gqlErr // validation and parse errors from gqlgen
	}
	var be *kernel.Error
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
		gqlErr.Extensions["code"] = kernel.CodeNotFound
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
		if msg, ok := undecodableBody(gqlErr.Message); ok {
			gqlErr.Message = msg
			gqlErr.Extensions["code"] = CodeBadRequest
			return gqlErr
		}
		if errors.As(err, &unwrapped) && unwrapped.Err == nil && unwrapped.Extensions["code"] == nil {
			// A message gqlgen made itself (bad variable, bad scalar input).
			gqlErr.Extensions["code"] = kernel.CodeBadUserInput
			return gqlErr
		}
		rid := RequestID(ctx)
		log.ErrorContext(ctx, "internal error", "request_id", rid, "path", gqlErr.Path.String(), "err", err)
		gqlErr.Message = "internal error (request " + rid + ")"
		gqlErr.Extensions["code"] = kernel.CodeInternal
		gqlErr.Extensions["requestId"] = rid
	}
	return gqlErr
}

// RecoverFunc turns a resolver panic into a masked INTERNAL error.
func RecoverFunc(log *slog.Logger) graphql.RecoverFunc {
	return func(ctx context.Context, v any) error {
		log.ErrorContext(ctx, "panic in resolver", "request_id", RequestID(ctx), "panic", v)
		return errors.New("panic")
	}
}

// CodeBadRequest: the HTTP request is not a GraphQL request at all (not
// JSON, the wrong content type or method).
const CodeBadRequest = "BAD_REQUEST"

// maxMessage bounds an error's message: a client's oversized name or body
// is never echoed back whole (200 KB in, 200 KB out).
const maxMessage = 500

// capMessage cuts a message to maxMessage bytes at a character boundary.
func capMessage(msg string) string {
	if len(msg) <= maxMessage {
		return msg
	}
	cut := maxMessage
	for cut > 0 && !utf8.RuneStart(msg[cut]) {
		cut--
	}
	return msg[:cut] + "… (cut)"
}

// gqlgen's POST transport answers a body it cannot decode with the decoder's
// error, in Go's words, followed by the whole body:
// "json request body could not be decoded: <err> body:<body>".
const undecodablePrefix = "json request body could not be decoded: "

var (
	wrongFieldType = regexp.MustCompile(`^json: cannot unmarshal (\w+) into Go struct field \w+\.(\w+) of type`)
	wrongBodyType  = regexp.MustCompile(`^json: cannot unmarshal (\w+) into Go value of type`)
)

// requestFields are the members of a GraphQL request over HTTP and what
// each must be.
var requestFields = map[string]string{"query": "a string", "operationName": "a string",
	"variables": "an object", "extensions": "an object"}

// undecodableBody rewrites gqlgen's message for a body it could not decode
// in the client's words, without the body and without Go's type names.
func undecodableBody(msg string) (string, bool) {
	detail, ok := strings.CutPrefix(msg, undecodablePrefix)
	if !ok {
		return "", false
	}
	// The decoder's own message never holds " body:" (it quotes at most
	// one character of the input): what follows is the echoed body.
	detail, _, _ = strings.Cut(detail, " body:")
	if m := wrongFieldType.FindStringSubmatch(detail); m != nil {
		if want, ok := requestFields[m[2]]; ok {
			return fmt.Sprintf("the request's %q must be %s, not %s", m[2], want, jsonWord(m[1])), true
		}
		return "the request body is not a GraphQL request", true
	}
	if m := wrongBodyType.FindStringSubmatch(detail); m != nil {
		return "the request body must be a JSON object with a \"query\", not " + jsonWord(m[1]), true
	}
	if detail == "unexpected EOF" || detail == "EOF" {
		return "the request body is not valid JSON: it ends too early", true
	}
	return "the request body is not valid JSON: " + strings.TrimPrefix(detail, "json: "), true
}

// jsonWord is the article and name of a JSON kind as encoding/json names it.
func jsonWord(kind string) string {
	if w, ok := map[string]string{"array": "a list", "object": "an object", "number": "a number",
		"string": "a string", "bool": "a boolean"}[kind]; ok {
		return w
	}
	return kind
}
