package registry_test

import (
	"context"
	"fmt"
	"hash/maphash"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/arbor-go/arbor/actor"
	"github.com/arbor-go/arbor/registry"
)

// Each benchmark sits beside its baseline: plain Go maps for lookups, a
// plain Ref.Send or Ref.Call for sends and calls by name.

const benchNames = 10_000

func benchNameList() []string {
	names := make([]string, benchNames)
	for i := range names {
		names[i] = fmt.Sprintf("bridge/portal/!room%d:example.org", i)
	}
	return names
}

// lookupParallel runs look over every name from all goroutines, each
// starting elsewhere, as many readers of a busy bridge would.
func lookupParallel(b *testing.B, look func(string) bool) {
	names := benchNameList()
	var start atomic.Uint32
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := int(start.Add(7919)) % benchNames
		for pb.Next() {
			if !look(names[i]) {
				b.Error("a name went missing")
				return
			}
			if i += 7; i >= benchNames {
				i -= benchNames
			}
		}
	})
}

func sink(b *testing.B) *actor.Ref {
	b.Helper()
	ref, err := actor.Spawn(context.Background(), actor.Func(func(c *actor.Context, msg any) error {
		_ = c.Reply(msg)
		return nil
	}))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = ref.Stop(context.Background()) })
	return ref
}

func BenchmarkLookupParallel(b *testing.B) {
	reg := registry.New()
	ref := sink(b)
	for _, name := range benchNameList() {
		if err := reg.Register(name, ref); err != nil {
			b.Fatal(err)
		}
	}
	lookupParallel(b, func(name string) bool { _, ok := reg.Lookup(name); return ok })
}

// The baseline: a plain map that nobody changes, which needs no lock at all.
func BenchmarkLookupParallelPlainMap(b *testing.B) {
	ref := sink(b)
	m := make(map[string]*actor.Ref, benchNames)
	for _, name := range benchNameList() {
		m[name] = ref
	}
	lookupParallel(b, func(name string) bool { _, ok := m[name]; return ok })
}

// The alternatives weighed and set aside (see Registry). A sync.Map, whose
// lookups follow one pointer more than the registry's table.
func BenchmarkLookupParallelSyncMap(b *testing.B) {
	ref := sink(b)
	var m sync.Map
	for _, name := range benchNameList() {
		m.Store(name, ref)
	}
	lookupParallel(b, func(name string) bool { _, ok := m.Load(name); return ok })
}

// Shards of immutable maps behind atomic pointers, which a change replaces
// with a copy: they read about as fast as the registry's table, but a change
// copies a whole shard, a cost that grows with the names.
func BenchmarkLookupParallelCopyOnWriteShards(b *testing.B) {
	ref := sink(b)
	const n = 256
	type shard struct {
		m atomic.Pointer[map[string]*actor.Ref]
		_ [56]byte
	}
	var shards [n]shard
	maps := make([]map[string]*actor.Ref, n)
	for i := range maps {
		maps[i] = make(map[string]*actor.Ref)
	}
	seed := maphash.MakeSeed()
	for _, name := range benchNameList() {
		maps[maphash.String(seed, name)%n][name] = ref
	}
	for i := range shards {
		shards[i].m.Store(&maps[i])
	}
	lookupParallel(b, func(name string) bool {
		_, ok := (*shards[maphash.String(seed, name)%n].m.Load())[name]
		return ok
	})
}

// Another alternative: shards of maps behind read-write mutexes. Every
// reader writes its shard's lock counter, so readers on different cores
// fight over it.
func BenchmarkLookupParallelRWMutexShards(b *testing.B) {
	ref := sink(b)
	type shard struct {
		mu sync.RWMutex
		m  map[string]*actor.Ref
		_  [32]byte
	}
	shards := make([]shard, 256)
	for i := range shards {
		shards[i].m = make(map[string]*actor.Ref)
	}
	seed := maphash.MakeSeed()
	index := func(name string) uint64 { return maphash.String(seed, name) % 256 }
	for _, name := range benchNameList() {
		shards[index(name)].m[name] = ref
	}
	lookupParallel(b, func(name string) bool {
		s := &shards[index(name)]
		s.mu.RLock()
		_, ok := s.m[name]
		s.mu.RUnlock()
		return ok
	})
}

// sendAll sends b.N messages with send and waits until the actor had them
// all: its calls answer in order, so one call after them is enough.
func sendAll(b *testing.B, ref *actor.Ref, send func(msg any) error) {
	msg := new(int)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if err := send(msg); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := ref.Call(context.Background(), msg); err != nil {
		b.Fatal(err)
	}
}

func BenchmarkRefSend(b *testing.B) {
	ref := sink(b)
	sendAll(b, ref, ref.Send)
}

func BenchmarkSendByName(b *testing.B) {
	reg := registry.New()
	ref := sink(b)
	for _, name := range benchNameList() {
		if err := reg.Register(name, ref); err != nil {
			b.Fatal(err)
		}
	}
	name := benchNameList()[benchNames/2]
	sendAll(b, ref, func(msg any) error { return reg.Send(name, msg) })
}

func BenchmarkRefCall(b *testing.B) {
	ref := sink(b)
	ctx := context.Background()
	msg := new(int)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ref.Call(ctx, msg); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCallByName(b *testing.B) {
	reg := registry.New()
	ref := sink(b)
	if err := reg.Register("bridge/matrix", ref); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	msg := new(int)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := reg.Call(ctx, "bridge/matrix", msg); err != nil {
			b.Fatal(err)
		}
	}
}

// The cost of a change, among 10,000 names: it does not grow with them.
func BenchmarkRegisterUnregister(b *testing.B) {
	reg := registry.New()
	ref := sink(b)
	for _, name := range benchNameList() {
		if err := reg.Register(name, ref); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := reg.Register("bridge/new", ref); err != nil {
			b.Fatal(err)
		}
		if err := reg.Unregister("bridge/new"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBroadcast(b *testing.B) {
	reg := registry.New()
	refs := make([]*actor.Ref, 16)
	for i := range refs {
		refs[i] = sink(b)
		if err := reg.Join("portals", refs[i]); err != nil {
			b.Fatal(err)
		}
	}
	msg := new(int)
	b.ReportAllocs()
	for b.Loop() {
		if n, err := reg.Broadcast("portals", msg); err != nil || n != len(refs) {
			b.Fatal(n, err)
		}
	}
	for _, ref := range refs {
		if _, err := ref.Call(context.Background(), msg); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(refs)), "ns/member")
}

// benchGroupChurn measures a member leaving and joining again in a group of
// size members, each in turn: the cost of membership changes in a big group.
func benchGroupChurn(b *testing.B, size int) {
	reg := registry.New()
	refs := make([]*actor.Ref, size)
	for i := range refs {
		refs[i] = sink(b)
		if err := reg.Join("portals", refs[i]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		ref := refs[i%size]
		if err := reg.Leave("portals", ref); err != nil {
			b.Fatal(err)
		}
		if err := reg.Join("portals", ref); err != nil {
			b.Fatal(err)
		}
		i++
	}
	if got := len(reg.Members("portals")); got != size {
		b.Fatalf("%d members after the churn, want %d", got, size)
	}
}

// BenchmarkGroupChurn10 and BenchmarkGroupChurn10k: the same cost per change
// whatever the group's size is the aim.
func BenchmarkGroupChurn10(b *testing.B)  { benchGroupChurn(b, 10) }
func BenchmarkGroupChurn10k(b *testing.B) { benchGroupChurn(b, 10_000) }
