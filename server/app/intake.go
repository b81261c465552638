package app

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"time"
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

// readBody reads a request's whole body, at most 1 MiB and within
// Config.BodyTimeout, before anything else is done for it — before it may
// take an admission slot: a client trickling its body a byte a second
// holds a connection until the deadline, never a slot that an answered
// request needs.
func (a *App) readBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Bodies over 1 MiB: refused at once when declared, cut off otherwise.
		if r.ContentLength > maxBody {
			http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
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
				http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
				return
			case errors.As(err, &netErr) && netErr.Timeout():
				w.Header().Set("Connection", "close")
				http.Error(w, "request body not received in time", http.StatusRequestTimeout)
				return
			case err != nil:
				http.Error(w, "could not read the request body", http.StatusBadRequest)
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
