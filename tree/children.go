package tree

import "iter"

// childList is a supervisor's children in start order, linked through the
// children themselves: a child leaves from anywhere in one step. A dynamic
// supervisor may hold 100,000 children that end in any order (the jobs of a
// pool, the connections of a server); with a slice, each end would cost a
// scan and a copy of the children after it, and the end of them all a time
// that grows with the square of their number.
type childList struct {
	first, last *child
	n           int
}

// push adds ch as the newest child.
func (l *childList) push(ch *child) {
	ch.prev, ch.next, ch.listed = l.last, nil, true
	if l.last == nil {
		l.first = ch
	} else {
		l.last.next = ch
	}
	l.last = ch
	l.n++
}

// drop takes ch out of the list, if it is in.
func (l *childList) drop(ch *child) {
	if !ch.listed {
		return
	}
	if ch.prev == nil {
		l.first = ch.next
	} else {
		ch.prev.next = ch.next
	}
	if ch.next == nil {
		l.last = ch.prev
	} else {
		ch.next.prev = ch.prev
	}
	ch.prev, ch.next, ch.listed = nil, nil, false
	l.n--
}

// clear drops every child.
func (l *childList) clear() {
	for ch := l.first; ch != nil; {
		next := ch.next
		ch.prev, ch.next, ch.listed = nil, nil, false
		ch = next
	}
	*l = childList{}
}

// len returns the number of children.
func (l *childList) len() int { return l.n }

// all yields the children in start order, oldest first. The loop's body may
// drop the child it is given, and no other.
func (l *childList) all() iter.Seq[*child] {
	return func(yield func(*child) bool) {
		for ch := l.first; ch != nil; {
			next := ch.next
			if !yield(ch) {
				return
			}
			ch = next
		}
	}
}

// backward yields the children newest first, as they are stopped. The
// loop's body may drop the child it is given, and no other.
func (l *childList) backward() iter.Seq[*child] {
	return func(yield func(*child) bool) {
		for ch := l.last; ch != nil; {
			prev := ch.prev
			if !yield(ch) {
				return
			}
			ch = prev
		}
	}
}

// slice returns the children in start order.
func (l *childList) slice() []*child {
	out := make([]*child, 0, l.n)
	for ch := range l.all() {
		out = append(out, ch)
	}
	return out
}
