package documents

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/cloudbill/cloudbill/billing/calendar"
	"github.com/cloudbill/cloudbill/billing/creditnotes"
	"github.com/cloudbill/cloudbill/billing/locale"
	"github.com/cloudbill/cloudbill/ent"
	"github.com/cloudbill/cloudbill/ent/invoice"
)

// Tax invoice documents.
const (
	DocTaxInvoice     = "tax-invoice"      // PDF; ref is the tax invoice id
	DocTaxInvoiceJSON = "tax-invoice-json" // JSON; ref is the tax invoice id
	DocTaxInvoiceCSV  = "tax-invoice-csv"  // CSV; ref is the tax invoice id
	// The amended tax invoice (수정세금계산서) a business customer's credit
	// note is; ref is the credit note id.
	DocAmendedTaxInvoiceJSON = "amended-tax-invoice-json"
	DocAmendedTaxInvoiceCSV  = "amended-tax-invoice-csv"
)

// AmendedTaxInvoiceNumber is the document number of the amended tax invoice
// a credit note is: its month and the note's id, after an A.
func AmendedTaxInvoiceNumber(cn *ent.CreditNote) string {
	return "TIA-" + strings.ReplaceAll(cn.Month, "-", "") + "-" + shortID(cn.ID)
}

// TaxInvoiceNumber is the document number a tax invoice prints: its month
// and its id, so a finance team can match it with the record.
func TaxInvoiceNumber(ti *ent.TaxInvoice) string {
	return "TI-" + strings.ReplaceAll(ti.Month, "-", "") + "-" + shortID(ti.ID)
}

// TaxInvoiceData is a tax invoice as a finance team imports it: the fields
// of Korea's electronic tax invoice that the system knows. Amounts are in
// minor units of Currency (KRW has none: won).
type TaxInvoiceData struct {
	DocumentNumber string          `json:"documentNumber"`
	TaxInvoiceID   string          `json:"taxInvoiceId"`
	InvoiceID      string          `json:"invoiceId"`
	Month          string          `json:"month"`
	WrittenOn      string          `json:"writtenOn"` // 작성일자, YYYY-MM-DD in the policy's time zone
	Purpose        string          `json:"purpose"`   // RECEIPT (영수) when paid, else CLAIM (청구)
	Currency       string          `json:"currency"`
	SupplyAmount   int64           `json:"supplyAmount"` // 공급가액
	TaxAmount      int64           `json:"taxAmount"`    // 세액
	TotalAmount    int64           `json:"totalAmount"`  // 합계금액
	Supplier       TaxParty        `json:"supplier"`
	Recipient      TaxParty        `json:"recipient"`
	Items          []TaxInvoiceRow `json:"items"`
	// The system keeps a statement of the tax invoice; it does not transmit
	// it to the National Tax Service and has no approval number.
	NTSApprovalNumber *string `json:"ntsApprovalNumber"`
	// Amendment is set on an amended tax invoice, whose amounts are minus.
	Amendment *Amendment `json:"amendment,omitempty"`
}

// Amendment is what an amended tax invoice (수정세금계산서) states besides a
// tax invoice's fields: why it amends (the NTS's reason code) and what.
type Amendment struct {
	// ReasonCode is the NTS's 수정사유: "2", a change of the supply value
	// (공급가액 변동), which is what a credit note is; written on the day of
	// the change, by minus amounts.
	ReasonCode             string `json:"reasonCode"`
	ReasonName             string `json:"reasonName"`
	Reason                 string `json:"reason"` // the credit note's, as the operator gave it
	CreditNoteID           string `json:"creditNoteId"`
	CreditNoteNumber       string `json:"creditNoteNumber"`
	OriginalTaxInvoiceID   string `json:"originalTaxInvoiceId"`
	OriginalDocumentNumber string `json:"originalDocumentNumber"`
	OriginalWrittenOn      string `json:"originalWrittenOn"`
}

// TaxParty is the supplier (공급자) or the recipient (공급받는자).
type TaxParty struct {
	RegistrationNumber string `json:"registrationNumber"` // ###-##-#####
	Name               string `json:"name"`
	Representative     string `json:"representative"`
	Address            string `json:"address"`
	BusinessType       string `json:"businessType"` // 업태
	BusinessItem       string `json:"businessItem"` // 종목
	Email              string `json:"email"`
}

