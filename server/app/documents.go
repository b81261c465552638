package app

import (
	"net/http"
	"time"

	"github.com/cloudbill/cloudbill/billing"
)

// Docs signs document links with a key derived from the JWT secret, valid
// for 10 minutes.
func (a *App) Docs() *billing.Documents {
	return &billing.Documents{Secret: a.Config.JWTSecret, BaseURL: a.Config.PublicURL, TTL: 10 * time.Minute}
}

// serveDocument renders the document a signed link names. The link itself
// is the authorization: only an entitled caller could obtain it, and it
// expires quickly.
func (a *App) serveDocument(w http.ResponseWriter, r *http.Request) {
	kind, bgID, m, err := a.Docs().Verify(r.PathValue("token"), a.Config.Clock.Now())
	if err != nil {
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	ctx := r.Context()
	bg, err := a.DB.Client.BillingGroup.Get(ctx, bgID)
	if err != nil {
		http.Error(w, "document not found", http.StatusNotFound)
		return
	}
	var body []byte
	var ctype, name string
	switch kind {
	case billing.DocUsageConfirmation:
		body, err = a.Engine().UsageConfirmationPDF(ctx, bg, m)
		ctype, name = "application/pdf", "usage-confirmation-"+m.String()+".pdf"
	case billing.DocUsageDetails:
		body, err = a.Engine().UsageDetailsXLSX(ctx, bg, m)
		ctype, name = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "usage-details-"+m.String()+".xlsx"
	default:
		http.Error(w, "document not found", http.StatusNotFound)
		return
	}
	if err != nil {
		a.Log.ErrorContext(ctx, "rendering document", "kind", kind, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	w.Header().Set("Cache-Control", "private, no-store")
	w.Write(body)
}
