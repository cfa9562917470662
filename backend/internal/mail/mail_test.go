package mail_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"log/slog"
	"math/big"
	"net"
	"net/mail"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nimbo-panel/nimbo/backend/internal/config"
	nmail "github.com/nimbo-panel/nimbo/backend/internal/mail"
	"github.com/nimbo-panel/nimbo/backend/internal/mail/smtptest"
)

// selfSigned returns a server TLS config for 127.0.0.1 and a client config trusting it.
func selfSigned(t *testing.T) (*tls.Config, *tls.Config) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "smtptest"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	srv := &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}, MinVersion: tls.VersionTLS12}
	cli := &tls.Config{RootCAs: pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
	return srv, cli
}

func TestMailSMTPDelivery(t *testing.T) {
	srvTLS, cliTLS := selfSigned(t)
	fixed := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	cases := []struct {
		name     string
		server   smtptest.Options
		tlsMode  string
		user     string
		pass     string
		msg      nmail.Message
		wantTLS  bool
		wantErr  string
		wantCmds []string // commands that must appear
		noCmds   []string // commands that must not appear
	}{
		{
			name:   "none with auth plain",
			server: smtptest.Options{User: "mailer", Password: "s3cret"}, tlsMode: "none", user: "mailer", pass: "s3cret",
			msg:      nmail.Message{To: "Ann <ann@example.com>", Subject: "Verify your e-mail", Text: "Open http://x/verify-email?token=abc\nThanks."},
			wantCmds: []string{"AUTH PLAIN", "MAIL FROM:<noreply@nimbo.test>", "RCPT TO:<ann@example.com>", "DATA", "QUIT"},
			noCmds:   []string{"STARTTLS"},
		},
		{
			name:   "starttls not offered goes on in clear text",
			server: smtptest.Options{}, tlsMode: "starttls",
			msg:    nmail.Message{To: "bob@example.com", Subject: "Grüße aus Zürich — 你好", Text: "Zeile eins\nZeile zwei mit Ümlaut"},
			noCmds: []string{"STARTTLS", "AUTH PLAIN"},
		},
		{
			name:   "starttls offered upgrades before auth",
			server: smtptest.Options{User: "u", Password: "p", TLS: srvTLS}, tlsMode: "starttls", user: "u", pass: "p",
			msg:      nmail.Message{To: "carol@example.com", Subject: "Hi", Text: "over TLS", HTML: "<p>over <b>TLS</b></p>"},
			wantTLS:  true,
			wantCmds: []string{"STARTTLS", "AUTH PLAIN"},
		},
		{
			name:   "implicit tls",
			server: smtptest.Options{TLS: srvTLS, Implicit: true}, tlsMode: "tls",
			msg:     nmail.Message{To: "dan@example.com", Subject: "Hi", Text: "implicit"},
			wantTLS: true,
			noCmds:  []string{"STARTTLS"},
		},
		{
			name:   "wrong password is refused",
			server: smtptest.Options{User: "u", Password: "p"}, tlsMode: "none", user: "u", pass: "wrong",
			msg:     nmail.Message{To: "erin@example.com", Subject: "Hi", Text: "x"},
			wantErr: "smtp auth",
		},
		{
			name:   "username without server auth",
			server: smtptest.Options{}, tlsMode: "none", user: "u", pass: "p",
			msg:     nmail.Message{To: "frank@example.com", Subject: "Hi", Text: "x"},
			wantErr: "offers no AUTH",
		},
		{
			name: "header injection in the subject", server: smtptest.Options{}, tlsMode: "none",
			msg:     nmail.Message{To: "gina@example.com", Subject: "Hi\r\nBcc: evil@example.com", Text: "x"},
			wantErr: "line break",
		},
		{
			name: "malformed recipient", server: smtptest.Options{}, tlsMode: "none",
			msg:     nmail.Message{To: "not an address", Subject: "Hi", Text: "x"},
			wantErr: "invalid mail message",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := smtptest.Start(t, tc.server)
			s := &nmail.SMTP{Config: config.Mail{Host: srv.Host, Port: srv.Port, Username: tc.user, Password: tc.pass,
				From: "Nimbo Panel <noreply@nimbo.test>", TLS: tc.tlsMode}, TLSConfig: cliTLS, Now: func() time.Time { return fixed }}
			err := s.Send(context.Background(), tc.msg)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Send: %v, want an error containing %q", err, tc.wantErr)
				}
				if n := len(srv.Messages()); n != 0 {
					t.Fatalf("%d messages accepted, want none", n)
				}
				return
			}
			if err != nil {
				t.Fatalf("Send: %v", err)
			}
			msgs := srv.Messages()
			if len(msgs) != 1 {
				t.Fatalf("%d messages, want 1", len(msgs))
			}
			m := msgs[0]
			to, _ := mail.ParseAddress(tc.msg.To)
			if m.From != "noreply@nimbo.test" || !slices.Equal(m.To, []string{to.Address}) {
				t.Errorf("envelope %s → %v", m.From, m.To)
			}
			if m.TLS != tc.wantTLS {
				t.Errorf("TLS = %v, want %v", m.TLS, tc.wantTLS)
			}
			if tc.user != "" && (m.AuthUser != tc.user || m.AuthPass != tc.pass) {
				t.Errorf("auth %q/%q, want %q/%q", m.AuthUser, m.AuthPass, tc.user, tc.pass)
			}
			cmds := strings.Join(srv.Commands(), "\n")
			for _, c := range tc.wantCmds {
				if !strings.Contains(cmds, c) {
					t.Errorf("command %q not sent; got:\n%s", c, cmds)
				}
			}
			for _, c := range tc.noCmds {
				if strings.Contains(cmds, c) {
					t.Errorf("command %q sent; got:\n%s", c, cmds)
				}
			}
			checkHeaders(t, m, tc.msg, to, fixed)
		})
	}
}

