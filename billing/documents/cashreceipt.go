package documents

import (
	"context"

	"github.com/cloudbill/cloudbill/billing/locale"
	"github.com/cloudbill/cloudbill/ent"
	"github.com/cloudbill/cloudbill/ent/issuedcashreceipt"
)

// DocCashReceipt is a cash receipt confirmation; ref is the payment id.
const DocCashReceipt = "cash-receipt"

// CashReceiptPDF renders the confirmation of the cash receipt issued for
// payment p: the issuer, the purpose (income deduction or expense
// proof), the masked identifier it was issued to, the transaction's date,
// supply value, VAT and total. A payment without a cash receipt has none
// (ErrNotFound).
func (r *Renderer) CashReceiptPDF(ctx context.Context, p *ent.Payment, lang locale.Lang) ([]byte, error) {
	c, err := r.Engine.Client.IssuedCashReceipt.Query().Where(issuedcashreceipt.PaymentID(p.ID)).Only(ctx)
	if ent.IsNotFound(err) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	rec, err := r.recipient(ctx, p.OrgID)
	if err != nil {
		return nil, err
	}
	l, loc := language(lang, rec), r.Engine.Policy.Location()
	money := func(v int64) string { return locale.Money(l, v, c.Currency) }
	title := l.Pick("현금영수증 발급 확인서", "Cash receipt confirmation")
	kind := l.Pick("승인 거래", "Approval")
	facts := [][2]string{}
	if c.Kind == "CANCELLATION" { // a refund: the approval it cancels
		title, kind = l.Pick("현금영수증 취소 확인서", "Cash receipt cancellation"), l.Pick("취소 거래", "Cancellation")
		facts = append(facts, [2]string{l.Pick("원 승인 번호", "Cancels receipt no."), c.OriginalID})
	}
	pg := newPage(l, title, c.ID, c.IssuedAt)
	pg.heading(title, [][2]string{{l.Pick("승인 번호", "Receipt no."), c.ID}, {l.Pick("발급일", "Issued on"), locale.Date(c.IssuedAt, loc)}})
	pg.parties(l.Pick("가맹점(발행자)", "Issuer"), r.Supplier.Party(l), l.Pick("고객", "Customer"), rec.Party)
	pg.banner(l.Pick("거래 금액", "Amount"), money(c.SupplyAmount+c.TaxAmount),
		l.Pick("거래 일시 ", "Transaction ")+locale.DateTime(c.IssuedAt, loc))
	pg.facts(append([][2]string{
		{l.Pick("용도", "Purpose"), locale.Enum(l, "cash", c.Type)}, {l.Pick("발급 번호", "Issued to"), printable(c.Identifier)},
		{l.Pick("거래 구분", "Transaction"), kind}, {l.Pick("결제 수단", "Method"), printable(locale.Method(l, p.MethodLabel))},
		{l.Pick("영수증 번호", "Payment receipt"), p.ReceiptID},
	}, facts...))
	pg.totals([]total{
		{l.Pick("공급가액", "Supply value"), money(c.SupplyAmount), false},
		{l.Pick("부가세", "VAT"), money(c.TaxAmount), false},
		{l.Pick("합계", "Total"), money(c.SupplyAmount + c.TaxAmount), true},
	})
	note := l.Pick("현금영수증은 결제와 함께 발급되어 국세청에 신고됩니다. 이 확인서는 발급 사실을 확인하는 문서이며, 발급 내역은 국세청 홈택스에서도 조회할 수 있습니다.",
		"The cash receipt was issued with the payment and is reported to the National Tax Service; this confirms it was issued. It can also be looked up on the NTS Hometax site.")
	if c.Kind == "CANCELLATION" {
		note = l.Pick("환불된 금액의 현금영수증은 환불과 함께 취소되어 국세청에 신고됩니다. 취소 내역은 국세청 홈택스에서도 조회할 수 있습니다.",
			"The cash receipt of the refunded amount was cancelled with the refund and the cancellation reported to the National Tax Service. It can also be looked up on the NTS Hometax site.")
	}
	pg.notes([]string{note})
	return pg.bytes()
}
