package app

import "net/http"

// Admit exposes admit to the tests of package app_test.
func (a *App) Admit(h http.Handler) http.Handler { return a.admit(h) }
