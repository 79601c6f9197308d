package tree_test

import (
	"context"
	"fmt"

	"github.com/arbor-go/arbor/actor"
	"github.com/arbor-go/arbor/tree"
	"github.com/rs/zerolog"
)

// A supervisor restarts a crashed child in place: same Ref, next incarnation.
func Example() {
	counter := func() actor.Actor {
		return actor.Func(func(c *actor.Context, msg any) error {
			if msg == "crash" {
				return fmt.Errorf("crashed on purpose")
			}
			return c.Reply(c.Incarnation())
		})
	}
	ctx := context.Background()
	sup, err := tree.Start(ctx, tree.Spec{Name: "app", Children: []tree.ChildSpec{
		tree.Worker("counter", counter),
	}}, tree.WithLogger(zerolog.Nop()))
	if err != nil {
		panic(err)
	}
	defer sup.Stop(ctx)

	sub := sup.Subscribe(16)
	children, _ := sup.WhichChildren(ctx)
	ref := children[0].Ref
	_ = ref.Send("crash")
	for ev := range sub.Events() {
		if ev.Kind == tree.ChildRestarted {
			break
		}
	}
	n, _ := actor.CallAs[uint64](ctx, ref, "which incarnation?")
	fmt.Println("incarnation", n)
	// Output: incarnation 2
}
