package registry

import (
	"errors"
	"fmt"

	"github.com/arbor-go/arbor/actor"
)

var (
	// ErrInvalidName is what Register and Join return for a name that is
	// empty, longer than MaxNameLen bytes, not valid UTF-8, or holds a
	// control character. The error is an *InvalidNameError naming the name.
	ErrInvalidName = errors.New("registry: invalid name")
	// ErrTaken is what Register returns for a name held by another live
	// actor. The error is a *TakenError naming the holder.
	ErrTaken = errors.New("registry: name taken")
	// ErrNotFound is what Unregister, Send and Call return for a name that
	// nobody holds, and Leave for an actor that is not in the group. The
	// error is a *NotFoundError naming the name.
	ErrNotFound = errors.New("registry: not found")
)

// InvalidNameError reports a name that cannot be registered. It matches
// ErrInvalidName with errors.Is.
type InvalidNameError struct {
	Name   string
	Reason string // what is wrong with it, as "longer than 255 bytes"
}

// Error implements error.
func (e *InvalidNameError) Error() string {
	return fmt.Sprintf("registry: invalid name %q: %s", e.Name, e.Reason)
}

// Is makes errors.Is(err, ErrInvalidName) true.
func (e *InvalidNameError) Is(target error) bool { return target == ErrInvalidName }

// TakenError reports a name already held by a live actor. It matches ErrTaken
// with errors.Is.
type TakenError struct {
	Name   string
	Holder *actor.Ref
}

// Error implements error.
func (e *TakenError) Error() string {
	return fmt.Sprintf("registry: name %q is taken by %v", e.Name, e.Holder)
}

// Is makes errors.Is(err, ErrTaken) true.
func (e *TakenError) Is(target error) bool { return target == ErrTaken }

// NotFoundError reports a name that nobody holds or, with Ref set, an actor
// that is not a member of the group Name. It matches ErrNotFound with
// errors.Is.
type NotFoundError struct {
	Name string
	Ref  *actor.Ref // for Leave: the actor that was not a member
}

// Error implements error.
func (e *NotFoundError) Error() string {
	if e.Ref != nil {
		return fmt.Sprintf("registry: %v is not in group %q", e.Ref, e.Name)
	}
	return fmt.Sprintf("registry: no actor named %q", e.Name)
}

// Is makes errors.Is(err, ErrNotFound) true.
func (e *NotFoundError) Is(target error) bool { return target == ErrNotFound }
