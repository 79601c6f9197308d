package actor_test

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/arbor-go/arbor/actor"
	"github.com/arbor-go/arbor/mailbox"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestConcurrentCallsGetTheirOwnAnswers(t *testing.T) {
	// Replies come late from other goroutines while some callers give up:
	// whatever the interleaving, a call that returns a value returns its own.
	ref := mustSpawn(t, actor.Func(func(c *actor.Context, msg any) error {
		n := msg.(int)
		r, err := c.Replier()
		if err != nil {
			return err
		}
		go func() {
			if n%3 == 0 {
				runtime.Gosched()
			}
			_ = r.Reply(n)
		}()
		return nil
	}))
	const callers, each = 8, 300
	var wg sync.WaitGroup
	var mu sync.Mutex
	answered, gaveUp := 0, 0
	for g := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				n := g*each + i
				timeout := time.Second
				if n%4 == 0 {
					timeout = time.Microsecond // often gone before the reply
				}
				ctx, cancel := context.WithTimeout(context.Background(), timeout)
				v, err := ref.Call(ctx, n)
				cancel()
				mu.Lock()
				switch {
				case err == nil:
					answered++
					if v != n {
						t.Errorf("call %d got %v", n, v)
					}
				case errors.Is(err, context.DeadlineExceeded):
					gaveUp++
				default:
					t.Errorf("call %d: %v", n, err)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	assert.Equal(t, callers*each, answered+gaveUp)
	assert.Greater(t, answered, callers*each/2)
}

func TestEveryMessageIsHandledOrADeadLetter(t *testing.T) {
	// Sends racing with a stop: each message is either handled or reported
	// as a dead letter, exactly once; none vanishes.
	const senders, each = 4, 500
	handled := make(chan int, senders*each)
	dead := make(chan int, senders*each)
	ref := mustSpawn(t, actor.Func(func(_ *actor.Context, msg any) error {
		handled <- msg.(int)
		return nil
	}), actor.WithDeadLetters(func(d actor.DeadLetter) { dead <- d.Msg.(int) }))

	var wg sync.WaitGroup
	start := make(chan struct{})
	for s := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for i := range each {
				_ = ref.Send(s*each + i)
			}
		}()
	}
	close(start)
	require.NoError(t, ref.Stop(callCtx(t)))
	wg.Wait()

	count := make(map[int]int, senders*each)
	for range senders * each {
		select {
		case n := <-handled:
			count[n]++
		case n := <-dead:
			count[n]++
		case <-time.After(patience):
			t.Fatalf("only %d of %d messages accounted for", len(count), senders*each)
		}
	}
	for n := range senders * each {
		assert.Equal(t, 1, count[n], "message %d", n)
	}
	assert.Empty(t, handled)
	assert.Empty(t, dead)
}

func TestNoMessageIsLostToARestart(t *testing.T) {
	// A task parent restarts the child the moment it crashes, while a sender
	// keeps sending: every message is handled once, in order, the crashing
	// ones included (each is handled once and then not redelivered).
	const total, crashEvery = 2000, 97
	got := make(chan int, total)
	behaviour := func() actor.Actor {
		return actor.Func(func(_ *actor.Context, msg any) error {
			n := msg.(int)
			got <- n
			if n%crashEvery == 0 {
				return errBoom
			}
			return nil
		})
	}
	restarts := make(chan uint64, total)
	parent := mustSpawn(t, actor.Task(func(ctx context.Context, c *actor.Context) error {
		for {
			msg, err := c.Recv(ctx)
			if err != nil {
				return err
			}
			if exit, ok := msg.(actor.ChildExit); ok && !exit.Final {
				if err := exit.Child.Restart(behaviour()); err != nil {
					return err
				}
				restarts <- exit.Incarnation
			}
		}
	}))
	child := mustSpawn(t, behaviour(), actor.WithParent(parent))
	for n := range total {
		require.NoError(t, child.Send(n))
	}
	for want := range total {
		require.Equal(t, want, next(t, got))
	}
	wantRestarts := (total-1)/crashEvery + 1
	for inc := 1; inc <= wantRestarts; inc++ {
		assert.Equal(t, uint64(inc), next(t, restarts))
	}
	assert.Equal(t, uint64(wantRestarts+1), child.Incarnation())
}

