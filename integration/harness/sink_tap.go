package harness

import (
	"bytes"
	"net"
	"strings"
	"sync"
)

// tapListener hands go-smtp connections whose command lines are recorded as received, because
// go-smtp decodes MAIL and RCPT parameters (xtext, upper case) before the Session sees them.
type tapListener struct{ net.Listener }

func (l tapListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &tapConn{Conn: c}, nil
}

// tapConn records the MAIL and RCPT command lines the client sends. It knows the message
// content from commands by watching the server's side: content follows the server's 354 reply
// (a client must wait for it, RFC 5321 §4.1.1.4 and RFC 2920 §3.1) and ends at the line ".".
type tapConn struct {
	net.Conn
	mu      sync.Mutex
	tls     bool // STARTTLS was sent: what follows is TLS records, not lines
	inData  bool
	partial []byte   // an unfinished command line (capped)
	cmds    []string // MAIL/RCPT lines not yet claimed by the session, in order
}

func (c *tapConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.feed(p[:n])
	}
	return n, err
}

func (c *tapConn) Write(p []byte) (int, error) {
	if bytes.HasPrefix(p, []byte("354")) || bytes.Contains(p, []byte("\n354")) {
		c.mu.Lock()
		c.inData = true
		c.partial = c.partial[:0]
		c.mu.Unlock()
	}
	return c.Conn.Write(p)
}

const maxTapLine = 4096

func (c *tapConn) feed(b []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for len(b) > 0 && !c.tls {
		i := bytes.IndexByte(b, '\n')
		chunk := b
		if i >= 0 {
			chunk = b[:i+1]
		}
		b = b[len(chunk):]
		if len(c.partial)+len(chunk) <= maxTapLine {
			c.partial = append(c.partial, chunk...)
		}
		if i < 0 {
			return
		}
		line := strings.TrimRight(string(c.partial), "\r\n")
		c.partial = c.partial[:0]
		if c.inData {
			if line == "." {
				c.inData = false
			}
			continue
		}
		switch {
		case hasPrefixFold(line, "MAIL FROM:") || hasPrefixFold(line, "RCPT TO:"):
			c.cmds = append(c.cmds, line)
		case strings.EqualFold(line, "STARTTLS"):
			c.tls, c.cmds = true, nil
		}
	}
}

// claim returns the oldest recorded line with that command prefix, dropping older lines of
// either kind that no callback claimed (commands go-smtp refused before calling the session).
func (c *tapConn) claim(prefix string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, l := range c.cmds {
		if hasPrefixFold(l, prefix) {
			c.cmds = c.cmds[i+1:]
			return l
		}
	}
	return ""
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// Param is one ESMTP parameter as received (RFC 5321 §4.1.2 esmtp-param).
type Param struct {
	// Key is the keyword as the client wrote it; compare with strings.EqualFold.
	Key string
	// Value is everything after '=' byte for byte (still xtext-encoded); "" for a keyword alone.
	Value string
}

// Params is an ordered parameter list.
type Params []Param

// Get returns the value of the first parameter with that keyword (case-insensitive).
func (ps Params) Get(key string) (string, bool) {
	for _, p := range ps {
		if strings.EqualFold(p.Key, key) {
			return p.Value, true
		}
	}
	return "", false
}

// String renders the parameters as they appeared: "NOTIFY=SUCCESS ORCPT=rfc822;a@b".
func (ps Params) String() string {
	parts := make([]string, len(ps))
	for i, p := range ps {
		parts[i] = p.Key
		if p.Value != "" {
			parts[i] += "=" + p.Value
		}
	}
	return strings.Join(parts, " ")
}

// parseCommandParams splits a "MAIL FROM:<path> params" or "RCPT TO:<path> params" line into
// the path (without brackets) and the parameters. A quoted local part may contain '>'.
func parseCommandParams(line string) (path string, params Params) {
	i := strings.IndexByte(line, ':')
	if i < 0 {
		return "", nil
	}
	rest := strings.TrimLeft(line[i+1:], " ")
	if strings.HasPrefix(rest, "<") {
		quoted, end := false, -1
		for j := 1; j < len(rest) && end < 0; j++ {
			switch {
			case rest[j] == '\\' && quoted:
				j++
			case rest[j] == '"':
				quoted = !quoted
			case rest[j] == '>' && !quoted:
				end = j
			}
		}
		if end < 0 {
			return rest[1:], nil
		}
		path, rest = rest[1:end], rest[end+1:]
	} else {
		path, rest, _ = strings.Cut(rest, " ")
	}
	for _, f := range strings.Fields(rest) {
		params = append(params, parseParam(f))
	}
	return path, params
}

// parseParam splits one esmtp-param, keyword ["=" value] (RFC 5321 §4.1.2). A token that is not
// one (no keyword, as in "=" or "=x", or a keyword with "=" and no value) is kept whole in Key,
// so that String shows it as it was received and Get finds it under no keyword.
func parseParam(tok string) Param {
	k, v, eq := strings.Cut(tok, "=")
	if !isESMTPKeyword(k) || eq && v == "" {
		return Param{Key: tok}
	}
	return Param{Key: k, Value: v}
}

// isESMTPKeyword: esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-") (RFC 5321 §4.1.2).
func isESMTPKeyword(k string) bool {
	for i := 0; i < len(k); i++ {
		c := k[i]
		alnum := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
		if !alnum && (i == 0 || c != '-') {
			return false
		}
	}
	return k != ""
}
