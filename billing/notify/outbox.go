// Package notify tells people and systems what happened to their money:
// it delivers the outbox's events as email, SMS and signed webhooks.
package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/smtp"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/cloudbill/cloudbill/billing/topics"

	"github.com/cloudbill/cloudbill/billing/calendar"
	"github.com/cloudbill/cloudbill/ent"
	"github.com/cloudbill/cloudbill/ent/outboxevent"
)

// Notifications (invoice issued, payments, outstanding amounts, suspension
// notices) are written to the outbox in the transaction of the change they
// report, then delivered here at least once. Receivers de-duplicate by the
// event id.

// EmailSender sends an email.
type EmailSender interface {
	SendEmail(ctx context.Context, to string, m Message) error
}

// SMSSender sends a text message.
type SMSSender interface {
	SendSMS(ctx context.Context, to, text string) error
}

// LogSender "sends" email and SMS by logging them: the default when no SMTP
// server or SMS provider is configured.
type LogSender struct{ Log *slog.Logger }

func (l LogSender) SendEmail(_ context.Context, to string, m Message) error {
	l.Log.Info("email", "to", to, "subject", m.Subject)
	return nil
}

func (l LogSender) SendSMS(_ context.Context, to, text string) error {
	l.Log.Info("sms", "to", to, "text", text)
	return nil
}

// SMTPSender sends email through an SMTP server.
type SMTPSender struct {
	Addr, From string
	Auth       smtp.Auth
}

func (s SMTPSender) SendEmail(_ context.Context, to string, m Message) error {
	msg, err := MIME(s.From, to, m, time.Now())
	if err != nil {
		return err
	}
	return smtp.SendMail(s.Addr, s.Auth, s.From, []string{to}, msg)
}

// Outbox delivers queued events.
type Outbox struct {
	Client     *ent.Client
	Clock      calendar.Clock
	Email      EmailSender
	SMS        SMSSender
	WebhookURL string // outgoing webhooks; none when empty
	Secret     []byte // signs webhooks
	HTTP       *http.Client
}

// lease is how long a claimed event is left to its deliverer before
// another replica may try it.
const lease = time.Minute

// Backoff is the wait after the n-th failed attempt: 30 s doubling to 1 h.
func Backoff(n int) time.Duration {
	d := 30 * time.Second
	for i := 1; i < n && d < time.Hour; i++ {
		d *= 2
	}
	return min(d, time.Hour)
}

// MaxAttempts is how many times a failing event is tried before it is given
// up on: with Backoff's waits, about a day of 30 s … 1 h.
const MaxAttempts = 30

// permanent is a failure no retry can cure: a topic with no wording, a
// payload its wording cannot be filled from, no recipient.
type permanent struct{ error }

// Deliver sends up to limit due events and returns how many were delivered.
// An event is claimed with a guarded update, so replicas never send the
// same event at the same time; a failure is retried with backoff, and
// given up on (failed_at, last_error) when it cannot succeed or has failed
// MaxAttempts times — so the depth counts only what may still go, and
// cloudbill_outbox_failed what an operator must look at.
func (o *Outbox) Deliver(ctx context.Context, limit int) (int, error) {
	now := o.Clock.Now()
	due := outboxevent.And(outboxevent.DeliveredAtIsNil(), outboxevent.FailedAtIsNil(),
		outboxevent.Or(outboxevent.DeliverAfterIsNil(), outboxevent.DeliverAfterLTE(now)))
	evs, err := o.Client.OutboxEvent.Query().Where(due).Order(ent.Asc(outboxevent.FieldID)).Limit(limit).All(ctx)
	if err != nil {
		return 0, err
	}
	sent := 0
	for _, ev := range evs {
		n, err := o.Client.OutboxEvent.Update().Where(outboxevent.ID(ev.ID), due).
			SetDeliverAfter(now.Add(lease)).AddAttempts(1).Save(ctx)
		if err != nil {
			return sent, err
		}
		if n == 0 {
			continue // another replica has it
		}
		if err := o.send(ctx, ev); err != nil {
			upd := o.Client.OutboxEvent.UpdateOneID(ev.ID).SetLastError(clip(err.Error(), 500))
			var p permanent
			if errors.As(err, &p) || ev.Attempts+1 >= MaxAttempts {
				upd.SetFailedAt(now)
			} else {
				upd.SetDeliverAfter(now.Add(Backoff(ev.Attempts + 1)))
			}
			if uerr := upd.Exec(ctx); uerr != nil {
				return sent, uerr
			}
			continue
		}
		if err := o.Client.OutboxEvent.UpdateOneID(ev.ID).SetDeliveredAt(now).Exec(ctx); err != nil {
			return sent, err
		}
		sent++
	}
	return sent, nil
}

// Depth counts the events still to deliver (a metric).
func (o *Outbox) Depth(ctx context.Context) (int, error) {
	return o.Client.OutboxEvent.Query().Where(outboxevent.DeliveredAtIsNil(), outboxevent.FailedAtIsNil()).Count(ctx)
}

// Failed counts the events given up on (a metric: alert when it grows).
func (o *Outbox) Failed(ctx context.Context) (int, error) {
	return o.Client.OutboxEvent.Query().Where(outboxevent.FailedAtNotNil()).Count(ctx)
}

// clip keeps the first n bytes of s, cut at a rune boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func (o *Outbox) send(ctx context.Context, ev *ent.OutboxEvent) error {
	switch ev.Channel {
	case topics.ChannelEmail, topics.ChannelSMS:
		if ev.Recipient == "" {
			return permanent{errors.New("no recipient")}
		}
		m, err := Render(ev.Topic, ev.Language, ev.Payload)
		if err != nil {
			return permanent{err}
		}
		m.ID = ev.ID
		if ev.Channel == topics.ChannelSMS {
			return o.SMS.SendSMS(ctx, ev.Recipient, m.SMS)
		}
		return o.Email.SendEmail(ctx, ev.Recipient, m)
	case topics.ChannelWebhook:
		var data map[string]any
		_ = json.Unmarshal(ev.Payload, &data)
		if o.WebhookURL == "" {
			return nil // no endpoint configured: nothing to deliver
		}
		body, _ := json.Marshal(map[string]any{"id": ev.ID, "type": ev.Topic, "organizationId": ev.OrgID,
			"createdAt": ev.CreatedAt.UTC().Format(time.RFC3339), "data": data})
		return o.postWebhook(ctx, ev.ID, body)
	}
	return permanent{fmt.Errorf("unknown channel %q", ev.Channel)}
}

// SignWebhook signs a webhook body for timestamp ts:
// hex(HMAC-SHA256(secret, "<ts>.<body>")).
func SignWebhook(secret []byte, ts int64, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(strconv.FormatInt(ts, 10) + "."))
	mac.Write(body)
	return hex.EncodeToString(mac.Sum(nil))
}

func (o *Outbox) postWebhook(ctx context.Context, id string, body []byte) error {
	ts := o.Clock.Now().Unix()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, o.WebhookURL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Cloudbill-Event-Id", id)
	req.Header.Set("X-Cloudbill-Signature", "t="+strconv.FormatInt(ts, 10)+",v1="+SignWebhook(o.Secret, ts, body))
	client := o.HTTP
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("webhook endpoint answered %s", resp.Status)
	}
	return nil
}
