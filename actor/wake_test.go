package actor_test

import (
	"sync"
	"testing"

	"github.com/arbor-go/arbor/actor"
	"github.com/stretchr/testify/assert"
)

// TestSendersRacingAnActorThatGoesIdle has senders that wait for each message
// to be handled before they send the next, so that the actor empties its
// mailbox and goes idle between almost every message,
// while the other senders' pushes race that: none may be lost or reordered.
func TestSendersRacingAnActorThatGoesIdle(t *testing.T) {
	const senders, each = 4, 2_000
	type note struct{ from, seq int }
	acks := make([]chan struct{}, senders)
	for i := range acks {
		acks[i] = make(chan struct{}, 1)
	}
	want := make([]int, senders)
	var mu sync.Mutex
	var bad []note
	ref := mustSpawn(t, actor.Func(func(_ *actor.Context, m any) error {
		n := m.(note)
		if want[n.from] != n.seq {
			mu.Lock()
			bad = append(bad, n)
			mu.Unlock()
		}
		want[n.from] = n.seq + 1
		acks[n.from] <- struct{}{}
		return nil
	}))
	var wg sync.WaitGroup
	for s := range senders {
		wg.Go(func() {
			for i := range each {
				if err := ref.Send(note{s, i}); err != nil {
					t.Error(err)
					return
				}
				<-acks[s]
			}
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	next(t, (<-chan struct{})(done))
	mu.Lock()
	defer mu.Unlock()
	assert.Empty(t, bad, "messages out of order")
	assert.Zero(t, ref.MailboxLen())
}
