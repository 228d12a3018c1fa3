package decide

import (
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/edgerewrite/edgerewrite/policy"
	"github.com/edgerewrite/edgerewrite/rewrite"
)

// testNow is the clock of the decision tests.
var testNow = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

// loadTestPolicy compiles the policy settings of a TOML file, observe mode forced on when asked.
func loadTestPolicy(tb testing.TB, path string, observe bool) *policy.Policy {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	if observe {
		b = append([]byte("observe = true\n"), b...)
	}
	var cfg policy.Config
	if err := toml.Unmarshal(b, &cfg); err != nil {
		tb.Fatalf("%s: %v", path, err)
	}
	cfg.RecipientDelimiter = "+"
	pol, err := policy.New(cfg)
	if err != nil {
		tb.Fatalf("%s: %v", path, err)
	}
	return pol
}

// gen is a generation of snap and pol with To/Cc rewriting of outbound mail on.
func gen(snap *rewrite.Snapshot, pol *policy.Policy) *Generation {
	return &Generation{Seq: 1, Policy: pol, Rules: snap, Options: Options{RewriteOutboundToCc: true}}
}

// decideFixtures loads the session test rules and policy for Decide alone.
func decideFixtures(t *testing.T, policyEdit func(string) string) (*rewrite.Snapshot, *policy.Policy) {
	t.Helper()
	table := rewrite.NewTable(rewrite.Options{RecipientDelimiter: "+"})
	if _, err := table.Load("../testdata/session/rules"); err != nil {
		t.Fatal(err)
	}
	path := "../testdata/session/policy.toml"
	if policyEdit != nil {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		path = filepath.Join(t.TempDir(), "policy.toml")
		if err := os.WriteFile(path, []byte(policyEdit(string(b))), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return table.Snapshot(), loadTestPolicy(t, path, false)
}

var (
	connTenantA  = policy.Conn{Addr: netip.MustParseAddr("198.51.100.7"), DaemonName: "smtpd-tenant-a"}
	connInternet = policy.Conn{Addr: netip.MustParseAddr("203.0.113.5"), DaemonName: "smtpd"}
)

func actionStrings(acts []Action) []string {
	var ss []string
	for _, a := range acts {
		ss = append(ss, a.String())
	}
	return ss
}

func TestDecide(t *testing.T) {
	snap, pol := decideFixtures(t, nil)
	pilot, pilotPol := decideFixtures(t, func(s string) string {
		return strings.Replace(s, `domains = ["contoso.com", "fabrikam.com"]`,
			`domains = ["contoso.com", "fabrikam.com"]`+"\npilot_senders = [\"alice@tenanta.contoso.com\"]", 1)
	})
	tests := []struct {
		name        string
		snap        *rewrite.Snapshot
		pol         *policy.Policy
		in          Input
		wantVerdict policy.Action
		wantObserve bool
		wantActions []string
	}{{
		name: "outbound with hairpin",
		snap: snap, pol: pol,
		in: Input{Conn: connTenantA, From: "john@tenanta.contoso.com",
			Rcpts:   []Rcpt{{Addr: "bob@contoso.com", Args: []string{"NOTIFY=NEVER"}}, {Addr: "x@example.net"}},
			Headers: []rewrite.Header{{Name: "From", Value: " john@tenanta.contoso.com"}}},
		wantActions: []string{
			"SMFIR_CHGFROM <john@contoso.com>",
			"SMFIR_DELRCPT <bob@contoso.com>",
			"SMFIR_ADDRCPT_PAR <bob@tenantb.contoso.com> NOTIFY=NEVER ORCPT=rfc822;bob@contoso.com",
			"SMFIR_CHGHEADER From[1]: john@contoso.com",
		},
	}, {
		name: "pilot scope excludes the sender: no sender or To/Cc rewriting, hairpin still routed",
		snap: pilot, pol: pilotPol,
		in: Input{Conn: connTenantA, From: "john@tenanta.contoso.com",
			Rcpts:   []Rcpt{{Addr: "bob@contoso.com"}},
			Headers: []rewrite.Header{{Name: "From", Value: " john@tenanta.contoso.com"}, {Name: "Cc", Value: " jane@tenanta.contoso.com"}}},
		wantActions: []string{
			"SMFIR_DELRCPT <bob@contoso.com>",
			"SMFIR_ADDRCPT_PAR <bob@tenantb.contoso.com> ORCPT=rfc822;bob@contoso.com",
		},
	}, {
		name: "inbound: refused recipients are left out of the plan",
		snap: snap, pol: pol,
		in: Input{Conn: connInternet, From: "s@example.net",
			Rcpts: []Rcpt{{Addr: "nobody@fabrikam.com"}, {Addr: "dave@fabrikam.com"}}},
		wantActions: []string{
			"SMFIR_DELRCPT <dave@fabrikam.com>",
			"SMFIR_ADDRCPT_PAR <dave@tenantb.contoso.com> ORCPT=rfc822;dave@fabrikam.com",
		},
	}, {
		name: "inbound: unresolved recipient of a routing domain goes to route_to",
		snap: snap, pol: pol,
		in: Input{Conn: connInternet, From: "s@example.net", Rcpts: []Rcpt{{Addr: "Pat@northwind.example"}}},
		wantActions: []string{
			"SMFIR_DELRCPT <Pat@northwind.example>",
			"SMFIR_ADDRCPT_PAR <Pat@northwind.mail.example> ORCPT=rfc822;Pat@northwind.example",
		},
	}, {
		name: "every recipient refused: the message takes the first refusal",
		snap: snap, pol: pol,
		in:          Input{Conn: connInternet, From: "s@example.net", Rcpts: []Rcpt{{Addr: "carol@contoso.com"}, {Addr: "x@example.org"}}},
		wantVerdict: policy.Tempfail,
	}, {
		name: "no rules in service: nothing rewritten, unresolved shared-domain recipient refused",
		snap: nil, pol: pol,
		in:          Input{Conn: connInternet, From: "s@example.net", Rcpts: []Rcpt{{Addr: "dave@fabrikam.com"}}},
		wantVerdict: policy.Reject,
	}, {
		name: "outbound with an unparsable From naming another tenant: refused, not skipped",
		snap: snap, pol: pol,
		in: Input{Conn: connTenantA, From: "john@tenanta.contoso.com", Rcpts: []Rcpt{{Addr: "x@example.net"}},
			Headers: []rewrite.Header{{Name: "From", Value: ` "Boss <boss@tenantb.contoso.com>`}}},
		wantVerdict: policy.Reject,
	}, {
		name: "outbound From with another tenant's address before an unclosed comment: refused",
		snap: snap, pol: pol,
		in: Input{Conn: connTenantA, From: "john@tenanta.contoso.com", Rcpts: []Rcpt{{Addr: "x@example.net"}},
			Headers: []rewrite.Header{{Name: "From", Value: " <mary@tenantb.contoso.com>, (x <john@tenanta.contoso.com>"}}},
		wantVerdict: policy.Reject,
	}, {
		name: "outbound Sender of another tenant: refused",
		snap: snap, pol: pol,
		in: Input{Conn: connTenantA, From: "john@tenanta.contoso.com", Rcpts: []Rcpt{{Addr: "x@example.net"}},
			Headers: []rewrite.Header{{Name: "From", Value: " john@tenanta.contoso.com"}, {Name: "Sender", Value: " mary@tenantb.contoso.com"}}},
		wantVerdict: policy.Reject,
	}, {
		name: "hold: rewritten and held, so that it leaves rewritten when released",
		snap: snap, pol: pol,
		in:          Input{Conn: connInternet, From: "s@example.net", Rcpts: []Rcpt{{Addr: "held@contoso.com"}}},
		wantVerdict: policy.Hold,
		wantActions: []string{
			"SMFIR_DELRCPT <held@contoso.com>",
			"SMFIR_ADDRCPT_PAR <held@tenanta.contoso.com> ORCPT=rfc822;held@contoso.com",
		},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := Decide(gen(tc.snap, tc.pol), tc.in, testNow)
			if out.Verdict.Action != tc.wantVerdict || out.Observe != tc.wantObserve {
				t.Errorf("verdict %v observe %v, want %v %v", out.Verdict, out.Observe, tc.wantVerdict, tc.wantObserve)
			}
			if got := actionStrings(out.Actions); !reflect.DeepEqual(got, tc.wantActions) {
				t.Errorf("actions:\n got %q\nwant %q", got, tc.wantActions)
			}
			if len(out.Rcpts) != len(tc.in.Rcpts) {
				t.Errorf("%d recipient outcomes for %d recipients", len(out.Rcpts), len(tc.in.Rcpts))
			}
		})
	}
}

func TestDecide_ObserveComputesButAppliesNothing(t *testing.T) {
	snap, _ := decideFixtures(t, nil)
	pol := loadTestPolicy(t, "../testdata/session/policy.toml", true)
	in := Input{Conn: connInternet, From: "s@example.net", Rcpts: []Rcpt{{Addr: "carol@contoso.com"}, {Addr: "bob@contoso.com"}}}
	out := Decide(&Generation{Policy: pol, Rules: snap}, in, testNow)
	if !out.Observe || out.Action() != policy.Accept || out.Apply() {
		t.Errorf("observe: Observe %v Action %v Apply %v; want true accept false", out.Observe, out.Action(), out.Apply())
	}
	if len(out.Actions) != 4 || !out.Rcpts[0].Refused() {
		t.Errorf("observe should still show what would happen: actions %q, carol refused %v", actionStrings(out.Actions), out.Rcpts[0].Refused())
	}
}

// TestMessage_RecipientDecidedOnce: the outcome End reports for each recipient is the one
// given at its RCPT, whatever changed in between.
func TestMessage_RecipientDecidedOnce(t *testing.T) {
	snap, pol := decideFixtures(t, nil)
	m := gen(snap, pol).Begin(connInternet, "s@example.net", testNow)
	var atRcpt []RcptOutcome
	for _, a := range []string{"carol@contoso.com", "bob@contoso.com", "nobody@fabrikam.com"} {
		atRcpt = append(atRcpt, m.Recipient(a, nil))
	}
	out := m.End("4QID")
	if !reflect.DeepEqual(out.Rcpts, atRcpt) {
		t.Errorf("end of message recipients %+v, RCPT stage %+v", out.Rcpts, atRcpt)
	}
	if got := m.Input().QueueID; got != "4QID" {
		t.Errorf("queue ID %q", got)
	}
}

func TestDecide_ObserveNamesTheWouldBeVerdictWhenEveryRecipientIsRefused(t *testing.T) {
	snap, _ := decideFixtures(t, nil)
	pol := loadTestPolicy(t, "../testdata/session/policy.toml", true)
	in := Input{Conn: connInternet, From: "s@example.net", Rcpts: []Rcpt{{Addr: "carol@contoso.com"}}}
	out := Decide(&Generation{Policy: pol, Rules: snap}, in, testNow)
	if out.Verdict.Action != policy.Tempfail || out.Action() != policy.Accept || out.Apply() {
		t.Errorf("observe, only a deferred recipient: verdict %v, Action %v, Apply %v; want would-be tempfail, told accept, nothing applied",
			out.Verdict, out.Action(), out.Apply())
	}
}
