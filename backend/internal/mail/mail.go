// Package mail sends e-mail: over SMTP (net/smtp, with STARTTLS, implicit TLS or none, and
// AUTH PLAIN) when a server is configured, else to the log, which is how a development panel
// shows its verification and password-reset links.
package mail

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"strconv"
	"strings"
	"time"

	"github.com/nimbo-panel/nimbo/backend/internal/config"
)

// Timeout bounds one SMTP delivery: connecting, the dialogue and the data.
const Timeout = 10 * time.Second

// Message is one e-mail to one recipient. Text is the plain-text body; HTML, when set, is sent
// as an alternative (multipart/alternative).
type Message struct {
	To      string
	Subject string
	Text    string
	HTML    string
}

// Sender delivers messages.
type Sender interface {
	Send(ctx context.Context, m Message) error
}

// ErrInvalidMessage is a message that cannot be sent as it is (bad address, header injection).
var ErrInvalidMessage = errors.New("invalid mail message")

// New returns the sender cfg asks for: SMTP when cfg.Host is set, else a LogSender.
func New(cfg config.Mail, log *slog.Logger) Sender {
	if cfg.Host == "" {
		return &LogSender{Log: log, From: cfg.From}
	}
	return &SMTP{Config: cfg}
}

// LogSender writes each message (headers and text, links included) to the log at info level
// instead of sending it.
type LogSender struct {
	Log  *slog.Logger
	From string
}

// Send logs m.
func (l *LogSender) Send(ctx context.Context, m Message) error {
	if _, err := parseTo(m.To); err != nil {
		return err
	}
	l.Log.InfoContext(ctx, "mail not sent (no mail.host configured)", "from", l.From, "to", m.To,
		"subject", m.Subject, "text", m.Text)
	return nil
}

// SMTP sends through the server of Config. TLS "starttls" upgrades the connection when the
// server offers STARTTLS (and goes on in clear text when it does not), "tls" speaks implicit
// TLS from the start (port 465), "none" never encrypts. With Username set it authenticates
// with AUTH PLAIN, which net/smtp refuses over an unencrypted connection to anything but
// localhost.
type SMTP struct {
	Config config.Mail
	// TLSConfig overrides the TLS settings (tests trust their own certificate with it); nil
	// verifies the server's certificate for Config.Host against the system roots.
	TLSConfig *tls.Config
	// Now is the clock of the Date header (time.Now when nil).
	Now func() time.Time
}

func (s *SMTP) tlsConfig() *tls.Config {
	if s.TLSConfig != nil {
		return s.TLSConfig.Clone()
	}
	return &tls.Config{ServerName: s.Config.Host, MinVersion: tls.VersionTLS12}
}

// Send delivers m, within Timeout (or ctx's deadline when sooner).
func (s *SMTP) Send(ctx context.Context, m Message) error {
	from, err := mail.ParseAddress(s.Config.From)
	if err != nil {
		return fmt.Errorf("%w: mail.from %q: %v", ErrInvalidMessage, s.Config.From, err)
	}
	to, err := parseTo(m.To)
	if err != nil {
		return err
	}
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	data, err := Compose(from, to, m, now())
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	deadline, _ := ctx.Deadline()
	addr := net.JoinHostPort(s.Config.Host, strconv.Itoa(s.Config.Port))
	d := &net.Dialer{}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("smtp dial %s: %w", addr, err)
	}
	// The deadline covers the whole dialogue; closing on ctx's end interrupts a stuck read.
	if err := conn.SetDeadline(deadline); err != nil {
		_ = conn.Close()
		return fmt.Errorf("smtp deadline: %w", err)
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	defer stop()
	if s.Config.TLS == "tls" {
		tc := tls.Client(conn, s.tlsConfig())
		if err := tc.HandshakeContext(ctx); err != nil {
			_ = conn.Close()
			return fmt.Errorf("smtp tls handshake: %w", err)
		}
		conn = tc
	}
	c, err := smtp.NewClient(conn, s.Config.Host)
	if err != nil {
		_ = conn.Close()
		return fmt.Errorf("smtp greeting: %w", err)
	}
	defer func() { _ = c.Close() }()
	if err := s.dialogue(c, from.Address, to.Address, data); err != nil {
		return err
	}
	return nil
}

