package app

import (
	"net/http"
	"time"

	"github.com/cloudbill/cloudbill/billing"
	"github.com/cloudbill/cloudbill/billing/documents"
	"github.com/cloudbill/cloudbill/ent"
)

// Docs signs document links with a key derived from the JWT secret, valid
// for 10 minutes.
func (a *App) Docs() *documents.Signer {
	return &documents.Signer{Secret: a.Config.JWTSecret, BaseURL: a.Config.PublicURL, TTL: 10 * time.Minute}
}

// Renderer renders documents from this app's billing engine.
func (a *App) Renderer() *documents.Renderer { return &documents.Renderer{Engine: a.Engine()} }

// serveDocument renders the document a signed link names. The link itself
// is the authorization: only an entitled caller could obtain it, and it
// expires quickly.
func (a *App) serveDocument(w http.ResponseWriter, r *http.Request) {
	kind, bgID, ref, err := a.Docs().Verify(r.PathValue("token"), a.Config.Clock.Now())
	if err != nil {
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	m, _ := billing.ParseMonth(ref)
	ctx := r.Context()
	var bg *ent.BillingGroup
	if kind != documents.DocReceipt {
		if bg, err = a.DB.Client.BillingGroup.Get(ctx, bgID); err != nil {
			http.Error(w, "document not found", http.StatusNotFound)
			return
		}
	}
	var body []byte
	var ctype, name string
	switch kind {
	case documents.DocUsageConfirmation:
		body, err = a.Renderer().UsageConfirmationPDF(ctx, bg, m)
		ctype, name = "application/pdf", "usage-confirmation-"+m.String()+".pdf"
	case documents.DocUsageDetails:
		body, err = a.Renderer().UsageDetailsXLSX(ctx, bg, m)
		ctype, name = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "usage-details-"+m.String()+".xlsx"
	case documents.DocReceipt:
		p, perr := a.DB.Client.Payment.Get(ctx, ref)
		if perr != nil || p.BillingGroupID != bgID {
			http.Error(w, "document not found", http.StatusNotFound)
			return
		}
		body, err = a.Renderer().ReceiptPDF(ctx, p)
		ctype, name = "application/pdf", "receipt-"+p.ReceiptID+".pdf"
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
