//go:build cgo

package cgotest

import (
	"context"
	"strings"
	"testing"

	"github.com/arbor-go/arbor/actor"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// A panic in Go code that C called back, under an actor's Receive: the
// stack crosses C frames, which keep no frame pointer for Go. Its capture
// must neither crash nor stop at the C frames: it has the frames on both
// sides of C.
func TestPanicThroughC(t *testing.T) {
	for range 20 {
		ref, err := actor.Spawn(context.Background(), actor.Func(func(*actor.Context, any) error {
			Through(func() { panic("from a callback") })
			return nil
		}), actor.WithLogger(zerolog.Nop()))
		require.NoError(t, err)
		require.NoError(t, ref.Send("go"))
		<-ref.Done()
		var perr *actor.PanicError
		require.ErrorAs(t, ref.Err(), &perr)
		stack := perr.Stack.String()
		assert.Contains(t, stack, "TestPanicThroughC.func1.1\n", "the callback that panicked")
		assert.Contains(t, stack, "cgotest.Through\n", "the Go code that called C")
		assert.True(t, strings.Contains(stack, "TestPanicThroughC.func1\n"), "the actor's Receive:\n%s", stack)
	}
}
