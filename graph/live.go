package graph

import (
	"context"

	"github.com/99designs/gqlgen/graphql/handler/transport"

	"github.com/cloudbill/cloudbill/server/auth"
)

// Session is the connection an operation came over when that connection
// outlives its operations (a websocket). Its credentials are resolved
// afresh for every operation; a subscription, which outlives the moment it
// was authorized, asks again before each delivery and whenever Changed
// fires (deliverWhileAuthorized).
type Session interface {
	// Principal resolves the connection's credentials now. It fails once
	// they expired or were revoked (and the connection is then closed).
	Principal(ctx context.Context) (*auth.Principal, error)
	// Changed is closed when the caller's access may have changed (its
	// organization's revision moved); call it again for the next change.
	Changed() <-chan struct{}
}

type sessionKey struct{}

// WithSession records the long-lived connection an operation runs on.
func WithSession(ctx context.Context, s Session) context.Context {
	return context.WithValue(ctx, sessionKey{}, s)
}

// SessionFrom returns the operation's long-lived connection, or nil (HTTP).
func SessionFrom(ctx context.Context) Session {
	s, _ := ctx.Value(sessionKey{}).(Session)
	return s
}

// deliverWhileAuthorized forwards src to a subscriber for as long as
// authorize passes with the subscriber's current principal: it is asked
// again before each delivery and whenever the session says access may
// have changed, so a revoked grant ends the subscription at once (with
// the error authorize gave, as an "error" message) and nothing is
// delivered after the revocation. Every subscription resolver sends its
// events through it. stop releases src; it runs when the subscription
// ends.
func deliverWhileAuthorized[T any](ctx context.Context, r *Resolver, src <-chan T, stop func(), authorize func(context.Context) error) <-chan T {
	out := make(chan T, 1)
	sess := SessionFrom(ctx)
	go func() {
		defer stop()
		defer close(out)
		var changed <-chan struct{}
		if sess != nil {
			changed = sess.Changed()
		}
		for {
			select {
			case <-ctx.Done():
				return
			case <-changed:
				if !stillAuthorized(ctx, r, sess, authorize) {
					return
				}
				// After the check, which may itself have noticed the change:
				// the next one is seen by whichever comes first, the
				// socket's watcher or another operation.
				changed = sess.Changed()
			case v := <-src:
				if !stillAuthorized(ctx, r, sess, authorize) {
					return
				}
				select {
				case out <- v:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return out
}

// stillAuthorized re-resolves the session's principal and re-runs
// authorize with it; on failure it records the error for the subscriber.
// Without a session (no long-lived connection) there is nothing to re-check.
func stillAuthorized(ctx context.Context, r *Resolver, sess Session, authorize func(context.Context) error) bool {
	if sess == nil {
		return true
	}
	p, err := sess.Principal(ctx)
	if err == nil {
		err = authorize(auth.WithPrincipal(ctx, p))
	}
	if err == nil {
		return true
	}
	if ctx.Err() == nil {
		transport.AddSubscriptionError(ctx, ErrorPresenter(r.Log)(ctx, err))
	}
	return false
}
