package main

import (
	"fmt"
	"os"
	"strings"
)

// The message smtp-source sends (-F FILE): an outbound message as Exchange Online relays it,
// ~3 KB, whose From, Reply-To, To and Cc all hold addresses the rule set rewrites.
const (
	messageSize = 3072 // bytes on the wire (CRLF line ends), headers and body
	senderUser  = 7    // envelope sender and From
	replyToUser = 8
)

var (
	toUsers = []int{11, 12}
	ccUsers = []int{13}
)

// rcptTemplate is smtp-source's -t: with -N -r 3 it sends "<seq>user@contoso.com", three
// per message, seq counting from 1.
const rcptTemplate = userSuffix + "@" + externalDomain

// Each configuration is sent the message whose addresses its rules rewrite, so that all of
// them do the same work: edgerewrite rewrites To/Cc of outbound mail internal -> external
// (rewrite_outbound_to_cc), recipient_canonical_maps rewrites To/Cc external -> internal.
// The two variants differ only in the domain of the To/Cc addresses and have the same size.
type messageVariant int

const (
	toCcInternal messageVariant = iota // (a), (c), (d)
	toCcExternal                       // (b)
)

func (v messageVariant) toCcAddr(n int) string {
	if v == toCcExternal {
		return externalAddr(n)
	}
	return internalAddr(n)
}

// messageHeaders are the header lines of variant v (LF line ends, folding kept).
func messageHeaders(v messageVariant) []string {
	to := fmt.Sprintf(`To: "Doe, Jane" <%s>, "Roe, Rick"`+"\n\t<%s>", v.toCcAddr(toUsers[0]), v.toCcAddr(toUsers[1]))
	return []string{
		"Received: from AM6PR05MB1234.eurprd05.prod.outlook.com (2603:10a6:20b:1::1) by\n AM6PR05CA0001.outlook.office365.com with HTTPS; Mon, 23 Nov 2026 15:54:01 +0000",
		fmt.Sprintf(`From: "Smith, John" <%s>`, internalAddr(senderUser)),
		to,
		fmt.Sprintf(`Cc: "Poe, Pat" <%s>`, v.toCcAddr(ccUsers[0])),
		fmt.Sprintf(`Reply-To: "Smith, John" <%s>`, internalAddr(replyToUser)),
		"Subject: Quarterly numbers",
		"Thread-Topic: Quarterly numbers",
		"Thread-Index: AdmXyZ0123456789abcdefABCDEF==",
		"Date: Mon, 23 Nov 2026 15:54:01 +0000",
		"Message-ID: <AM6PR05MB1234ABCD@AM6PR05MB1234.eurprd05.prod.outlook.com>",
		"Accept-Language: en-US",
		"Content-Language: en-US",
		`Content-Type: text/plain; charset="us-ascii"`,
		"Content-Transfer-Encoding: 7bit",
		"MIME-Version: 1.0",
	}
}

// messageText is variant v as the -F file: LF line ends (smtp-source sends each line with
// CRLF), the body filled so that the message is exactly messageSize bytes on the wire.
func messageText(v messageVariant) string {
	var b strings.Builder
	wire := 0
	line := func(s string) {
		b.WriteString(s + "\n")
		wire += len(s) + 2
	}
	for _, h := range messageHeaders(v) {
		for _, l := range strings.Split(h, "\n") {
			line(l)
		}
	}
	line("")
	const filler = "The numbers for the quarter are attached; please check the totals before Friday."
	for i := 1; ; i++ {
		l := fmt.Sprintf("%03d %s", i, filler)
		if wire+len(l)+2 > messageSize {
			last := messageSize - wire - 2
			if last > 0 {
				line(strings.Repeat("x", last))
			}
			break
		}
		line(l)
	}
	return b.String()
}

// writeMessage writes variant v to path.
func writeMessage(path string, v messageVariant) error {
	return os.WriteFile(path, []byte(messageText(v)), 0o644)
}
