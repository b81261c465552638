package documents

import (
	"context"
	"time"

	"github.com/cloudbill/cloudbill/billing/calendar"
	"github.com/cloudbill/cloudbill/billing/kernel"
	"github.com/cloudbill/cloudbill/billing/locale"
	"github.com/cloudbill/cloudbill/ent"
	"github.com/cloudbill/cloudbill/ent/paymentmethod"
)

// InvoicePDF renders the month's invoice: its lines, its totals,
// when and how it is paid. An invoice not issued yet is ErrNotFound.
func (r *Renderer) InvoicePDF(ctx context.Context, bg *ent.BillingGroup, m calendar.Month, lang locale.Lang) ([]byte, error) {
	d, err := r.month(ctx, bg, m, lang)
	if err != nil {
		return nil, err
	}
	if d.inv == nil {
		return nil, ErrNotFound
	}
	inv, l, loc := d.inv, d.lang, r.Engine.Policy.Location()
	title := l.Pick("청구서", "Invoice")
	p := newPage(l, title, inv.ID, inv.IssuedAt)
	p.heading(title, [][2]string{{l.Pick("청구서 번호", "Invoice no."), inv.ID}, {l.Pick("발행일", "Issued"), locale.Date(inv.IssuedAt, loc)}})
	p.parties(l.Pick("공급자", "Supplier"), r.Supplier.Party(l), l.Pick("고객 (공급받는 자)", "Customer"), d.rec.Party)
	deposit := d.rec.method != nil && d.rec.method.Type == paymentmethod.TypeDIRECT_DEPOSIT
	method := l.Pick("등록된 결제 수단 없음", "no payment method on file")
	if d.rec.method != nil {
		method = locale.Enum(l, "method", string(d.rec.method.Type)) + " · " + printable(locale.Method(l, kernel.Label(d.rec.method)))
	}
	due := r.dueText(l, m, deposit)
	dueNote := l.Pick("부가세 포함 · 납부 기한 ", "VAT included · due ") + due
	if kernel.AmountDue(inv) == 0 && inv.PaidAmount > 0 {
		dueNote = l.Pick("부가세 포함 · 납부 완료", "VAT included · paid")
	}
	p.banner(l.Pick("청구 금액", "Amount billed"), locale.Money(l, kernel.PaymentAmount(inv), d.currency), dueNote)
	p.facts([][2]string{
		{l.Pick("청구월", "Billing month"), locale.Month(l, m)}, {l.Pick("이용 기간", "Period"), d.period()},
		{l.Pick("청구 그룹", "Billing group"), bg.Name}, {l.Pick("회원 ID", "Account"), d.rec.account.Email},
		{l.Pick("납부 기한", "Due"), due}, {l.Pick("상태", "Status"), locale.Enum(l, "invoice", string(inv.Status))},
		{l.Pick("결제 수단", "Payment method"), method},
	})
	p.section(l.Pick("청구 내역", "Charges") + unitNote(l, d.currency))
	d.lineTable(p)
	p.totals(d.breakdown())
	if deposit {
		va := VirtualAccountOf(d.rec.method)
		p.section(l.Pick("입금 계좌 (가상계좌)", "Pay into (virtual account)"))
		p.facts([][2]string{
			{l.Pick("은행", "Bank"), locale.Bank(l, va.BankCode)}, {l.Pick("계좌번호", "Account no."), va.Number},
			{l.Pick("예금주", "Holder"), va.Holder}, {l.Pick("입금 기한", "Deposit by"), r.dueText(l, m, true)},
		})
	}
	pol := r.Engine.Policy
	p.notes([]string{
		l.Pick("자동 결제는 매월 "+itoa(pol.RegularPaymentFirstDay)+"일부터 "+itoa(pol.RegularPaymentLastDay)+"일까지 결제될 때까지 매일 시도합니다. 코인이 있으면 결제 수단보다 먼저 사용됩니다.",
			"Automatic payment is attempted every day from the "+itoa(pol.RegularPaymentFirstDay)+ordinal(pol.RegularPaymentFirstDay)+" to the "+
				itoa(pol.RegularPaymentLastDay)+ordinal(pol.RegularPaymentLastDay)+" until it succeeds; coins pay before any payment method."),
		l.Pick("납부 기한까지 결제되지 않은 금액은 미납이 되며, 미납 금액(부가세 포함)에는 매월 1.5%의 연체료가 부과되고 서비스 이용이 제한될 수 있습니다.",
			"An amount unpaid by the due date becomes outstanding: each month it is carried costs a late fee of 1.5% of it (VAT included), and services may be suspended."),
		l.Pick("사업자 고객의 세금계산서는 이용월 종료 후 3영업일에 발행됩니다.",
			"Business customers receive their tax invoice on the third business day after the month."),
	})
	return p.bytes()
}

// dueText is when month m's invoice must be paid: the last day of the
// regular payment days, or for direct deposit the time on the month's last
// day when it turns outstanding.
func (r *Renderer) dueText(l locale.Lang, m calendar.Month, deposit bool) string {
	loc := r.Engine.Policy.Location()
	due := r.Engine.Policy.OutstandingFrom(m, deposit)
	if deposit {
		return locale.DateTime(due, loc)
	}
	return locale.Date(due.Add(-time.Nanosecond), loc)
}

func ordinal(n int) string {
	switch n % 10 {
	case 1:
		if n != 11 {
			return "st"
		}
	case 2:
		if n != 12 {
			return "nd"
		}
	case 3:
		if n != 13 {
			return "rd"
		}
	}
	return "th"
}

// VirtualAccount is where a direct-deposit customer deposits.
type VirtualAccount struct {
	BankCode, Number, Holder string
}

// VirtualAccountOf reads a direct-deposit method's virtual account; older
// methods kept the number in holder_name.
func VirtualAccountOf(m *ent.PaymentMethod) VirtualAccount {
	if m.AccountNumber == "" {
		return VirtualAccount{BankCode: m.BankCode, Number: m.HolderName}
	}
	return VirtualAccount{BankCode: m.BankCode, Number: m.AccountNumber, Holder: m.HolderName}
}
