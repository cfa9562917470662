// Package smtptest is a minimal RFC 5321 SMTP server on loopback for tests: it answers EHLO,
// optionally STARTTLS and AUTH PLAIN, MAIL, RCPT, DATA, RSET, NOOP and QUIT, and records each
// message it accepts.
package smtptest

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"encoding/base64"
	"io"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"
)

// Message is one accepted message: the envelope, the AUTH PLAIN identity used (if any),
// whether the session was TLS, and the raw DATA (dot-unstuffed, CRLF line ends).
type Message struct {
	From     string
	To       []string
	AuthUser string
	AuthPass string
	TLS      bool
	Data     []byte
}

// Header parses the message and returns the header named key (decoded from RFC 2047).
func (m Message) Header(key string) string {
	msg, err := mail.ReadMessage(bytes.NewReader(m.Data))
	if err != nil {
		return ""
	}
	v := msg.Header.Get(key)
	if d, err := new(mime.WordDecoder).DecodeHeader(v); err == nil {
		return d
	}
	return v
}

// Text returns the body of a single-part quoted-printable message, decoded.
func (m Message) Text() string {
	msg, err := mail.ReadMessage(bytes.NewReader(m.Data))
	if err != nil {
		return ""
	}
	var r io.Reader = msg.Body
	if strings.EqualFold(msg.Header.Get("Content-Transfer-Encoding"), "quoted-printable") {
		r = quotedprintable.NewReader(msg.Body)
	}
	b, _ := io.ReadAll(r)
	return string(b)
}

// Options shape the server's behaviour.
type Options struct {
	// Auth offers AUTH PLAIN and accepts only this user and password when User is set.
	User, Password string
	// TLS offers STARTTLS with this configuration when set.
	TLS *tls.Config
	// Implicit speaks TLS (with TLS) from the first byte instead of offering STARTTLS.
	Implicit bool
}

// Server is a running test SMTP server.
type Server struct {
	Addr string
	Host string
	Port int
	opt  Options
	ln   net.Listener
	mu   sync.Mutex
	msgs []Message
	// Commands are every command line received, in order (AUTH arguments included).
	cmds []string
	wg   sync.WaitGroup
}

// Start runs a server on 127.0.0.1 until the test ends.
func Start(t testing.TB, opt Options) *Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("smtptest listen: %v", err)
	}
	a := ln.Addr().(*net.TCPAddr)
	s := &Server{Addr: a.String(), Host: "127.0.0.1", Port: a.Port, opt: opt, ln: ln}
	s.wg.Add(1)
	go s.serve()
	t.Cleanup(func() {
		_ = ln.Close()
		s.wg.Wait()
	})
	return s
}

// Messages returns the messages accepted so far.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.msgs...)
}

// Commands returns the command lines received so far.
func (s *Server) Commands() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.cmds...)
}

// To returns the messages accepted for the recipient address rcpt.
func (s *Server) To(rcpt string) []Message {
	var out []Message
	for _, m := range s.Messages() {
		for _, r := range m.To {
			if strings.EqualFold(r, rcpt) {
				out = append(out, m)
				break
			}
		}
	}
	return out
}

func (s *Server) serve() {
	defer s.wg.Done()
	for {
		conn, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer func() { _ = conn.Close() }()
			s.session(conn)
		}()
	}
}

func (s *Server) record(cmd string) {
	s.mu.Lock()
	s.cmds = append(s.cmds, cmd)
	s.mu.Unlock()
}

func (s *Server) session(conn net.Conn) {
	isTLS := false
	if s.opt.Implicit && s.opt.TLS != nil {
		tc := tls.Server(conn, s.opt.TLS)
		if err := tc.Handshake(); err != nil {
			return
		}
		conn, isTLS = tc, true
	}
	r, w := bufio.NewReader(conn), bufio.NewWriter(conn)
	reply := func(lines ...string) bool {
		for _, l := range lines {
			if _, err := w.WriteString(l + "\r\n"); err != nil {
				return false
			}
		}
		return w.Flush() == nil
	}
	if !reply("220 smtptest ESMTP ready") {
		return
	}
	var (
		cur    Message
		authed = s.opt.User == ""
	)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		s.record(line)
		verb, arg, _ := strings.Cut(line, " ")
		switch strings.ToUpper(verb) {
		case "EHLO", "HELO":
			ext := []string{"250-smtptest greets " + arg, "250-8BITMIME"}
			if s.opt.TLS != nil && !isTLS {
				ext = append(ext, "250-STARTTLS")
			}
			if s.opt.User != "" {
				ext = append(ext, "250-AUTH PLAIN")
			}
			ext = append(ext, "250 SIZE 10485760")
			if !reply(ext...) {
				return
			}
		case "STARTTLS":
			if s.opt.TLS == nil || isTLS {
				reply("502 5.5.1 STARTTLS not offered")
				continue
			}
			if !reply("220 2.0.0 go ahead") {
				return
			}
			tc := tls.Server(conn, s.opt.TLS)
			if err := tc.Handshake(); err != nil {
				return
			}
			conn, isTLS = tc, true
			r, w = bufio.NewReader(tc), bufio.NewWriter(tc)
			cur = Message{}
		case "AUTH":
			mech, resp, _ := strings.Cut(arg, " ")
			if s.opt.User == "" || !strings.EqualFold(mech, "PLAIN") {
				reply("504 5.5.4 unrecognized authentication type")
				continue
			}
			raw, err := base64.StdEncoding.DecodeString(resp)
			parts := strings.Split(string(raw), "\x00")
			if err != nil || len(parts) != 3 || parts[1] != s.opt.User || parts[2] != s.opt.Password {
				reply("535 5.7.8 authentication credentials invalid")
				continue
			}
			cur.AuthUser, cur.AuthPass, authed = parts[1], parts[2], true
			reply("235 2.7.0 authentication succeeded")
		case "MAIL":
			if !authed {
				reply("530 5.7.0 authentication required")
				continue
			}
			cur.From = angle(arg)
			reply("250 2.1.0 ok")
		case "RCPT":
			cur.To = append(cur.To, angle(arg))
			reply("250 2.1.5 ok")
		case "DATA":
			if cur.From == "" || len(cur.To) == 0 {
				reply("503 5.5.1 need MAIL and RCPT first")
				continue
			}
			if !reply("354 end data with <CR><LF>.<CR><LF>") {
				return
			}
			var data bytes.Buffer
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
				data.WriteString(strings.TrimPrefix(l, "."))
			}
			cur.Data, cur.TLS = data.Bytes(), isTLS
			s.mu.Lock()
			s.msgs = append(s.msgs, cur)
			s.mu.Unlock()
			cur = Message{AuthUser: cur.AuthUser, AuthPass: cur.AuthPass}
			reply("250 2.0.0 queued")
		case "RSET":
			cur = Message{AuthUser: cur.AuthUser, AuthPass: cur.AuthPass}
			reply("250 2.0.0 ok")
		case "NOOP":
			reply("250 2.0.0 ok")
		case "QUIT":
			reply("221 2.0.0 bye")
			return
		default:
			reply("500 5.5.2 unknown command")
		}
	}
}

// angle extracts the address of "FROM:<a@b> SIZE=1" or "TO:<a@b>".
func angle(arg string) string {
	if i := strings.IndexByte(arg, '<'); i >= 0 {
		if j := strings.IndexByte(arg[i:], '>'); j > 0 {
			return arg[i+1 : i+j]
		}
	}
	return arg
}
