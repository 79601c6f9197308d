package registry_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/arbor-go/arbor/actor"
	"github.com/arbor-go/arbor/registry"
)

// An actor that answers every call with a greeting, and ignores the rest.
func greeter() actor.Actor {
	return actor.Func(func(c *actor.Context, msg any) error {
		_ = c.Reply(fmt.Sprintf("hello, %v", msg)) // ErrNoCall for a plain send
		return nil
	})
}

func Example() {
	ctx := context.Background()
	reg := registry.New()
	ref, _ := actor.Spawn(ctx, greeter())
	defer ref.Stop(ctx)

	_ = reg.Register("bridge/greeter", ref)
	reply, err := reg.Call(ctx, "bridge/greeter", "world")
	fmt.Println(reply, err)

	_, err = reg.Call(ctx, "bridge/nobody", "world")
	fmt.Println(errors.Is(err, registry.ErrNotFound), err)
	// Output:
	// hello, world <nil>
	// true registry: no actor named "bridge/nobody"
}

func ExampleRegistry_Register() {
	ctx := context.Background()
	reg := registry.New()
	first, _ := actor.Spawn(ctx, greeter(), actor.WithName("first"))
	second, _ := actor.Spawn(ctx, greeter(), actor.WithName("second"))
	defer second.Stop(ctx)

	_ = reg.Register("bridge/matrix", first)
	err := reg.Register("bridge/matrix", second)
	fmt.Println(err)

	// Once its holder has stopped, the name is free at once.
	_ = first.Stop(ctx)
	fmt.Println(reg.Register("bridge/matrix", second))
	// Output:
	// registry: name "bridge/matrix" is taken by first
	// <nil>
}

func ExampleRegistry_Broadcast() {
	ctx := context.Background()
	reg := registry.New()
	for range 3 {
		ref, _ := actor.Spawn(ctx, greeter()) // idle actors cost no goroutine
		_ = reg.Join("portals", ref)
	}
	n, err := reg.Broadcast("portals", "news")
	fmt.Println(n, err, len(reg.Members("portals")))
	// Output:
	// 3 <nil> 3
}

func ExampleRegistry_Watch() {
	ctx := context.Background()
	reg := registry.New()
	w := reg.Watch("bridge/portal", 16)
	defer w.Close()

	ref, _ := actor.Spawn(ctx, greeter())
	_ = reg.Register("bridge/matrix", ref) // not under the prefix
	_ = reg.Register("bridge/portal/!room:example.org", ref)
	_ = ref.Stop(ctx) // its names go with it

	fmt.Println((<-w.Events()).Kind, (<-w.Events()).Kind)
	// Output:
	// registered unregistered
}
