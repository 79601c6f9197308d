package registry

import (
	"hash/maphash"
	"sync/atomic"

	"github.com/arbor-go/arbor/actor"
)

// table is the read side of the names: a hash table whose buckets are
// immutable chains of nodes behind atomic pointers. A reader loads the
// table, one bucket, and follows a node or two: no lock, no write to shared
// memory, so reads scale with cores, and one memory access fewer than a
// sync.Map. A writer (one at a time, under the registry's mutex) replaces
// the chain it changes with an updated copy of the nodes before the change,
// a node or two; when the table averages more than maxLoad names a bucket,
// the writer builds one twice as large and swaps it in, paid once per
// doubling; when it falls below a quarter of that, one half as large, so that
// a registry that held a million names for a moment does not keep their
// buckets. A table swapped out is never written again, so a reader still
// holding it sees a consistent past state.
type table struct {
	buckets []atomic.Pointer[node]
	mask    uint64
	count   int // names in the table; written under the registry's mutex
}

type node struct {
	hash uint64
	name string
	ref  *actor.Ref
	next *node
}

const (
	minBuckets = 64
	maxLoad    = 1
)

var seed = maphash.MakeSeed()

func newTable(n int) *table {
	return &table{buckets: make([]atomic.Pointer[node], n), mask: uint64(n - 1)}
}

// get returns the actor holding name, or nil.
func (t *table) get(name string) *actor.Ref {
	h := maphash.String(seed, name)
	for n := t.buckets[h&t.mask].Load(); n != nil; n = n.next {
		if n.hash == h && n.name == name {
			return n.ref
		}
	}
	return nil
}

// set maps name to ref, or removes name if ref is nil, and returns the
// table to use from now on: t itself, or a larger one. The caller holds the
// registry's mutex.
func (t *table) set(name string, ref *actor.Ref) *table {
	h := maphash.String(seed, name)
	p := &t.buckets[h&t.mask]
	head := p.Load()
	// Rebuild the nodes before name's (if it is there) onto what follows it.
	var before []*node
	rest := head
	for ; rest != nil && (rest.hash != h || rest.name != name); rest = rest.next {
		before = append(before, rest)
	}
	found := rest != nil
	if found {
		rest = rest.next
		for i := len(before) - 1; i >= 0; i-- {
			rest = &node{hash: before[i].hash, name: before[i].name, ref: before[i].ref, next: rest}
		}
	} else {
		rest = head
	}
	if ref != nil {
		rest = &node{hash: h, name: name, ref: ref, next: rest}
	}
	p.Store(rest)
	switch {
	case ref != nil && !found:
		t.count++
	case ref == nil && found:
		t.count--
	}
	switch {
	case t.count > maxLoad*len(t.buckets):
		return t.resize(2 * len(t.buckets))
	case len(t.buckets) > minBuckets && t.count < maxLoad*len(t.buckets)/4:
		return t.resize(len(t.buckets) / 2)
	}
	return t
}

// resize returns a copy of t with n buckets.
func (t *table) resize(n int) *table {
	g := newTable(n)
	g.count = t.count
	for i := range t.buckets {
		for n := t.buckets[i].Load(); n != nil; n = n.next {
			p := &g.buckets[n.hash&g.mask]
			p.Store(&node{hash: n.hash, name: n.name, ref: n.ref, next: p.Load()})
		}
	}
	return g
}

// each calls f with every name and its actor.
func (t *table) each(f func(name string, ref *actor.Ref)) {
	for i := range t.buckets {
		for n := t.buckets[i].Load(); n != nil; n = n.next {
			f(n.name, n.ref)
		}
	}
}
