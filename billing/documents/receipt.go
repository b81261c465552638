package documents

import (
	"context"

	"github.com/cloudbill/cloudbill/billing/locale"
	"github.com/cloudbill/cloudbill/ent"
	"github.com/cloudbill/cloudbill/ent/coincharge"
	"github.com/cloudbill/cloudbill/ent/invoice"
	"github.com/cloudbill/cloudbill/ent/payment"
	"github.com/cloudbill/cloudbill/ent/paymentallocation"
)

// ReceiptPDF renders a payment's receipt: when, how and how much was
// paid, for which invoices, with their supply value and VAT. A payment that
// did not succeed has no receipt (ErrNotFound).
func (r *Renderer) ReceiptPDF(ctx context.Context, p *ent.Payment, lang locale.Lang) ([]byte, error) {
	if p.Status != payment.StatusSUCCESSFUL || p.PaidAt == nil {
		return nil, ErrNotFound
	}
	rec, err := r.recipient(ctx, p.OrgID)
	if err != nil {
		return nil, err
	}
	l, loc, cur := language(lang, rec), r.Engine.Policy.Location(), p.Currency
	n := func(v int64) string { return locale.Number(v, cur) }
	money := func(v int64) string { return locale.Money(l, v, cur) }
	title := l.Pick("영수증", "Receipt")
	pg := newPage(l, title, p.ReceiptID, *p.PaidAt)
	pg.heading(title, [][2]string{{l.Pick("영수증 번호", "Receipt no."), p.ReceiptID}, {l.Pick("결제일", "Paid on"), locale.Date(*p.PaidAt, loc)}})
	pg.parties(l.Pick("공급자", "Supplier"), r.Supplier.Party(l), l.Pick("고객", "Customer"), rec.Party)
	group := "-"
	if p.BillingGroupID != "" {
		if bg, err := r.Engine.Client.BillingGroup.Get(ctx, p.BillingGroupID); err == nil {
			group = bg.Name
		}
	}
	pg.facts([][2]string{
		{l.Pick("결제 일시", "Paid at"), locale.DateTime(*p.PaidAt, loc)}, {l.Pick("결제 구분", "Payment"), locale.Enum(l, "payment", string(p.Kind))},
		{l.Pick("결제 수단", "Method"), printable(locale.Method(l, p.MethodLabel))}, {l.Pick("상태", "Status"), locale.Enum(l, "status", string(p.Status))},
		{l.Pick("청구 그룹", "Billing group"), group}, {l.Pick("청구일", "Billed on"), locale.Date(p.BilledAt, loc)},
	})
	if p.Description != "" {
		pg.facts([][2]string{{l.Pick("내역", "For"), p.Description}})
	}
	var totals []total
	switch p.Kind {
	case payment.KindCOIN_CHARGE:
		totals, err = r.coinReceipt(ctx, pg, p, l)
	case payment.KindAUTOMATIC, payment.KindINSTANT, payment.KindDEPOSIT:
		totals, err = r.invoicesPaid(ctx, pg, p, l, n)
	}
	if err != nil {
		return nil, err
	}
	totals = append(totals, total{l.Pick("결제 금액", "Amount paid"), money(p.Amount), true})
	pg.totals(totals)
	pg.notes([]string{
		l.Pick("이 영수증은 결제 사실을 확인하는 문서이며 세금계산서가 아닙니다. 사업자 고객의 세금계산서는 매월 별도로 발행됩니다.",
			"This receipt confirms a payment; it is not a tax invoice. Business customers receive a tax invoice every month."),
	})
	return pg.bytes()
}

// invoicesPaid lists the invoices a payment paid and returns their R-40
// totals: used, credits, determined (supply value) and VAT.
func (r *Renderer) invoicesPaid(ctx context.Context, pg *page, p *ent.Payment, l locale.Lang, n func(int64) string) ([]total, error) {
	allocs, err := r.Engine.Client.PaymentAllocation.Query().Where(paymentallocation.PaymentID(p.ID)).All(ctx)
	if err != nil {
		return nil, err
	}
	paid := map[string]int64{}
	ids := make([]string, 0, len(allocs))
	for _, a := range allocs {
		paid[a.InvoiceID] += a.Amount
		ids = append(ids, a.InvoiceID)
	}
	invs, err := r.Engine.Client.Invoice.Query().Where(invoice.IDIn(ids...)).Order(ent.Asc(invoice.FieldMonth)).All(ctx)
	if err != nil {
		return nil, err
	}
	pg.section(l.Pick("결제한 청구서", "Invoices paid") + unitNote(l, p.Currency))
	cols := []column{
		{l.Pick("청구월", "Month"), 14, "L"}, {l.Pick("청구서 번호", "Invoice no."), 36, "L"},
		{l.Pick("공급가액", "Supply value"), 17, "R"}, {l.Pick("부가세", "VAT"), 14, "R"}, {l.Pick("이번 결제", "Paid now"), 17, "R"},
	}
	var rows [][]string
	var used, disc, credit, det, tax, late, coins, now int64
	for _, inv := range invs {
		rows = append(rows, []string{inv.Month, inv.ID, n(inv.DeterminedAmount), n(inv.TaxAmount), n(paid[inv.ID])})
		used, disc, credit, det, tax = used+inv.UsageAmount, disc+inv.DiscountAmount, credit+inv.CreditAmount, det+inv.DeterminedAmount, tax+inv.TaxAmount
		late, coins, now = late+inv.LateFeeAmount, coins+inv.CoinAmount, now+paid[inv.ID]
	}
	pg.table(cols, rows, []string{l.Pick("합계", "Total"), "", n(det), n(tax), n(now)})
	money := func(v int64) string { return locale.Money(l, v, p.Currency) }
	out := []total{
		{l.Pick("이용 금액", "Used amount"), money(used), false},
		{l.Pick("할인 금액", "Discounts"), deduction(l, disc, p.Currency), false},
		{l.Pick("크레딧 사용", "Credits applied"), deduction(l, credit, p.Currency), false},
		{l.Pick("확정 금액 (공급가액)", "Determined amount (supply value)"), money(det), false},
		{l.Pick("부가가치세", "VAT"), money(tax), false},
	}
	if late > 0 {
		out = append(out, total{l.Pick("연체료", "Late fees"), money(late), false})
	}
	if coins > 0 {
		out = append(out, total{l.Pick("코인 사용", "Coins applied"), deduction(l, coins, p.Currency), false})
	}
	return out, nil
}

// coinReceipt shows what a coin purchase bought: the charged coins and the
// bonus on top.
func (r *Renderer) coinReceipt(ctx context.Context, pg *page, p *ent.Payment, l locale.Lang) ([]total, error) {
	money := func(v int64) string { return locale.Money(l, v, p.Currency) }
	c, err := r.Engine.Client.CoinCharge.Query().Where(coincharge.PaymentID(p.ID)).Only(ctx)
	if ent.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return []total{
		{l.Pick("충전 코인", "Coins bought"), money(c.Charged), false},
		{l.Pick("보너스 코인 (무상)", "Bonus coins (free)"), money(c.Bonus), false},
	}, nil
}
