package registry_test

import (
	"fmt"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/arbor-go/arbor/actor"
	"github.com/arbor-go/arbor/registry"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWatch(t *testing.T) {
	t.Run("a watch sees every kind of change, numbered in order", func(t *testing.T) {
		reg := registry.New()
		a := spawnBox(t)
		w := watch(t, reg, "", 16)
		require.NoError(t, reg.Register("n", a.ref))
		require.NoError(t, reg.Join("g", a.ref))
		require.NoError(t, reg.Leave("g", a.ref))
		require.NoError(t, reg.Unregister("n"))
		var seqs []uint64
		for _, want := range []struct {
			kind registry.EventKind
			key  string
		}{{registry.Registered, "n"}, {registry.Joined, "g"}, {registry.Left, "g"}, {registry.Unregistered, "n"}} {
			e := expect(t, w, want.kind, want.key, a.ref)
			assert.False(t, e.Time.IsZero())
			seqs = append(seqs, e.Seq)
		}
		assert.Equal(t, []uint64{seqs[0], seqs[0] + 1, seqs[0] + 2, seqs[0] + 3}, seqs)
	})

	t.Run("a watch sees only the names and groups under its prefix", func(t *testing.T) {
		reg := registry.New()
		a := spawnBox(t)
		w := watch(t, reg, "bridge/portal", 16)
		require.NoError(t, reg.Register("bridge/matrix", a.ref))
		require.NoError(t, reg.Register("bridge/portals", a.ref))
		require.NoError(t, reg.Join("other", a.ref))
		require.NoError(t, reg.Register("bridge/portal/a", a.ref))
		require.NoError(t, reg.Join("bridge/portal", a.ref))
		expect(t, w, registry.Registered, "bridge/portal/a", a.ref)
		expect(t, w, registry.Joined, "bridge/portal", a.ref)
	})

	t.Run("a watch sees only the changes made after it started", func(t *testing.T) {
		reg := registry.New()
		a := spawnBox(t)
		require.NoError(t, reg.Register("before", a.ref))
		w := watch(t, reg, "", 16)
		require.NoError(t, reg.Register("after", a.ref))
		expect(t, w, registry.Registered, "after", a.ref)
	})

	t.Run("a full watch drops events and reports how many as soon as it has room", func(t *testing.T) {
		reg := registry.New()
		a := spawnBox(t)
		w := watch(t, reg, "", 2)
		const total = 20
		for i := range total {
			require.NoError(t, reg.Register(fmt.Sprintf("n/%d", i), a.ref))
		}
		// Nothing more is published: the lags must come out by themselves,
		// each where its events were lost, until every event is accounted
		// for, delivered or counted.
		var delivered, lags, accounted int
		var pending, last uint64 // lost since the last delivered event; its Seq
		for accounted < total {
			e := next(t, w)
			if e.Kind == registry.Lagged {
				assert.Zero(t, e.Seq)
				assert.False(t, e.Time.IsZero())
				require.Positive(t, e.Dropped)
				pending += e.Dropped
				accounted += int(e.Dropped)
				lags++
				continue
			}
			require.Equal(t, last+1+pending, e.Seq, "the lags account for the gap before %v", e)
			assert.Equal(t, fmt.Sprintf("n/%d", e.Seq-1), e.Name)
			last, pending = e.Seq, 0
			delivered++
			accounted++
		}
		assert.Equal(t, uint64(total), last+pending, "nothing is counted twice")
		assert.Positive(t, lags, "a buffer of 2 cannot hold 20 events")
		assert.LessOrEqual(t, delivered, 3, "two in the buffer, one in hand")
		require.NoError(t, reg.Register("after", a.ref))
		e := expect(t, w, registry.Registered, "after", a.ref)
		assert.Equal(t, uint64(total+1), e.Seq, "the sequence shows the gap")
	})

	t.Run("a lag is reported again if the watch falls behind again", func(t *testing.T) {
		reg := registry.New()
		a := spawnBox(t)
		w := watch(t, reg, "", 1)
		for round := range 3 {
			for i := range 10 {
				require.NoError(t, reg.Register(fmt.Sprintf("r%d/%d", round, i), a.ref))
			}
			for e := next(t, w); e.Kind != registry.Lagged; e = next(t, w) {
				assert.Equal(t, registry.Registered, e.Kind)
			}
		}
	})

	t.Run("a watch nobody reads never blocks the registry", func(t *testing.T) {
		reg := registry.New()
		a := spawnBox(t)
		_ = watch(t, reg, "", 1)
		done := make(chan struct{})
		go func() {
			defer close(done)
			for i := range 5000 {
				_ = reg.Register(fmt.Sprintf("n/%d", i), a.ref)
				_ = reg.Join("g", a.ref)
			}
		}()
		closed(t, done)
		assert.Len(t, reg.Names(), 5000)
	})

	t.Run("Close closes the channel, is idempotent, and stops the deliveries", func(t *testing.T) {
		reg := registry.New()
		a := spawnBox(t)
		w := reg.Watch("", 4)
		require.NoError(t, reg.Register("n", a.ref))
		w.Close()
		w.Close()
		for range w.Events() {
		} // drains and ends: the channel is closed
		require.NoError(t, reg.Unregister("n"), "the registry works on without the watch")
	})

	t.Run("Close while the reader is away does not hang", func(t *testing.T) {
		reg := registry.New()
		a := spawnBox(t)
		w := reg.Watch("", 4)
		for i := range 10 {
			require.NoError(t, reg.Register(fmt.Sprintf("n/%d", i), a.ref))
		}
		done := make(chan struct{})
		go func() { w.Close(); close(done) }()
		closed(t, done)
	})

	t.Run("a buffer of zero or less gets the default", func(t *testing.T) {
		reg := registry.New()
		a := spawnBox(t)
		w := watch(t, reg, "", 0)
		for i := range registry.DefaultWatchBuffer {
			require.NoError(t, reg.Register(fmt.Sprintf("n/%d", i), a.ref))
		}
		for i := range registry.DefaultWatchBuffer {
			e := next(t, w)
			require.Equal(t, registry.Registered, e.Kind, "event %d", i)
		}
	})
}

func TestObserver(t *testing.T) {
	t.Run("the observer sees every change in order, at the registry's time", func(t *testing.T) {
		at := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
		var mu sync.Mutex
		var seen []registry.Event
		reg := registry.New(
			registry.WithClock(func() time.Time { return at }),
			registry.WithObserver(func(e registry.Event) {
				mu.Lock()
				seen = append(seen, e)
				mu.Unlock()
			}),
		)
		a := spawnBox(t)
		require.NoError(t, reg.Register("n", a.ref))
		require.NoError(t, reg.Join("g", a.ref))
		stop(t, a.ref)
		require.Eventually(t, func() bool { return len(reg.Names()) == 0 && len(reg.Groups()) == 0 }, wait, wait/1000)
		mu.Lock()
		defer mu.Unlock()
		require.Len(t, seen, 4)
		kinds := map[registry.EventKind]int{}
		for i, e := range seen {
			assert.Equal(t, uint64(i+1), e.Seq)
			assert.Equal(t, at, e.Time)
			assert.Same(t, a.ref, e.Ref)
			kinds[e.Kind]++
		}
		assert.Equal(t, registry.Registered, seen[0].Kind)
		assert.Equal(t, registry.Joined, seen[1].Kind)
		assert.Equal(t, map[registry.EventKind]int{registry.Registered: 1, registry.Joined: 1,
			registry.Unregistered: 1, registry.Left: 1}, kinds)
	})

	t.Run("observers added later see the changes until they stop observing", func(t *testing.T) {
		reg := registry.New()
		a := spawnBox(t)
		require.NoError(t, reg.Register("before", a.ref))
		var mu sync.Mutex
		var first, second []string
		stopFirst := reg.Observe(func(e registry.Event) { mu.Lock(); first = append(first, e.Name); mu.Unlock() })
		stopSecond := reg.Observe(func(e registry.Event) { mu.Lock(); second = append(second, e.Name); mu.Unlock() })
		defer stopSecond()
		require.NoError(t, reg.Register("both", a.ref))
		stopFirst()
		stopFirst() // idempotent
		require.NoError(t, reg.Register("second only", a.ref))
		mu.Lock()
		defer mu.Unlock()
		assert.Equal(t, []string{"both"}, first)
		assert.Equal(t, []string{"both", "second only"}, second)
	})

	t.Run("the observer may read the registry", func(t *testing.T) {
		var reg *registry.Registry
		found := make(chan bool, 1)
		reg = registry.New(registry.WithObserver(func(e registry.Event) {
			_, ok := reg.Lookup(e.Name)
			found <- ok
		}))
		require.NoError(t, reg.Register("n", spawnBox(t).ref))
		assert.True(t, recv(t, found), "the change is visible to the observer")
	})
}

func TestEventStrings(t *testing.T) {
	ref := spawnBox(t, actor.WithName("worker")).ref
	cases := []struct {
		sentence string
		event    registry.Event
		want     string
	}{
		{"a registration names the name and the actor",
			registry.Event{Seq: 3, Kind: registry.Registered, Name: "a/b", Ref: ref}, `#3 registered name="a/b" ref=worker`},
		{"a leave names the group",
			registry.Event{Seq: 4, Kind: registry.Left, Group: "g", Ref: ref}, `#4 left group="g" ref=worker`},
		{"a lag says how many were dropped",
			registry.Event{Kind: registry.Lagged, Dropped: 7}, "lagged dropped=7"},
	}
	for _, tc := range cases {
		t.Run(tc.sentence, func(t *testing.T) { assert.Equal(t, tc.want, tc.event.String()) })
	}
	t.Run("kinds have names and an unknown kind says what it is", func(t *testing.T) {
		assert.Equal(t, "unregistered", registry.Unregistered.String())
		assert.Equal(t, "joined", registry.Joined.String())
		assert.Equal(t, "EventKind(99)", registry.EventKind(99).String())
	})
}

// A buffer too large to make is bad input, not a panic: it is capped.
func TestWatchCapsItsBuffer(t *testing.T) {
	reg := registry.New()
	for _, n := range []int{math.MaxInt, 1 << 40} {
		assert.NotPanics(t, func() { reg.Watch("", n).Close() }, "%d", n)
	}
}

// Closing a Watch that Registry.Watch did not make (nil, or the zero value)
// does nothing, rather than panic inside the registry.
func TestCloseOfAWatchNotMadeByTheRegistry(t *testing.T) {
	assert.NotPanics(t, func() { (*registry.Watch)(nil).Close() })
	assert.NotPanics(t, func() { new(registry.Watch).Close() })
}

// A Watch that Registry.Watch did not make has no events: its channel is
// closed, rather than nil (a reader would wait forever) or a panic.
func TestEventsOfAWatchNotMadeByTheRegistry(t *testing.T) {
	for name, w := range map[string]*registry.Watch{"nil": nil, "zero": new(registry.Watch)} {
		var ch <-chan registry.Event
		require.NotPanics(t, func() { ch = w.Events() }, name)
		require.NotNil(t, ch, name)
		_, open := <-ch
		assert.False(t, open, "%s: the channel is closed", name)
	}
}
