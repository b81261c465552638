package notify

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"strings"
	"text/template"
	"time"

	"github.com/cloudbill/cloudbill/billing/topics"

	"github.com/cloudbill/cloudbill/billing/calendar"
	"github.com/cloudbill/cloudbill/billing/kernel"
	"github.com/cloudbill/cloudbill/billing/locale"
	"github.com/shopspring/decimal"
	"golang.org/x/text/encoding/korean"
)

// Message is a notice written for a person: an email's subject, its plain
// text and HTML bodies, and the SMS text.
type Message struct {
	ID      string // the outbox event's id: the email's Message-ID
	Subject string
	Text    string
	HTML    string
	SMS     string
}

// A notice's wording, per topic and language. Subject, Text and SMS
// are text/templates over the event's payload; the HTML body is the text's
// paragraphs in one layout, so the two bodies never say different things.
// Amounts arrive formatted in major units (kernel.FormatMinor) with their
// currency; dates as YYYY-MM-DD in the billing zone.
type wording struct{ Subject, Text, SMS string }

var wordings = map[string]map[string]wording{
	topics.InvoiceIssued: {
		"KO": {
			Subject: `[cloudbill] {{month .month}} 청구서가 발행되었습니다 ({{money .amountDue .currency}})`,
			Text: `{{month .month}} 이용 요금 청구서가 발행되었습니다.

청구 그룹: {{.billingGroupName}}
청구 금액: {{money .amountDue .currency}}
결제 기간: {{date .paymentFrom}} ~ {{date .dueDate}}
청구서 번호: {{.invoiceId}}

등록된 결제 수단으로 결제 기간에 자동 결제됩니다. 납부 기한까지 결제되지 않으면 미납으로 전환되고 연체료가 부과될 수 있습니다.`,
			SMS: `[cloudbill] {{monthShort .month}} 청구 {{money .amountDue .currency}}, 납부기한 {{dateShort .dueDate}}`,
		},
		"EN": {
			Subject: `[cloudbill] Your invoice for {{month .month}} is ready ({{money .amountDue .currency}})`,
			Text: `Your invoice for {{month .month}} has been issued.

Billing group: {{.billingGroupName}}
Amount due: {{money .amountDue .currency}}
Payment period: {{date .paymentFrom}} to {{date .dueDate}}
Invoice: {{.invoiceId}}

Your registered payment method is charged automatically during the payment period. If it is still unpaid after the due date the invoice becomes outstanding and late fees may apply.`,
			SMS: `[cloudbill] {{monthShort .month}} invoice {{money .amountDue .currency}}, due {{dateShort .dueDate}}`,
		},
	},
	topics.InvoiceOutstanding: {
		"KO": {
			Subject: `[cloudbill] {{month .month}} 요금이 미납되었습니다 ({{money .amountDue .currency}})`,
			Text: `{{month .month}} 청구서가 납부 기한까지 결제되지 않아 미납 상태가 되었습니다.

미납 금액: {{money .amountDue .currency}}
청구서 번호: {{.invoiceId}}

{{date .lateFeeFrom}}부터 미납 금액의 {{percent .lateFeeRate}}가 매월 연체료로 부과됩니다. 미납이 계속되면 서비스 이용이 정지될 수 있습니다. 콘솔에서 즉시 결제해 주세요.`,
			SMS: `[cloudbill] {{monthShort .month}} 미납 {{money .amountDue .currency}}, {{dateShort .lateFeeFrom}}부터 연체료`,
		},
		"EN": {
			Subject: `[cloudbill] Your {{month .month}} invoice is overdue ({{money .amountDue .currency}})`,
			Text: `Your invoice for {{month .month}} was not paid by its due date and is now outstanding.

Amount outstanding: {{money .amountDue .currency}}
Invoice: {{.invoiceId}}

From {{date .lateFeeFrom}} a late fee of {{percent .lateFeeRate}} of the unpaid amount is added each month. If it stays unpaid, your services may be suspended. Please pay now in the console.`,
			SMS: `[cloudbill] {{monthShort .month}} overdue {{money .amountDue .currency}}; late fee from {{dateShort .lateFeeFrom}}`,
		},
	},
	topics.LateFee: {
		"KO": {
			Subject: `[cloudbill] {{month .month}} 미납 요금에 연체료가 부과되었습니다`,
			Text: `{{month .month}} 미납 요금에 연체료가 부과되었습니다.

미납 원금: {{money .unpaid .currency}}
이번 연체료: {{money .lateFee .currency}}
현재 납부하실 금액: {{money .amountDue .currency}}
청구서 번호: {{.invoiceId}}

연체료는 원금에만 부과되며 복리로 계산되지 않습니다.`,
			SMS: `[cloudbill] 연체료 {{money .lateFee .currency}} 부과, 납부액 {{money .amountDue .currency}}`,
		},
		"EN": {
			Subject: `[cloudbill] A late fee was added to your {{month .month}} invoice`,
			Text: `A late fee was added to your unpaid invoice for {{month .month}}.

Unpaid amount: {{money .unpaid .currency}}
Late fee this month: {{money .lateFee .currency}}
Now due: {{money .amountDue .currency}}
Invoice: {{.invoiceId}}

Late fees are charged on the unpaid amount only, never on earlier fees.`,
			SMS: `[cloudbill] Late fee {{money .lateFee .currency}}; now due {{money .amountDue .currency}}`,
		},
	},
	topics.CreditNoteIssued: {
		"KO": {
			Subject: `[cloudbill] {{month .month}} 청구서가 {{money .totalAmount .currency}} 감액되었습니다`,
			Text: `{{month .month}} 청구서에 크레딧 노트(청구 감액)가 발행되었습니다.

크레딧 노트 번호: {{.number}}
청구 그룹: {{.billingGroupName}}
감액 공급가액: {{money .amount .currency}}
부가가치세: {{money .taxAmount .currency}}
감액 합계: {{money .totalAmount .currency}}
사유: {{.reason}}

미납 금액에서 차감: {{money .dueAmount .currency}}
결제 수단으로 환불: {{money .refundAmount .currency}}
코인으로 반환: {{money .coinAmount .currency}}
무료 크레딧으로 반환: {{money .creditAmount .currency}}
청구서 번호: {{.invoiceId}}{{if .amendsTaxInvoice}}
사업자 고객님께는 원 세금계산서의 수정세금계산서(공급가액 변동, 마이너스 발행)로 처리됩니다.{{end}}

환불은 결제에 사용한 수단으로 돌려드리며, 카드사가 환불을 거절하면 같은 금액을 유료 크레딧으로 적립합니다. 크레딧 노트 PDF는 콘솔의 청구서 화면에서 받을 수 있습니다.`,
			SMS: `[cloudbill] {{monthShort .month}} 청구 {{money .totalAmount .currency}} 감액`,
		},
		"EN": {
			Subject: `[cloudbill] Your {{month .month}} invoice was credited {{money .totalAmount .currency}}`,
			Text: `A credit note was issued on your invoice for {{month .month}}.

Credit note: {{.number}}
Billing group: {{.billingGroupName}}
Supply value credited: {{money .amount .currency}}
VAT: {{money .taxAmount .currency}}
Total credited: {{money .totalAmount .currency}}
Reason: {{.reason}}

Taken off the amount due: {{money .dueAmount .currency}}
Refunded to your payment method: {{money .refundAmount .currency}}
Given back as coins: {{money .coinAmount .currency}}
Given back to free credits: {{money .creditAmount .currency}}
Invoice: {{.invoiceId}}{{if .amendsTaxInvoice}}
For a business customer it amends the month's tax invoice (a change of supply value, by minus amounts).{{end}}

Refunds go back to the method that paid; should the card company refuse one, the amount is granted as a paid credit. The credit note's PDF is on the invoice in the console.`,
			SMS: `[cloudbill] {{monthShort .month}} invoice credited {{money .totalAmount .currency}}`,
		},
	},
	topics.InvoiceVoided: {
		"KO": {
			Subject: `[cloudbill] {{month .month}} 청구서가 취소되었습니다`,
			Text: `{{month .month}} 청구서가 취소(무효) 처리되었습니다. 이 청구서는 결제하지 않으셔도 됩니다.

청구 그룹: {{.billingGroupName}}
취소된 청구서 번호: {{.invoiceId}}
취소된 청구 금액: {{money .amountDue .currency}}
사유: {{.reason}}

이 청구서에 사용된 무료 크레딧은 복원되었습니다. 정정된 청구서가 새 번호로 다시 발행되면 따로 안내해 드립니다.`,
			SMS: `[cloudbill] {{monthShort .month}} 청구서 취소, 결제 불필요`,
		},
		"EN": {
			Subject: `[cloudbill] Your invoice for {{month .month}} was voided`,
			Text: `Your invoice for {{month .month}} was voided. You need not pay it.

Billing group: {{.billingGroupName}}
Voided invoice: {{.invoiceId}}
Amount it asked: {{money .amountDue .currency}}
Reason: {{.reason}}

The free credits it used have been restored. When the corrected invoice is issued under a new number, we will tell you.`,
			SMS: `[cloudbill] {{monthShort .month}} invoice voided; nothing to pay`,
		},
	},
	topics.PaymentSucceeded: {
		"KO": {
			Subject: `[cloudbill] {{money .amount .currency}} 결제가 완료되었습니다`,
			Text: `결제가 완료되었습니다.

결제 금액: {{money .amount .currency}}
결제 번호: {{.paymentId}}{{if .receiptId}}
영수증 번호: {{.receiptId}}{{end}}

영수증은 콘솔의 결제 내역에서 확인할 수 있습니다.`,
			SMS: `[cloudbill] {{money .amount .currency}} 결제 완료`,
		},
		"EN": {
			Subject: `[cloudbill] Payment of {{money .amount .currency}} received`,
			Text: `We received your payment.

Amount: {{money .amount .currency}}
Payment: {{.paymentId}}{{if .receiptId}}
Receipt: {{.receiptId}}{{end}}

The receipt is in the console's payment history.`,
			SMS: `[cloudbill] Payment of {{money .amount .currency}} received`,
		},
	},
	topics.PaymentFailed: {
		"KO": {
			Subject: `[cloudbill] {{money .amount .currency}} 결제에 실패했습니다`,
			Text: `결제에 실패했습니다.

결제 금액: {{money .amount .currency}}
실패 사유: {{or .reason "결제사가 승인하지 않았습니다"}}
결제 번호: {{.paymentId}}
{{if .nextAttempt}}
{{date .nextAttempt}}에 등록된 결제 수단으로 다시 결제를 시도합니다. 결제 수단을 확인해 주세요.{{else}}
콘솔에서 결제 수단을 확인하고 즉시 결제해 주세요.{{end}}`,
			SMS: `[cloudbill] {{money .amount .currency}} 결제 실패{{if .nextAttempt}}, {{dateShort .nextAttempt}} 재시도{{end}}`,
		},
		"EN": {
			Subject: `[cloudbill] Payment of {{money .amount .currency}} failed`,
			Text: `Your payment failed.

Amount: {{money .amount .currency}}
Reason: {{or .reason "declined by the payment provider"}}
Payment: {{.paymentId}}
{{if .nextAttempt}}
We will try your registered payment method again on {{date .nextAttempt}}. Please check it.{{else}}
Please check your payment method and pay now in the console.{{end}}`,
			SMS: `[cloudbill] Payment of {{money .amount .currency}} failed{{if .nextAttempt}}; retry {{dateShort .nextAttempt}}{{end}}`,
		},
	},
	topics.CoinsCharged: {
		"KO": {
			Subject: `[cloudbill] 코인 {{money .amount .currency}} 충전이 완료되었습니다`,
			Text: `코인 충전이 완료되었습니다.

충전 금액: {{money .amount .currency}}
결제 번호: {{.paymentId}}

충전한 코인은 다음 청구서부터 먼저 사용됩니다.`,
			SMS: `[cloudbill] 코인 {{money .amount .currency}} 충전 완료`,
		},
		"EN": {
			Subject: `[cloudbill] {{money .amount .currency}} of coins added`,
			Text: `Your coins were charged.

Amount: {{money .amount .currency}}
Payment: {{.paymentId}}

Coins pay your next invoices first.`,
			SMS: `[cloudbill] {{money .amount .currency}} of coins added`,
		},
	},
	topics.CreditExpiring: {
		"KO": {
			Subject: `[cloudbill] 크레딧 {{money .remaining .currency}}이 {{date .lastDay}}에 만료됩니다`,
			Text: `보유하신 크레딧이 곧 만료됩니다.

크레딧: {{.creditName}}
남은 금액: {{money .remaining .currency}}
사용 가능 기간: {{date .lastDay}}까지

만료된 크레딧은 복구되지 않습니다.`,
			SMS: `[cloudbill] 크레딧 {{money .remaining .currency}} {{dateShort .lastDay}} 만료`,
		},
		"EN": {
			Subject: `[cloudbill] Credit of {{money .remaining .currency}} expires on {{date .lastDay}}`,
			Text: `One of your credits expires soon.

Credit: {{.creditName}}
Remaining: {{money .remaining .currency}}
Usable through: {{date .lastDay}}

An expired credit cannot be restored.`,
			SMS: `[cloudbill] Credit {{money .remaining .currency}} expires {{dateShort .lastDay}}`,
		},
	},
	topics.MemberInvited: {
		"KO": {
			Subject: `[cloudbill] {{.organization}} 조직에 초대되었습니다`,
			Text: `{{.invitedBy}} 님이 {{.organization}} 조직의 멤버로 초대했습니다.

초대 토큰: {{.token}}
유효 기간: {{instant .expiresAt}}까지

cloudbill에 로그인한 뒤 이 토큰으로 초대를 수락하세요 (acceptInvitation). 초대를 요청하지 않았다면 이 메일을 무시하세요.`,
			SMS: `[cloudbill] {{.organization}} 조직 초대`,
		},
		"EN": {
			Subject: `[cloudbill] You are invited to {{.organization}}`,
			Text: `{{.invitedBy}} invited you to join {{.organization}} as a member.

Invitation token: {{.token}}
Valid until: {{instant .expiresAt}}

Sign in to cloudbill and accept the invitation with this token (acceptInvitation). If you did not expect it, ignore this email.`,
			SMS: `[cloudbill] Invitation to {{.organization}}`,
		},
	},
	topics.PhoneVerification: {
		"KO": {
			Subject: `[cloudbill] 휴대폰 인증번호`,
			Text:    `cloudbill 인증번호는 {{.code}}입니다. {{.minutes}}분 안에 입력하세요.`,
			SMS:     `[cloudbill] 인증번호 {{.code}} ({{.minutes}}분 안에 입력)`,
		},
		"EN": {
			Subject: `[cloudbill] Your verification code`,
			Text:    `Your cloudbill verification code is {{.code}}. Enter it within {{.minutes}} minutes.`,
			SMS:     `[cloudbill] Code {{.code}} (valid {{.minutes}} min)`,
		},
	},
	topics.BudgetThresholdCrossed: {
		"KO": {
			Subject: `[cloudbill] {{.billingGroupName}} 예산 {{.threshold}}% 도달`,
			Text: `{{.billingGroupName}}의 {{month .month}} 사용 금액이 예산 "{{.alertName}}"의 {{.threshold}}%를 넘었습니다.

예산: {{money .budgetAmount .currency}}
현재 사용 금액: {{money .spentAmount .currency}}
월말 예상 금액: {{money .forecastAmount .currency}}`,
			SMS: `[cloudbill] 예산 {{.threshold}}% 도달: {{money .spentAmount .currency}}`,
		},
		"EN": {
			Subject: `[cloudbill] {{.billingGroupName}} reached {{.threshold}}% of its budget`,
			Text: `{{.billingGroupName}} has used more than {{.threshold}}% of the budget "{{.alertName}}" in {{month .month}}.

Budget: {{money .budgetAmount .currency}}
Spent so far: {{money .spentAmount .currency}}
Forecast for the month: {{money .forecastAmount .currency}}`,
			SMS: `[cloudbill] Budget {{.threshold}}% reached: {{money .spentAmount .currency}}`,
		},
	},
}

