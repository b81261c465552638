package notify

import (
	"bytes"
	"encoding/json"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/cloudbill/cloudbill/billing/topics"
)

// The largest values a payload carries: a 10^12 KRW amount, the longest
// names the API accepts are not texted (SMS templates name no free text).
var samples = map[string]map[string]any{
	topics.InvoiceIssued: {"invoiceId": "inv_01", "billingGroupId": "bg_01", "billingGroupName": "운영 그룹",
		"month": "2026-10", "amountDue": "1000000000000", "currency": "KRW", "paymentFrom": "2026-11-01", "dueDate": "2026-11-14"},
	topics.InvoiceOutstanding: {"invoiceId": "inv_01", "month": "2026-10", "amountDue": "1000000000000", "currency": "KRW",
		"lateFeeFrom": "2026-12-01", "lateFeeRate": "0.015"},
	topics.LateFee: {"invoiceId": "inv_01", "month": "2026-10", "currency": "KRW", "lateFee": "15000000000",
		"unpaid": "1000000000000", "amountDue": "1015000000000"},
	topics.CreditNoteIssued: {"creditNoteId": "cn_01", "number": "CN-202610-00000001", "invoiceId": "inv_01", "billingGroupId": "bg_01",
		"billingGroupName": "운영 그룹", "month": "2026-10", "currency": "KRW", "amount": "1000000000000", "taxAmount": "100000000000",
		"totalAmount": "1100000000000", "dueAmount": "0", "refundAmount": "1100000000000", "coinAmount": "0", "creditAmount": "0",
		"reason": "SLA credit", "amendsTaxInvoice": true},
	topics.InvoiceVoided: {"invoiceId": "inv_01", "billingGroupId": "bg_01", "billingGroupName": "운영 그룹", "month": "2026-10",
		"currency": "KRW", "amountDue": "1000000000000", "reason": "usage was recorded twice"},
	topics.PaymentSucceeded:  {"paymentId": "pay_01", "receiptId": "rcpt_01", "amount": "1000000000000", "currency": "KRW"},
	topics.PaymentFailed:     {"paymentId": "pay_01", "amount": "1000000000000", "currency": "KRW", "reason": "card declined", "nextAttempt": "2026-11-12"},
	topics.CoinsCharged:      {"paymentId": "pay_01", "amount": "1000000000000", "currency": "KRW"},
	topics.CreditExpiring:    {"creditId": "cr_01", "creditName": "가입 축하 크레딧", "remaining": "1000000000000", "currency": "KRW", "lastDay": "2026-12-31"},
	topics.MemberInvited:     {"organization": "주식회사 클라우드", "invitedBy": "master@example.com", "token": "tok", "expiresAt": "2026-11-17T01:00:00Z"},
	topics.PhoneVerification: {"code": "012345", "minutes": 10},
	topics.BudgetThresholdCrossed: {"alertName": "월 예산", "billingGroupName": "운영 그룹", "month": "2026-11", "threshold": 100,
		"currency": "KRW", "budgetAmount": "1000000000000", "spentAmount": "1000000000000", "forecastAmount": "1000000000000"},
}

// every topic queued for a person has its wording in both languages;
// each renders without a missing field, the Korean one in Korean, and its
// SMS fits one 90-byte message.
func TestEveryTopicHasItsTemplates(t *testing.T) {
	for _, topic := range topics.NoticeTopics {
		for _, lang := range []string{"KO", "EN"} {
			if !HasTemplates(topic, lang) {
				t.Errorf("%s has no %s wording", topic, lang)
				continue
			}
			p, ok := samples[topic]
			if !ok {
				t.Errorf("%s: no sample payload in this test", topic)
				continue
			}
			raw, _ := json.Marshal(p)
			m, err := Render(topic, lang, raw)
			if err != nil {
				t.Fatal(err)
			}
			for part, s := range map[string]string{"subject": m.Subject, "text": m.Text, "sms": m.SMS, "html": m.HTML} {
				if s == "" || strings.Contains(s, "<no value>") || strings.Contains(s, "%!") || strings.Contains(s, "{{") {
					t.Errorf("%s %s %s: %q", topic, lang, part, s)
				}
			}
			// The Korean wording is Korean; the English one has no Korean of
			// its own (the payload's names may be Korean in either).
			w := wordings[topic][lang]
			if hangul := strings.ContainsFunc(w.Subject+w.Text+w.SMS, isHangul); hangul != (lang == "KO") {
				t.Errorf("%s %s: Hangul %v in its wording", topic, lang, hangul)
			}
			if n := SMSBytes(m.SMS); n > 90 {
				t.Errorf("%s %s: SMS of %d bytes (EUC-KR) > 90: %q", topic, lang, n, m.SMS)
			}
		}
	}
	if len(samples) != len(topics.NoticeTopics) {
		t.Errorf("%d samples for %d topics", len(samples), len(topics.NoticeTopics))
	}
}

