package actor_test

import (
	"context"
	"testing"
	"time"

	"github.com/arbor-go/arbor/actor"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"
)

// Context's doc: the incarnation's context "has the values and the deadline
// of the context given to Spawn, whose end stops the actor with ErrShutdown
// and so cancels this one". An unsupervised actor that crashed runs
// Terminate with its context still live (it is cancelled after Terminate);
// if the spawn context ends meanwhile, a Terminate bounded by c.Context() is
// let go, as a Stop lets it go: the spawn watch is released only once
// Terminate has run.
func TestSpawnContextEndCancelsContextDuringTerminate(t *testing.T) {
	spawnCtx, cancelSpawn := context.WithCancel(context.Background())
	defer cancelSpawn()
	inTerminate := make(chan struct{})
	released := make(chan error, 1)
	ref, err := actor.Spawn(spawnCtx, &lifecycle{
		receive: func(*actor.Context, any) error { return errBoom },
		terminate: func(c *actor.Context, _ error) {
			ctx := c.Context()
			close(inTerminate)
			select {
			case <-ctx.Done():
				released <- context.Cause(ctx)
			case <-time.After(2 * time.Second):
				released <- nil
			}
		},
	}, actor.WithLogger(zerolog.Nop()))
	require.NoError(t, err)
	require.NoError(t, ref.Send("crash"))
	next(t, inTerminate)
	cancelSpawn()
	cause := next(t, released)
	require.NotNil(t, cause, "the spawn context ended while Terminate ran, but the incarnation's context was not cancelled")
	waitDone(t, ref)
}

// panickyRestarter panics in its first RestartNow, then declines.
type panickyRestarter struct{ asked chan struct{} }

func (p *panickyRestarter) RestartNow(*actor.Ref, error) (actor.Actor, bool) {
	select {
	case p.asked <- struct{}{}:
		panic("restarter bug")
	default:
		return nil, false
	}
}
func (*panickyRestarter) Restarted(*actor.Ref, error) {}

// A Restarter is user code run on the actor's goroutine as the incarnation
// ends, as Terminate, end hooks and the dead-letter hook are, and guarded as
// they are: its panic is logged and taken for a decline. It must not reach
// the batch's recover, which would take it for a crash of the incarnation
// that has already ended, run Terminate a second time, and lose the call in
// hand (detached by the first end), which would wait for its timeout.
func TestRestarterPanicDoesNotRunTerminateTwiceNorLoseTheCall(t *testing.T) {
	parentOut := make(chan any, 16)
	parent := mustSpawn(t, puppet(parentOut))
	terminated := make(chan error, 4)
	rs := &panickyRestarter{asked: make(chan struct{}, 1)}
	child := mustSpawn(t, &lifecycle{
		receive:   func(*actor.Context, any) error { return errBoom },
		terminate: func(_ *actor.Context, reason error) { terminated <- reason },
	}, actor.WithParent(parent), actor.WithRestarter(rs), actor.WithCallTimeout(3*time.Second))
	start := time.Now()
	_, err := child.Call(context.Background(), "crash")
	elapsed := time.Since(start)
	require.ErrorIs(t, next(t, terminated), errBoom)
	select {
	case reason := <-terminated:
		t.Errorf("Terminate ran a second time, with %v", reason)
	case <-time.After(200 * time.Millisecond):
	}
	require.NotErrorIs(t, err, actor.ErrCallTimeout, "the call in hand was never answered (waited %v)", elapsed)
}

// Context.Replier's doc: a call still unanswered when the incarnation that
// took its Replier ends fails then; for an end for good the caller learns of
// it through Done and abandons the request, and a Reply after that returns
// ErrCallerGone.
func TestReplierOfCallFailedByStopForGoodReturnsErrCallerGone(t *testing.T) {
	repliers := make(chan actor.Replier, 1)
	ref := mustSpawn(t, actor.Func(func(c *actor.Context, msg any) error {
		r, err := c.Replier()
		repliers <- r
		return err
	}))
	result := make(chan error, 1)
	go func() { _, err := ref.Call(callCtx(t), "later"); result <- err }()
	held := next(t, repliers)
	require.NoError(t, ref.Stop(callCtx(t)))
	require.ErrorIs(t, next(t, result), actor.ErrStopped)
	require.ErrorIs(t, held.Reply("too late"), actor.ErrCallerGone)
}
