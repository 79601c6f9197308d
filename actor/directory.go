package actor

import (
	"context"
	"fmt"
)

// Directory finds actors by name: what an actor reaches through
// Context.Directory, SendName and CallName. *registry.Registry implements it;
// a supervision tree started with tree.WithRegistry gives it to every actor
// of the tree (see WithDirectory).
type Directory interface {
	// Lookup returns the actor holding name.
	Lookup(name string) (*Ref, bool)
	// Send sends msg to the actor holding name, as Ref.Send does.
	Send(name string, msg any) error
	// Call calls the actor holding name, as Ref.Call does.
	Call(ctx context.Context, name string, msg any) (any, error)
}

// Directory returns the actor's directory, or nil if it has none.
func (c *Context) Directory() Directory { return c.ref.set.dir }

// SendName sends msg to the actor that holds name in the actor's directory,
// as Directory.Send does (with a *registry.Registry: an error matching
// registry.ErrNotFound for an unknown name). It returns ErrNoDirectory if
// the actor has no directory.
func (c *Context) SendName(name string, msg any) error {
	d := c.ref.set.dir
	if d == nil {
		return ErrNoDirectory
	}
	return d.Send(name, msg)
}

// CallName calls the actor that holds name in the actor's directory, as
// Directory.Call does, and returns its reply. It returns ErrNoDirectory if
// the actor has no directory, and an error matching ErrCallSelf if the name
// is the actor's own, whatever ctx is: a call to itself could only time out.
func (c *Context) CallName(ctx context.Context, name string, msg any) (any, error) {
	d := c.ref.set.dir
	if d == nil {
		return nil, ErrNoDirectory
	}
	if ref, ok := d.Lookup(name); ok && ref == c.ref {
		return nil, fmt.Errorf("actor: call %q: %w", name, ErrCallSelf)
	}
	if ctx != nil {
		// Should the name move to this actor after the lookup, Ref.Call
		// still tells that the caller is the callee.
		ctx = context.WithValue(ctx, selfKey{}, c.ref)
	}
	return d.Call(ctx, name, msg)
}
