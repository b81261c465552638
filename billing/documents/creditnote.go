package documents

import (
	"context"

	"github.com/cloudbill/cloudbill/billing/calendar"
	"github.com/cloudbill/cloudbill/billing/creditnotes"
	"github.com/cloudbill/cloudbill/billing/locale"
	"github.com/cloudbill/cloudbill/ent"
)

// DocCreditNote is a credit note's PDF; ref is its id.
const DocCreditNote = "credit-note"

// CreditNotePDF renders a credit note: the invoice it corrects, the
// supply value and VAT it credits, and where its money went back. A
// business customer's note amends the month's tax invoice and says so
// (수정세금계산서, minus amounts).
func (r *Renderer) CreditNotePDF(ctx context.Context, cn *ent.CreditNote, lang locale.Lang) ([]byte, error) {
	rec, err := r.recipient(ctx, cn.OrgID)
	if err != nil {
		return nil, err
	}
	l, loc, cur := language(lang, rec), r.Engine.Policy.Location(), cn.Currency
	n := func(v int64) string { return locale.Number(v, cur) }
	money := func(v int64) string { return locale.Money(l, v, cur) }
	number := creditnotes.CreditNoteNumber(cn)
	title := l.Pick("크레딧 노트 (청구 감액)", "Credit note")
	pg := newPage(l, title, number, cn.IssuedAt)
	pg.heading(title, [][2]string{{l.Pick("문서 번호", "Note no."), number}, {l.Pick("발행일", "Issued"), locale.Date(cn.IssuedAt, loc)}})
	pg.parties(l.Pick("공급자", "Supplier"), r.Supplier.Party(l), l.Pick("고객 (공급받는 자)", "Customer"), rec.Party)
	m, err := calendar.ParseMonth(cn.Month)
	if err != nil {
		return nil, err
	}
	pg.banner(l.Pick("감액 합계", "Total credited"), money(cn.Amount+cn.TaxAmount), l.Pick("부가세 포함", "VAT included"))
	facts := [][2]string{
		{l.Pick("대상 청구서", "Invoice"), cn.InvoiceID}, {l.Pick("청구월", "Billing month"), locale.Month(l, m)},
		{l.Pick("사유", "Reason"), cn.Reason},
	}
	if cn.TaxInvoiceID != "" {
		facts = append(facts, [2]string{l.Pick("수정세금계산서", "Amended tax invoice"),
			l.Pick("원 세금계산서 ", "amends tax invoice ") + cn.TaxInvoiceID + l.Pick(" 의 마이너스(-) 발행", " by minus amounts")})
	}
	pg.facts(facts)
	if len(cn.Lines) > 0 {
		pg.section(l.Pick("감액 내역", "Lines credited") + unitNote(l, cur))
		rows := make([][]string, len(cn.Lines))
		for i, x := range cn.Lines {
			rows[i] = []string{x.Region, x.ServiceCode, n(x.Amount)}
		}
		pg.table([]column{{l.Pick("리전", "Region"), 30, "L"}, {l.Pick("서비스", "Service"), 38, "L"},
			{l.Pick("공급가액", "Supply value"), 30, "R"}}, rows, nil)
	}
	pg.section(l.Pick("금액", "Amounts") + unitNote(l, cur))
	pg.totals([]total{
		{l.Pick("공급가액", "Supply value"), money(cn.Amount), false},
		{l.Pick("부가가치세", "VAT"), money(cn.TaxAmount), false},
		{l.Pick("합계", "Total"), money(cn.Amount + cn.TaxAmount), true},
		{l.Pick("미납 금액에서 차감", "Taken off the amount due"), money(cn.DueAmount), false},
		{l.Pick("결제 수단으로 환불", "Refunded to the payment"), money(cn.RefundAmount), false},
		{l.Pick("코인으로 반환", "Given back as coins"), money(cn.CoinAmount), false},
		{l.Pick("무료 크레딧으로 반환", "Given back to free credits"), money(cn.CreditAmount), false},
	})
	pg.notes([]string{
		l.Pick("환불은 결제에 사용한 수단으로 돌려드리며, 카드사가 환불을 거절하면 같은 금액을 유료 크레딧(5년 유효)으로 적립합니다.",
			"Refunds go back to the method that paid; should the card company refuse one, the amount is granted as a paid credit valid 5 years."),
	})
	return pg.bytes()
}
