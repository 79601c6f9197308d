package main

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

// runFor runs the demo for d with ctx and returns its output, failing the
// test if it does not return within limit.
func runFor(t *testing.T, ctx context.Context, d, limit time.Duration) string {
	t.Helper()
	var out bytes.Buffer
	done := make(chan error, 1)
	go func() { done <- run(ctx, &out, zerolog.Nop(), d, 42) }()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(limit):
		t.Fatalf("the demo did not return within %v", limit)
	}
	return out.String() // run's writers have all returned
}

func TestDemoShowsRestartsEscalationAndTheTree(t *testing.T) {
	out := runFor(t, context.Background(), 2*time.Second, 12*time.Second)

	assert.Contains(t, out, "the tree as started")
	assert.Regexp(t, `demo/gateway\s+session\s+child_restarted`, out, "the gateway restarts its session")
	assert.Regexp(t, `demo/gateway\s+session\s+intensity_exceeded`, out, "the gateway gives up")
	assert.Regexp(t, `demo\s+gateway\s+child_exited\s+shutdown: .*reached max restart intensity`, out,
		"the root sees the gateway's shutdown")
	assert.Regexp(t, `demo\s+gateway\s+child_restarted`, out, "the root restarts the gateway")
	assert.Regexp(t, `demo/gateway\s+session\s+name_registered`, out, "the new session takes the name")
	assert.Contains(t, out, "asked gateway/session by name after the escalation: its new session answered, incarnation 1",
		"a call by name reaches the session that replaced the one that gave up")
	assert.Contains(t, out, "the tree after")
	assert.Regexp(t, `└── gateway \(.*\)\s+supervisor running, incarnation 2`, out,
		"the final tree shows the gateway in its second incarnation")
	assert.Regexp(t, `demo\s+supervisor_stopped shutdown`, out, "the root stops last")
	assert.Contains(t, out, "abandoned (their goroutines may still run): 0 []")
	if t.Failed() {
		t.Log(out)
	}
	goleak.VerifyNone(t)
}

func TestDemoStopsAtOnceWhenInterrupted(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // as a Ctrl-C before anything happened
	out := runFor(t, ctx, time.Minute, 5*time.Second)

	assert.Contains(t, out, ">> interrupted")
	assert.Contains(t, out, "the tree after")
	assert.NotContains(t, out, "intensity_exceeded")
	assert.Contains(t, out, "abandoned (their goroutines may still run): 0 []")
	if t.Failed() {
		t.Log(out)
	}
	goleak.VerifyNone(t)
}
