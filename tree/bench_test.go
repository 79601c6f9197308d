package tree_test

import (
	"context"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/arbor-go/arbor/actor"
	"github.com/arbor-go/arbor/strategy"
	"github.com/arbor-go/arbor/tree"
	"github.com/rs/zerolog"
)

// The speed figures of issue 3 ("Speed"), each beside a plain-Go floor
// measured the same way in the same run. A latency benchmark times each
// operation on its own and reports the median and the 99th percentile
// ("median-ns", "p99-ns") next to the mean that ns/op gives.

// reportLatency sorts the per-operation durations and reports their median
// and 99th percentile.
func reportLatency(b *testing.B, ds []time.Duration) {
	b.Helper()
	if len(ds) == 0 {
		return
	}
	slices.Sort(ds)
	b.ReportMetric(float64(ds[len(ds)/2].Nanoseconds()), "median-ns")
	b.ReportMetric(float64(ds[(len(ds)-1)*99/100].Nanoseconds()), "p99-ns")
}

// benchCrashRestart measures one crash (a panic, whose stack the exit
// reason carries), the restart of the child in place by its supervisor, and
// the next message handled by the new incarnation: a call, so that each
// operation ends when the new incarnation has answered. With stalled, an
// event subscriber that never reads is attached: publishing must not wait
// for it.
func benchCrashRestart(b *testing.B, stalled bool) { benchCrash(b, "panic", stalled) }

// benchCrash is benchCrashRestart with the message that crashes the child:
// "panic", or "crash" (Receive returns an error: no panic, no stack).
func benchCrash(b *testing.B, crash string, stalled bool, opts ...tree.Option) {
	ctx := context.Background()
	sup, err := tree.Start(ctx, tree.Spec{
		Intensity: strategy.Intensity{MaxRestarts: 1 << 20, Period: 10 * time.Microsecond},
		Children:  []tree.ChildSpec{tree.Worker("a", newCrasher)},
	}, append([]tree.Option{tree.WithLogger(zerolog.Nop())}, opts...)...)
	if err != nil {
		b.Fatal(err)
	}
	defer sup.Stop(ctx)
	if stalled {
		sub := sup.Subscribe(1) // never read
		defer sub.Close()
	}
	infos, err := sup.WhichChildren(ctx)
	if err != nil {
		b.Fatal(err)
	}
	ref := infos[0].Ref
	var msg any = crash // boxed once, as the floor's constant message is
	ds := make([]time.Duration, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range ds {
		t0 := time.Now()
		if err := ref.Send(msg); err != nil {
			b.Fatal(err)
		}
		if _, err := actor.CallAs[uint64](ctx, ref, "inc?"); err != nil {
			b.Fatal(err)
		}
		ds[i] = time.Since(t0)
	}
	b.StopTimer()
	if got := ref.Incarnation(); got != uint64(b.N)+1 {
		b.Fatalf("incarnation %d after %d crashes", got, b.N)
	}
	reportLatency(b, ds)
}

// crasher is the child of the crash benchmarks. Like the floor's server, it
// looks at each message once: a "panic" panics, a "crash" fails, any other
// is a call answered with the incarnation. Each incarnation is a new value
// with state of its own (the calls it answered), allocated by the factory as
// a real child's is; a value of size zero would cost no allocation.
type crasher struct{ handled int }

func newCrasher() actor.Actor { return &crasher{} }

func (c *crasher) Receive(ctx *actor.Context, msg any) error {
	switch msg {
	case "panic":
		panic("kaboom")
	case "crash":
		return errBoom
	}
	c.handled++
	return ctx.Reply(ctx.Incarnation())
}

// BenchmarkCrashRestart: crash → restarted in place → next message handled.
func BenchmarkCrashRestart(b *testing.B) { benchCrashRestart(b, false) }

// BenchmarkCrashRestartError is BenchmarkCrashRestart with a crash by a
// returned error rather than a panic: the difference is the cost of the
// panic and of capturing its stack.
func BenchmarkCrashRestartError(b *testing.B) { benchCrash(b, "crash", false) }

// BenchmarkCrashRestartStalledSubscriber is BenchmarkCrashRestart with a
// subscriber that never reads its events: it must be no slower.
func BenchmarkCrashRestartStalledSubscriber(b *testing.B) { benchCrashRestart(b, true) }

// BenchmarkCrashRestartSlowPath is BenchmarkCrashRestart without the fast
// path (see fast.go): the crash goes to the supervisor's mailbox, as it does
// for the restarts that do not qualify (OneForAll and RestForOne, backoff,
// tasks, nested supervisors).
func BenchmarkCrashRestartSlowPath(b *testing.B) {
	benchCrash(b, "panic", false, tree.WithoutFastPath())
}

// floorReq is a message to the floor's goroutine.
type floorReq struct {
	msg   any
	reply chan any
}

// floorServe handles messages until one panics; it recovers the panic and
// reports it, as the least a supervisor of a goroutine must do.
func floorServe(in <-chan floorReq, inc uint64) (crashed bool) {
	defer func() {
		if recover() != nil {
			crashed = true
		}
	}()
	for r := range in {
		if r.msg == "panic" {
			panic("kaboom")
		}
		r.reply <- inc
	}
	return false
}

// BenchmarkCrashRestartFloor is the floor of BenchmarkCrashRestart, measured
// the same way: a goroutine that recovers its own panic and handles the next
// message, a request answered on a reply channel. It keeps no stack, no
// mailbox, no restart policy and no events.
func BenchmarkCrashRestartFloor(b *testing.B) {
	in := make(chan floorReq, 64)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for inc := uint64(1); floorServe(in, inc); inc++ {
		}
	}()
	defer func() { close(in); <-done }()
	reply := make(chan any, 1)
	ds := make([]time.Duration, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range ds {
		t0 := time.Now()
		in <- floorReq{msg: "panic"}
		in <- floorReq{msg: "inc?", reply: reply}
		<-reply
		ds[i] = time.Since(t0)
	}
	b.StopTimer()
	reportLatency(b, ds)
}

// benchTreeChildren is the size of the tree of BenchmarkTree10k.
const benchTreeChildren = 10_000

// BenchmarkTree10k starts a supervisor with 10,000 worker children and
// stops it, and reports the cost of each per child ("start-ns/child",
// "stop-ns/child"); ns/op is the whole start and stop.
func BenchmarkTree10k(b *testing.B) {
	ctx := context.Background()
	children := make([]tree.ChildSpec, benchTreeChildren)
	factory := func() actor.Actor { return &probe{} }
	for i := range children {
		children[i] = tree.Worker("w"+strconv.Itoa(i), factory)
	}
	spec := tree.Spec{Children: children}
	var startT, stopT time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		t0 := time.Now()
		sup, err := tree.Start(ctx, spec, tree.WithLogger(zerolog.Nop()))
		if err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		rep := sup.Stop(ctx)
		stopT += time.Since(t1)
		startT += t1.Sub(t0)
		if rep.Err != nil || len(rep.Abandoned) > 0 {
			b.Fatalf("stop: %+v", rep)
		}
	}
	b.StopTimer()
	n := float64(b.N) * benchTreeChildren
	b.ReportMetric(float64(startT.Nanoseconds())/n, "start-ns/child")
	b.ReportMetric(float64(stopT.Nanoseconds())/n, "stop-ns/child")
}

