package app

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"time"

	"github.com/cloudbill/cloudbill/graph"
)

// admission runs at most Config.MaxInFlight GraphQL operations at once —
// HTTP requests and operations over websockets alike; the rest wait their
// turn in arrival order (a channel's waiters are served first in, first
// out) until their deadline. On a saturated server this keeps each
// operation's time close to its own work plus its wait, instead of dozens
// of them (each resolving its fields in many goroutines) sharing the CPU
// and all finishing late; and a burst queues instead of exhausting memory.
type admission struct {
	slots chan struct{} // nil: unlimited
}

func newAdmission(n int) *admission {
	if n <= 0 {
		return &admission{}
	}
	return &admission{slots: make(chan struct{}, n)}
}

// enter waits for a slot until ctx ends; release gives it back.
func (ad *admission) enter(ctx context.Context) (release func(), ok bool) {
	if ad.slots == nil {
		return func() {}, true
	}
	select {
	case ad.slots <- struct{}{}:
		return func() { <-ad.slots }, true
	case <-ctx.Done():
		return nil, false
	}
}

const busyMessage = "the server is busy, try again"

// admit runs the request once admission lets it in, within
// Config.RequestTimeout of its arrival. Websockets do not come this way:
// each of their operations is admitted on its own (socketExecutor).
func (a *App) admit(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), a.Config.RequestTimeout)
		defer cancel()
		release, ok := a.admission.enter(ctx)
		if !ok {
			writeGraphQLError(w, http.StatusServiceUnavailable, busyMessage, "UNAVAILABLE")
			return
		}
		defer release()
		next.ServeHTTP(w, r)
	})
}

const maxBody = 1 << 20

const tooLargeMessage = "the request body is larger than 1 MiB"

// requestShape refuses, with a coded GraphQL error, what gqlgen would answer
// with a bare "transport not supported" and no code: a method other than
// GET, POST and OPTIONS, or a POST whose body is not declared JSON. (A
// browser may send form and text/plain bodies cross-site without a
// preflight: they are never taken.) Websocket upgrades do not come here.
func requestShape(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet, http.MethodOptions, http.MethodHead:
		case http.MethodPost:
			ct := r.Header.Get("Content-Type")
			mt, _, err := mime.ParseMediaType(ct)
			if err != nil || mt != "application/json" {
				msg := "send the request as JSON, with Content-Type: application/json"
				if ct != "" {
					msg += fmt.Sprintf(" (not %.60q)", ct)
				}
				writeGraphQLError(w, http.StatusUnsupportedMediaType, msg, graph.CodeBadRequest)
				return
			}
		default:
			w.Header().Set("Allow", "GET, POST, OPTIONS")
			writeGraphQLError(w, http.StatusMethodNotAllowed, "GraphQL takes GET and POST requests", graph.CodeBadRequest)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// readBody reads a request's whole body, at most 1 MiB and within
// Config.BodyTimeout, before anything else is done for it — before it may
// take an admission slot: a client trickling its body a byte a second
// holds a connection until the deadline, never a slot that an answered
// request needs.
func (a *App) readBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Bodies over 1 MiB: refused at once when declared, cut off otherwise.
		if r.ContentLength > maxBody {
			writeGraphQLError(w, http.StatusRequestEntityTooLarge, tooLargeMessage, "PAYLOAD_TOO_LARGE")
			return
		}
		if r.Body != nil && r.Body != http.NoBody {
			rc := http.NewResponseController(w)
			_ = rc.SetReadDeadline(time.Now().Add(a.Config.BodyTimeout))
			body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
			// No deadline left behind: the server's background read after the
			// body would fail on it and cancel the request.
			_ = rc.SetReadDeadline(time.Time{})
			var tooLarge *http.MaxBytesError
			var netErr net.Error
			switch {
			case errors.As(err, &tooLarge):
				writeGraphQLError(w, http.StatusRequestEntityTooLarge, tooLargeMessage, "PAYLOAD_TOO_LARGE")
				return
			case errors.As(err, &netErr) && netErr.Timeout():
				w.Header().Set("Connection", "close")
				writeGraphQLError(w, http.StatusRequestTimeout, "the request body was not received in time", "TIMEOUT")
				return
			case err != nil:
				writeGraphQLError(w, http.StatusBadRequest, "could not read the request body", graph.CodeBadRequest)
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		next.ServeHTTP(w, r)
	})
}

// ConfigureServer gives an HTTP server this app's handler and its read
// deadlines: the request line and headers within Config.HeaderTimeout (a
// client sending them slowly is cut off), each GraphQL body within
// Config.BodyTimeout (readBody), anything else within RequestTimeout.
// Websockets keep no deadline once upgraded (net/http clears it).
func (a *App) ConfigureServer(srv *http.Server) {
	srv.Handler = a.Handler()
	srv.ReadHeaderTimeout = a.Config.HeaderTimeout
	srv.ReadTimeout = a.Config.RequestTimeout
	srv.IdleTimeout = 120 * time.Second
	srv.MaxHeaderBytes = 64 << 10
	srv.RegisterOnShutdown(a.sockets.closeAll)
}
