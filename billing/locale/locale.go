// Package locale writes amounts, dates and labels the way the reader of a
// document or a notification expects them: in Korean for domestic accounts,
// in English for international ones, unless the account chose otherwise.
package locale

import (
	"fmt"
	"strings"
	"time"

	"github.com/cloudbill/cloudbill/billing/calendar"
	"github.com/cloudbill/cloudbill/billing/kernel"
	"github.com/cloudbill/cloudbill/ent"
)

// Lang is a language of documents and notifications.
type Lang string

const (
	KO Lang = "KO"
	EN Lang = "EN"
)

// Of is the account's language: its own choice, else Korean for a domestic
// account and English for an international one.
func Of(a *ent.Account) Lang {
	if a == nil {
		return KO
	}
	if a.Language != nil {
		return Lang(*a.Language)
	}
	return ByCountry(a.ResidenceCountry)
}

// ByCountry is the default language of a residence country.
func ByCountry(country string) Lang {
	if country == "KR" {
		return KO
	}
	return EN
}

// Parse reads "KO" or "EN" (any case); anything else is Korean's default
// fallback only when def is empty.
func Parse(s string, def Lang) Lang {
	switch strings.ToUpper(s) {
	case "KO":
		return KO
	case "EN":
		return EN
	}
	return def
}

// Pick returns ko or en by language.
func (l Lang) Pick(ko, en string) string {
	if l == EN {
		return en
	}
	return ko
}

// Number writes minor units in major units with thousands separators:
// 105600 KRW → "105,600"; 123450 USD → "1,234.50".
func Number(minor int64, currency string) string {
	s := kernel.FormatMinor(minor, currency)
	sign := ""
	if strings.HasPrefix(s, "-") {
		sign, s = "-", s[1:]
	}
	whole, frac, hasFrac := strings.Cut(s, ".")
	var b strings.Builder
	for i, c := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if hasFrac {
		return sign + b.String() + "." + frac
	}
	return sign + b.String()
}

// Money writes an amount with its currency: "105,600원" in Korean,
// "KRW 105,600" in English; other currencies by their code.
func Money(l Lang, minor int64, currency string) string {
	n := Number(minor, currency)
	if l == KO {
		if currency == "KRW" {
			return n + "원"
		}
		return n + " " + currency
	}
	return currency + " " + n
}

// Date writes a calendar date in loc: 2026-11-03 in both languages (what
// Korean forms and tax invoices use, and unambiguous in English).
func Date(t time.Time, loc *time.Location) string { return t.In(loc).Format("2006-01-02") }

// DateTime writes an instant in loc to the minute, with the zone.
func DateTime(t time.Time, loc *time.Location) string {
	return t.In(loc).Format("2006-01-02 15:04 MST")
}

// LongDate writes a date for sentences: "11월 14일" / "14 November".
func LongDate(l Lang, t time.Time, loc *time.Location) string {
	t = t.In(loc)
	if l == KO {
		return fmt.Sprintf("%d월 %d일", int(t.Month()), t.Day())
	}
	return fmt.Sprintf("%d %s", t.Day(), t.Month())
}

// Month writes a month: "2026년 10월" / "October 2026".
func Month(l Lang, m calendar.Month) string {
	if l == KO {
		return fmt.Sprintf("%d년 %d월", m.Year, int(m.Month))
	}
	return fmt.Sprintf("%s %d", m.Month, m.Year)
}

// RegistrationNumber writes a business registration number as 123-45-67890.
func RegistrationNumber(n string) string {
	if len(n) != 10 {
		return n
	}
	return n[:3] + "-" + n[3:5] + "-" + n[5:]
}

