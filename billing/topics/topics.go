// Package topics is the outbox: its vocabulary and its writer (outbox.go), shared by the domains that queue
// events and by billing/notify, which delivers them: the topics, the
// channels, and the language an account reads.
package topics

import "github.com/cloudbill/cloudbill/ent"

// The topics told by email and SMS. billing/notify has a template for each
// in each language (TestEveryTopicHasItsTemplates).
const (
	InvoiceIssued      = "invoice.issued"
	InvoiceOutstanding = "invoice.outstanding"
	LateFee            = "invoice.late_fee"
	CreditNoteIssued   = "invoice.credit_note_issued"
	InvoiceVoided      = "invoice.voided"
	PaymentSucceeded   = "payment.succeeded"
	PaymentFailed      = "payment.failed"
	CoinsCharged       = "coins.charged"
	CreditExpiring     = "credit.expiring"
	MemberInvited      = "member.invited"
	PhoneVerification  = "phone.verification"
	// SuspensionNotice goes by webhook only: the email of an
	// outstanding invoice already gives the suspension notice.
	SuspensionNotice = "account.suspension_notice"
)

// NoticeTopics lists every topic queued for email or SMS.
var NoticeTopics = []string{
	InvoiceIssued, InvoiceOutstanding, LateFee, CreditNoteIssued, InvoiceVoided, PaymentSucceeded, PaymentFailed,
	CoinsCharged, CreditExpiring, MemberInvited, PhoneVerification, BudgetThresholdCrossed,
}

// The outbox's channels.
const (
	ChannelEmail   = "EMAIL"
	ChannelSMS     = "SMS"
	ChannelWebhook = "WEBHOOK"
)

// LanguageOf is the language an account reads: its own choice, else Korean
// for a domestic account and English for an international one.
func LanguageOf(a *ent.Account) string {
	switch {
	case a == nil:
		return "KO"
	case a.Language != nil:
		return string(*a.Language)
	case a.ResidenceCountry == "KR":
		return "KO"
	}
	return "EN"
}

// BudgetThresholdCrossed is the outbox topic of a crossed threshold.
const BudgetThresholdCrossed = "budget.threshold_crossed"
