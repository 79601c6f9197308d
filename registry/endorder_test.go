package registry_test

import (
	"context"
	"testing"
	"time"

	"github.com/arbor-go/arbor/actor"
	"github.com/arbor-go/arbor/registry"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// slowEnd answers calls, crashes on "crash", and takes its time to
// Terminate: it says so on entered, then waits until gate is closed (a
// flush to disk, say).
type slowEnd struct {
	group   string // joined in Init if set
	entered chan<- struct{}
	gate    <-chan struct{}
}

func (s slowEnd) Init(c *actor.Context) error {
	if s.group == "" {
		return nil
	}
	return c.Directory().(*registry.Registry).Join(s.group, c.Self())
}

func (s slowEnd) Receive(c *actor.Context, msg any) error {
	if msg == "crash" {
		return errCrash
	}
	_ = c.Reply(msg)
	return nil
}

func (s slowEnd) Terminate(*actor.Context, error) {
	s.entered <- struct{}{}
	<-s.gate
}

// callDuringSlowEnd calls name with "crash", which ends the callee's
// incarnation, and returns the call's error once it comes. The caller must
// not hear of the end while Terminate runs: it hears of it once the end is
// made known, as in OTP, where the caller of a gen_server that crashed
// learns of it from the 'DOWN'.
func callDuringSlowEnd(t *testing.T, reg *registry.Registry, name string, entered <-chan struct{}, release func()) error {
	t.Helper()
	errc := make(chan error, 1)
	go func() {
		_, err := reg.Call(context.Background(), name, "crash")
		errc <- err
	}()
	select {
	case <-entered:
	case <-time.After(wait):
		t.Fatal("Terminate never ran")
	}
	select {
	case err := <-errc:
		t.Errorf("the caller heard of the end (%v) while Terminate ran", err)
		release()
		return err
	case <-time.After(100 * time.Millisecond): // the caller still waits
	}
	release()
	select {
	case err := <-errc:
		return err
	case <-time.After(wait):
		t.Fatal("the call never returned")
		return nil
	}
}

// A caller told that the actor it called stopped for good finds it stopped:
// not Alive, its name free, to be taken by another.
func TestCallerToldOfAStopFindsTheNameFree(t *testing.T) {
	reg := registry.New()
	entered, gate := make(chan struct{}, 1), make(chan struct{})
	ref, err := actor.Spawn(context.Background(), slowEnd{entered: entered, gate: gate}, quiet(), actor.WithLogger(nopLogger()))
	require.NoError(t, err)
	require.NoError(t, reg.Register("svc", ref))

	err = callDuringSlowEnd(t, reg, "svc", entered, func() { close(gate) })
	var exit *actor.ExitError
	require.ErrorAs(t, err, &exit)
	require.True(t, exit.Stopped, "the caller is told the actor stopped for good")
	assert.False(t, ref.Alive())
	_, held := reg.Lookup("svc")
	assert.False(t, held, "the name of an actor reported stopped is free")
	assert.NoError(t, reg.Register("svc", spawnBox(t).ref), "and another may take it")
	closed(t, ref.Done())
}

// Join's promise: "Every join of that incarnation is undone, with one Left
// event each, before its parent or anyone else hears of the end", the
// caller whose call ended it too.
func TestCallerToldOfAnIncarnationEndFindsItsJoinsUndone(t *testing.T) {
	reg := registry.New()
	entered, gate := make(chan struct{}, 2), make(chan struct{})
	ref, _ := supervised(t, slowEnd{group: "g", entered: entered, gate: gate}, actor.WithDirectory(reg), actor.WithLogger(nopLogger()))
	require.NoError(t, reg.Register("svc", ref))
	require.Equal(t, []*actor.Ref{ref}, reg.Members("g"))

	err := callDuringSlowEnd(t, reg, "svc", entered, func() { close(gate) })
	var exit *actor.ExitError
	require.ErrorAs(t, err, &exit)
	require.ErrorIs(t, err, errCrash)
	assert.Nil(t, reg.Members("g"), "the caller heard of the end of the incarnation that joined: it is no member")
}
