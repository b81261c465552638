package app

import (
	"context"
	"net/http"
)

// Admit exposes admit to the tests of package app_test.
func (a *App) Admit(h http.Handler) http.Handler { return a.admit(h) }

// ResponseCacheCounts exposes the response cache's hits and misses.
func (a *App) ResponseCacheCounts() (hits, misses int64) {
	rc := a.responses.Load()
	return rc.Hits.Load(), rc.Misses.Load()
}

// HoldAdmissionSlot takes an admission slot as an operation would.
func (a *App) HoldAdmissionSlot(ctx context.Context) (release func(), ok bool) {
	return a.admission.enter(ctx)
}

// PurgeThrottles runs the scheduler's purge of forgotten throttle keys.
func (a *App) PurgeThrottles() (int, error) { return a.throttle().Purge(context.Background()) }
