package tree

import (
	"context"
	"errors"
	"fmt"

	"github.com/arbor-go/arbor/actor"
	"github.com/arbor-go/arbor/strategy"
)

// command is an API request, handled in the supervisor's Receive one at a
// time, so that no lock guards the children. handle replies to the call; its
// error is only the reply's (a caller gone), never a reason to crash.
type command interface {
	handle(s *supervisor, c *actor.Context) error
}

// ChildInfo describes one child, as OTP's which_children.
type ChildInfo struct {
	ID string
	// Ref is the child's actor, nil unless it is Running.
	Ref     *actor.Ref
	State   ChildState
	Type    ChildType
	Restart strategy.Restart
}

// Counts are a supervisor's figures, as OTP's count_children.
type Counts struct {
	// Specs counts the child specs, running or not.
	Specs int
	// Active counts the running children.
	Active int
	// Supervisors and Workers count the specs by type, running or not.
	Supervisors int
	Workers     int
}

type (
	startChildCmd struct{ spec ChildSpec }
	terminateCmd  struct{ id string }
	restartCmd    struct{ id string }
	deleteCmd     struct{ id string }
	whichCmd      struct{}
	countCmd      struct{}
	subscribeCmd  struct{ buffer int }
)

func (m startChildCmd) handle(s *supervisor, c *actor.Context) error {
	if s.dyn != nil {
		return c.ReplyError(ErrDynamic)
	}
	if err := validateChild(s.path, s.spec, m.spec); err != nil {
		return c.ReplyError(err)
	}
	if ch := s.find(m.spec.ID); ch != nil {
		if ch.state == Running {
			return c.ReplyError(fmt.Errorf("%w: %s", ErrAlreadyStarted, m.spec.ID))
		}
		return c.ReplyError(fmt.Errorf("%w: %s", ErrAlreadyPresent, m.spec.ID))
	}
	ch := &child{id: m.spec.ID, r: resolve(s.spec, m.spec), state: Stopped}
	s.addChild(ch)
	if err := s.startOrQueue(ch); err != nil {
		s.remove(ch)
		return c.ReplyError(&StartError{Supervisor: s.path, Child: ch.id, Err: err})
	}
	return c.Reply(ch.ref) // nil if ignored or queued for a slot
}

func (m terminateCmd) handle(s *supervisor, c *actor.Context) error {
	if s.dyn != nil {
		return c.ReplyError(ErrDynamic)
	}
	ch := s.find(m.id)
	if ch == nil {
		return c.ReplyError(fmt.Errorf("%w: %s", ErrNotFound, m.id))
	}
	s.shutdown(ch, nil)
	s.setState(ch, Stopped)
	if ch.r.restart == strategy.Temporary {
		s.remove(ch)
	}
	s.admit()
	return c.Reply(nil)
}

func (m restartCmd) handle(s *supervisor, c *actor.Context) error {
	if s.dyn != nil {
		return c.ReplyError(ErrDynamic)
	}
	ch := s.find(m.id)
	if err := notStopped(ch, m.id); err != nil {
		return c.ReplyError(err)
	}
	s.mu.Lock()
	ch.bo.Reset()
	s.mu.Unlock()
	if err := s.startOrQueue(ch); err != nil {
		s.setState(ch, Stopped)
		return c.ReplyError(&StartError{Supervisor: s.path, Child: ch.id, Err: err})
	}
	return c.Reply(ch.ref)
}

func (m deleteCmd) handle(s *supervisor, c *actor.Context) error {
	if s.dyn != nil {
		return c.ReplyError(ErrDynamic)
	}
	ch := s.find(m.id)
	if err := notStopped(ch, m.id); err != nil {
		return c.ReplyError(err)
	}
	s.remove(ch)
	return c.Reply(nil)
}

// notStopped returns OTP's error for a restart or delete of a child that is
// not stopped.
func notStopped(ch *child, id string) error {
	switch {
	case ch == nil:
		return fmt.Errorf("%w: %s", ErrNotFound, id)
	case ch.state == Running:
		return fmt.Errorf("%w: %s", ErrRunning, id)
	case ch.state == Restarting:
		return fmt.Errorf("%w: %s", ErrRestarting, id)
	case ch.state == Waiting:
		return fmt.Errorf("%w: %s", ErrWaiting, id)
	}
	return nil
}

func (whichCmd) handle(s *supervisor, c *actor.Context) error {
	out := make([]ChildInfo, 0, s.children.len())
	for ch := range s.children.backward() {
		info := ChildInfo{ID: ch.id, State: ch.state, Type: ch.r.typ, Restart: ch.r.restart}
		if ch.state == Running {
			info.Ref = ch.ref
		}
		out = append(out, info)
	}
	return c.Reply(out)
}

// handle subscribes to this supervisor's subtree: a subscription made within
// the supervisor's Receive sees every event of the subtree from then on.
func (m subscribeCmd) handle(s *supervisor, c *actor.Context) error {
	buffer := m.buffer
	if buffer <= 0 {
		buffer = s.eventBuffer // 0 too: the root's
	}
	return c.Reply(s.env.bus.subscribe(s.path, buffer))
}

func (countCmd) handle(s *supervisor, c *actor.Context) error {
	var n Counts
	for ch := range s.children.all() {
		n.Specs++
		if ch.state == Running {
			n.Active++
		}
		if ch.r.typ == SupervisorChild {
			n.Supervisors++
		} else {
			n.Workers++
		}
	}
	return c.Reply(n)
}

// call sends cmd to a supervisor and maps a stopped supervisor to
// ErrSupervisorStopped.
func call[T any](ctx context.Context, ref *actor.Ref, cmd command) (T, error) {
	v, err := actor.CallAs[T](ctx, ref, cmd)
	if err != nil && errors.Is(err, actor.ErrStopped) {
		var exit *actor.ExitError
		if errors.As(err, &exit) && exit.Actor == ref {
			if exit.Reason == nil {
				return v, ErrSupervisorStopped
			}
			return v, fmt.Errorf("%w: %w", ErrSupervisorStopped, exit.Reason)
		}
	}
	return v, err
}
