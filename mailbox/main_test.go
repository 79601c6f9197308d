package mailbox

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if a test leaves a goroutine behind: a sender
// parked for ever is exactly the bug a mailbox must not have.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
