package milter

// Packet helpers of the milter wire protocol (milter-protocol.txt): each packet is a uint32
// big-endian length of the command byte and data, the command byte, then the data, whose
// strings are NUL-terminated.

import (
	"encoding/binary"
	"strings"
)

func appendPacket(b []byte, cmd byte, data []byte) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(1+len(data)))
	b = append(b, cmd)
	return append(b, data...)
}

func appendCStrings(b []byte, ss ...string) []byte {
	for _, s := range ss {
		b = append(b, s...)
		b = append(b, 0)
	}
	return b
}

// cstrings splits NUL-terminated strings; a last string without its NUL counts too.
func cstrings(b []byte) []string {
	var ss []string
	for len(b) > 0 {
		i := 0
		for i < len(b) && b[i] != 0 {
			i++
		}
		ss = append(ss, string(b[:i]))
		if i == len(b) {
			break
		}
		b = b[i+1:]
	}
	return ss
}

// nextCString splits the first NUL-terminated string off b (all of b when it has no NUL).
func nextCString(b []byte) (s, rest []byte) {
	for i, c := range b {
		if c == 0 {
			return b[:i], b[i+1:]
		}
	}
	return b, nil
}

// cstring returns the first NUL-terminated string of b.
func cstring(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}

func trimBrackets(s string) string {
	if len(s) >= 2 && s[0] == '<' && s[len(s)-1] == '>' {
		return s[1 : len(s)-1]
	}
	return s
}

// parseEnvelope splits SMFIC_MAIL / SMFIC_RCPT data, "<addr>\0ARG\0ARG\0", into the address
// without angle brackets (trimmed as go-milter trims what it passes to MailFrom and RcptTo, so
// the two match) and its ESMTP arguments.
func parseEnvelope(data []byte) (string, []string) {
	ss := cstrings(data)
	if len(ss) == 0 {
		return "", nil
	}
	var args []string
	for _, a := range ss[1:] {
		if a != "" {
			args = append(args, a)
		}
	}
	return strings.Trim(ss[0], "<>"), args
}

// parseConnect returns the host name and address of SMFIC_CONNECT data: hostname\0, family
// byte, then for '4' and '6' a port (uint16) and the address\0; for 'L' the socket path.
func parseConnect(data []byte) (name, addr string) {
	name = cstring(data)
	rest := data[min(len(name)+1, len(data)):]
	if len(rest) == 0 {
		return name, ""
	}
	family, rest := rest[0], rest[1:]
	switch family {
	case '4', '6':
		if len(rest) < 2 {
			return name, ""
		}
		return name, cstring(rest[2:])
	case 'L':
		return name, cstring(rest)
	}
	return name, ""
}
