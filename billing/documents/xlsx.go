package documents

import (
	"context"

	"github.com/xuri/excelize/v2"

	"github.com/cloudbill/cloudbill/billing"
	"github.com/cloudbill/cloudbill/billing/locale"
	"github.com/cloudbill/cloudbill/ent"
)

// UsageDetailsXLSX renders the month's detailed fees as an Excel workbook.
func (r *Renderer) UsageDetailsXLSX(ctx context.Context, bg *ent.BillingGroup, m billing.Month, _ locale.Lang) ([]byte, error) {
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
