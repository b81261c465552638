package app

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/cloudbill/cloudbill/billing/calendar"
	"github.com/cloudbill/cloudbill/billing/kernel"
	"github.com/cloudbill/cloudbill/billing/locale"
	"github.com/cloudbill/cloudbill/ent"
	"github.com/cloudbill/cloudbill/ent/account"
	"github.com/cloudbill/cloudbill/ent/billinggroup"
	"github.com/cloudbill/cloudbill/ent/invoice"
	"github.com/cloudbill/cloudbill/ent/payment"
	"github.com/cloudbill/cloudbill/ent/paymentallocation"
	"github.com/cloudbill/cloudbill/ent/taxinvoice"
)

// SampleDocuments writes the documents the demo organization's main
// billing group has of last month into dir, in language l — the usage
// confirmation, the invoice, the receipt of its payment, the detailed
// fees and the tax invoice — and returns their paths. The app must hold the seeded demo (its
// clock fixed at the instant it was seeded, so the samples are the same
// bytes every time).
func SampleDocuments(ctx context.Context, a *App, dir string, l locale.Lang) ([]string, error) {
	e, r := a.Engine(), a.Renderer()
	master, err := e.Client.Account.Query().Where(account.Email(DemoMasterEmail)).Only(ctx)
	if err != nil {
		return nil, fmt.Errorf("the demo organization is not seeded: %w", err)
	}
	bg, err := e.Client.BillingGroup.Query().Where(billinggroup.OrgID(master.OrgID), billinggroup.IsMain(true)).Only(ctx)
	if err != nil {
		return nil, err
	}
	m := calendar.MonthOf(e.Clock.Now(), e.Policy.Location()).Prev()
	inv, err := e.Client.Invoice.Query().Where(invoice.BillingGroupID(bg.ID), invoice.Month(m.String()), kernel.Live()).Only(ctx)
	if err != nil {
		return nil, fmt.Errorf("the demo has no invoice of %s yet: %w", m, err)
	}
	// The receipt of the payment that paid it.
	paid, err := e.Client.PaymentAllocation.Query().Where(paymentallocation.InvoiceID(inv.ID)).
		Select(paymentallocation.FieldPaymentID).Strings(ctx)
	if err != nil {
		return nil, err
	}
	pay, err := e.Client.Payment.Query().Where(payment.IDIn(paid...), payment.StatusEQ(payment.StatusSUCCESSFUL)).
		Order(ent.Desc(payment.FieldPaidAt)).First(ctx)
	if err != nil {
		return nil, fmt.Errorf("the demo's invoice of %s has no successful payment: %w", m, err)
	}
	suffix := "-" + lowerLang(l)
	var paths []string
	for _, d := range []struct {
		name   string
		render func() ([]byte, error)
	}{
		{"usage-confirmation" + suffix + ".pdf", func() ([]byte, error) { return r.UsageConfirmationPDF(ctx, bg, m, l) }},
		{"invoice" + suffix + ".pdf", func() ([]byte, error) { return r.InvoicePDF(ctx, bg, m, l) }},
		{"receipt" + suffix + ".pdf", func() ([]byte, error) { return r.ReceiptPDF(ctx, pay, l) }},
		{"usage-details" + suffix + ".xlsx", func() ([]byte, error) { return r.UsageDetailsXLSX(ctx, bg, m, l) }},
		{"tax-invoice" + suffix + ".pdf", func() ([]byte, error) {
			ti, err := e.Client.TaxInvoice.Query().Where(taxinvoice.InvoiceID(inv.ID)).Only(ctx)
			if err != nil {
				return nil, fmt.Errorf("the demo has no tax invoice of %s: %w", m, err)
			}
			return r.TaxInvoicePDF(ctx, ti, l)
		}},
	} {
		body, err := d.render()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", d.name, err)
		}
		p := filepath.Join(dir, d.name)
		if err := os.WriteFile(p, body, 0o644); err != nil {
			return nil, err
		}
		paths = append(paths, p)
	}
	return paths, nil
}

func lowerLang(l locale.Lang) string {
	if l == locale.EN {
		return "en"
	}
	return "ko"
}
