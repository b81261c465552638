// Package documents renders what customers download — usage confirmations,
// invoices, receipts, detailed fees, tax invoices and cash-receipt
// confirmations — in the reader's language, and signs the short-lived links
// they are downloaded by.
package documents

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/cloudbill/cloudbill/billing"
	"github.com/cloudbill/cloudbill/billing/calendar"
	"github.com/cloudbill/cloudbill/billing/creditnotes"
	"github.com/cloudbill/cloudbill/billing/locale"
	"github.com/cloudbill/cloudbill/ent"
)

// Document kinds.
const (
	DocUsageConfirmation = "usage-confirmation" // PDF; ref is the month
	DocUsageDetails      = "usage-details"      // XLSX; ref is the month
	DocInvoice           = "invoice"            // PDF; ref is the month
	DocReceipt           = "receipt"            // PDF; ref is the payment id
)

// Link names one document: its kind, the billing group it belongs to, the
// month or id it is of, and the language to write it in ("" for the
// payer's).
type Link struct {
	Kind, BillingGroupID, Ref string
	Lang                      locale.Lang
}

// Signer signs short-lived download URLs. A URL names one document of one
// billing group; only a caller entitled to that group gets one, and it
// expires after TTL.
type Signer struct {
	Secret  []byte
	BaseURL string // e.g. http://127.0.0.1:8080
	TTL     time.Duration
}

// URL returns a signed download URL for l and its expiry.
func (d *Signer) URL(l Link, now time.Time) (string, time.Time) {
	exp := now.Add(d.TTL).Truncate(time.Second)
	payload := strings.Join([]string{l.Kind, l.BillingGroupID, l.Ref, string(l.Lang), strconv.FormatInt(exp.Unix(), 10)}, "|")
	tok := base64.RawURLEncoding.EncodeToString([]byte(payload)) + "." + d.sign(payload)
	return d.BaseURL + "/documents/" + tok, exp
}

