package milter

import (
	"testing"

	"github.com/edgerewrite/edgerewrite/policy"
)

// SMFIR_REPLYCODE must satisfy Postfix's milter8.c check: 4xx or 5xx, then ' ', then a status
// of the same class; '%' is a format character there.
func TestReplyResponse_SMFIR_REPLYCODE(t *testing.T) {
	tests := []struct {
		v    policy.Verdict
		want string
	}{
		{policy.Verdict{Action: policy.Reject, Code: 550, Status: "5.1.1", Text: "unknown"}, "550 5.1.1 unknown"},
		{policy.Verdict{Action: policy.Tempfail, Code: 451, Status: "4.7.1", Text: "moving\r\nsoon"}, "451 4.7.1 moving  soon"},
		{policy.Verdict{Action: policy.Tempfail, Code: 550, Status: "5.7.1", Text: "x"}, "451 4.7.1 x"},
		{policy.Verdict{Action: policy.Reject, Code: 554, Status: "4.7.1", Text: "100% sure"}, "554 5.7.1 100%% sure"},
		{policy.Verdict{Action: policy.Reject}, "550 5.7.1 message refused"},
		{policy.Verdict{Action: policy.Tempfail}, "451 4.7.1 try again later"},
	}
	for _, tc := range tests {
		msg := replyResponse(tc.v).Response()
		if msg.Code != smfirReplyCode || string(msg.Data) != tc.want+"\x00" {
			t.Errorf("replyResponse(%+v) = %q %q, want 'y' %q", tc.v, msg.Code, msg.Data, tc.want)
		}
		if !replyResponse(tc.v).Continue() {
			t.Errorf("go-milter would end the session after %q (a RCPT refusal must keep it)", tc.want)
		}
	}
}
