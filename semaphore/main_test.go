package semaphore_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run if any test leaves a goroutine behind: every
// waiter and every task must have an exit path.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