func checkHeaders(t *testing.T, m smtptest.Message, sent nmail.Message, to *mail.Address, date time.Time) {
	t.Helper()
	if !bytes.Contains(m.Data, []byte("\r\n\r\n")) || bytes.Contains(bytes.ReplaceAll(m.Data, []byte("\r\n"), nil), []byte("\n")) {
		t.Errorf("message lines do not all end in CRLF:\n%q", m.Data)
	}
	for _, b := range m.Data {
		if b >= 0x80 {
			t.Fatalf("message has a non-ASCII byte: it must be encoded:\n%s", m.Data)
		}
	}
	want := map[string]string{
		"From": `"Nimbo Panel" <noreply@nimbo.test>`, "To": to.String(), "Subject": sent.Subject,
		"Date": date.Format(time.RFC1123Z), "MIME-Version": "1.0",
	}
	for k, v := range want {
		if got := m.Header(k); got != v {
			t.Errorf("header %s = %q, want %q", k, got, v)
		}
	}
	if id := m.Header("Message-ID"); !strings.HasPrefix(id, "<") || !strings.HasSuffix(id, "@nimbo.test>") {
		t.Errorf("Message-ID = %q", id)
	}
	if sent.HTML == "" {
		if ct := m.Header("Content-Type"); ct != "text/plain; charset=utf-8" {
			t.Errorf("Content-Type = %q", ct)
		}
		if got, wantText := m.Text(), strings.ReplaceAll(sent.Text, "\n", "\r\n")+"\r\n"; got != wantText {
			t.Errorf("body = %q, want %q", got, wantText)
		}
		return
	}
	if ct := m.Header("Content-Type"); !strings.HasPrefix(ct, "multipart/alternative; boundary=") {
		t.Errorf("Content-Type = %q", ct)
	}
	raw := string(m.Data)
	for _, s := range []string{"text/plain; charset=utf-8", "text/html; charset=utf-8", "over TLS", "<p>over <b>TLS</b></p>"} {
		if !strings.Contains(raw, s) {
			t.Errorf("multipart body lacks %q:\n%s", s, raw)
		}
	}
}

func TestMailSMTPEncodesNonASCIISubject(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{})
	s := &nmail.SMTP{Config: config.Mail{Host: srv.Host, Port: srv.Port, From: "noreply@nimbo.test", TLS: "none"}}
	if err := s.Send(context.Background(), nmail.Message{To: "x@example.com", Subject: "Überweisung", Text: "a=b"}); err != nil {
		t.Fatal(err)
	}
	raw := string(srv.Messages()[0].Data)
	if !strings.Contains(raw, "Subject: =?utf-8?q?=C3=9Cberweisung?=\r\n") {
		t.Errorf("subject not RFC 2047 encoded:\n%s", raw)
	}
	if !strings.Contains(raw, "\r\n\r\na=3Db\r\n") {
		t.Errorf("body not quoted-printable:\n%s", raw)
	}
}

func TestMailSMTPUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	_ = ln.Close()
	s := &nmail.SMTP{Config: config.Mail{Host: "127.0.0.1", Port: port, From: "noreply@nimbo.test", TLS: "none"}}
	if err := s.Send(context.Background(), nmail.Message{To: "x@example.com", Subject: "s", Text: "t"}); err == nil || !strings.Contains(err.Error(), "smtp dial") {
		t.Fatalf("Send to a closed port: %v", err)
	}
}

type logBuf struct{ bytes.Buffer }

func TestMailLogSender(t *testing.T) {
	var buf logBuf
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))
	s := nmail.New(config.Mail{From: "noreply@nimbo.test"}, log)
	if _, ok := s.(*nmail.LogSender); !ok {
		t.Fatalf("New without a host = %T, want *LogSender", s)
	}
	link := "http://127.0.0.1:8080/verify-email?token=abc123"
	if err := s.Send(context.Background(), nmail.Message{To: "x@example.com", Subject: "Verify", Text: "Open " + link}); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{"level=INFO", "to=x@example.com", "subject=Verify", link} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q: %s", want, out)
		}
	}
	err := s.Send(context.Background(), nmail.Message{To: "bad\r\naddress", Subject: "s"})
	if !errors.Is(err, nmail.ErrInvalidMessage) {
		t.Errorf("bad recipient: %v", err)
	}
	if _, ok := nmail.New(config.Mail{Host: "smtp.example.com", Port: 587}, log).(*nmail.SMTP); !ok {
		t.Error("New with a host is not *SMTP")
	}
}
