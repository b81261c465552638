package documents

import (
	"context"
	"time"

	"github.com/cloudbill/cloudbill/billing/calendar"
	"github.com/cloudbill/cloudbill/billing/kernel"
	"github.com/cloudbill/cloudbill/billing/locale"
	"github.com/cloudbill/cloudbill/ent"
	"github.com/cloudbill/cloudbill/ent/invoice"
	"github.com/cloudbill/cloudbill/ent/invoiceline"
)

// month is what the monthly documents of a billing group show: the
// invoice's lines once it is issued, else the month's rated usage.
type month struct {
	bg       *ent.BillingGroup
	m        calendar.Month
	rec      *recipient
	lang     locale.Lang
	inv      *ent.Invoice // nil before the invoice is issued
	notes    []*ent.CreditNote
	lines    []docLine
	regions  map[string]string
	currency string
}

// docLine is an invoice line as documents print it.
type docLine struct {
	Region, Service                    string
	Used, Discount, Credit, Determined int64
}

func (r *Renderer) month(ctx context.Context, bg *ent.BillingGroup, m calendar.Month, lang locale.Lang) (*month, error) {
	e := r.Engine
	rec, err := r.recipient(ctx, bg.OrgID)
	if err != nil {
		return nil, err
	}
	d := &month{bg: bg, m: m, rec: rec, lang: language(lang, rec), currency: bg.Currency}
	if d.regions, err = r.regionNames(ctx); err != nil {
		return nil, err
	}
	d.inv, err = e.Client.Invoice.Query().Where(invoice.BillingGroupID(bg.ID), invoice.Month(m.String()), kernel.Live()).Only(ctx)
	if ent.IsNotFound(err) {
		d.inv = nil
		rep, err := e.Rated().Usage(ctx, bg, m, "")
		if err != nil {
			return nil, err
		}
		for _, l := range rep.Lines {
			d.lines = append(d.lines, docLine{Region: l.Region, Service: l.ServiceName, Used: l.Used, Discount: l.Discount,
				Credit: l.Credit, Determined: l.Determined()})
		}
		return d, nil
	}
	if err != nil {
		return nil, err
	}
	lines, err := e.Client.InvoiceLine.Query().Where(invoiceline.InvoiceID(d.inv.ID)).Order(ent.Asc(invoiceline.FieldPosition)).All(ctx)
	if err != nil {
		return nil, err
	}
	for _, l := range lines {
		d.lines = append(d.lines, docLine{Region: l.RegionCode, Service: l.ServiceName, Used: l.UsedAmount,
			Discount: l.DiscountAmount, Credit: l.CreditAmount, Determined: l.DeterminedAmount})
	}
	d.notes, err = e.CreditNotes().CreditNotes(ctx, d.inv)
	return d, err
}

func (r *Renderer) regionNames(ctx context.Context) (map[string]string, error) {
	regions, err := r.Engine.Client.Region.Query().All(ctx)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(regions))
	for _, g := range regions {
		out[g.Code] = g.Name
	}
	return out, nil
}

func (d *month) region(code string) string {
	if n, ok := d.regions[code]; ok {
		return n
	}
	return code
}

// period is the month's first and last day.
func (d *month) period() string {
	last := time.Date(d.m.Year, d.m.Month, d.m.Days(), 0, 0, 0, 0, time.UTC)
	return d.m.String() + "-01 ~ " + last.Format("2006-01-02")
}

// lineTable prints the lines and their sums (R-39's line columns).
func (d *month) lineTable(p *page) {
	l, n := d.lang, func(v int64) string { return locale.Number(v, d.currency) }
	cols := []column{
		{l.Pick("리전", "Region"), 24, "L"}, {l.Pick("서비스", "Service"), 34, "L"},
		{l.Pick("이용 금액", "Used"), 17, "R"}, {l.Pick("할인", "Discount"), 15, "R"},
		{l.Pick("크레딧", "Credit"), 15, "R"}, {l.Pick("확정 금액", "Determined"), 17, "R"},
	}
	var rows [][]string
	var used, disc, cred, det int64
	for _, x := range d.lines {
		rows = append(rows, []string{d.region(x.Region), x.Service, n(x.Used), n(x.Discount), n(x.Credit), n(x.Determined)})
		used, disc, cred, det = used+x.Used, disc+x.Discount, cred+x.Credit, det+x.Determined
	}
	if len(rows) == 0 {
		rows = append(rows, []string{l.Pick("이용 내역 없음", "No usage"), "", "0", "0", "0", "0"})
	}
	p.table(cols, rows, []string{l.Pick("합계", "Total"), "", n(used), n(disc), n(cred), n(det)})
}

