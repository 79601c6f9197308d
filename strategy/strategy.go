package strategy

import (
	"fmt"
	"strconv"
)

// Strategy decides which of a supervisor's children a failure affects. The
// zero value is OneForOne, the most common and least disruptive choice.
type Strategy int

const (
	// OneForOne restarts only the child that exited: for children that do not
	// depend on each other.
	OneForOne Strategy = iota
	// OneForAll stops every other child and restarts them all: for children
	// that cannot work without each other.
	OneForAll
	// RestForOne stops and restarts the children started after the one that
	// exited: for children that depend on those started before them.
	RestForOne
)

// String returns the OTP name of the strategy, as used in logs.
func (s Strategy) String() string {
	switch s {
	case OneForOne:
		return "one_for_one"
	case OneForAll:
		return "one_for_all"
	case RestForOne:
		return "rest_for_one"
	}
	return "Strategy(" + strconv.Itoa(int(s)) + ")"
}

// Valid reports whether s is one of the defined strategies; the error wraps
// ErrUnknownStrategy.
func (s Strategy) Valid() error {
	if s < OneForOne || s > RestForOne {
		return fieldError("Strategy", s, ErrUnknownStrategy)
	}
	return nil
}

// Plan is what a supervisor does after a child exits and is to be restarted.
// Indices refer to the children in start order. The supervisor stops Stop in
// the order given, drops the specs in Remove, then starts Start in the order
// given.
type Plan struct {
	// Stop holds the other children to stop, in reverse start order, as OTP
	// stops them. The failed child is never in it: it has already exited.
	Stop []int
	// Start holds the children to start again, in start order; it always
	// includes the failed child.
	Start []int
	// Remove holds the temporary children in Stop, in start order: they are not
	// restarted, and their specs are dropped as OTP does.
	Remove []int
}

// Plan decides what the exit of the child at index failed affects, given the
// restart types of all children in start order. Call it only for an exit that
// Restart.ShouldRestart accepted: planning the restart of a temporary child
// returns ErrTemporaryRestart.
//
// Plan does not know which children are running: an index in Stop may name a
// child that is already stopped, and the caller skips it. Like OTP, OneForAll
// and RestForOne start such a child again if it is not temporary.
func (s Strategy) Plan(children []Restart, failed int) (Plan, error) {
	if err := s.Valid(); err != nil {
		return Plan{}, err
	}
	if failed < 0 || failed >= len(children) {
		return Plan{}, fmt.Errorf("%w: index %d, %d children", ErrBadIndex, failed, len(children))
	}
	for i, r := range children {
		if err := r.Valid(); err != nil {
			return Plan{}, fmt.Errorf("child %d: %w", i, err)
		}
	}
	if children[failed] == Temporary {
		return Plan{}, fmt.Errorf("%w: child %d", ErrTemporaryRestart, failed)
	}

	// first is the earliest child the failure affects; every affected child
	// lies in [first, len(children)).
	first := failed
	switch s {
	case OneForOne:
		return Plan{Start: []int{failed}}, nil
	case OneForAll:
		first = 0
	}

	var p Plan
	for i := len(children) - 1; i >= first; i-- {
		if i != failed {
			p.Stop = append(p.Stop, i)
		}
	}
	for i := first; i < len(children); i++ {
		if i != failed && children[i] == Temporary {
			p.Remove = append(p.Remove, i)
			continue
		}
		p.Start = append(p.Start, i)
	}
	return p, nil
}
