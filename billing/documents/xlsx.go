package documents

import (
	"context"
	"fmt"
	"strings"

	"github.com/cloudbill/cloudbill/billing/calendar"
	"github.com/cloudbill/cloudbill/billing/creditnotes"
	"github.com/cloudbill/cloudbill/billing/kernel"
	"github.com/cloudbill/cloudbill/billing/locale"
	"github.com/cloudbill/cloudbill/billing/rated"
	"github.com/cloudbill/cloudbill/ent"
	"github.com/shopspring/decimal"
	"github.com/xuri/excelize/v2"
)

// UsageDetailsXLSX renders the month's fees as a workbook that reconciles:
// every amount is a typed number with a number format, every sheet opens
// with the same header block (organization, billing group, month,
// currency, invoice), and every table's rows add up exactly to its totals
// row, which equals the invoice.
//
//  1. Summary: the invoice as signed entries — each line's used amount, its
//     discount and its credit, VAT, late fees, coins — whose sum is the
//     payment amount (before the invoice is issued: the estimate).
//  2. By service: R-39's lines (used, discount, credit, determined) and
//     their totals.
//  3. Detailed fees: each priced metric with its quantity, unit price and
//     exact amount — flat fees and each channel's base fee included — and
//     per line the rounding to the currency's unit, so the column
//     adds up to the used amount.
func (r *Renderer) UsageDetailsXLSX(ctx context.Context, bg *ent.BillingGroup, m calendar.Month, lang locale.Lang) ([]byte, error) {
	d, err := r.month(ctx, bg, m, lang)
	if err != nil {
		return nil, err
	}
	fees, err := r.Engine.Rated().DetailedFees(ctx, bg, m)
	if err != nil {
		return nil, err
	}
	org, err := r.Engine.Client.Organization.Get(ctx, bg.OrgID)
	if err != nil {
		return nil, err
	}
	w, err := newWorkbook(d, org.Name)
	if err != nil {
		return nil, err
	}
	defer w.f.Close()
	l := d.lang
	sheets := []struct {
		name string
		fill func(string) error
	}{
		{l.Pick("청구 요약", "Summary"), w.summary},
		{l.Pick("서비스별 내역", "By service"), w.byService},
		{l.Pick("상세 요금", "Detailed fees"), func(s string) error { return w.details(s, fees) }},
	}
	for i, s := range sheets {
		if i == 0 {
			if err := w.f.SetSheetName("Sheet1", s.name); err != nil {
				return nil, err
			}
		} else if _, err := w.f.NewSheet(s.name); err != nil {
			return nil, err
		}
		if err := s.fill(s.name); err != nil {
			return nil, err
		}
	}
	buf, err := w.f.WriteToBuffer()
	if err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// workbook writes one month's sheets with shared styles.
type workbook struct {
	f       *excelize.File
	d       *month
	org     string
	digits  int32
	styles  map[string]int
	errs    []error
	row     int // the next row to write on the current sheet
	current string
}

func newWorkbook(d *month, org string) (*workbook, error) {
	digits, _ := kernel.MinorDigits(d.currency)
	w := &workbook{f: excelize.NewFile(), d: d, org: org, digits: digits, styles: map[string]int{}}
	moneyFmt := "#,##0"
	if digits > 0 {
		moneyFmt = "#,##0." + zeros(int(digits))
	}
	border := []excelize.Border{{Type: "left", Color: "B0B7C3", Style: 1}, {Type: "right", Color: "B0B7C3", Style: 1},
		{Type: "top", Color: "B0B7C3", Style: 1}, {Type: "bottom", Color: "B0B7C3", Style: 1}}
	fill := excelize.Fill{Type: "pattern", Color: []string{"EBEFF5"}, Pattern: 1}
	for name, s := range map[string]*excelize.Style{
		"title":   {Font: &excelize.Font{Bold: true, Size: 14}},
		"label":   {Font: &excelize.Font{Bold: true, Color: "555555"}},
		"head":    {Font: &excelize.Font{Bold: true}, Fill: fill, Border: border, Alignment: &excelize.Alignment{Horizontal: "center"}},
		"text":    {Border: border},
		"money":   {Border: border, CustomNumFmt: &moneyFmt},
		"exact":   {Border: border, CustomNumFmt: ptrTo("#,##0.00####")},
		"totText": {Font: &excelize.Font{Bold: true}, Fill: fill, Border: border},
		"total":   {Font: &excelize.Font{Bold: true}, Fill: fill, Border: border, CustomNumFmt: &moneyFmt},
		"factNum": {CustomNumFmt: &moneyFmt, Alignment: &excelize.Alignment{Horizontal: "left"}},
	} {
		id, err := w.f.NewStyle(s)
		if err != nil {
			return nil, err
		}
		w.styles[name] = id
	}
	return w, nil
}

func ptrTo(s string) *string { return &s }

func zeros(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = '0'
	}
	return string(b)
}

