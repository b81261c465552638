package documents

import (
	"context"

	"github.com/cloudbill/cloudbill/billing/locale"
	"github.com/cloudbill/cloudbill/ent"
)

// TaxInvoicePDF renders a business's tax invoice (세금계산서, R-46) as a
// statement: the fields of the electronic tax invoice — both parties'
// registration numbers, 작성일자, 공급가액, 세액, 합계금액, the item lines
// and 영수/청구 — saying that it is a copy and that the legal electronic
// tax invoice is transmitted to the National Tax Service separately: this
// system assigns no NTS approval number.
func (r *Renderer) TaxInvoicePDF(ctx context.Context, ti *ent.TaxInvoice, lang locale.Lang) ([]byte, error) {
	d, l, err := r.TaxInvoice(ctx, ti, lang)
	if err != nil {
		return nil, err
	}
	n := func(v int64) string { return locale.Number(v, d.Currency) }
	title := l.Pick("세금계산서 (공급받는자 보관용 사본)", "Tax invoice (recipient's copy)")
	p := newPage(l, title, d.DocumentNumber, ti.IssuedAt)
	p.heading(title, [][2]string{{l.Pick("문서 번호", "Document no."), d.DocumentNumber}, {l.Pick("작성일자", "Date written"), d.WrittenOn}})
	p.taxParties(l.Pick("공급자", "Supplier"), d.Supplier, l.Pick("공급받는자", "Recipient"), d.Recipient)
	purpose, word := l.Pick("이 금액을 청구함", "Amount claimed"), l.Pick("청구", "Claim (unpaid)")
	if d.Purpose == "RECEIPT" {
		purpose, word = l.Pick("이 금액을 영수함", "Amount received"), l.Pick("영수", "Receipt (paid)")
	}
	p.banner(l.Pick("합계금액", "Total amount"), locale.Money(l, d.TotalAmount, d.Currency), purpose)
	p.section(l.Pick("품목", "Items") + unitNote(l, d.Currency))
	cols := []column{{l.Pick("월 일", "Date"), 12, "L"}, {l.Pick("품목", "Item"), 44, "L"},
		{l.Pick("공급가액", "Supply value"), 22, "R"}, {l.Pick("세액", "Tax"), 22, "R"}}
	rows := make([][]string, len(d.Items))
	for i, it := range d.Items {
		rows[i] = []string{it.Date, it.Item, n(it.SupplyAmount), n(it.TaxAmount)}
	}
	p.table(cols, rows, []string{l.Pick("합계", "Total"), "", n(d.SupplyAmount), n(d.TaxAmount)})
	p.totals([]total{
		{l.Pick("공급가액", "Supply value"), locale.Money(l, d.SupplyAmount, d.Currency), false},
		{l.Pick("세액", "Tax (VAT)"), locale.Money(l, d.TaxAmount, d.Currency), false},
		{l.Pick("합계금액", "Total amount"), locale.Money(l, d.TotalAmount, d.Currency), true},
		{l.Pick("영수/청구", "Receipt/claim"), word, false},
	})
	p.facts([][2]string{{l.Pick("청구월", "Billing month"), d.Month}, {l.Pick("청구서 번호", "Invoice no."), d.InvoiceID}})
	p.notes([]string{
		l.Pick("이 문서는 세금계산서의 내용을 확인하는 사본(명세)이며, 법적 효력이 있는 전자세금계산서가 아닙니다. "+
			"전자세금계산서는 국세청 승인번호와 함께 별도로 발급·전송되며, 이 문서에는 승인번호가 없습니다.",
			"This document is a copy (statement) of the tax invoice's contents, not the legal electronic tax invoice. "+
				"The electronic tax invoice is issued and transmitted to the National Tax Service separately, with its approval number; this copy has none."),
	})
	return p.bytes()
}

// taxParties prints the supplier and the recipient side by side with the
// fields of the electronic tax invoice.
func (p *page) taxParties(supTitle string, sup TaxParty, recTitle string, rec TaxParty) {
	rows := func(t TaxParty) [][2]string {
		dash := func(s string) string {
			if s == "" {
				return "-"
			}
			return s
		}
		return [][2]string{
			{p.lang.Pick("등록번호", "Reg. no."), dash(t.RegistrationNumber)}, {p.lang.Pick("상호", "Name"), dash(t.Name)},
			{p.lang.Pick("성명(대표자)", "Representative"), dash(t.Representative)}, {p.lang.Pick("사업장 주소", "Address"), dash(t.Address)},
			{p.lang.Pick("업태", "Business type"), dash(t.BusinessType)}, {p.lang.Pick("종목", "Business item"), dash(t.BusinessItem)},
			{p.lang.Pick("이메일", "Email"), dash(t.Email)},
		}
	}
	half := (p.width - 4) / 2
	x, y := margin, p.pdf.GetY()
	h := max(p.boxHeight(half, rows(sup)), p.boxHeight(half, rows(rec)))
	p.box(x, y, half, h, supTitle, rows(sup))
	p.box(x+half+4, y, half, h, recTitle, rows(rec))
	p.pdf.SetXY(margin, y+h+4)
}