func (d *Signer) sign(payload string) string {
	mac := hmac.New(sha256.New, append([]byte("cloudbill-documents:"), d.Secret...))
	mac.Write([]byte(payload))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// ErrBadLink is a download token that is not ours, or has expired.
var ErrBadLink = errors.New("invalid or expired document link")

// Verify checks a download token and returns what it names.
func (d *Signer) Verify(tok string, now time.Time) (Link, error) {
	p64, sig, ok := strings.Cut(tok, ".")
	if !ok || len(tok) > 512 {
		return Link{}, ErrBadLink
	}
	raw, err := base64.RawURLEncoding.DecodeString(p64)
	if err != nil || !hmac.Equal([]byte(sig), []byte(d.sign(string(raw)))) {
		return Link{}, ErrBadLink
	}
	parts := strings.Split(string(raw), "|")
	if len(parts) != 5 {
		return Link{}, ErrBadLink
	}
	exp, err := strconv.ParseInt(parts[4], 10, 64)
	if err != nil || now.Unix() > exp {
		return Link{}, ErrBadLink
	}
	return Link{Kind: parts[0], BillingGroupID: parts[1], Ref: parts[2], Lang: locale.Parse(parts[3], "")}, nil
}

// File is a rendered document.
type File struct {
	Body        []byte
	ContentType string
	Name        string
}

const (
	pdfType  = "application/pdf"
	xlsxType = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
)

// ErrNotFound is a link to something that does not exist (any more).
var ErrNotFound = errors.New("document not found")

// Renderer renders documents from what the billing engine reads, naming
// Supplier as their issuer.
type Renderer struct {
	Engine   *billing.Engine
	Supplier Supplier
}

// Render renders the document a verified link names.
func (r *Renderer) Render(ctx context.Context, l Link) (File, error) {
	bg, err := r.Engine.Client.BillingGroup.Get(ctx, l.BillingGroupID)
	if ent.IsNotFound(err) {
		return File{}, ErrNotFound
	}
	if err != nil {
		return File{}, err
	}
	switch l.Kind {
	case DocUsageConfirmation, DocUsageDetails, DocInvoice:
		m, err := calendar.ParseMonth(l.Ref)
		if err != nil {
			return File{}, ErrNotFound
		}
		return r.monthly(ctx, l, bg, m)
	case DocTaxInvoice, DocTaxInvoiceJSON, DocTaxInvoiceCSV:
		return r.taxInvoiceFile(ctx, l, bg)
	case DocCreditNote, DocAmendedTaxInvoiceJSON, DocAmendedTaxInvoiceCSV:
		cn, err := r.Engine.Client.CreditNote.Get(ctx, l.Ref)
		if ent.IsNotFound(err) || (err == nil && cn.BillingGroupID != bg.ID) {
			return File{}, ErrNotFound
		}
		if err != nil {
			return File{}, err
		}
		return r.creditNoteFile(ctx, l, cn)
	case DocReceipt, DocCashReceipt:
		p, err := r.Engine.Client.Payment.Get(ctx, l.Ref)
		if ent.IsNotFound(err) || (err == nil && p.BillingGroupID != bg.ID) {
			return File{}, ErrNotFound
		}
		if err != nil {
			return File{}, err
		}
		if l.Kind == DocCashReceipt {
			body, err := r.CashReceiptPDF(ctx, p, l.Lang)
			return File{body, pdfType, "cash-receipt-" + p.ReceiptID + ".pdf"}, err
		}
		body, err := r.ReceiptPDF(ctx, p, l.Lang)
		return File{body, pdfType, "receipt-" + p.ReceiptID + ".pdf"}, err
	}
	return File{}, ErrNotFound
}

func (r *Renderer) monthly(ctx context.Context, l Link, bg *ent.BillingGroup, m calendar.Month) (File, error) {
	switch l.Kind {
	case DocUsageConfirmation:
		body, err := r.UsageConfirmationPDF(ctx, bg, m, l.Lang)
		return File{body, pdfType, "usage-confirmation-" + m.String() + ".pdf"}, err
	case DocInvoice:
		body, err := r.InvoicePDF(ctx, bg, m, l.Lang)
		return File{body, pdfType, "invoice-" + m.String() + ".pdf"}, err
	}
	body, err := r.UsageDetailsXLSX(ctx, bg, m, l.Lang)
	return File{body, xlsxType, "usage-details-" + m.String() + "-" + shortID(bg.ID) + ".xlsx"}, err
}

// taxInvoiceFile renders a tax invoice of bg as a PDF, JSON or CSV; one of
// another billing group is not found.
func (r *Renderer) taxInvoiceFile(ctx context.Context, l Link, bg *ent.BillingGroup) (File, error) {
	ti, err := r.Engine.Client.TaxInvoice.Get(ctx, l.Ref)
	if ent.IsNotFound(err) || (err == nil && ti.BillingGroupID != bg.ID) {
		return File{}, ErrNotFound
	}
	if err != nil {
		return File{}, err
	}
	name := "tax-invoice-" + TaxInvoiceNumber(ti)
	switch l.Kind {
	case DocTaxInvoiceJSON:
		body, err := r.TaxInvoiceJSON(ctx, ti)
		return File{body, "application/json", name + ".json"}, err
	case DocTaxInvoiceCSV:
		body, err := r.TaxInvoiceCSV(ctx, ti)
		return File{body, "text/csv; charset=utf-8", name + ".csv"}, err
	}
	body, err := r.TaxInvoicePDF(ctx, ti, l.Lang)
	return File{body, pdfType, name + ".pdf"}, err
}

// creditNoteFile renders credit note cn as a PDF, or the amended tax
// invoice it is as JSON or CSV (not found when it amends none).
func (r *Renderer) creditNoteFile(ctx context.Context, l Link, cn *ent.CreditNote) (File, error) {
	if l.Kind == DocCreditNote {
		body, err := r.CreditNotePDF(ctx, cn, l.Lang)
		return File{body, pdfType, "credit-note-" + creditnotes.CreditNoteNumber(cn) + ".pdf"}, err
	}
	d, err := r.AmendedTaxInvoice(ctx, cn)
	if err != nil {
		return File{}, err
	}
	name := "amended-tax-invoice-" + d.DocumentNumber
	if l.Kind == DocAmendedTaxInvoiceCSV {
		body, err := taxInvoiceCSV(d)
		return File{body, "text/csv; charset=utf-8", name + ".csv"}, err
	}
	body, err := json.MarshalIndent(d, "", "  ")
	return File{body, "application/json", name + ".json"}, err
}