// BenchmarkTree10kFloor is the floor of BenchmarkTree10k: 10,000 goroutines,
// each started and then stopped through its own channel, one at a time, by
// one supervising goroutine that waits for each to end.
func BenchmarkTree10kFloor(b *testing.B) {
	var startT, stopT time.Duration
	quit := make([]chan struct{}, benchTreeChildren)
	ended := make(chan struct{})
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		t0 := time.Now()
		for i := range quit {
			quit[i] = make(chan struct{})
			started := make(chan struct{})
			go func(q <-chan struct{}) {
				close(started)
				<-q
				ended <- struct{}{}
			}(quit[i])
			<-started
		}
		t1 := time.Now()
		for i := len(quit) - 1; i >= 0; i-- {
			close(quit[i])
			<-ended
		}
		stopT += time.Since(t1)
		startT += t1.Sub(t0)
	}
	b.StopTimer()
	n := float64(b.N) * benchTreeChildren
	b.ReportMetric(float64(startT.Nanoseconds())/n, "start-ns/child")
	b.ReportMetric(float64(stopT.Nanoseconds())/n, "stop-ns/child")
}

// job is the factory of a pool's job: it ends normally on its first message.
func job() actor.Actor {
	return actor.Func(func(c *actor.Context, m any) error {
		c.Stop(nil)
		return nil
	})
}

// startPool starts a dynamic supervisor of temporary workers, each made by
// the factory that StartChild is given.
func startPool(b *testing.B) *tree.DynamicSup {
	d, err := tree.StartDynamic(context.Background(), tree.DynamicSpec{
		Template: func(arg any) tree.ChildSpec {
			return tree.Worker("w", arg.(func() actor.Actor), tree.Restart(strategy.Temporary))
		},
	}, tree.WithLogger(zerolog.Nop()))
	if err != nil {
		b.Fatal(err)
	}
	return d
}

