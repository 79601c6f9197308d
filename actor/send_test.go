package actor_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/arbor-go/arbor/actor"
	"github.com/arbor-go/arbor/mailbox"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type fromSender struct{ sender, seq int }

func TestSendOrder(t *testing.T) {
	t.Run("messages from one sender arrive in the order sent", func(t *testing.T) {
		const n = 2000
		out := make(chan any, n)
		ref := mustSpawn(t, puppet(out))
		for i := range n {
			require.NoError(t, ref.Send(i))
		}
		for i := range n {
			require.Equal(t, i, next(t, out), "message %d", i)
		}
	})

	t.Run("each of several concurrent senders keeps its own order", func(t *testing.T) {
		const senders, each = 8, 500
		out := make(chan any, senders*each)
		ref := mustSpawn(t, puppet(out))
		var wg sync.WaitGroup
		for s := range senders {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range each {
					if err := ref.Send(fromSender{s, i}); err != nil {
						t.Errorf("send: %v", err)
						return
					}
				}
			}()
		}
		wg.Wait()
		seen := make([]int, senders)
		for range senders * each {
			m := next(t, out).(fromSender)
			require.Equal(t, seen[m.sender], m.seq, "sender %d out of order", m.sender)
			seen[m.sender]++
		}
	})

	t.Run("SendContext delivers like Send", func(t *testing.T) {
		out := make(chan any, 2)
		ref := mustSpawn(t, puppet(out))
		require.NoError(t, ref.SendContext(context.Background(), "a"))
		require.NoError(t, ref.Send("b"))
		assert.Equal(t, "a", next(t, out))
		assert.Equal(t, "b", next(t, out))
	})
}

func TestActorHandlesOneMessageAtATime(t *testing.T) {
	// The counter is not synchronised: concurrent Receives would be a data
	// race, which the race detector reports.
	const senders, each = 4, 250
	count := 0
	ref := mustSpawn(t, actor.Func(func(c *actor.Context, msg any) error {
		if msg == "count" {
			return c.Reply(count)
		}
		count++
		return nil
	}))
	var wg sync.WaitGroup
	for range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				_ = ref.Send(1)
			}
		}()
	}
	wg.Wait()
	n, err := actor.CallAs[int](callCtx(t), ref, "count")
	require.NoError(t, err)
	assert.Equal(t, senders*each, n)
}

// SendContext gives up on a full Block mailbox when its ctx ends, and says
// why as Call does: with the ctx's cause.
func TestSendContextReturnsTheCauseOfItsEnd(t *testing.T) {
	hold := make(chan struct{})
	defer close(hold)
	busy := make(chan struct{}, 1)
	ref := mustSpawn(t, actor.Func(func(*actor.Context, any) error {
		select {
		case busy <- struct{}{}:
		default:
		}
		<-hold
		return nil
	}), actor.WithMailbox(mailbox.Options{Capacity: 1, Policy: mailbox.Block}))
	require.NoError(t, ref.Send("first")) // in hand
	next(t, busy)
	require.NoError(t, ref.Send("second")) // fills the mailbox
	why := errors.New("gave up on the send")
	ctx, cancel := context.WithCancelCause(context.Background())
	cancel(why)
	assert.ErrorIs(t, ref.SendContext(ctx, "third"), why)
}
