//go:build !faultinject

package milter

// FaultHeader names the header field that a binary built with `-tags faultinject` obeys (see
// faultinject.go); this build ignores it.
const FaultHeader = "X-Edgerewrite-Fault"

// FaultInjection reports whether this binary was built with the faultinject tag.
const FaultInjection = false

// injectFault does nothing without the faultinject build tag (the call is inlined away).
func injectFault(string, string) {}
