// Command demo is the first thing to run in Arbor: a supervision tree that
// keeps failing workers alive for 20 seconds (Ctrl-C ends it sooner).
//
//	go run ./examples/demo               # or make demo; -v adds info-level reports
//	go run ./examples/demo 2>/dev/null   # the events alone, without the reports
//
// The tree (world.go) has a supervisor of each kind under a one_for_one root:
//
//	demo        one_for_one
//	├── store     one_for_all: db and cache restart together
//	├── pipeline  rest_for_one: source → parser → sink, with backoff
//	├── pool      dynamic: jobs started on demand, at most 3
//	└── gateway   one_for_one, at most 2 restarts in 5 s
//
// Workers panic or fail at random, from a seed printed at the start, at a
// pace each supervisor tolerates. The source is a loop-style task; pool jobs
// are tasks with a per-attempt timeout. A third of the way in, the gateway's
// session receives three poisoned requests: the gateway restarts it twice,
// gives up at the third crash, and the root restarts the gateway. That is
// escalation.
//
// Stdout shows every event of the tree as it happens, one per line, then the
// live tree with each child's state and incarnation (a child restarted in
// place keeps its Ref and counts incarnations), then the stop and its report.
// The tree's zerolog reports, crash stacks included, go to stderr.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/arbor-go/arbor/actor"
	"github.com/arbor-go/arbor/registry"
	"github.com/arbor-go/arbor/tree"
	"github.com/rs/zerolog"
)

func main() {
	verbose := flag.Bool("v", false, "log info-level reports (starts) too, not only warnings and errors")
	seed := flag.Uint64("seed", uint64(time.Now().UnixNano()), "seed of the random failures")
	flag.Parse()

	level := zerolog.WarnLevel
	if *verbose {
		level = zerolog.InfoLevel
	}
	zerolog.TimeFieldFormat = time.RFC3339Nano
	fi, err := os.Stderr.Stat()
	plain := err != nil || fi.Mode()&os.ModeCharDevice == 0 // colours only for a terminal
	log := zerolog.New(zerolog.ConsoleWriter{Out: os.Stderr, TimeFormat: "15:04:05.000", NoColor: plain}).
		Level(level).With().Timestamp().Logger()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err = run(ctx, os.Stdout, log, 20*time.Second, *seed)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

// run starts the tree, prints its events, poisons the gateway after a third
// of d, and after d (or when ctx ends) draws the tree and stops it.
func run(ctx context.Context, out io.Writer, log zerolog.Logger, d time.Duration, seed uint64) error {
	out = &syncWriter{w: out}
	w := &world{chaos: newChaos(seed, 1500*time.Millisecond)}
	reg := registry.New()
	start := time.Now()
	// The tree gets a context of its own: it must outlive ctx, so that a
	// Ctrl-C still lets us draw it and stop it in order.
	sup, err := tree.Start(context.WithoutCancel(ctx), w.spec(),
		tree.WithLogger(log), tree.WithRandom(w.chaos.float), tree.WithRegistry(reg))
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "seed %d: the tree as started\n\n%s\n", seed, draw(sup))
	fmt.Fprintf(out, "%8s  %-13s %-9s %-18s %s\n", "time", "supervisor", "child", "event", "reason, delay")
	sub := sup.Subscribe(1024)
	printed := make(chan struct{})
	go func() {
		defer close(printed)
		for ev := range sub.Events() {
			fmt.Fprintln(out, line(start, ev))
		}
	}()

	jobs := time.NewTicker(700 * time.Millisecond)
	defer jobs.Stop()
	poison := time.NewTimer(d / 3)
	defer poison.Stop()
	asked := time.NewTimer(time.Hour) // set when the poison is sent
	defer asked.Stop()
	end := time.NewTimer(d)
	defer end.Stop()
	say := func(format string, args ...any) {
		fmt.Fprintf(out, "%8s  >> %s\n", offset(time.Since(start)), fmt.Sprintf(format, args...))
	}
loop:
	for {
		select {
		case <-jobs.C:
			var err error = &registry.NotFoundError{Name: "pool"}
			if ref, ok := reg.Lookup("pool"); ok {
				_, err = tree.DynamicAt(ref).StartChild(ctx, w.chaos.between(300*time.Millisecond, 2*time.Second))
			}
			if err != nil { // tree.ErrMaxChildren when the pool is full
				say("no new job: %v", err)
			}
		case <-poison.C:
			say("three poisoned requests by name to gateway/session, which may restart twice in 5s")
			var err error
			for n := 1; err == nil && n <= 3; n++ {
				// Sent at once: the second and third wait in the mailbox
				// while the session restarts, and reach the new incarnations.
				err = reg.Send("gateway/session", request{n: n, poisoned: true})
			}
			if err != nil {
				say("poisoning failed: %v", err)
			}
			asked.Reset(d / 6)
		case <-asked.C:
			// The gateway gave up and was restarted whole: its session has a
			// new Ref, and the name followed it.
			if inc, err := reg.Call(ctx, "gateway/session", whoami{}); err != nil {
				say("asking gateway/session by name failed: %v", err)
			} else {
				say("asked gateway/session by name after the escalation: its new session answered, incarnation %v", inc)
			}
		case <-end.C:
			break loop
		case <-ctx.Done():
			say("interrupted")
			break loop
		case <-sup.Done():
			<-printed
			return fmt.Errorf("the tree gave up: %w", sup.Err())
		}
	}

	fmt.Fprintf(out, "\nthe tree after %s\n\n%s\nstopping: each supervisor stops its children in reverse start order\n",
		offset(time.Since(start)), draw(sup))
	stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	began := time.Now()
	rep := sup.Stop(stopCtx)
	<-printed // the subscription ends with the tree
	fmt.Fprintf(out, "\nstopped in %v\n", time.Since(began).Round(10*time.Microsecond))
	fmt.Fprintf(out, "  killed when their shutdown timeout ran out: %d %v\n", len(rep.Killed), rep.Killed)
	fmt.Fprintf(out, "  still running when the stop's time ran out: %d %v\n", len(rep.Stuck), rep.Stuck)
	fmt.Fprintf(out, "  abandoned (their goroutines may still run): %d %v\n", len(rep.Abandoned), rep.Abandoned)
	return rep.Err
}

