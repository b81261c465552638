package app

import "net/http"

// Admit exposes admit to the tests of package app_test.
func (a *App) Admit(h http.Handler) http.Handler { return a.admit(h) }

// ResponseCacheCounts exposes the response cache's hits and misses.
func (a *App) ResponseCacheCounts() (hits, misses int64) {
	rc := a.responses.Load()
	return rc.Hits.Load(), rc.Misses.Load()
}