func isHangul(r rune) bool { return unicode.Is(unicode.Hangul, r) }

func TestRenderFormatsForTheReader(t *testing.T) {
	raw, _ := json.Marshal(samples[topics.InvoiceIssued])
	ko, _ := Render(topics.InvoiceIssued, "KO", raw)
	en, _ := Render(topics.InvoiceIssued, "", raw) // no language: English
	for _, want := range []string{"2026년 10월", "1,000,000,000,000원", "2026년 11월 14일", "운영 그룹"} {
		if !strings.Contains(ko.Text, want) {
			t.Errorf("KO text lacks %q:\n%s", want, ko.Text)
		}
	}
	for _, want := range []string{"October 2026", "KRW 1,000,000,000,000", "14 November 2026"} {
		if !strings.Contains(en.Text, want) {
			t.Errorf("EN text lacks %q:\n%s", want, en.Text)
		}
	}
	raw, _ = json.Marshal(map[string]any{"paymentId": "p", "amount": "-1234567.05", "currency": "USD"})
	if m, _ := Render(topics.PaymentSucceeded, "KO", raw); !strings.Contains(m.Subject, "USD -1,234,567.05") {
		t.Errorf("USD amount: %q", m.Subject)
	}
	raw, _ = json.Marshal(samples[topics.InvoiceOutstanding])
	if m, _ := Render(topics.InvoiceOutstanding, "KO", raw); !strings.Contains(m.Text, "1.5%") {
		t.Errorf("late fee rate: %s", m.Text)
	}
	// The HTML body escapes what the payload says (a billing group's name is
	// the customer's free text).
	evil := map[string]any{}
	for k, v := range samples[topics.InvoiceIssued] {
		evil[k] = v
	}
	evil["billingGroupName"] = `<script>alert(1)</script>`
	raw, _ = json.Marshal(evil)
	if m, _ := Render(topics.InvoiceIssued, "EN", raw); strings.Contains(m.HTML, "<script>") || !strings.Contains(m.HTML, "&lt;script&gt;") {
		t.Errorf("HTML not escaped:\n%s", m.HTML)
	}
	if _, err := Render("no.such.topic", "KO", nil); err == nil {
		t.Error("an unknown topic rendered")
	}
	// A payload without a field the wording names is not sent with a hole.
	if _, err := Render(topics.InvoiceIssued, "KO", []byte(`{"month": "2026-10"}`)); err == nil {
		t.Error("a payload without its amount rendered")
	}
	if _, err := Render(topics.InvoiceIssued, "KO", []byte("{")); err == nil {
		t.Error("a broken payload rendered")
	}
}

func TestSMSBytesCountsEUCKR(t *testing.T) {
	for s, want := range map[string]int{"abc": 3, "인증번호": 8, "[cloudbill] 인증번호 012345": 27, "😀": 2} {
		if got := SMSBytes(s); got != want {
			t.Errorf("SMSBytes(%q) = %d, want %d", s, got, want)
		}
	}
}

// An email any client reads: a Korean subject encoded per RFC 2047, text
// and HTML alternatives in UTF-8, lines short enough for SMTP.
func TestMIMEMessage(t *testing.T) {
	raw, _ := json.Marshal(samples[topics.InvoiceIssued])
	m, _ := Render(topics.InvoiceIssued, "KO", raw)
	m.ID = "ob_01"
	msg, err := MIME("billing@cloudbill.example", "master@example.com", m, time.Date(2026, 11, 1, 9, 0, 0, 0, kst))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(msg), "\r\n") {
		if len(line) > 998 {
			t.Fatalf("a line of %d bytes", len(line))
		}
	}
	parsed, err := mail.ReadMessage(bytes.NewReader(msg))
	if err != nil {
		t.Fatal(err)
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(parsed.Header.Get("Subject"))
	if err != nil || subject != m.Subject {
		t.Fatalf("subject %q (%v), want %q", subject, err, m.Subject)
	}
	if parsed.Header.Get("Message-ID") != "<ob_01@cloudbill>" {
		t.Errorf("Message-ID %q", parsed.Header.Get("Message-ID"))
	}
	_, params, err := mime.ParseMediaType(parsed.Header.Get("Content-Type"))
	if err != nil {
		t.Fatal(err)
	}
	r := multipart.NewReader(parsed.Body, params["boundary"])
	got := map[string]string{}
	for {
		p, err := r.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(quotedprintable.NewReader(p))
		got[strings.Split(p.Header.Get("Content-Type"), ";")[0]] = strings.ReplaceAll(string(b), "\r\n", "\n")
	}
	if got["text/plain"] != m.Text || got["text/html"] != m.HTML {
		t.Fatalf("parts %v", got)
	}
	if _, err := MIME("a@b", "not an address\r\nBcc: x@y", m, time.Now()); err == nil {
		t.Error("a header injection in the recipient was sent")
	}
}
