// Package documents renders what customers download: usage confirmations,
// detailed fees, receipts and tax documents, behind short-lived signed links.
package documents

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/go-pdf/fpdf"
	"github.com/xuri/excelize/v2"

	"github.com/cloudbill/cloudbill/billing"
	"github.com/cloudbill/cloudbill/ent"
	"github.com/cloudbill/cloudbill/ent/invoice"
)

// Document kinds.
const (
	DocUsageConfirmation = "usage-confirmation" // PDF; ref is the month
	DocUsageDetails      = "usage-details"      // XLSX; ref is the month
	DocReceipt           = "receipt"            // PDF; ref is the payment id
)

// Signer signs short-lived download URLs. A URL names one document of
// one billing group and month; only a caller entitled to that group gets
// one, and it expires after TTL.
type Signer struct {
	Secret  []byte
	BaseURL string // e.g. http://127.0.0.1:8080
	TTL     time.Duration
}

// URL returns a signed download URL and its expiry. ref is the month of a
// usage document or the payment id of a receipt.
func (d *Signer) URL(kind, bgID, ref string, now time.Time) (string, time.Time) {
	exp := now.Add(d.TTL).Truncate(time.Second)
	payload := strings.Join([]string{kind, bgID, ref, strconv.FormatInt(exp.Unix(), 10)}, "|")
	tok := base64.RawURLEncoding.EncodeToString([]byte(payload)) + "." + d.sign(payload)
	return d.BaseURL + "/documents/" + tok, exp
}