// cell names column col (1-based) of the current row.
func (w *workbook) cell(col int) string {
	c, _ := excelize.CoordinatesToCellName(col, w.row)
	return c
}

func (w *workbook) check(err error) {
	if err != nil {
		w.errs = append(w.errs, err)
	}
}

// put writes v into column col of the current row with a style.
func (w *workbook) put(col int, v any, style string) {
	c := w.cell(col)
	w.check(w.f.SetCellValue(w.current, c, v))
	if style != "" {
		w.check(w.f.SetCellStyle(w.current, c, c, w.styles[style]))
	}
}

// money writes minor units as a number in major units (105600 KRW →
// 105600; 12345 USD → 123.45), exactly.
func (w *workbook) money(col int, minor int64, style string) {
	c := w.cell(col)
	if w.digits == 0 {
		w.check(w.f.SetCellInt(w.current, c, minor))
	} else {
		v, _ := decimal.New(minor, -w.digits).Float64()
		w.check(w.f.SetCellFloat(w.current, c, v, int(w.digits), 64))
	}
	w.check(w.f.SetCellStyle(w.current, c, c, w.styles[style]))
}

// exact writes a decimal amount rounded to 6 places (what a spreadsheet's
// 15 significant digits keep exactly).
func (w *workbook) exact(col int, v decimal.Decimal) {
	c := w.cell(col)
	f, _ := v.Round(6).Float64()
	w.check(w.f.SetCellFloat(w.current, c, f, -1, 64))
	w.check(w.f.SetCellStyle(w.current, c, c, w.styles["exact"]))
}

// begin starts a sheet: the title and the header block every sheet shares.
func (w *workbook) begin(sheet, title string, widths []float64) {
	w.current, w.row = sheet, 1
	for i, width := range widths {
		col, _ := excelize.ColumnNumberToName(i + 1)
		w.check(w.f.SetColWidth(sheet, col, col, width))
	}
	d, l := w.d, w.d.lang
	w.put(1, title, "title")
	w.row += 2
	invNo, status := l.Pick("발행 전", "not issued yet"), l.Pick("예상 (청구서 발행 전)", "Estimate (before the invoice)")
	if d.inv != nil {
		invNo, status = d.inv.ID, locale.Enum(l, "invoice", string(d.inv.Status))
	}
	for _, f := range [][2]string{
		{l.Pick("조직", "Organization"), w.org},
		{l.Pick("청구 대상", "Billed to"), d.rec.Name},
		{l.Pick("청구 그룹", "Billing group"), d.bg.Name + " (" + d.bg.ID + ")"},
		{l.Pick("청구월", "Billing month"), d.m.String()},
		{l.Pick("이용 기간", "Period"), d.period()},
		{l.Pick("통화", "Currency"), d.currency},
		{l.Pick("청구서 번호", "Invoice no."), invNo},
		{l.Pick("상태", "Status"), status},
	} {
		w.put(1, f[0], "label")
		w.put(2, f[1], "")
		w.row++
	}
	w.row++
}

// header writes a table's header row.
func (w *workbook) header(titles ...string) {
	for i, t := range titles {
		w.put(i+1, t, "head")
	}
	w.row++
}