func TestCallsAcrossRestartsGetTheirOwnAnswers(t *testing.T) {
	// Callers keep a child with a small Block mailbox busy while it crashes
	// on some calls and its parent restarts it each time; some replies come
	// later, from other goroutines. Every call gets its own reply, or, for
	// one that crashed the child, a non-final ExitError, as does a deferred
	// one whose incarnation crashed before the reply came (as in OTP): none
	// is lost to a restart, none gets another's reply, and each crash is
	// one restart.
	type call struct{ caller, n int }
	crashes := func(m call) bool { return m.n%7 == 3 }
	behaviour := func() actor.Actor {
		return actor.Func(func(c *actor.Context, msg any) error {
			m := msg.(call)
			switch {
			case crashes(m):
				return errBoom
			case m.n%5 == 1:
				r, err := c.Replier()
				if err != nil {
					return err
				}
				go func() { _ = r.Reply(m) }()
				return nil
			}
			return c.Reply(m)
		})
	}
	parent := mustSpawn(t, actor.Func(func(_ *actor.Context, msg any) error {
		if ce, ok := msg.(actor.ChildExit); ok && !ce.Final {
			return ce.Child.Restart(behaviour())
		}
		return nil
	}))
	child := mustSpawn(t, behaviour(), actor.WithParent(parent),
		actor.WithMailbox(mailbox.Options{Capacity: 16, Policy: mailbox.Block}))

	const callers, each = 8, 150
	var wg sync.WaitGroup
	for g := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range each {
				m := call{g, n}
				ctx, cancel := context.WithTimeout(context.Background(), patience)
				v, err := child.Call(ctx, m)
				cancel()
				var exit *actor.ExitError
				crashedFirst := errors.As(err, &exit) && !exit.Stopped && errors.Is(err, errBoom)
				if crashes(m) {
					if !crashedFirst {
						t.Errorf("call %v crashed the child: got %v, %v", m, v, err)
						return
					}
					continue
				}
				if m.n%5 == 1 && crashedFirst {
					continue // deferred, and the incarnation crashed before the reply
				}
				if err != nil || v != m {
					t.Errorf("call %v: got %v, %v", m, v, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	crashed := 0
	for n := range each {
		if crashes(call{0, n}) {
			crashed += callers
		}
	}
	eventually(t, func() bool { return child.Incarnation() == uint64(crashed+1) },
		"one restart per crash")
}

func TestStopAndKillRacing(t *testing.T) {
	// Whoever wins, the actor ends once, with one of the two reasons, and
	// both callers return.
	for range 50 {
		ref := mustSpawn(t, puppet(make(chan any, 1)))
		stopped := make(chan error, 1)
		go func() { stopped <- ref.Stop(context.Background()) }()
		ref.Kill()
		require.NoError(t, next(t, stopped))
		reason := waitDone(t, ref)
		assert.True(t, errors.Is(reason, actor.ErrKilled) || errors.Is(reason, actor.ErrShutdown), "reason %v", reason)
	}
}

func TestRestartAndStopRacing(t *testing.T) {
	// A parent restarting a crashed child while someone stops it: the child
	// ends for good either way, and the parent hears that it did.
	for range 50 {
		parentOut := make(chan any, 8)
		parent := mustSpawn(t, puppet(parentOut))
		child := mustSpawn(t, puppet(make(chan any, 1)), actor.WithParent(parent))
		require.NoError(t, child.Send(doFn(func(*actor.Context) error { return errBoom })))
		require.False(t, nextOf[actor.ChildExit](t, parentOut).Final)

		restarted := make(chan error, 1)
		go func() { restarted <- child.Restart(puppet(make(chan any, 1))) }()
		require.NoError(t, child.Stop(callCtx(t)))
		err := next(t, restarted)
		assert.True(t, err == nil || errors.Is(err, actor.ErrStopped), "Restart: %v", err)
		assert.ErrorIs(t, waitDone(t, child), actor.ErrShutdown)
		exit := nextOf[actor.ChildExit](t, parentOut)
		assert.True(t, exit.Final)
		assert.ErrorIs(t, exit.Reason, actor.ErrShutdown)
	}
}
