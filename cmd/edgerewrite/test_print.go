package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/edgerewrite/edgerewrite/milter/decide"

	"github.com/edgerewrite/edgerewrite/policy"
	"github.com/edgerewrite/edgerewrite/rewrite"
)

// printOutcome shows what `edgerewrite test` found: who sent it, the verdicts, and every
// address before -> after with the rule behind it.
func printOutcome(w io.Writer, in decide.Input, o decide.Outcome) {
	fmt.Fprintf(w, "client:     %s\n", describeConn(in.Conn))
	if o.Class.Outbound {
		fmt.Fprintf(w, "direction:  outbound, connector %s, tenant %s\n", o.Class.Connector, o.Class.Tenant)
	} else {
		fmt.Fprintln(w, "direction:  inbound (no connector matched: the Internet)")
	}
	if o.Observe {
		fmt.Fprintln(w, "mode:       OBSERVE: the verdicts and rewrites below are logged only; the message passes unchanged")
	}
	// In observe mode every verdict and change below is what would happen: the daemon refuses
	// nothing and sends no modification, so each is marked as such rather than shown as done.
	would := ""
	if o.Observe {
		would = "  [observe: not applied]"
	}
	if o.Class.Outbound && !o.RewriteSender && o.Verdict.Action == policy.Accept {
		fmt.Fprintln(w, "pilot:      the sender is outside the pilot scope: the sender side is not rewritten")
	}

	fmt.Fprintln(w, "\nrecipients:")
	for _, r := range o.Rcpts {
		v := r.Result.Verdict.String() + byWave(r.Result.Verdict)
		if r.Result.Route != "" {
			v += " (routed to " + r.Result.Route + ")"
		}
		if r.Refused() {
			v += would
		}
		fmt.Fprintf(w, "  %-40s %s\n", "<"+r.Addr+">", v)
	}
	mv := o.Verdict.String() + byWave(o.Verdict)
	if o.Verdict.Action != policy.Accept {
		mv += would
	}
	fmt.Fprintf(w, "message:    %s\n", mv)

	plan := o.Plan
	waveHold := o.Verdict.Action == policy.Hold && o.Verdict.Source != "" && !o.Observe
	if waveHold {
		fmt.Fprintln(w, "\nheld by a wave: the recipients stay as they came and are decided again, by the rules")
		fmt.Fprintln(w, "then in service, when the message is released (see the README, \"Migration waves\")")
	}
	if o.Verdict.Action != policy.Accept && !o.Observe && !waveHold {
		fmt.Fprintln(w, "\nnothing is rewritten: the message is not accepted")
	} else {
		printEnvelope(w, in, o, plan, would)
		printHeaders(w, in, plan, would)
		printCalendar(w, o)
		switch {
		case len(o.Actions) == 0:
			fmt.Fprintln(w, "\nmilter actions:\n  none")
		case o.Observe:
			fmt.Fprintln(w, "\nmilter actions: NONE SENT (observe mode); without observe mode these would be sent:")
		default:
			fmt.Fprintln(w, "\nmilter actions:")
		}
		for _, a := range o.Actions {
			mark := ""
			if o.Observe {
				mark = "(not sent) "
			}
			fmt.Fprintf(w, "  %s%s\n", mark, strings.ReplaceAll(a.String(), "\n", "\\n"))
		}
	}
	fmt.Fprintf(w, "\nresult:     %s\n", resultLine(o))
}

// byWave names the cutover list file entry behind a verdict, "" for any other verdict.
func byWave(v policy.Verdict) string {
	if v.Source == "" {
		return ""
	}
	return " by the wave entry " + v.Source
}

func describeConn(c policy.Conn) string {
	var parts []string
	add := func(k, v string) {
		if v != "" {
			parts = append(parts, fmt.Sprintf("%s=%q", k, v))
		}
	}
	if c.Addr.IsValid() {
		parts = append(parts, "client_addr="+c.Addr.String())
	}
	add("client_name", c.Name)
	add("daemon_name", c.DaemonName)
	add("cert_subject", c.CertSubject)
	add("cert_issuer", c.CertIssuer)
	add("auth_authen", c.AuthLogin)
	if len(parts) == 0 {
		return "(no connection details given)"
	}
	return strings.Join(parts, " ")
}

func resultLine(o decide.Outcome) string {
	switch {
	case o.Observe && o.Verdict.Action == policy.Accept && anyRefused(o):
		return fmt.Sprintf("accepted unchanged (observe mode; would be: accept for some recipients, others refused or deferred, with %s) (exit 0)", rewrites(o.Plan))
	case o.Observe && o.Verdict.Action == policy.Accept:
		return fmt.Sprintf("accepted unchanged (observe mode; would be: accept with %s) (exit 0)", rewrites(o.Plan))
	case o.Observe:
		return fmt.Sprintf("accepted unchanged (observe mode; would be: %s) (exit 0)", o.Verdict.Action)
	case o.Verdict.Action == policy.Hold:
		return "held in Postfix's hold queue (exit 2)"
	case o.Verdict.Action == policy.Tempfail:
		return "deferred: the client is told to try again later (exit 2)"
	case o.Verdict.Action == policy.Reject:
		return "refused (exit 2)"
	case anyRefused(o):
		return fmt.Sprintf("accepted for some recipients, with %s; others refused or deferred (exit 2)", rewrites(o.Plan))
	}
	return fmt.Sprintf("accepted, with %s (exit 0)", rewrites(o.Plan))
}

