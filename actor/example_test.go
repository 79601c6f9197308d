package actor_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/arbor-go/arbor/actor"
	"github.com/rs/zerolog"
)

// The README's example: an actor that keeps a count, told and asked.
func Example() {
	ctx := context.Background()
	count := 0
	counter, err := actor.Spawn(ctx, actor.Func(func(c *actor.Context, msg any) error {
		switch msg.(type) {
		case string: // "inc"
			count++
		case struct{}: // a question
			return c.Reply(count)
		}
		return nil
	}))
	if err != nil {
		panic(err)
	}
	defer counter.Stop(ctx)

	counter.Send("inc")
	counter.Send("inc")
	n, err := actor.CallAs[int](ctx, counter, struct{}{})
	fmt.Println(n, err)
	// Output: 2 <nil>
}

// A monitor learns how a watched actor ended, here a panic, with its stack.
func ExampleContext_Monitor() {
	ctx := context.Background()
	worker, _ := actor.Spawn(ctx, actor.Func(func(c *actor.Context, msg any) error {
		panic("boom")
	}), actor.WithLogger(zerolog.Nop())) // the crash is not logged here

	downs := make(chan actor.Down, 1)
	watcher, _ := actor.Spawn(ctx, actor.Func(func(c *actor.Context, msg any) error {
		switch m := msg.(type) {
		case *actor.Ref:
			_, err := c.Monitor(m)
			return err
		case actor.Down:
			downs <- m
		}
		return nil
	}))
	defer watcher.Stop(ctx)

	watcher.Send(worker)
	worker.Send("work")
	down := <-downs
	var perr *actor.PanicError
	fmt.Println(errors.As(down.Reason, &perr), perr.Value)
	// Output: true boom
}