var htmlLayout = htmltemplate.Must(htmltemplate.New("email").Parse(`<!DOCTYPE html>
<html lang="{{.Lang}}"><head><meta charset="utf-8"><title>{{.Subject}}</title></head>
<body style="margin:0;padding:24px;background:#f4f5f7;font-family:'Apple SD Gothic Neo','Malgun Gothic','Noto Sans KR',Arial,sans-serif;color:#1f2328">
<div style="max-width:560px;margin:0 auto;background:#ffffff;border-radius:8px;padding:24px">
<div style="font-weight:bold;color:#0b5fff;margin-bottom:16px">cloudbill</div>
{{range .Paragraphs}}<p style="margin:0 0 14px;line-height:1.6">{{range $i, $l := .}}{{if $i}}<br>{{end}}{{$l}}{{end}}</p>
{{end}}</div></body></html>
`))

// compiled holds the parsed wordings.
type compiled struct{ subject, text, sms *template.Template }

var templates = func() map[string]map[string]compiled {
	out := map[string]map[string]compiled{}
	for topic, langs := range wordings {
		out[topic] = map[string]compiled{}
		for lang, w := range langs {
			f := funcs(lang)
			parse := func(part, s string) *template.Template {
				return template.Must(template.New(topic + "." + lang + "." + part).Funcs(f).Option("missingkey=zero").Parse(s))
			}
			out[topic][lang] = compiled{parse("subject", w.Subject), parse("text", w.Text), parse("sms", w.SMS)}
		}
	}
	return out
}()

