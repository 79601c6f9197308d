package actor

import (
	"context"
	"testing"
	"time"
)

// linksTo reports whether r holds a link to other.
func linksTo(r, other *Ref) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.x == nil {
		return false
	}
	_, ok := r.x.watch.links[other]
	return ok
}

// An actor killed while its Receive runs on (Kill cannot stop a goroutine)
// and then links to a live target leaves the target no link to a dead
// actor, nor does a Kill that lands between the two sides of the link:
// the target, trapping exits, is told of the end or holds no link.
func TestLinkOfActorKilledMeanwhileLeavesNoLinkBehind(t *testing.T) {
	exits := make(chan Exit, 1)
	target, err := Spawn(context.Background(), Func(func(c *Context, msg any) error {
		if e, ok := msg.(Exit); ok {
			exits <- e
		}
		return nil
	}), WithTrapExits())
	if err != nil {
		t.Fatal(err)
	}
	defer target.Kill()

	proceed := make(chan struct{})
	entered := make(chan struct{})
	linked := make(chan error, 1)
	self, err := Spawn(context.Background(), Func(func(c *Context, msg any) error {
		close(entered)
		<-proceed
		linked <- c.Link(target)
		return nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	if err := self.Send("link"); err != nil {
		t.Fatal(err)
	}
	<-entered
	self.Kill() // its Receive is waiting on proceed
	<-self.Done()
	close(proceed)
	select {
	case err := <-linked:
		if err != nil {
			t.Fatalf("Link: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Link never returned")
	}
	select {
	case e := <-exits:
		if e.From != self {
			t.Fatalf("unexpected exit %+v", e)
		}
		return // told of the end: fine
	default:
	}
	if linksTo(target, self) {
		t.Fatal("the target holds a link to an actor that was killed before the link was made, and was never told of its end")
	}
}