// TaxInvoiceRow is one item line: month-day, item, supply value and tax.
type TaxInvoiceRow struct {
	Date         string `json:"date"` // MM-DD
	Item         string `json:"item"`
	SupplyAmount int64  `json:"supplyAmount"`
	TaxAmount    int64  `json:"taxAmount"`
}

func taxParty(p Party) TaxParty {
	reg := ""
	if p.RegistrationNumber != "" {
		reg = locale.RegistrationNumber(p.RegistrationNumber)
	}
	return TaxParty{RegistrationNumber: reg, Name: p.Name, Representative: p.Representative, Address: p.Address,
		BusinessType: p.BusinessType, BusinessItem: p.BusinessItem, Email: p.Email}
}

// TaxInvoice reads what tax invoice ti states, in language l ("" for the
// payer's): one item line for the month's cloud services, whose supply
// value and tax are the invoice's (R-39: supply + tax = total).
func (r *Renderer) TaxInvoice(ctx context.Context, ti *ent.TaxInvoice, lang locale.Lang) (TaxInvoiceData, locale.Lang, error) {
	inv, err := r.Engine.Client.Invoice.Query().Where(invoice.ID(ti.InvoiceID)).Only(ctx)
	if err != nil {
		return TaxInvoiceData{}, "", err
	}
	rec, err := r.recipient(ctx, ti.OrgID)
	if err != nil {
		return TaxInvoiceData{}, "", err
	}
	l, loc := language(lang, rec), r.Engine.Policy.Location()
	m, err := calendar.ParseMonth(ti.Month)
	if err != nil {
		return TaxInvoiceData{}, "", err
	}
	purpose := "CLAIM"
	if inv.Status == invoice.StatusPAID {
		purpose = "RECEIPT"
	}
	end := m.End(loc).AddDate(0, 0, -1)
	d := TaxInvoiceData{
		DocumentNumber: TaxInvoiceNumber(ti), TaxInvoiceID: ti.ID, InvoiceID: ti.InvoiceID, Month: ti.Month,
		WrittenOn: locale.Date(ti.IssuedAt, loc), Purpose: purpose, Currency: ti.Currency,
		SupplyAmount: ti.SupplyAmount, TaxAmount: ti.TaxAmount, TotalAmount: ti.SupplyAmount + ti.TaxAmount,
		Supplier: taxParty(r.Supplier.Party(l)), Recipient: taxParty(rec.Party),
		Items: []TaxInvoiceRow{{Date: end.In(loc).Format("01-02"),
			Item:         l.Pick("클라우드 서비스 이용료 ", "Cloud services ") + locale.Month(l, m),
			SupplyAmount: ti.SupplyAmount, TaxAmount: ti.TaxAmount}},
	}
	return d, l, nil
}

// AmendedTaxInvoice reads the amended tax invoice credit note cn is:
// the original's parties and purpose, written on the note's day, for minus
// the note's taxed supply and its VAT — the supply free credits paid was
// never on the tax invoice. ErrNotFound when cn amends none.
func (r *Renderer) AmendedTaxInvoice(ctx context.Context, cn *ent.CreditNote) (TaxInvoiceData, error) {
	if cn.TaxInvoiceID == "" {
		return TaxInvoiceData{}, ErrNotFound
	}
	ti, err := r.Engine.Client.TaxInvoice.Get(ctx, cn.TaxInvoiceID)
	if err != nil {
		return TaxInvoiceData{}, err
	}
	d, l, err := r.TaxInvoice(ctx, ti, locale.KO)
	if err != nil {
		return TaxInvoiceData{}, err
	}
	m, err := calendar.ParseMonth(cn.Month)
	if err != nil {
		return TaxInvoiceData{}, err
	}
	loc := r.Engine.Policy.Location()
	d.Amendment = &Amendment{ReasonCode: "2", ReasonName: "공급가액 변동", Reason: cn.Reason,
		CreditNoteID: cn.ID, CreditNoteNumber: creditnotes.CreditNoteNumber(cn),
		OriginalTaxInvoiceID: ti.ID, OriginalDocumentNumber: d.DocumentNumber, OriginalWrittenOn: d.WrittenOn}
	d.DocumentNumber, d.WrittenOn = AmendedTaxInvoiceNumber(cn), locale.Date(cn.IssuedAt, loc)
	d.SupplyAmount, d.TaxAmount, d.TotalAmount = -cn.TaxedAmount, -cn.TaxAmount, -(cn.TaxedAmount + cn.TaxAmount)
	d.Items = []TaxInvoiceRow{{Date: cn.IssuedAt.In(loc).Format("01-02"),
		Item:         l.Pick("클라우드 서비스 이용료 ", "Cloud services ") + locale.Month(l, m) + l.Pick(" 감액", " credited"),
		SupplyAmount: d.SupplyAmount, TaxAmount: d.TaxAmount}}
	return d, nil
}