// summary is the invoice as signed entries that add up to the payment
// amount.
func (w *workbook) summary(sheet string) error {
	d, l := w.d, w.d.lang
	w.begin(sheet, l.Pick("청구 요약", "Statement"), []float64{24, 26, 30, 18})
	w.header(l.Pick("구분", "Entry"), l.Pick("리전", "Region"), l.Pick("서비스", "Service"), l.Pick("금액", "Amount"))
	entry := func(kind, region, service string, amount int64) {
		w.put(1, kind, "text")
		w.put(2, region, "text")
		w.put(3, service, "text")
		w.money(4, amount, "money")
		w.row++
	}
	var total int64
	for _, x := range d.lines {
		entry(l.Pick("이용 금액", "Used"), d.region(x.Region), x.Service, x.Used)
		total += x.Used
	}
	for _, x := range d.lines {
		if x.Discount != 0 {
			entry(l.Pick("할인", "Discount"), d.region(x.Region), x.Service, -x.Discount)
			total -= x.Discount
		}
	}
	for _, x := range d.lines {
		if x.Credit != 0 {
			entry(l.Pick("크레딧", "Credit"), d.region(x.Region), x.Service, -x.Credit)
			total -= x.Credit
		}
	}
	label := l.Pick("예상 금액 (크레딧·부가세 반영 전)", "Estimate (before credits and VAT)")
	if inv := d.inv; inv != nil {
		for _, e := range []struct {
			label  string
			amount int64
		}{
			{l.Pick("부가가치세 (10%)", "VAT (10%)"), inv.TaxAmount},
			{l.Pick("연체료", "Late fees"), inv.LateFeeAmount},
			{l.Pick("코인 사용", "Coins applied"), -inv.CoinAmount},
		} {
			if e.amount != 0 {
				entry(e.label, "", "", e.amount)
				total += e.amount
			}
		}
		if total != kernel.PaymentAmount(inv) {
			return fmt.Errorf("invoice %s: its entries add up to %d, its payment amount is %d", inv.ID, total, kernel.PaymentAmount(inv))
		}
		label = l.Pick("결제 금액 (합계)", "Payment amount (total)")
	}
	w.put(1, label, "totText")
	w.put(2, "", "totText")
	w.put(3, "", "totText")
	w.money(4, total, "total")
	w.row += 2
	if inv := d.inv; inv != nil {
		for _, f := range []struct {
			label  string
			amount int64
		}{
			{l.Pick("확정 금액 (공급가액)", "Determined amount (supply value)"), inv.DeterminedAmount},
			{l.Pick("부가가치세", "VAT"), inv.TaxAmount},
			{l.Pick("납부한 금액", "Paid"), inv.PaidAmount},
			{l.Pick("미납 금액", "Amount due"), kernel.AmountDue(inv)},
		} {
			w.put(1, f.label, "label")
			w.money(2, f.amount, "factNum")
			w.row++
		}
		// Credit notes: each with its supply value, VAT and total, as
		// minus amounts.
		for _, cn := range d.notes {
			w.put(1, l.Pick("크레딧 노트 ", "Credit note ")+creditnotes.CreditNoteNumber(cn)+" · "+cn.Reason, "label")
			w.money(2, -cn.Amount, "factNum")
			w.money(3, -cn.TaxAmount, "factNum")
			w.money(4, -(cn.Amount + cn.TaxAmount), "factNum")
			w.row++
		}
	}
	return firstErr(w.errs)
}

// byService is R-39's lines and their totals.
func (w *workbook) byService(sheet string) error {
	d, l := w.d, w.d.lang
	w.begin(sheet, l.Pick("서비스별 청구 내역", "Charges by service"), []float64{24, 26, 16, 14, 14, 16})
	w.header(l.Pick("리전", "Region"), l.Pick("서비스", "Service"), l.Pick("이용 금액", "Used"),
		l.Pick("할인", "Discount"), l.Pick("크레딧", "Credit"), l.Pick("확정 금액", "Determined"))
	var sum [4]int64
	for _, x := range d.lines {
		w.put(1, d.region(x.Region), "text")
		w.put(2, x.Service, "text")
		for i, v := range []int64{x.Used, x.Discount, x.Credit, x.Determined} {
			w.money(3+i, v, "money")
			sum[i] += v
		}
		w.row++
	}
	if inv := d.inv; inv != nil && sum != [4]int64{inv.UsageAmount, inv.DiscountAmount, inv.CreditAmount, inv.DeterminedAmount} {
		return fmt.Errorf("invoice %s: its lines add up to %v, its totals differ", inv.ID, sum)
	}
	w.put(1, l.Pick("합계", "Total"), "totText")
	w.put(2, "", "totText")
	for i, v := range sum {
		w.money(3+i, v, "total")
	}
	return firstErr(w.errs)
}

