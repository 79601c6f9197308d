package tree_test

import (
	"context"
	"testing"
	"time"

	"github.com/arbor-go/arbor/actor"
	"github.com/arbor-go/arbor/strategy"
	"github.com/arbor-go/arbor/tree"
	"github.com/rs/zerolog"
)

// benchCrashRestart measures a crash, its restart in place and the next
// message handled by the new incarnation (a call, so each op waits for it).
func benchCrashRestart(b *testing.B, stalled bool) {
	ctx := context.Background()
	sup, err := tree.Start(ctx, tree.Spec{
		Intensity: strategy.Intensity{MaxRestarts: 1 << 20, Period: 10 * time.Microsecond},
		Children:  []tree.ChildSpec{worker("a", nil)},
	}, tree.WithLogger(zerolog.Nop()))
	if err != nil {
		b.Fatal(err)
	}
	defer sup.Stop(ctx)
	if stalled {
		sub := sup.Subscribe(1) // never read: publishing must not wait for it
		defer sub.Close()
	}
	infos, err := sup.WhichChildren(ctx)
	if err != nil {
		b.Fatal(err)
	}
	ref := infos[0].Ref
	b.ReportAllocs()
	for b.Loop() {
		if err := ref.Send("crash"); err != nil {
			b.Fatal(err)
		}
		if _, err := actor.CallAs[uint64](ctx, ref, "inc?"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCrashRestart(b *testing.B) { benchCrashRestart(b, false) }

func BenchmarkCrashRestartStalledSubscriber(b *testing.B) { benchCrashRestart(b, true) }