// TaxInvoiceJSON is the structured export of a tax invoice.
func (r *Renderer) TaxInvoiceJSON(ctx context.Context, ti *ent.TaxInvoice) ([]byte, error) {
	d, _, err := r.TaxInvoice(ctx, ti, locale.KO)
	if err != nil {
		return nil, err
	}
	return json.MarshalIndent(d, "", "  ")
}

// TaxInvoiceCSV is the export as one CSV row an item line, the invoice's
// fields repeated on each, under a header of the JSON's names.
func (r *Renderer) TaxInvoiceCSV(ctx context.Context, ti *ent.TaxInvoice) ([]byte, error) {
	d, _, err := r.TaxInvoice(ctx, ti, locale.KO)
	if err != nil {
		return nil, err
	}
	return taxInvoiceCSV(d)
}

// taxInvoiceCSV writes d as TaxInvoiceCSV says, an amendment's fields
// (amendment + the JSON's names) at the end of each row.
func taxInvoiceCSV(d TaxInvoiceData) ([]byte, error) {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	party := func(p TaxParty) []string {
		return []string{p.RegistrationNumber, p.Name, p.Representative, p.Address, p.BusinessType, p.BusinessItem, p.Email}
	}
	head := []string{"documentNumber", "taxInvoiceId", "invoiceId", "month", "writtenOn", "purpose", "currency",
		"supplyAmount", "taxAmount", "totalAmount"}
	for _, side := range []string{"supplier", "recipient"} {
		for _, f := range []string{"RegistrationNumber", "Name", "Representative", "Address", "BusinessType", "BusinessItem", "Email"} {
			head = append(head, side+f)
		}
	}
	head = append(head, "itemDate", "item", "itemSupplyAmount", "itemTaxAmount")
	var amend []string
	if a := d.Amendment; a != nil {
		head = append(head, "amendmentReasonCode", "amendmentReasonName", "amendmentReason", "amendmentCreditNoteId",
			"amendmentCreditNoteNumber", "amendmentOriginalTaxInvoiceId", "amendmentOriginalDocumentNumber", "amendmentOriginalWrittenOn")
		amend = []string{a.ReasonCode, a.ReasonName, a.Reason, a.CreditNoteID, a.CreditNoteNumber,
			a.OriginalTaxInvoiceID, a.OriginalDocumentNumber, a.OriginalWrittenOn}
	}
	if err := w.Write(head); err != nil {
		return nil, err
	}
	n := func(v int64) string { return strconv.FormatInt(v, 10) }
	for _, it := range d.Items {
		row := []string{d.DocumentNumber, d.TaxInvoiceID, d.InvoiceID, d.Month, d.WrittenOn, d.Purpose, d.Currency,
			n(d.SupplyAmount), n(d.TaxAmount), n(d.TotalAmount)}
		row = append(append(row, party(d.Supplier)...), party(d.Recipient)...)
		if err := w.Write(append(append(row, it.Date, it.Item, n(it.SupplyAmount), n(it.TaxAmount)), amend...)); err != nil {
			return nil, err
		}
	}
	w.Flush()
	return buf.Bytes(), w.Error()
}
