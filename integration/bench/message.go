package main

import (
	"encoding/base64"
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
	toCcInternal   messageVariant = iota // (a), (c), (d), (e), (g)
	toCcExternal                         // (b)
	calendarInvite                       // (f): toCcInternal as an Outlook meeting invitation
)

func (v messageVariant) toCcAddr(n int) string {
	if v == toCcExternal {
		return externalAddr(n)
	}
	return internalAddr(n)
}

// messageHeaders are the header lines of variant v (LF line ends, folding kept).
func messageHeaders(v messageVariant) []string {
	contentType := []string{`Content-Type: text/plain; charset="us-ascii"`, "Content-Transfer-Encoding: 7bit"}
	if v == calendarInvite {
		contentType = []string{"Content-Type: multipart/alternative;\n\tboundary=\"" + calendarBoundary + "\"",
			"Content-Class: urn:content-classes:calendarmessage"}
	}
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
		contentType[0],
		contentType[1],
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
	var tail []string // after the filler
	if v == calendarInvite {
		// The text part first, as Outlook writes it; the calendar part's size is fixed, the
		// text part is filled to make the message messageSize bytes.
		line("--" + calendarBoundary)
		line(`Content-Type: text/plain; charset="us-ascii"`)
		line("Content-Transfer-Encoding: 7bit")
		line("")
		tail = calendarPart(internalAddr)
		for _, l := range tail {
			wire += len(l) + 2
		}
	}
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
	for _, l := range tail {
		b.WriteString(l + "\n")
	}
	return b.String()
}

// calendarBoundary is the multipart boundary of the meeting invitation, Exchange's style.
const calendarBoundary = "_000_AM6PR05MB1234ABCDAM6PR05MB1234eurp_"

// calendarPart is the rest of the meeting invitation after its text part: the boundary, the
// text/calendar part (METHOD:REQUEST, base64 as Exchange Online sends it) with the sender as
// ORGANIZER and the To and Cc users as ATTENDEEs, addressed by addr, and the closing
// boundary. Its lines are folded at 75 octets as RFC 5545 writes them.
func calendarPart(addr func(int) string) []string {
	attendee := func(n int, name string) string {
		return "ATTENDEE;ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION;RSVP=TRUE;CN=\"" + name + "\":mailto:" + addr(n)
	}
	ics := []string{
		"BEGIN:VCALENDAR",
		"METHOD:REQUEST",
		"PRODID:Microsoft Exchange Server 2010",
		"VERSION:2.0",
		"BEGIN:VEVENT",
		"ORGANIZER;CN=\"Smith, John\":mailto:" + addr(senderUser),
		attendee(toUsers[0], "Doe, Jane"),
		attendee(toUsers[1], "Roe, Rick"),
		attendee(ccUsers[0], "Poe, Pat"),
		"DESCRIPTION;LANGUAGE=en-US:Quarterly numbers review\\n",
		"UID:040000008200E00074C5B7101A82E00800000000B0A1C2D3E4F5DA01000000000000000010000000A1B2C3D4E5F60718293A4B5C6D7E8F90",
		"SUMMARY;LANGUAGE=en-US:Quarterly numbers",
		"DTSTART;TZID=W. Europe Standard Time:20261130T100000",
		"DTEND;TZID=W. Europe Standard Time:20261130T110000",
		"CLASS:PUBLIC",
		"PRIORITY:5",
		"DTSTAMP:20261123T155401Z",
		"TRANSP:OPAQUE",
		"STATUS:CONFIRMED",
		"SEQUENCE:0",
		"LOCATION;LANGUAGE=en-US:Room 1",
		"END:VEVENT",
		"END:VCALENDAR",
	}
	var cal strings.Builder
	for _, l := range ics {
		for width := 75; len(l) > width; width = 74 { // a continuation line's space counts
			cal.WriteString(l[:width] + "\r\n ")
			l = l[width:]
		}
		cal.WriteString(l + "\r\n")
	}
	enc := base64.StdEncoding.EncodeToString([]byte(cal.String()))
	out := []string{
		"",
		"--" + calendarBoundary,
		`Content-Type: text/calendar; charset="utf-8"; method=REQUEST`,
		"Content-Transfer-Encoding: base64",
		"",
	}
	for len(enc) > 76 {
		out = append(out, enc[:76])
		enc = enc[76:]
	}
	return append(out, enc, "", "--"+calendarBoundary+"--")
}

// writeMessage writes variant v to path.
func writeMessage(path string, v messageVariant) error {
	return os.WriteFile(path, []byte(messageText(v)), 0o644)
}
