package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/arbor-go/arbor/actor"
	"github.com/arbor-go/arbor/strategy"
	"github.com/arbor-go/arbor/tree"
)

// world is what the demo's actors share: the chaos that makes them fail.
// They find each other by name, in the tree's registry.
type world struct {
	chaos *chaos
	items atomic.Int64
}

// spec is the demo's tree. Every subtree whose workers fail at random allows
// 5 restarts in 5 s; chaos never strikes a subtree twice within 1.5 s, so
// only the gateway, poisoned on purpose, ever exceeds its intensity.
func (w *world) spec() tree.Spec {
	flaky := strategy.Intensity{MaxRestarts: 5, Period: 5 * time.Second}
	return tree.Spec{
		Name:      "demo",
		Intensity: strategy.Intensity{MaxRestarts: 3, Period: 10 * time.Second},
		Children: []tree.ChildSpec{
			// db and cache live and die together: a cache that outlives a
			// restarted db would serve what the db forgot.
			tree.Supervisor("store", tree.Spec{
				Strategy:  strategy.OneForAll,
				Intensity: flaky,
				Children: []tree.ChildSpec{
					tree.Worker("db", w.stage("db", "store", "store/cache", 0.015), tree.Name("store/db")),
					tree.Worker("cache", w.stage("cache", "store", "", 0), tree.BrutalKill(), tree.Name("store/cache")),
				},
			}),
			// Each stage depends on the ones before it: a crash restarts the
			// stage and those after it, after a growing, jittered delay.
			tree.Supervisor("pipeline", tree.Spec{
				Strategy:  strategy.RestForOne,
				Intensity: flaky,
				Backoff:   strategy.Exponential(100*time.Millisecond, 2*time.Second).WithJitter(strategy.EqualJitter),
				Children: []tree.ChildSpec{
					tree.Task("source", w.source),
					tree.Worker("parser", w.stage("parser", "pipeline", "pipeline/sink", 0.02), tree.Name("pipeline/parser")),
					tree.Worker("sink", w.stage("sink", "pipeline", "store/db", 0), tree.Shutdown(time.Second), tree.Name("pipeline/sink")),
				},
			}),
			// Jobs are started on demand; a job that hangs is cut off by its
			// attempt timeout and tried again; one that finishes is gone.
			tree.Dynamic("pool", tree.DynamicSpec{
				Template:    w.job,
				MaxChildren: 3,
				Intensity:   flaky,
				Backoff:     strategy.Constant(250 * time.Millisecond),
			}, tree.Name("pool")),
			tree.Supervisor("gateway", tree.Spec{
				Intensity: strategy.Intensity{MaxRestarts: 2, Period: 5 * time.Second},
				Children: []tree.ChildSpec{
					tree.Worker("listener", idle),
					tree.Worker("session", session, tree.Name("gateway/session")),
				},
			}),
		},
	}
}

// labels say what kind of supervisor each one is, for the drawing of the
// tree: WhichChildren tells supervisors from workers, not more.
var labels = map[string]string{
	"demo": "one_for_one", "store": "one_for_all", "pipeline": "rest_for_one",
	"pool": "dynamic, at most 3", "gateway": "one_for_one, at most 2 restarts in 5s",
}

type item struct{ n int64 }

// stage is a worker that passes items on to the next stage, by name, and
// fails now and then: a panic or an error, at random.
type stage struct {
	w                 *world
	name, group, next string
	p                 float64 // chance of failing on an item
}

func (w *world) stage(name, group, next string, p float64) func() actor.Actor {
	// Called for every start and restart: each incarnation is fresh.
	return func() actor.Actor { return &stage{w: w, name: name, group: group, next: next, p: p} }
}

func (s *stage) Receive(c *actor.Context, msg any) error {
	it, ok := msg.(item)
	if !ok {
		return nil
	}
	if s.w.chaos.strike(s.group, s.p) {
		if it.n%2 == 0 {
			panic(fmt.Sprintf("%s choked on item %d", s.name, it.n))
		}
		return fmt.Errorf("item %d is malformed", it.n)
	}
	if s.next != "" {
		// By name: a restart in place keeps the next stage's Ref, and one
		// that had to be killed (the cache, brutally killed when the db
		// crashes) comes back with a new Ref under the same name. While it
		// restarts, what is sent to it waits in its mailbox.
		_ = c.SendName(s.next, it)
	}
	return nil
}

// source is a loop-style task: it owns a goroutine and feeds the pipeline
// ten items a second until it is stopped.
func (w *world) source(ctx context.Context, c *actor.Context) error {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			_ = c.SendName("pipeline/parser", item{n: w.items.Add(1)})
		case <-ctx.Done():
			return nil
		}
	}
}

// job is the pool's template: a task that works for the time it is given.
// Now and then an attempt hangs; its attempt timeout ends it with a crash, so
// it is tried again (transient), and a job that finished is not.
func (w *world) job(arg any) tree.ChildSpec {
	work := arg.(time.Duration)
	return tree.Task("job", func(ctx context.Context, c *actor.Context) error {
		d := work
		if w.chaos.strike("pool", 0.15) {
			d = time.Hour
		}
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}, tree.Restart(strategy.Transient), tree.AttemptTimeout(2500*time.Millisecond))
}

type request struct {
	n        int
	poisoned bool
}

// whoami asks a session which incarnation answers.
type whoami struct{}

// session crashes on a poisoned request; the demo sends three at once.
func session() actor.Actor {
	return actor.Func(func(c *actor.Context, msg any) error {
		switch r := msg.(type) {
		case request:
			if r.poisoned {
				panic(fmt.Sprintf("poisoned request #%d", r.n))
			}
		case whoami:
			return c.Reply(c.Incarnation())
		}
		return nil
	})
}

func idle() actor.Actor {
	return actor.Func(func(*actor.Context, any) error { return nil })
}

// chaos decides, from a seed, when workers fail: with some chance at each
// opportunity, but never twice in a group within gap, so that the failures
// stay within what each supervisor tolerates.
type chaos struct {
	mu   sync.Mutex
	rnd  *rand.Rand
	gap  time.Duration
	last map[string]time.Time
}

func newChaos(seed uint64, gap time.Duration) *chaos {
	return &chaos{rnd: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), gap: gap, last: map[string]time.Time{}}
}

// strike reports whether a worker of group fails now.
func (c *chaos) strike(group string, p float64) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if time.Since(c.last[group]) < c.gap || c.rnd.Float64() >= p {
		return false
	}
	c.last[group] = time.Now()
	return true
}

// float is uniform in [0, 1): the tree's backoff jitter, from the same seed.
func (c *chaos) float() float64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.rnd.Float64()
}

// between is a duration drawn uniformly from [lo, hi).
func (c *chaos) between(lo, hi time.Duration) time.Duration {
	return lo + time.Duration(c.float()*float64(hi-lo))
}