func (d *Signer) sign(payload string) string {
	mac := hmac.New(sha256.New, append([]byte("cloudbill-documents:"), d.Secret...))
	mac.Write([]byte(payload))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// Verify checks a download token and returns what it names.
func (d *Signer) Verify(tok string, now time.Time) (kind, bgID, ref string, err error) {
	bad := errors.New("invalid or expired document link")
	p64, sig, ok := strings.Cut(tok, ".")
	if !ok || len(tok) > 512 {
		return "", "", "", bad
	}
	raw, err := base64.RawURLEncoding.DecodeString(p64)
	if err != nil || !hmac.Equal([]byte(sig), []byte(d.sign(string(raw)))) {
		return "", "", "", bad
	}
	parts := strings.Split(string(raw), "|")
	if len(parts) != 4 {
		return "", "", "", bad
	}
	exp, err := strconv.ParseInt(parts[3], 10, 64)
	if err != nil || now.Unix() > exp {
		return "", "", "", bad
	}
	return parts[0], parts[1], parts[2], nil
}

// Renderer renders documents from what the billing engine reads.
type Renderer struct {
	Engine *billing.Engine
}

// UsageConfirmationPDF renders the month's usage confirmation, with
// the invoice's totals once it is issued.
func (r *Renderer) UsageConfirmationPDF(ctx context.Context, bg *ent.BillingGroup, m billing.Month) ([]byte, error) {
	e := r.Engine
	rep, err := e.Usage(ctx, bg, m, "")
	if err != nil {
		return nil, err
	}
	org, err := e.Client.Organization.Get(ctx, bg.OrgID)
	if err != nil {
		return nil, err
	}
	inv, err := e.Client.Invoice.Query().Where(invoice.BillingGroupID(bg.ID), invoice.Month(m.String())).Only(ctx)
	if err != nil && !ent.IsNotFound(err) {
		return nil, err
	}
	cur := bg.Currency
	amt := func(v int64) string { return billing.FormatMinor(v, cur) + " " + cur }
	pdf := fpdf.New("P", "mm", "A4", "")
	pdf.SetTitle("Usage confirmation "+m.String(), true)
	pdf.SetCreator("cloudbill", true)
	pdf.AddPage()
	pdf.SetFont("Helvetica", "B", 18)
	pdf.Cell(0, 12, "Usage confirmation")
	pdf.Ln(14)
	pdf.SetFont("Helvetica", "", 11)
	for _, kv := range [][2]string{
		{"Organization", org.Name}, {"Billing group", bg.Name + " (" + bg.ID + ")"},
		{"Period of usage", rep.From.Format("2006-01-02") + " to " + time.Date(m.Year, m.Month, m.Days(), 0, 0, 0, 0, time.UTC).Format("2006-01-02")},
		{"Issued", e.Clock.Now().In(e.Policy.Location()).Format("2006-01-02 15:04 MST")},
	} {
		pdf.CellFormat(45, 7, kv[0], "", 0, "L", false, 0, "")
		pdf.CellFormat(0, 7, ascii(kv[1]), "", 1, "L", false, 0, "")
	}
	pdf.Ln(4)
	pdf.SetFont("Helvetica", "B", 10)
	widths := []float64{30, 60, 30, 30, 30}
	for i, h := range []string{"Region", "Service", "Used", "Discount", "Estimated"} {
		pdf.CellFormat(widths[i], 8, h, "1", 0, "C", false, 0, "")
	}
	pdf.Ln(-1)
	pdf.SetFont("Helvetica", "", 10)
	for _, l := range rep.Lines {
		cells := []string{l.Region, ascii(l.ServiceName), amt(l.Used), amt(l.Discount), amt(l.Used - l.Discount)}
		for i, c := range cells {
			align := "R"
			if i < 2 {
				align = "L"
			}
			pdf.CellFormat(widths[i], 7, c, "1", 0, align, false, 0, "")
		}
		pdf.Ln(-1)
	}
	pdf.SetFont("Helvetica", "B", 10)
	pdf.CellFormat(90, 7, "Total", "1", 0, "L", false, 0, "")
	pdf.CellFormat(30, 7, amt(rep.Used), "1", 0, "R", false, 0, "")
	pdf.CellFormat(30, 7, amt(rep.Discount), "1", 0, "R", false, 0, "")
	pdf.CellFormat(30, 7, amt(rep.Estimated), "1", 1, "R", false, 0, "")
	if inv != nil {
		pdf.Ln(4)
		pdf.SetFont("Helvetica", "", 11)
		for _, kv := range [][2]string{
			{"Invoice", inv.ID}, {"Credits applied", amt(inv.CreditAmount)}, {"Determined amount", amt(inv.DeterminedAmount)},
			{"Tax (VAT)", amt(inv.TaxAmount)}, {"Payment amount", amt(billing.PaymentAmount(inv))},
		} {
			pdf.CellFormat(45, 7, kv[0], "", 0, "L", false, 0, "")
			pdf.CellFormat(0, 7, kv[1], "", 1, "L", false, 0, "")
		}
	}
	pdf.Ln(8)
	pdf.SetFont("Helvetica", "I", 9)
	pdf.MultiCell(0, 5, "This usage confirmation has the same effect as a written and signed usage confirmation.", "", "L", false)
	var buf bytes.Buffer
	if err := pdf.Output(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// ascii keeps the PDF's core fonts from mangling characters they lack.
func ascii(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 32 || r > 126 {
			return '?'
		}
		return r
	}, s)
}

// UsageDetailsXLSX renders the month's detailed fees as an Excel workbook.
func (r *Renderer) UsageDetailsXLSX(ctx context.Context, bg *ent.BillingGroup, m billing.Month) ([]byte, error) {
	e := r.Engine
	fees, err := e.DetailedFees(ctx, bg, m)
	if err != nil {
		return nil, err
	}
	rep, err := e.Usage(ctx, bg, m, "")
	if err != nil {
		return nil, err
	}
	f := excelize.NewFile()
	defer f.Close()
	const sheet = "Detailed fees"
	f.SetSheetName("Sheet1", sheet)
	header := []any{"Region", "Service code", "Service", "Channel", "Metric", "Pricing", "Quantity", "Unit price", "Amount (exact)", "Currency"}
	f.SetSheetRow(sheet, "A1", &header)
	for i, d := range fees {
		row := []any{d.Region, d.ServiceCode, d.ServiceName, d.Channel, d.Metric, d.Model,
			d.Quantity.String(), d.UnitPrice.String(), d.Amount.String(), bg.Currency}
		cell, _ := excelize.CoordinatesToCellName(1, i+2)
		f.SetSheetRow(sheet, cell, &row)
	}
	const summary = "Summary"
	f.NewSheet(summary)
	f.SetSheetRow(summary, "A1", &[]any{"Region", "Service", "Used", "Discount", "Estimated", "Currency"})
	for i, l := range rep.Lines {
		cell, _ := excelize.CoordinatesToCellName(1, i+2)
		f.SetSheetRow(summary, cell, &[]any{l.Region, l.ServiceName, billing.FormatMinor(l.Used, bg.Currency),
			billing.FormatMinor(l.Discount, bg.Currency), billing.FormatMinor(l.Used-l.Discount, bg.Currency), bg.Currency})
	}
	buf, err := f.WriteToBuffer()
	if err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// ReceiptPDF renders a payment's receipt.
func (r *Renderer) ReceiptPDF(ctx context.Context, p *ent.Payment) ([]byte, error) {
	e := r.Engine
	org, err := e.Client.Organization.Get(ctx, p.OrgID)
	if err != nil {
		return nil, err
	}
	amt := func(v int64) string { return billing.FormatMinor(v, p.Currency) + " " + p.Currency }
	loc := e.Policy.Location()
	pdf := fpdf.New("P", "mm", "A5", "")
	pdf.SetTitle("Receipt "+p.ReceiptID, true)
	pdf.AddPage()
	pdf.SetFont("Helvetica", "B", 16)
	pdf.Cell(0, 10, "Receipt")
	pdf.Ln(12)
	pdf.SetFont("Helvetica", "", 10)
	rows := [][2]string{{"Receipt", p.ReceiptID}, {"Customer", ascii(org.Name)}, {"Kind", string(p.Kind)},
		{"Method", ascii(p.MethodLabel)}, {"Billed", p.BilledAt.In(loc).Format("2006-01-02")}, {"Amount", amt(p.Amount)},
		{"Status", string(p.Status)}}
	if p.Description != "" {
		rows = append(rows, [2]string{"For", ascii(p.Description)})
	}
	if p.PaidAt != nil {
		rows = append(rows, [2]string{"Paid", p.PaidAt.In(loc).Format("2006-01-02 15:04 MST")})
	}
	for _, kv := range rows {
		pdf.CellFormat(35, 7, kv[0], "", 0, "L", false, 0, "")
		pdf.CellFormat(0, 7, kv[1], "", 1, "L", false, 0, "")
	}
	var buf bytes.Buffer
	if err := pdf.Output(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