func (s *SMTP) dialogue(c *smtp.Client, from, to string, data []byte) error {
	if err := c.Hello(helloName(from)); err != nil {
		return fmt.Errorf("smtp hello: %w", err)
	}
	if s.Config.TLS == "starttls" {
		if ok, _ := c.Extension("STARTTLS"); ok {
			if err := c.StartTLS(s.tlsConfig()); err != nil {
				return fmt.Errorf("smtp starttls: %w", err)
			}
		}
	}
	if s.Config.Username != "" {
		if ok, _ := c.Extension("AUTH"); !ok {
			return errors.New("smtp: a username is configured but the server offers no AUTH")
		}
		if err := c.Auth(smtp.PlainAuth("", s.Config.Username, s.Config.Password, s.Config.Host)); err != nil {
			return fmt.Errorf("smtp auth: %w", err)
		}
	}
	if err := c.Mail(from); err != nil {
		return fmt.Errorf("smtp MAIL FROM: %w", err)
	}
	if err := c.Rcpt(to); err != nil {
		return fmt.Errorf("smtp RCPT TO: %w", err)
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("smtp DATA: %w", err)
	}
	if _, err := w.Write(data); err != nil {
		_ = w.Close()
		return fmt.Errorf("smtp write data: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("smtp end of data: %w", err)
	}
	if err := c.Quit(); err != nil {
		return fmt.Errorf("smtp QUIT: %w", err)
	}
	return nil
}

// helloName is the name the client greets with: the domain of the sender address.
func helloName(from string) string {
	if _, domain, ok := strings.Cut(from, "@"); ok && domain != "" {
		return domain
	}
	return "localhost"
}

func parseTo(to string) (*mail.Address, error) {
	if strings.ContainsAny(to, "\r\n") {
		return nil, fmt.Errorf("%w: recipient contains a line break", ErrInvalidMessage)
	}
	a, err := mail.ParseAddress(to)
	if err != nil {
		return nil, fmt.Errorf("%w: recipient %q: %v", ErrInvalidMessage, to, err)
	}
	return a, nil
}

// Compose renders m as an RFC 5322 message with CRLF line ends: From, To, Subject (RFC 2047
// encoded when not ASCII), Date, Message-ID, MIME-Version and a quoted-printable UTF-8 text
// body, or a multipart/alternative of text and HTML.
func Compose(from, to *mail.Address, m Message, now time.Time) ([]byte, error) {
	if strings.ContainsAny(m.Subject, "\r\n") {
		return nil, fmt.Errorf("%w: subject contains a line break", ErrInvalidMessage)
	}
	var b bytes.Buffer
	h := func(k, v string) { b.WriteString(k + ": " + v + "\r\n") }
	h("From", from.String())
	h("To", to.String())
	h("Subject", mime.QEncoding.Encode("utf-8", m.Subject))
	h("Date", now.Format(time.RFC1123Z))
	h("Message-ID", messageID(from.Address))
	h("MIME-Version", "1.0")
	if m.HTML == "" {
		h("Content-Type", "text/plain; charset=utf-8")
		h("Content-Transfer-Encoding", "quoted-printable")
		b.WriteString("\r\n")
		if err := writeQP(&b, m.Text); err != nil {
			return nil, err
		}
		return b.Bytes(), nil
	}
	mw := multipart.NewWriter(&b)
	h("Content-Type", `multipart/alternative; boundary="`+mw.Boundary()+`"`)
	b.WriteString("\r\n")
	for _, part := range []struct{ ct, body string }{{"text/plain", m.Text}, {"text/html", m.HTML}} {
		pw, err := mw.CreatePart(textproto.MIMEHeader{
			"Content-Type":              {part.ct + "; charset=utf-8"},
			"Content-Transfer-Encoding": {"quoted-printable"},
		})
		if err != nil {
			return nil, fmt.Errorf("mail part: %w", err)
		}
		if err := writeQP(pw, part.body); err != nil {
			return nil, err
		}
	}
	if err := mw.Close(); err != nil {
		return nil, fmt.Errorf("mail parts: %w", err)
	}
	return b.Bytes(), nil
}

type writer interface{ Write([]byte) (int, error) }

func writeQP(w writer, text string) error {
	qp := quotedprintable.NewWriter(w)
	if _, err := qp.Write([]byte(strings.ReplaceAll(text, "\r\n", "\n"))); err != nil {
		return fmt.Errorf("mail body: %w", err)
	}
	if err := qp.Close(); err != nil {
		return fmt.Errorf("mail body: %w", err)
	}
	_, err := w.Write([]byte("\r\n"))
	return err
}

func messageID(from string) string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return "<" + hex.EncodeToString(b) + "@" + helloName(from) + ">"
}
