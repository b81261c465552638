package topics

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

// VerifiedPhone is the account's phone number if it was verified, else "".
func VerifiedPhone(a *ent.Account) string {
	if a == nil || a.PhoneVerifiedAt == nil {
		return ""
	}
	return a.PhoneNumber
}

// Notify queues a notice for the organization's master by email, SMS and
// webhook, in the transaction of the change it reports.
func Notify(ctx context.Context, tx *ent.Tx, orgID, topic string, payload map[string]any) error {
	return NotifyOn(ctx, tx, orgID, topic, payload, ChannelEmail, ChannelSMS, ChannelWebhook)
}

// NotifyOn queues a notice for the organization's master on the channels
// given.
func NotifyOn(ctx context.Context, tx *ent.Tx, orgID, topic string, payload map[string]any, channels ...string) error {
	master, err := tx.Account.Query().Where(account.OrgID(orgID), account.IsMaster(true)).First(ctx)
	if err != nil && !ent.IsNotFound(err) {
		return err
	}
	return Queue(ctx, tx, orgID, master, topic, payload, channels...)
}

// Queue writes one outbox event per channel: the email to to's
// billing email, the SMS to its verified phone (none without one), the
// webhook to the configured endpoint; email and SMS carry to's language.
func Queue(ctx context.Context, tx *ent.Tx, orgID string, to *ent.Account, topic string, payload map[string]any, channels ...string) error {
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
