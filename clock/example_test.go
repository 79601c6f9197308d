package clock_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/arbor-go/arbor/actor"
	"github.com/arbor-go/arbor/clock"
	"github.com/arbor-go/arbor/strategy"
	"github.com/arbor-go/arbor/tree"
	"github.com/rs/zerolog"
)

// A fake clock makes a supervisor's backoff a step the test takes by hand:
// the restart waits, however long the delay, until the clock is advanced.
func ExampleFake() {
	fake := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	worker := func() actor.Actor {
		return actor.Func(func(c *actor.Context, msg any) error {
			if msg == "crash" {
				return errors.New("crashed on purpose")
			}
			return c.Reply(c.Incarnation())
		})
	}
	ctx := context.Background()
	sup, err := tree.Start(ctx, tree.Spec{
		Backoff:  strategy.Constant(time.Hour),
		Children: []tree.ChildSpec{tree.Worker("w", worker)},
	}, tree.WithClock(fake), tree.WithLogger(zerolog.Nop()))
	if err != nil {
		panic(err)
	}
	defer sup.Stop(ctx)
	events := sup.Subscribe(16)
	defer events.Close()
	children, err := sup.WhichChildren(ctx)
	if err != nil {
		panic(err)
	}
	w := children[0].Ref

	_ = w.Send("crash")
	<-fake.Scheduled() // the restart is due in an hour of the fake clock
	fmt.Println("timers waiting:", fake.Pending())
	fake.Advance(time.Hour)
	for ev := range events.Events() {
		if ev.Kind == tree.ChildRestarted {
			fmt.Println("restarted at", ev.Time.Format(time.TimeOnly))
			break
		}
	}
	n, err := actor.CallAs[uint64](ctx, w, "incarnation?")
	fmt.Println("incarnation:", n, err)
	// Output:
	// timers waiting: 1
	// restarted at 01:00:00
	// incarnation: 2 <nil>
}
