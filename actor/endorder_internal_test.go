package actor

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// stoppingRestarter decides a restart in place, but first has the child
// stopped for good, and waits until the Stop's request is in.
type stoppingRestarter struct {
	ctx       context.Context
	stopped   chan error
	restarted chan error
}

func (s *stoppingRestarter) RestartNow(child *Ref, _ error) (Actor, bool) {
	go func() { s.stopped <- child.Stop(s.ctx) }()
	for s.ctx.Err() == nil {
		if p := child.pending.Load(); p != nil && p.final {
			break
		}
		runtime.Gosched()
	}
	return Func(func(*Context, any) error { return nil }), true
}

func (s *stoppingRestarter) Restarted(_ *Ref, err error) { s.restarted <- err }

// A supervised child stopped for good while its Restarter decides does not
// restart: the restart fails with ErrStopped and the actor stops. The call
// it crashed handling reports Stopped, as without a Restarter.
func TestCallInHandOfChildStoppedWhileRestarterDecidesReportsStopped(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	parent, err := Spawn(ctx, Func(func(*Context, any) error { return nil }))
	require.NoError(t, err)
	defer parent.Kill()
	rs := &stoppingRestarter{ctx: ctx, stopped: make(chan error, 1), restarted: make(chan error, 1)}
	errCrash := errors.New("crash")
	child, err := Spawn(ctx, Func(func(*Context, any) error { return errCrash }),
		WithParent(parent), WithRestarter(rs))
	require.NoError(t, err)
	defer child.Kill()

	_, err = child.Call(ctx, "crash")
	var xe *ExitError
	require.ErrorAs(t, err, &xe)
	require.NoError(t, <-rs.stopped)
	assert.ErrorIs(t, <-rs.restarted, ErrStopped, "the restart fails: the actor was stopped")
	assert.False(t, child.Alive())
	assert.True(t, xe.Stopped, "the call says the actor lives on (Stopped=false, reason %v), yet it was stopped before the call was failed", xe.Reason)
}
