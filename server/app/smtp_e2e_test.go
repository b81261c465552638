package app_test

import (
	"bytes"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"

	"github.com/emersion/go-smtp"

	"github.com/cloudbill/cloudbill/server/app"
	"github.com/cloudbill/cloudbill/server/testenv"
)

// inbox is an SMTP server that keeps what it is sent, by recipient.
type inbox struct {
	mu   sync.Mutex
	mail map[string][]byte
}

func (b *inbox) NewSession(*smtp.Conn) (smtp.Session, error) { return &inboxSession{b: b}, nil }

type inboxSession struct {
	b  *inbox
	to []string
}

func (s *inboxSession) Reset()                               { s.to = nil }
func (s *inboxSession) Logout() error                        { return nil }
func (s *inboxSession) Mail(string, *smtp.MailOptions) error { return nil }
func (s *inboxSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = append(s.to, to)
	return nil
}
func (s *inboxSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	s.b.mu.Lock()
	defer s.b.mu.Unlock()
	for _, to := range s.to {
		s.b.mail[to] = b
	}
	return err
}

func startInbox(t *testing.T) (*inbox, string) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &inbox{mail: map[string][]byte{}}
	srv := smtp.NewServer(b)
	srv.Domain = "localhost"
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return b, l.Addr().String()
}

// readMail decodes a received message as a mail client shows it: the
// subject and the text and HTML bodies.
func readMail(t *testing.T, raw []byte) (subject, text, html string) {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	subject, err = new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
	if err != nil {
		t.Fatal(err)
	}
	_, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil {
		t.Fatal(err)
	}
	r := multipart.NewReader(m.Body, params["boundary"])
	for {
		p, err := r.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(quotedprintable.NewReader(p))
		if strings.HasPrefix(p.Header.Get("Content-Type"), "text/html") {
			html = string(b)
		} else {
			text = string(b)
		}
	}
	return subject, text, html
}

// R-71 end to end: an issued invoice reaches a real SMTP server as an email
// its reader can read — Korean for a domestic account, English for one that
// chose it — with its amount, payment days and due date.
func TestInvoiceEmailOverSMTP(t *testing.T) {
	box, addr := startInbox(t)
	e := newEnvWith(t, testenv.Postgres(t), func(c *app.Config) { c.SMTPAddr, c.SMTPFrom = addr, "billing@cloudbill.test" })
	e.ok(e.op, catalogSetup, nil)
	e.at("2026-11-01T10:00:00+09:00")
	e.octoberInvoice("mail-ko@example.com")
	en, _ := e.octoberInvoice("mail-en@example.com")
	e.ok(en, `mutation { updateBillingProfile(input: {language: EN}) { account { id } } }`, nil)
	e.runJobs("2026-11-03T00:00:00+09:00")
	ob := e.app.Outbox()
	if n, err := ob.Deliver(t.Context(), 100); err != nil || n < 2 {
		rows, _ := e.app.DB.Client.OutboxEvent.Query().All(t.Context())
		for _, r := range rows {
			t.Logf("%s %s %s attempts %d", r.Topic, r.Channel, r.Recipient, r.Attempts)
		}
		t.Fatalf("delivered %d: %v", n, err)
	}
	box.mu.Lock()
	defer box.mu.Unlock()
	for to, want := range map[string][]string{
		"mail-ko@example.com": {"2026년 10월 청구서가 발행되었습니다", "93,500원", "2026년 11월 14일"},
		"mail-en@example.com": {"Your invoice for October 2026 is ready", "KRW 93,500", "14 November 2026"},
	} {
		raw, ok := box.mail[to]
		if !ok {
			t.Fatalf("no email reached %s (got %d)", to, len(box.mail))
		}
		subject, text, html := readMail(t, raw)
		if !strings.Contains(subject, want[0]) || !strings.Contains(subject, want[1]) {
			t.Errorf("%s: subject %q", to, subject)
		}
		for _, w := range want[1:] {
			if !strings.Contains(text, w) || !strings.Contains(html, w) {
				t.Errorf("%s: %q missing from\n%s\n%s", to, w, text, html)
			}
		}
	}
}