// enumLabels are people's words for the API's enums.
var enumLabels = map[string][2]string{
	"payment.AUTOMATIC":           {"자동 결제", "Automatic payment"},
	"payment.INSTANT":             {"즉시 결제", "Instant payment"},
	"payment.DEPOSIT":             {"무통장 입금 (가상계좌)", "Direct deposit (virtual account)"},
	"payment.COIN_CHARGE":         {"코인 충전", "Coin purchase"},
	"payment.CREDIT_PURCHASE":     {"유료 크레딧 구매", "Paid credit purchase"},
	"payment.CREDIT_REFUND":       {"유료 크레딧 환불", "Paid credit refund"},
	"payment.INVOICE_REFUND":      {"크레딧 노트 환불", "Credit note refund"},
	"status.PENDING":              {"처리 중", "Pending"},
	"status.SUCCESSFUL":           {"결제 완료", "Paid"},
	"status.FAILED":               {"결제 실패", "Failed"},
	"invoice.ISSUED":              {"청구", "Issued"},
	"invoice.PAID":                {"납부 완료", "Paid"},
	"invoice.OUTSTANDING":         {"미납", "Outstanding"},
	"method.CARD":                 {"신용카드", "Credit card"},
	"method.BANK_TRANSFER":        {"계좌 자동이체", "Bank account (automatic transfer)"},
	"method.DIRECT_DEPOSIT":       {"무통장 입금 (가상계좌)", "Direct deposit (virtual account)"},
	"cash.INCOME_DEDUCTION":       {"소득공제용", "Income deduction"},
	"cash.EXPENSE_PROOF":          {"지출증빙용", "Expense proof"},
	"pricing.PER_UNIT":            {"종량제", "Per unit"},
	"pricing.FLAT_MONTHLY":        {"월 정액", "Flat monthly"},
	"member.INDIVIDUAL":           {"개인", "Individual"},
	"member.BUSINESS":             {"사업자", "Business"},
	"reason.card declined":        {"카드사 승인 거절", "the card was declined"},
	"reason.limit exceeded":       {"카드 한도 초과", "the card's limit is exceeded"},
	"reason.card expired":         {"카드 유효기간 만료", "the card has expired"},
	"reason.insufficient balance": {"잔액 부족", "insufficient balance"},
}

// Enum is the label of an enum value of a kind (payment, status, invoice,
// method, cash, member, reason); an unknown value is shown as it is.
func Enum(l Lang, kind, value string) string {
	if v, ok := enumLabels[kind+"."+value]; ok {
		return l.Pick(v[0], v[1])
	}
	return value
}

// banks names the banks of the codes that gateways use (금융결제원 codes).
var banks = map[string][2]string{
	"002": {"KDB산업은행", "KDB"}, "003": {"IBK기업은행", "IBK"}, "004": {"KB국민은행", "KB Kookmin Bank"},
	"007": {"수협은행", "Suhyup Bank"}, "011": {"NH농협은행", "NH Bank"}, "020": {"우리은행", "Woori Bank"},
	"023": {"SC제일은행", "SC First Bank"}, "027": {"한국씨티은행", "Citibank Korea"}, "031": {"대구은행", "Daegu Bank"},
	"032": {"부산은행", "Busan Bank"}, "034": {"광주은행", "Gwangju Bank"}, "035": {"제주은행", "Jeju Bank"},
	"037": {"전북은행", "Jeonbuk Bank"}, "039": {"경남은행", "Kyongnam Bank"}, "045": {"새마을금고", "MG Community Credit"},
	"048": {"신협", "Shinhyup"}, "071": {"우체국", "Korea Post"}, "081": {"하나은행", "Hana Bank"},
	"088": {"신한은행", "Shinhan Bank"}, "089": {"케이뱅크", "K Bank"}, "090": {"카카오뱅크", "KakaoBank"},
	"092": {"토스뱅크", "Toss Bank"},
}

// Bank names a bank by its code; an unknown code is shown as "은행 999".
func Bank(l Lang, code string) string {
	if b, ok := banks[code]; ok {
		return l.Pick(b[0], b[1])
	}
	return l.Pick("은행 "+code, "Bank "+code)
}

// Method writes a payment method as it was recorded on a payment
// (kernel.Label: "VISA •••• 4242", "Bank 004 •••• 0000", "Virtual account
// 088 •••• 1234", "Coins") in the reader's words, bullets kept.
func Method(l Lang, label string) string {
	switch {
	case label == "Coins":
		return l.Pick("코인", "Coins")
	case strings.HasPrefix(label, "Bank "):
		code, rest, _ := strings.Cut(strings.TrimPrefix(label, "Bank "), " ")
		return Bank(l, code) + " " + rest
	case strings.HasPrefix(label, "Virtual account "):
		code, rest, _ := strings.Cut(strings.TrimPrefix(label, "Virtual account "), " ")
		return l.Pick("가상계좌 ", "Virtual account, ") + Bank(l, code) + " " + rest
	}
	return label
}
