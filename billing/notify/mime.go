package notify

import (
	"bytes"
	"fmt"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"net/textproto"
	"time"
)

// MIME writes m as an RFC 5322 message: a UTF-8 subject encoded for any
// mail client (RFC 2047), and the plain text and HTML bodies as
// multipart/alternative, each quoted-printable so no line exceeds what
// SMTP carries.
func MIME(from, to string, m Message, now time.Time) ([]byte, error) {
	if _, err := mail.ParseAddress(to); err != nil {
		return nil, fmt.Errorf("notify: recipient %q: %w", to, err)
	}
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	for _, part := range []struct{ typ, text string }{{"text/plain", m.Text}, {"text/html", m.HTML}} {
		h := textproto.MIMEHeader{}
		h.Set("Content-Type", part.typ+"; charset=UTF-8")
		h.Set("Content-Transfer-Encoding", "quoted-printable")
		pw, err := w.CreatePart(h)
		if err != nil {
			return nil, err
		}
		qp := quotedprintable.NewWriter(pw)
		if _, err := qp.Write([]byte(part.text)); err != nil {
			return nil, err
		}
		if err := qp.Close(); err != nil {
			return nil, err
		}
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	var msg bytes.Buffer
	header := func(k, v string) { fmt.Fprintf(&msg, "%s: %s\r\n", k, v) }
	header("From", from)
	header("To", to)
	header("Subject", mime.BEncoding.Encode("UTF-8", m.Subject))
	header("Date", now.Format(time.RFC1123Z))
	if m.ID != "" {
		// The outbox event's id: a retried delivery is the same message.
		header("Message-ID", "<"+m.ID+"@cloudbill>")
	}
	header("MIME-Version", "1.0")
	header("Content-Type", "multipart/alternative; boundary="+w.Boundary())
	msg.WriteString("\r\n")
	msg.Write(body.Bytes())
	return msg.Bytes(), nil
}
