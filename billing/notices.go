package billing

import (
	"context"
	"encoding/json"

	"github.com/cloudbill/cloudbill/ent"
	"github.com/cloudbill/cloudbill/ent/account"
)

// Notices. What happens to an organization's money is told to its
// master: by email to the billing email and by SMS to a verified phone
// number, both in the master's language, and to the organization's
// systems by a signed webhook. A notice is queued in the outbox in the
// transaction of the change it reports and delivered by billing/notify,
// which writes it from the topic's templates; an SMS is never sent to an
// unverified number, nor to an email address.

// The topics told by email and SMS. billing/notify has a template for each
// in each language (TestEveryTopicHasItsTemplates).
const (
	TopicInvoiceIssued      = "invoice.issued"
	TopicInvoiceOutstanding = "invoice.outstanding"
	TopicLateFee            = "invoice.late_fee"
	TopicPaymentSucceeded   = "payment.succeeded"
	TopicPaymentFailed      = "payment.failed"
	TopicCoinsCharged       = "coins.charged"
	TopicCreditExpiring     = "credit.expiring"
	TopicMemberInvited      = "member.invited"
	TopicPhoneVerification  = "phone.verification"
	// TopicSuspensionNotice goes by webhook only: the email of an
	// outstanding invoice already gives the suspension notice.
	TopicSuspensionNotice = "account.suspension_notice"
)

// NoticeTopics lists every topic queued for email or SMS.
var NoticeTopics = []string{
	TopicInvoiceIssued, TopicInvoiceOutstanding, TopicLateFee, TopicPaymentSucceeded, TopicPaymentFailed,
	TopicCoinsCharged, TopicCreditExpiring, TopicMemberInvited, TopicPhoneVerification, BudgetTopic,
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

// VerifiedPhone is the account's phone number if it was verified, else "".
func VerifiedPhone(a *ent.Account) string {
	if a == nil || a.PhoneVerifiedAt == nil {
		return ""
	}
	return a.PhoneNumber
}

// notify queues a notice for the organization's master by email, SMS and
// webhook, in the transaction of the change it reports.
func (e *Engine) notify(ctx context.Context, tx *ent.Tx, orgID, topic string, payload map[string]any) error {
	return e.notifyChannels(ctx, tx, orgID, topic, payload, ChannelEmail, ChannelSMS, ChannelWebhook)
}

func (e *Engine) notifyChannels(ctx context.Context, tx *ent.Tx, orgID, topic string, payload map[string]any, channels ...string) error {
	master, err := tx.Account.Query().Where(account.OrgID(orgID), account.IsMaster(true)).First(ctx)
	if err != nil && !ent.IsNotFound(err) {
		return err
	}
	return queueNotice(ctx, tx, orgID, master, topic, payload, channels...)
}

// queueNotice writes one outbox event per channel: the email to to's
// billing email, the SMS to its verified phone (none without one), the
// webhook to the configured endpoint; email and SMS carry to's language.
func queueNotice(ctx context.Context, tx *ent.Tx, orgID string, to *ent.Account, topic string, payload map[string]any, channels ...string) error {
	body, err := json.Marshal(payload)
	if err != nil {
		return err
	}
	lang := LanguageOf(to)
	bulk := make([]*ent.OutboxEventCreate, 0, len(channels))
	for _, ch := range channels {
		recipient := ""
		switch ch {
		case ChannelEmail:
			if to == nil {
				continue
			}
			recipient = to.BillingEmail
		case ChannelSMS:
			if recipient = VerifiedPhone(to); recipient == "" {
				continue
			}
		}
		c := tx.OutboxEvent.Create().SetOrgID(orgID).SetTopic(topic).SetChannel(ch).SetRecipient(recipient).SetPayload(body)
		if ch != ChannelWebhook {
			c.SetLanguage(lang)
		}
		bulk = append(bulk, c)
	}
	if len(bulk) == 0 {
		return nil
	}
	return tx.OutboxEvent.CreateBulk(bulk...).Exec(ctx)
}
