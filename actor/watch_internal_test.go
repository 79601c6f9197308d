package actor

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// monitorsHeld returns how many monitors r holds on others, and how many
// others hold on r.
func monitorsHeld(r *Ref) (held, on int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.x == nil {
		return 0, 0
	}
	return len(r.x.monitors), len(r.x.watch.fns)
}

// A monitor belongs to the monitoring process, as in OTP: when the watcher
// stops, its monitors go with it, so that a target outliving many
// short-lived watchers does not keep them all (nor their Refs). A monitor
// that fired, or was removed, leaves no record with its watcher either.
func TestMonitorsEndWithTheirWatcher(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	idle := Func(func(*Context, any) error { return nil })
	target, err := Spawn(ctx, idle)
	require.NoError(t, err)
	defer target.Kill()

	downs := make(chan Down, 1)
	monitor := func(c *Context, msg any) error {
		switch m := msg.(type) {
		case Down:
			downs <- m
		case *Ref:
			mref, err := c.Monitor(m)
			if err != nil {
				return err
			}
			return c.Reply(mref)
		case MonitorRef:
			return c.Reply(c.Demonitor(m))
		}
		return nil
	}
	for range 100 {
		w, err := Spawn(ctx, Func(monitor))
		require.NoError(t, err)
		_, err = w.Call(ctx, target)
		require.NoError(t, err)
		require.NoError(t, w.Stop(ctx))
	}
	_, on := monitorsHeld(target)
	assert.Zero(t, on, "monitors of stopped watchers")

	w, err := Spawn(ctx, Func(monitor))
	require.NoError(t, err)
	defer w.Kill()
	m, err := CallAs[MonitorRef](ctx, w, target)
	require.NoError(t, err)
	held, _ := monitorsHeld(w)
	assert.Equal(t, 1, held)
	removed, err := CallAs[bool](ctx, w, m)
	require.NoError(t, err)
	assert.True(t, removed)
	held, _ = monitorsHeld(w)
	assert.Zero(t, held, "a removed monitor")
	_, on = monitorsHeld(target)
	assert.Zero(t, on)

	short, err := Spawn(ctx, idle)
	require.NoError(t, err)
	_, err = w.Call(ctx, short)
	require.NoError(t, err)
	require.NoError(t, short.Stop(ctx))
	select {
	case <-downs:
	case <-ctx.Done():
		t.Fatal("no Down")
	}
	held, _ = monitorsHeld(w)
	assert.Zero(t, held, "a monitor that fired")
}

// An exit requested of an incarnation that has ended since (a linked exit
// whose incarnation number was read just before the restart) must not cancel
// the context of the next incarnation.
func TestStaleExitSparesNextIncarnation(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	exits := make(chan ChildExit, 4)
	parent, err := Spawn(ctx, Func(func(_ *Context, msg any) error {
		if m, ok := msg.(ChildExit); ok {
			exits <- m
		}
		return nil
	}))
	require.NoError(t, err)
	defer parent.Kill()
	boom := errors.New("boom")
	child, err := Spawn(ctx, Func(func(*Context, any) error { return boom }), WithParent(parent))
	require.NoError(t, err)
	defer child.Kill()
	require.NoError(t, child.Send("crash"))
	select {
	case <-exits:
	case <-ctx.Done():
		t.Fatal("no ChildExit")
	}

	next := &ctxProbe{}
	require.NoError(t, child.Restart(next))
	require.NotNil(t, next.ctx)
	child.request(&exitRequest{reason: boom, inc: 1}) // made of incarnation 1
	assert.NoError(t, next.ctx.Err(), "incarnation 2's context")
	v, err := child.Call(ctx, "alive?")
	require.NoError(t, err)
	assert.Equal(t, uint64(2), v)
}

// ctxProbe keeps the context its Init was given and replies with its
// incarnation.
type ctxProbe struct{ ctx context.Context }

func (p *ctxProbe) Init(c *Context) error {
	p.ctx = c.Context()
	return nil
}

func (p *ctxProbe) Receive(c *Context, _ any) error { return c.Reply(c.Incarnation()) }

// A Suspend that returns at once (the actor is suspended, or stopped) leaves
// no waiter behind.
func TestSuspendLeavesNoWaiter(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	parent, err := Spawn(ctx, Func(func(*Context, any) error { return nil }))
	require.NoError(t, err)
	defer parent.Kill()
	child, err := Spawn(ctx, Func(func(*Context, any) error { return nil }), WithParent(parent))
	require.NoError(t, err)
	require.NoError(t, child.Suspend(ctx, ErrShutdown))
	for range 3 {
		require.NoError(t, child.Suspend(ctx, ErrShutdown), "suspended already")
	}
	require.NoError(t, child.Stop(ctx))
	require.ErrorIs(t, child.Suspend(ctx, ErrShutdown), ErrStopped)
	child.mu.Lock()
	defer child.mu.Unlock()
	assert.Empty(t, child.x.paused)
}
