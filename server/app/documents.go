package app

import (
	"errors"
	"net/http"
	"time"

	"github.com/cloudbill/cloudbill/billing/documents"
)

// Docs signs document links with a key derived from the JWT secret, valid
// for 10 minutes.
func (a *App) Docs() *documents.Signer {
	return &documents.Signer{Secret: a.Config.JWTSecret, BaseURL: a.Config.PublicURL, TTL: 10 * time.Minute}
}

// Renderer renders documents from this app's billing engine.
func (a *App) Renderer() *documents.Renderer {
	return &documents.Renderer{Engine: a.Engine(), Supplier: a.Config.Supplier}
}

// serveDocument renders the document a signed link names. The link itself
// is the authorization: only an entitled caller could obtain it, and it
// expires quickly.
func (a *App) serveDocument(w http.ResponseWriter, r *http.Request) {
	link, err := a.Docs().Verify(r.PathValue("token"), a.Config.Clock.Now())
	if err != nil {
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	ctx := r.Context()
	f, err := a.Renderer().Render(ctx, link)
	if errors.Is(err, documents.ErrNotFound) {
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	if err != nil {
		a.Log.ErrorContext(ctx, "rendering document", "kind", link.Kind, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", f.ContentType)
	w.Header().Set("Content-Disposition", `attachment; filename="`+f.Name+`"`)
	w.Header().Set("Cache-Control", "private, no-store")
	w.Write(f.Body)
}
