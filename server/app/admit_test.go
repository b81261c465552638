package app_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/cloudbill/cloudbill/server/app"
	"github.com/cloudbill/cloudbill/server/testenv"
)

// At most MaxInFlight GraphQL requests run at once; the next waits its turn
// and, when its deadline passes first, is told UNAVAILABLE. (Websockets do
// not pass here: each of their operations is admitted on its own —
// TestSocketOperationsAreAdmitted.)
func TestAdmission(t *testing.T) {
	e := newEnvWith(t, testenv.SQLite(t), func(c *app.Config) {
		c.MaxInFlight = 1
		c.RequestTimeout = 200 * time.Millisecond
	})
	release := make(chan struct{})
	entered := make(chan struct{}, 10)
	h := e.app.Admit(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		entered <- struct{}{}
		if r.Header.Get("X-Block") != "" {
			<-release
		}
		w.WriteHeader(http.StatusOK)
	}))
	do := func(block bool) *httptest.ResponseRecorder {
		r := httptest.NewRequest("POST", "/graphql", strings.NewReader("{}"))
		if block {
			r.Header.Set("X-Block", "1")
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	first := make(chan int)
	go func() { first <- do(true).Code }()
	<-entered // the first request holds the only slot
	if w := do(false); w.Code != http.StatusServiceUnavailable || !strings.Contains(w.Body.String(), "UNAVAILABLE") {
		t.Fatalf("second request: %d %s, want 503 UNAVAILABLE", w.Code, w.Body)
	}
	waiting := make(chan int)
	go func() { waiting <- do(false).Code }()
	time.Sleep(50 * time.Millisecond)
	close(release)
	if c := <-first; c != http.StatusOK {
		t.Fatalf("first request: %d", c)
	}
	if c := <-waiting; c != http.StatusOK {
		t.Fatalf("a request that waited less than its deadline: %d, want 200", c)
	}
}
