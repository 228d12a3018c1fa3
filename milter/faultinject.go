//go:build faultinject

package milter

import "strings"

// FaultHeader is the header field that makes a session fail on purpose in a binary built with
// `-tags faultinject` (integration/fault_test.go builds one). The value "panic" panics in the
// SMFIC_HEADER callback, which the session must answer with a temporary failure while the
// daemon serves on. Release builds (faultinject_off.go) ignore the field.
const FaultHeader = "X-Edgerewrite-Fault"

// FaultInjection reports whether this binary was built with the faultinject tag.
const FaultInjection = true

// injectFault panics when a header field asks for it (see FaultHeader).
func injectFault(name, value string) {
	if strings.EqualFold(name, FaultHeader) && strings.TrimSpace(value) == "panic" {
		panic("fault injection: " + FaultHeader + ": panic")
	}
}
