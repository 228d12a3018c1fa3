package integration

import (
	"testing"
	"time"

	"github.com/edgerewrite/edgerewrite/integration/harness"
)

// Helpers shared by the e2e_*, examples_* and fault_* tests.

// waitHeld waits until the message is in Postfix's hold queue (postqueue -j) and returns its
// entry, or fails the test after timeout.
func waitHeld(t *testing.T, pf *harness.Postfix, queueID string, timeout time.Duration) harness.QueuedMessage {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		q, err := pf.Queue()
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range q {
			if m.QueueID == queueID && m.QueueName == "hold" {
				return m
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("queue ID %s is not in the hold queue: %+v", queueID, q)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