// details lists each priced metric, and per line the rounding that makes
// its exact amounts the line's used amount (R-39: each line is rounded
// half-up once).
func (w *workbook) details(sheet string, fees []rated.FeeDetail) error {
	d, l := w.d, w.d.lang
	w.begin(sheet, l.Pick("상세 요금", "Detailed fees"), []float64{24, 26, 18, 26, 14, 16, 14, 18})
	w.header(l.Pick("리전", "Region"), l.Pick("서비스", "Service"), l.Pick("채널", "Channel"), l.Pick("항목", "Metric"),
		l.Pick("요금제", "Pricing"), l.Pick("사용량", "Quantity"), l.Pick("단가", "Unit price"), l.Pick("금액", "Amount"))
	type key struct{ region, service string }
	used := map[key]int64{}
	for _, x := range d.lines {
		used[key{x.Region, x.Service}] += x.Used
	}
	exact := map[key]decimal.Decimal{}
	for i, f := range fees {
		k := key{f.Region, f.ServiceName}
		amt := f.Amount.Round(6)
		exact[k] = exact[k].Add(amt)
		w.put(1, d.region(f.Region), "text")
		w.put(2, f.ServiceName, "text")
		w.put(3, f.Channel, "text")
		w.put(4, metric(l, f.Metric), "text")
		w.put(5, locale.Enum(l, "pricing", f.Model), "text")
		w.exact(6, f.Quantity)
		w.exact(7, f.UnitPrice)
		w.exact(8, amt)
		w.row++
		if i+1 == len(fees) || fees[i+1].Region != f.Region || fees[i+1].ServiceName != f.ServiceName {
			w.rounding(k.region, k.service, used[k], exact[k])
		}
	}
	// Lines without a priced metric (none in a consistent month) still
	// reconcile: their whole amount shows as its own row.
	var total int64
	for _, x := range d.lines {
		total += x.Used
		if _, ok := exact[key{x.Region, x.Service}]; !ok {
			w.rounding(x.Region, x.Service, x.Used, decimal.Zero)
		}
	}
	w.put(1, l.Pick("합계 (이용 금액)", "Total (used amount)"), "totText")
	for c := 2; c <= 7; c++ {
		w.put(c, "", "totText")
	}
	w.money(8, total, "total")
	return firstErr(w.errs)
}

// rounding writes the row that takes a line's exact amount to its used
// amount, when they differ.
func (w *workbook) rounding(region, service string, used int64, exact decimal.Decimal) {
	diff := decimal.New(used, -w.digits).Sub(exact)
	if diff.IsZero() {
		return
	}
	l := w.d.lang
	w.put(1, w.d.region(region), "text")
	w.put(2, service, "text")
	w.put(3, "", "text")
	w.put(4, l.Pick("원 단위 반올림", "Rounding to the currency's unit"), "text")
	if w.d.currency != "KRW" {
		w.put(4, l.Pick("통화 단위 반올림", "Rounding to the currency's unit"), "text")
	}
	w.put(5, "", "text")
	w.put(6, "", "text")
	w.put(7, "", "text")
	w.exact(8, diff)
	w.row++
}

// metric is a metric's name for people: flat fees keep their days.
func metric(l locale.Lang, m string) string {
	for _, r := range [][3]string{
		{"server-hour", "서버 이용 시간", "server hours"}, {"api-call", "API 호출", "API calls"},
		{"gb-month", "GB·월", "GB-months"}, {"disk-gb", "디스크 (GB)", "disk (GB)"},
		{"base", "기본료", "base fee"}, {"month", "월 정액", "monthly fee"},
	} {
		if m == r[0] {
			return l.Pick(r[1], r[2])
		}
		if rest, ok := strings.CutPrefix(m, r[0]+" ("); ok {
			return l.Pick(r[1], r[2]) + " (" + days(l, rest)
		}
	}
	return m
}

// days rewrites "17/31 days)" for Korean readers: "17/31일)".
func days(l locale.Lang, s string) string {
	if l == locale.KO {
		if n, ok := strings.CutSuffix(s, " days)"); ok {
			return n + "일)"
		}
	}
	return s
}

func firstErr(errs []error) error {
	if len(errs) > 0 {
		return errs[0]
	}
	return nil
}