// HasTemplates reports whether topic has its wording in lang.
func HasTemplates(topic, lang string) bool {
	_, ok := templates[topic][lang]
	return ok
}

// Render writes the notice of topic in lang ("KO" or "EN"; anything else
// reads English) from an outbox payload.
func Render(topic, lang string, payload []byte) (Message, error) {
	if lang != "KO" {
		lang = "EN"
	}
	t, ok := templates[topic][lang]
	if !ok {
		return Message{}, fmt.Errorf("notify: no wording for %s in %s", topic, lang)
	}
	data := map[string]any{}
	if len(payload) > 0 {
		d := json.NewDecoder(bytes.NewReader(payload))
		d.UseNumber() // amounts and counts stay exact
		if err := d.Decode(&data); err != nil {
			return Message{}, fmt.Errorf("notify: %s payload: %w", topic, err)
		}
	}
	var m Message
	for _, p := range []struct {
		t   *template.Template
		out *string
	}{{t.subject, &m.Subject}, {t.text, &m.Text}, {t.sms, &m.SMS}} {
		var b strings.Builder
		if err := p.t.Execute(&b, data); err != nil {
			return Message{}, err
		}
		*p.out = strings.TrimSpace(b.String())
	}
	var paragraphs [][]string
	for _, para := range strings.Split(m.Text, "\n\n") {
		if para = strings.TrimSpace(para); para != "" {
			paragraphs = append(paragraphs, strings.Split(para, "\n"))
		}
	}
	var h bytes.Buffer
	if err := htmlLayout.Execute(&h, map[string]any{"Lang": strings.ToLower(lang), "Subject": m.Subject, "Paragraphs": paragraphs}); err != nil {
		return Message{}, err
	}
	m.HTML = h.String()
	return m, nil
}