// line formats an event: when, where, which child, what, and why.
func line(start time.Time, ev tree.Event) string {
	var why string
	switch ev.Kind {
	case tree.ChildExited, tree.SupervisorStopped:
		why = "normal"
		if ev.Reason != nil {
			why = ev.Reason.Error()
		}
	case tree.ChildRestarting:
		why = fmt.Sprintf("in %v (attempt %d; restarts in the window: %d)",
			ev.Delay.Round(time.Millisecond), ev.Attempt, ev.Restarts)
	case tree.IntensityExceeded:
		why = fmt.Sprintf("restarts in the window: %d; giving up", ev.Restarts)
	case tree.Lagged:
		why = fmt.Sprintf("this printer missed %d events", ev.Dropped)
	default:
		if ev.Reason != nil {
			why = ev.Reason.Error()
		}
	}
	return strings.TrimRight(fmt.Sprintf("%8s  %-13s %-9s %-18s %s",
		offset(ev.Time.Sub(start)), ev.Supervisor, ev.Child, ev.Kind, why), " ")
}

func offset(d time.Duration) string { return fmt.Sprintf("+%.3fs", d.Seconds()) }

// draw returns the live tree, walked from the root with WhichChildren.
func draw(sup *tree.Sup) string {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	var b strings.Builder
	fmt.Fprintf(&b, "demo (%s)\n", labels["demo"])
	drawBelow(ctx, &b, sup.Ref(), false, "")
	return b.String()
}

func drawBelow(ctx context.Context, b *strings.Builder, ref *actor.Ref, dynamic bool, indent string) {
	var kids []tree.ChildInfo
	var err error
	if dynamic {
		kids, err = tree.DynamicAt(ref).WhichChildren(ctx)
	} else {
		kids, err = tree.SupervisorAt(ref).WhichChildren(ctx)
	}
	if err != nil {
		fmt.Fprintf(b, "%s└── (cannot list: %v)\n", indent, err)
		return
	}
	slices.Reverse(kids) // WhichChildren lists the newest first
	for i, k := range kids {
		branch, below := "├── ", "│   "
		if i == len(kids)-1 {
			branch, below = "└── ", "    "
		}
		name := indent + branch + k.ID
		if k.Type == tree.SupervisorChild {
			name += " (" + labels[k.ID] + ")"
		}
		state := k.State.String()
		if k.Ref != nil {
			state += fmt.Sprintf(", incarnation %d", k.Ref.Incarnation())
		}
		fmt.Fprintf(b, "%-54s %-10s %s\n", name, k.Type, state)
		if k.Type == tree.SupervisorChild && k.Ref != nil {
			drawBelow(ctx, b, k.Ref, k.ID == "pool", indent+below)
		}
	}
}

// syncWriter lets the event printer and run share one writer.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}
