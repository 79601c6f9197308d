package actor_test

import (
	"context"
	"runtime"
	"sync"
	"testing"

	"github.com/arbor-go/arbor/actor"
	"github.com/arbor-go/arbor/mailbox"
)

// Each benchmark here sits beside a plain-Go baseline doing the same work, so
// that one run gives the ratio; absolute figures vary with the machine's load.

var msg = new(int) // a pointer: sending it allocates nothing

// counter returns an actor that closes done after n messages.
func counter(n int, done chan struct{}) actor.Actor {
	seen := 0
	return actor.Func(func(c *actor.Context, m any) error {
		seen++
		if seen == n {
			close(done)
		}
		return nil
	})
}

func spawnB(b *testing.B, a actor.Actor, opts ...actor.Option) *actor.Ref {
	b.Helper()
	ref, err := actor.Spawn(context.Background(), a, opts...)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = ref.Stop(context.Background()) })
	return ref
}

// tell sends b.N messages from senders goroutines and waits until the actor
// has handled them all.
func tell(b *testing.B, senders int, opts ...actor.Option) {
	done := make(chan struct{})
	ref := spawnB(b, counter(b.N, done), opts...)
	b.ReportAllocs()
	b.ResetTimer()
	fanIn(senders, b.N, func() bool {
		if err := ref.Send(msg); err != nil {
			b.Error(err)
			return false
		}
		return true
	})
	<-done
}

// fanIn makes total sends from senders goroutines, split as evenly as it
// goes, and returns when they are all done; a send that returns false stops
// its goroutine.
func fanIn(senders, total int, send func() bool) {
	var wg sync.WaitGroup
	for s := 0; s < senders; s++ {
		n := total / senders
		if s == 0 {
			n += total % senders
		}
		wg.Go(func() {
			for i := 0; i < n && send(); i++ {
			}
		})
	}
	wg.Wait()
}

// channel is the baseline of tell: the same senders into a buffered channel
// drained by one goroutine.
func channel(b *testing.B, senders int) {
	ch := make(chan any, 1024)
	done := make(chan struct{})
	go func() {
		for i := 0; i < b.N; i++ {
			<-ch
		}
		close(done)
	}()
	b.ReportAllocs()
	b.ResetTimer()
	fanIn(senders, b.N, func() bool { ch <- msg; return true })
	<-done
}

func BenchmarkTell1to1(b *testing.B)        { tell(b, 1) }
func BenchmarkTell1to1Channel(b *testing.B) { channel(b, 1) }
func BenchmarkTell8to1(b *testing.B)        { tell(b, 8) }
func BenchmarkTell8to1Channel(b *testing.B) { channel(b, 8) }
func BenchmarkTell8to1Block1024(b *testing.B) {
	tell(b, 8, actor.WithMailbox(mailbox.Options{Capacity: 1024, Policy: mailbox.Block}))
}

// BenchmarkCall is one caller's request/reply round trips.
func BenchmarkCall(b *testing.B) {
	ref := spawnB(b, actor.Func(func(c *actor.Context, m any) error { return c.Reply(m) }))
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := ref.Call(ctx, msg); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCallChannel is the baseline of Call: a server goroutine reading
// requests from a channel and answering on the caller's reply channel.
func BenchmarkCallChannel(b *testing.B) {
	type req struct {
		v     any
		reply chan any
	}
	reqs := make(chan req, 1024)
	go func() {
		for r := range reqs {
			r.reply <- r.v
		}
	}()
	defer close(reqs)
	reply := make(chan any, 1)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		reqs <- req{v: msg, reply: reply}
		<-reply
	}
}

var nop = actor.Func(func(*actor.Context, any) error { return nil })

// spawnRound is how many actors BenchmarkSpawn and its baseline keep alive
// at once: the population of a busy service, and the size of
// BenchmarkIdleActor's. Keeping all of b.N alive would measure mostly the
// heap's growth (fresh pages to fault in and zero, a heap of gigabytes to
// mark), which changes with b.N from one run to the next.
const spawnRound = 10_000

// BenchmarkSpawn measures starting an actor that then sits idle, in rounds
// of spawnRound actors that are killed, off the clock, between rounds.
func BenchmarkSpawn(b *testing.B) {
	refs := make([]*actor.Ref, 0, spawnRound)
	ctx := context.Background()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		ref, err := actor.Spawn(ctx, nop)
		if err != nil {
			b.Fatal(err)
		}
		refs = append(refs, ref)
		if len(refs) == spawnRound || i == b.N-1 {
			b.StopTimer()
			for _, ref := range refs {
				ref.Kill()
			}
			refs = refs[:0]
			b.StartTimer()
		}
	}
}

// BenchmarkSpawnGoroutine is the baseline of Spawn: starting a goroutine that
// waits on a channel, the usual way to keep a Go service alive, in the same
// rounds.
func BenchmarkSpawnGoroutine(b *testing.B) {
	stop := make(chan struct{})
	var wg sync.WaitGroup
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-stop
		}()
		if (i+1)%spawnRound == 0 || i == b.N-1 {
			b.StopTimer()
			close(stop)
			wg.Wait()
			stop = make(chan struct{})
			b.StartTimer()
		}
	}
}

// BenchmarkIdleActor reports what an idle actor costs: heap bytes and
// goroutines per actor, for actors that handled one message and went idle.
func BenchmarkIdleActor(b *testing.B) {
	const n = 10_000
	ctx := context.Background()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		goroutines := runtime.NumGoroutine()
		b.StartTimer()
		var wg sync.WaitGroup
		wg.Add(n)
		a := actor.Func(func(*actor.Context, any) error { wg.Done(); return nil })
		refs := make([]*actor.Ref, n)
		for j := range refs {
			ref, err := actor.Spawn(ctx, a)
			if err != nil {
				b.Fatal(err)
			}
			refs[j] = ref
			_ = ref.Send(msg)
		}
		wg.Wait()
		b.StopTimer()
		idle := waitIdle(goroutines)
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc-uint64(n*8))/n, "B/actor")
		b.ReportMetric(float64(idle-goroutines)/n, "goroutines/actor")
		for _, ref := range refs {
			ref.Kill()
		}
		runtime.KeepAlive(refs)
	}
}

// waitIdle lets the dispatch goroutines that just handled their message
// finish, and returns the goroutine count once it stops falling.
func waitIdle(baseline int) int {
	n := runtime.NumGoroutine()
	for i := 0; i < 1000 && n > baseline; i++ {
		runtime.Gosched()
		n = runtime.NumGoroutine()
	}
	return n
}