func rewrites(p rewrite.Plan) string {
	switch n := len(p.Changes()); n {
	case 0:
		return "no rewrite"
	case 1:
		return "1 rewrite"
	default:
		return fmt.Sprintf("%d rewrites", n)
	}
}

func byRule(r *rewrite.Rule) string {
	if r == nil {
		return "by the [[domain]] route_to setting"
	}
	return "by " + r.String()
}

func printEnvelope(w io.Writer, in decide.Input, o decide.Outcome, p rewrite.Plan, would string) {
	fmt.Fprintln(w, "\nenvelope:")
	from := "<" + in.From + ">"
	switch {
	case p.Sender != nil && p.Sender.New != p.Sender.Old:
		fmt.Fprintf(w, "  MAIL FROM %s\n         -> <%s>  %s%s\n", from, p.Sender.New, byRule(p.Sender.Rule), would)
	case in.From == "":
		fmt.Fprintf(w, "  MAIL FROM <>  (null sender: never rewritten)\n")
	default:
		fmt.Fprintf(w, "  MAIL FROM %s  (unchanged)\n", from)
	}
	// Plan recipient indexes count the recipients the message keeps (refused ones are gone,
	// except in observe mode).
	kept := 0
	for i, r := range o.Rcpts {
		rcpt := "<" + in.Rcpts[i].Addr + ">"
		if args := strings.Join(in.Rcpts[i].Args, " "); args != "" {
			rcpt += " " + args
		}
		if r.Refused() && !o.Observe {
			fmt.Fprintf(w, "  RCPT TO   %s  (refused at RCPT: %s)\n", rcpt, r.Result.Verdict.Action)
			continue
		}
		var change *rewrite.RcptChange
		for j := range p.Rcpts {
			if p.Rcpts[j].Index == kept {
				change = &p.Rcpts[j]
			}
		}
		kept++
		switch {
		case change == nil:
			fmt.Fprintf(w, "  RCPT TO   %s  (unchanged)\n", rcpt)
		case change.Duplicate:
			fmt.Fprintf(w, "  RCPT TO   %s\n         -> <%s> is already a recipient: removed  %s%s\n", rcpt, change.New, byRule(change.Rule), would)
		default:
			fmt.Fprintf(w, "  RCPT TO   %s\n         -> <%s>  %s%s\n", rcpt, change.New, byRule(change.Rule), would)
		}
	}
}

func printHeaders(w io.Writer, in decide.Input, p rewrite.Plan, would string) {
	fmt.Fprintln(w, "\nheaders:")
	if len(in.Headers) == 0 {
		fmt.Fprintln(w, "  none given")
		return
	}
	seen := map[string]int{}
	for _, h := range in.Headers {
		key := strings.ToLower(h.Name)
		seen[key]++
		idx := seen[key]
		var change *rewrite.HeaderChange
		for i := range p.Headers {
			if strings.EqualFold(p.Headers[i].Name, h.Name) && p.Headers[i].Index == idx {
				change = &p.Headers[i]
			}
		}
		var skip *rewrite.HeaderSkip
		for i := range p.Skipped {
			if strings.EqualFold(p.Skipped[i].Name, h.Name) && p.Skipped[i].Index == idx {
				skip = &p.Skipped[i]
			}
		}
		var kept *rewrite.HeaderChange
		for i := range p.Kept {
			if strings.EqualFold(p.Kept[i].Name, h.Name) && p.Kept[i].Index == idx {
				kept = &p.Kept[i]
			}
		}
		switch {
		case kept != nil:
			fmt.Fprintf(w, "  %s\n     (left as it is: a DKIM signature covers it; inbound_header_rewrite = \"always\" would make it\n      %s)\n",
				field(h.Name, h.Value), field(h.Name, kept.New))
		case change != nil:
			fmt.Fprintf(w, "  %s\n", field(h.Name, h.Value))
			fmt.Fprintf(w, "  -> %s%s\n", field(h.Name, change.New), would)
			for _, c := range change.Addrs {
				fmt.Fprintf(w, "       %s -> %s  %s\n", c.Old, c.New, byRule(c.Rule))
			}
		case skip != nil:
			fmt.Fprintf(w, "  %s\n     (left as it is: %v)\n", field(h.Name, h.Value), skip.Err)
		default:
			fmt.Fprintf(w, "  %s  (unchanged)\n", field(h.Name, h.Value))
		}
	}
}

// field renders a header field, folded lines indented under it.
func field(name, value string) string {
	return name + ":" + strings.ReplaceAll(value, "\n", "\n    ")
}
