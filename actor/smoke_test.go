package actor_test

import (
	"context"
	"testing"

	"github.com/arbor-go/arbor/actor"
	"github.com/stretchr/testify/require"
)

func TestSmoke(t *testing.T) {
	ctx := context.Background()
	got := make(chan any, 10)
	ref, err := actor.Spawn(ctx, actor.Func(func(c *actor.Context, msg any) error {
		switch m := msg.(type) {
		case string:
			got <- m
		case int:
			return c.Reply(m * 2)
		}
		return nil
	}))
	require.NoError(t, err)
	require.NoError(t, ref.Send("hello"))
	require.Equal(t, "hello", <-got)
	n, err := actor.CallAs[int](ctx, ref, 21)
	require.NoError(t, err)
	require.Equal(t, 42, n)
	require.NoError(t, ref.Stop(ctx))
	require.ErrorIs(t, ref.Err(), actor.ErrShutdown)
}