// benchDynamicChurn measures a dynamic supervisor that already holds
// siblings temporary children: one child more is started and ends by itself
// per operation, as jobs do in a pool. The supervisor finds the child that
// ended by its Ref; the cost must not grow with the siblings.
func benchDynamicChurn(b *testing.B, siblings int) {
	ctx := context.Background()
	idle := func() actor.Actor { return actor.Func(func(*actor.Context, any) error { return nil }) }
	d := startPool(b)
	defer d.Stop(ctx)
	for range siblings {
		if _, err := d.StartChild(ctx, idle); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		ref, err := d.StartChild(ctx, job)
		if err != nil {
			b.Fatal(err)
		}
		if err := ref.Send("done"); err != nil {
			b.Fatal(err)
		}
		<-ref.Done()
	}
	b.StopTimer()
	// The last exit reached the supervisor when it answers again.
	n, err := d.CountChildren(ctx)
	if err != nil || n.Specs != siblings {
		b.Fatalf("%d children after the churn (%v), want %d", n.Specs, err, siblings)
	}
}

// BenchmarkDynamicChurn10 is the churn among 10 siblings: the baseline of
// BenchmarkDynamicChurn10k.
func BenchmarkDynamicChurn10(b *testing.B) { benchDynamicChurn(b, 10) }

// BenchmarkDynamicChurn10k is the churn among 10,000 siblings.
func BenchmarkDynamicChurn10k(b *testing.B) { benchDynamicChurn(b, 10_000) }

// benchQueue starts a supervisor with MaxRunning 4 and jobs temporary tasks
// that end at once, so that all but four wait for a slot, and waits until
// every job has run; it reports the cost per job ("ns/job"), which must not
// grow with the length of the queue.
func benchQueue(b *testing.B, jobs int) {
	ctx := context.Background()
	ran := make(chan struct{}, jobs)
	children := make([]tree.ChildSpec, jobs)
	for i := range children {
		children[i] = tree.Task(strconv.Itoa(i), func(context.Context, *actor.Context) error {
			ran <- struct{}{}
			return nil
		}, tree.Restart(strategy.Temporary))
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		sup, err := tree.Start(ctx, tree.Spec{MaxRunning: 4, Children: children}, tree.WithLogger(zerolog.Nop()))
		if err != nil {
			b.Fatal(err)
		}
		for range jobs {
			<-ran
		}
		b.StopTimer()
		sup.Stop(ctx)
		b.StartTimer()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*jobs), "ns/job")
}

// BenchmarkQueue100 runs 100 jobs through 4 slots: the baseline of
// BenchmarkQueue10k.
func BenchmarkQueue100(b *testing.B) { benchQueue(b, 100) }

// BenchmarkQueue10k runs 10,000 jobs through 4 slots.
func BenchmarkQueue10k(b *testing.B) { benchQueue(b, 10_000) }

// benchDynamicExodus starts a dynamic supervisor with the given number of
// idle temporary children, then has them all end by themselves, each from
// the middle of the supervisor's list, as the jobs of a pool or the
// connections of a server end when they will. It reports the cost per child
// of the exodus ("ns/child"), which must not grow with their number.
func benchDynamicExodus(b *testing.B, children int) {
	ctx := context.Background()
	b.ReportAllocs()
	for range b.N {
		b.StopTimer()
		d := startPool(b)
		refs := make([]*actor.Ref, children)
		for i := range refs {
			var err error
			if refs[i], err = d.StartChild(ctx, job); err != nil {
				b.Fatal(err)
			}
		}
		// From the middle outwards: every exit leaves from the middle.
		order := make([]*actor.Ref, 0, children)
		for lo, hi := children/2-1, children/2; lo >= 0 || hi < children; lo, hi = lo-1, hi+1 {
			if hi < children {
				order = append(order, refs[hi])
			}
			if lo >= 0 {
				order = append(order, refs[lo])
			}
		}
		b.StartTimer()
		for _, ref := range order {
			if err := ref.Send("done"); err != nil {
				b.Fatal(err)
			}
		}
		for _, ref := range order {
			<-ref.Done() // the supervisor has decided on it
		}
		// Its last removal is done when it answers again.
		if n, err := d.CountChildren(ctx); err != nil || n.Specs != 0 {
			b.Fatalf("%d children after the exodus (%v)", n.Specs, err)
		}
		b.StopTimer()
		d.Stop(ctx)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*children), "ns/child")
}

// BenchmarkDynamicExodus1k: 1,000 children end, the baseline of
// BenchmarkDynamicExodus100k.
func BenchmarkDynamicExodus1k(b *testing.B) { benchDynamicExodus(b, 1_000) }

// BenchmarkDynamicExodus100k: 100,000 children end.
func BenchmarkDynamicExodus100k(b *testing.B) { benchDynamicExodus(b, 100_000) }