// breakdown is R-39's totals: used, discounts, credits, determined, VAT,
// late fees, coins and the payment amount, then what was paid and is due.
func (d *month) breakdown() []total {
	l, cur := d.lang, d.currency
	money := func(v int64) string { return locale.Money(l, v, cur) }
	minus := func(v int64) string { return deduction(l, v, cur) }
	inv := d.inv
	if inv == nil {
		var used, disc int64
		for _, x := range d.lines {
			used, disc = used+x.Used, disc+x.Discount
		}
		return []total{
			{l.Pick("이용 금액", "Used amount"), money(used), false},
			{l.Pick("할인 금액", "Discounts"), minus(disc), false},
			{l.Pick("예상 금액 (크레딧·부가세 반영 전)", "Estimate (before credits and VAT)"), money(used - disc), true},
		}
	}
	out := []total{
		{l.Pick("이용 금액", "Used amount"), money(inv.UsageAmount), false},
		{l.Pick("할인 금액", "Discounts"), minus(inv.DiscountAmount), false},
		{l.Pick("크레딧 사용", "Credits applied"), minus(inv.CreditAmount), false},
		{l.Pick("확정 금액 (공급가액)", "Determined amount (supply value)"), money(inv.DeterminedAmount), true},
		{l.Pick("부가가치세 (10%)", "VAT (10%)"), money(inv.TaxAmount), false},
	}
	if inv.LateFeeAmount > 0 {
		out = append(out, total{l.Pick("연체료", "Late fees"), money(inv.LateFeeAmount), false})
	}
	out = append(out,
		total{l.Pick("코인 사용", "Coins applied"), minus(inv.CoinAmount), false},
		total{l.Pick("결제 금액", "Payment amount"), money(kernel.PaymentAmount(inv)), true},
		total{l.Pick("납부한 금액", "Paid"), money(inv.PaidAmount), false},
		total{l.Pick("미납 금액", "Amount due"), money(kernel.AmountDue(inv)), false})
	return out
}

// UsageConfirmationPDF renders the month's usage confirmation: what
// the billing group used, with the invoice's breakdown once it is issued.
// lang "" writes it in the payer's language.
func (r *Renderer) UsageConfirmationPDF(ctx context.Context, bg *ent.BillingGroup, m calendar.Month, lang locale.Lang) ([]byte, error) {
	d, err := r.month(ctx, bg, m, lang)
	if err != nil {
		return nil, err
	}
	l, loc, now := d.lang, r.Engine.Policy.Location(), r.Engine.Clock.Now()
	title := l.Pick("서비스 이용 확인서", "Usage Confirmation")
	number := "UC-" + m.String() + "-" + shortID(bg.ID)
	p := newPage(l, title, number, now)
	p.heading(title, [][2]string{{l.Pick("문서 번호", "Document no."), number}, {l.Pick("발급일", "Issued"), locale.Date(now, loc)}})
	p.parties(l.Pick("공급자", "Supplier"), r.Supplier.Party(l), l.Pick("고객 (공급받는 자)", "Customer"), d.rec.Party)
	invNo := l.Pick("발행 전", "not issued yet")
	if d.inv != nil {
		invNo = d.inv.ID
	}
	p.facts([][2]string{
		{l.Pick("이용 기간", "Period"), d.period()}, {l.Pick("청구월", "Billing month"), locale.Month(l, m)},
		{l.Pick("청구 그룹", "Billing group"), bg.Name}, {l.Pick("회원 ID", "Account"), d.rec.account.Email},
		{l.Pick("통화", "Currency"), d.currency}, {l.Pick("청구서 번호", "Invoice no."), invNo},
	})
	p.section(l.Pick("서비스 이용 내역", "Services used") + unitNote(l, d.currency))
	d.lineTable(p)
	p.totals(d.breakdown())
	notes := []string{
		l.Pick("위와 같이 클라우드 서비스를 이용하였음을 확인합니다. 본 확인서는 서명 날인된 서면 확인서와 동일한 효력을 가집니다.",
			"We confirm that the cloud services above were used in the period stated. This confirmation has the same effect as a written and signed one."),
		l.Pick("부가가치세는 확정 금액의 10%이며 원 미만은 절사합니다. 각 행의 금액은 원 미만을 반올림합니다.",
			"VAT is 10% of the determined amount, rounded down; each line is rounded half-up to the currency's unit."),
	}
	if d.inv == nil {
		notes = append(notes, l.Pick("이 달의 청구서가 아직 발행되지 않아 크레딧과 부가세가 반영되지 않았습니다.",
			"The month's invoice has not been issued yet: credits and VAT are not applied."))
	}
	p.notes(notes)
	p.signature(locale.Date(now, loc), r.Supplier.Party(l))
	return p.bytes()
}

// unitNote says in which unit a table's amounts are.
func unitNote(l locale.Lang, currency string) string {
	if currency == "KRW" {
		return l.Pick(" (단위: 원)", " (KRW)")
	}
	return " (" + currency + ")"
}

// shortID is the last 8 characters of an id, upper-cased, for document
// numbers.
func shortID(id string) string {
	if len(id) > 8 {
		id = id[len(id)-8:]
	}
	b := []byte(id)
	for i, c := range b {
		if c >= 'a' && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}

// deduction writes an amount taken off a total: "-5,000원", and "0원" for
// nothing.
func deduction(l locale.Lang, v int64, currency string) string {
	if v == 0 {
		return locale.Money(l, 0, currency)
	}
	return "-" + locale.Money(l, v, currency)
}