// SMSBytes is the length of text as a Korean carrier counts it (EUC-KR,
// two bytes a Hangul syllable): up to 90 bytes go as one SMS, longer texts
// as a costlier LMS. Characters EUC-KR lacks count as 2.
func SMSBytes(text string) int {
	n := 0
	enc := korean.EUCKR.NewEncoder()
	for _, r := range text {
		b, err := enc.String(string(r))
		if err != nil {
			n += 2
			continue
		}
		n += len(b)
	}
	return n
}

var kst = time.FixedZone("KST", 9*3600)

func funcs(lang string) template.FuncMap {
	ko := lang == "KO"
	l := locale.EN
	if ko {
		l = locale.KO
	}
	return template.FuncMap{
		// money: "93,500원" / "KRW 93,500"; "USD 12.34" in both. Payloads
		// give major units (kernel.FormatMinor), locale formats minor ones.
		"money": func(amount, currency any) (string, error) {
			if amount == nil || currency == nil {
				return "", errMissing
			}
			a, c := fmt.Sprint(amount), fmt.Sprint(currency)
			digits, known := kernel.MinorDigits(c)
			if d, err := decimal.NewFromString(a); err == nil && known {
				as := locale.EN // other currencies by their code first, in both languages
				if c == "KRW" {
					as = l
				}
				return locale.Money(as, d.Shift(digits).IntPart(), c), nil
			}
			return c + " " + a, nil // not a decimal of a known currency: as given
		},
		// month: "2026년 10월" / "October 2026".
		"month": present(func(v any) string {
			m, err := calendar.ParseMonth(fmt.Sprint(v))
			if err != nil {
				return fmt.Sprint(v)
			}
			return locale.Month(l, m)
		}),
		"monthShort": parsed("2006-01", func(t time.Time) string {
			return l.Pick(fmt.Sprintf("%d월", t.Month()), t.Format("Jan"))
		}),
		// date: "2026년 11월 15일" / "15 November 2026".
		"date": parsed("2006-01-02", func(t time.Time) string {
			return l.Pick(fmt.Sprintf("%d년 %d월 %d일", t.Year(), t.Month(), t.Day()), t.Format("2 January 2006"))
		}),
		"dateShort": parsed("2006-01-02", func(t time.Time) string {
			return l.Pick(fmt.Sprintf("%d/%d", t.Month(), t.Day()), t.Format("2 Jan"))
		}),
		// instant: an RFC 3339 time in Korea's time zone.
		"instant": parsed(time.RFC3339, func(t time.Time) string {
			return t.In(kst).Format("2006-01-02 15:04") + " (KST)"
		}),
		// percent: "0.015" → "1.5%".
		"percent": present(func(v any) string {
			d, err := decimal.NewFromString(fmt.Sprint(v))
			if err != nil {
				return fmt.Sprint(v)
			}
			return d.Shift(2).String() + "%"
		}),
	}
}

// parsed reads a payload's time in layout and writes it with f; a value
// that does not parse is shown as it is.
func parsed(layout string, f func(time.Time) string) func(any) (string, error) {
	return present(func(v any) string {
		t, err := time.Parse(layout, fmt.Sprint(v))
		if err != nil {
			return fmt.Sprint(v)
		}
		return f(t)
	})
}

// errMissing fails a render whose payload lacks a field the wording names:
// a notice must never go out with a hole in it.
var errMissing = errors.New("a field the wording names is missing from the payload")

// present makes f refuse a missing field.
func present(f func(any) string) func(any) (string, error) {
	return func(v any) (string, error) {
		if v == nil {
			return "", errMissing
		}
		return f(v), nil
	}
}
