package actor

import (
	"errors"
	"runtime"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// unwound captures a stack the way runtime.Callers does, from a deferred
// recover, as newPanicError did before it walked frame pointers.
//
//go:noinline
func unwound() Stack {
	var pcs [64]uintptr
	n := runtime.Callers(3, pcs[:])
	return append(Stack(nil), pcs[:n]...)
}

// bothWays runs f, which panics, and returns its stack as newPanicError and
// as runtime.Callers capture it. The first ends at the frame that deferred
// the recover, as the dispatch loop's does at its batch.
func bothWays(f func()) (fast, slow Stack) {
	func() {
		top := framePointer()
		defer func() {
			v := recover()
			fast, slow = newPanicError(v, top).Stack, unwound()
		}()
		f()
	}()
	return fast, slow
}

type shape interface{ area() int }

type square struct{ side int }

//go:noinline
func (s square) area() int { panic("area") }

//go:noinline
func recurse(n int) int {
	if n == 0 {
		panic(errors.New("bottom"))
	}
	return recurse(n-1) + 1
}

func inlinable(v any) { panic(v) }

//go:noinline
func outer() { inlinable("inlined") }

func generic[T any](v T) { panic(v) }

func TestCaptureStackResolvesAsRuntimeCallers(t *testing.T) {
	var m map[string]int
	cases := map[string]func(){
		"direct":            func() { panic("direct") },
		"recursion":         func() { recurse(20) },
		"through interface": func() { var s shape = square{2}; _ = s.area() },
		"pointer wrapper":   func() { var s shape = &square{2}; _ = s.area() },
		"method value":      func() { f := square{2}.area; _ = f() },
		"inlined helper":    func() { outer() },
		"generic":           func() { generic(42) },
		"runtime error":     func() { m["x"] = 1 },
	}
	for name, f := range cases {
		t.Run(name, func(t *testing.T) {
			fast, slow := bothWays(f)
			sameFrames(t, fast, slow)
			if framePointer() != nil && name != "runtime error" {
				assert.Less(t, len(fast.Frames()), len(slow.Frames()), "the walk, not runtime.Callers, captured it")
			}
		})
	}
	t.Run("go statement", func(t *testing.T) {
		// A goroutine started with arguments begins in a wrapper that the
		// compiler wrote.
		done := make(chan [2]Stack)
		go func(n int) {
			fast, slow := bothWays(func() { recurse(n) })
			done <- [2]Stack{fast, slow}
		}(3)
		both := <-done
		sameFrames(t, both[0], both[1])
	})
}

func TestPanicErrorOfAShallowStackIsOneAllocation(t *testing.T) {
	if framePointer() == nil {
		t.Skip("no frame pointers here: the stack is the goroutine's whole")
	}
	var perr *PanicError
	allocs := testing.AllocsPerRun(100, func() {
		func() {
			top := framePointer()
			defer func() { perr = newPanicError(recover(), top) }()
			panic("shallow")
		}()
	})
	assert.Equal(t, 1.0, allocs, "the error and its stack in one allocation")
	require.NotNil(t, perr)
	assert.Equal(t, "shallow", perr.Value)
	assert.NotEmpty(t, perr.Stack.Frames())
}

func TestPanicRecordHasRoomForItsStackOnly(t *testing.T) {
	pcs := make([]uintptr, 20)
	for i := range pcs {
		pcs[i] = uintptr(0x1000 + i)
	}
	// The room each depth gets: a shallow stack must not pay for a deep
	// one's. The allocation is that, rounded up to the allocator's class.
	rooms := map[int]uintptr{0: 5, 1: 5, 5: 5, 6: 11, 11: 11, 12: 17, 17: 17}
	for n, room := range rooms {
		size := unsafe.Sizeof(PanicError{}) + room*unsafe.Sizeof(uintptr(0))
		class := uint64(size+15) &^ 15
		perr := record("v", pcs[:n])
		assert.Equal(t, Stack(pcs[:n]), perr.Stack, "depth %d", n)
		assert.Equal(t, n, cap(perr.Stack), "depth %d: no room past the stack, so an append copies", n)
		if n > 0 {
			assert.Equal(t, unsafe.Sizeof(PanicError{}), uintptr(unsafe.Pointer(&perr.Stack[0]))-uintptr(unsafe.Pointer(perr)),
				"depth %d: the stack lies right after the error, in its allocation", n)
		}
		assert.Equal(t, 1.0, testing.AllocsPerRun(10, func() { perr = record("v", pcs[:n]) }), "depth %d", n)
		assert.LessOrEqual(t, bytesPerCall(func() { perr = record("v", pcs[:n]) }), class, "depth %d", n)
	}
	deep := record("v", pcs)
	assert.Equal(t, Stack(pcs), deep.Stack, "a stack deeper than the largest room is copied whole")
}

// bytesPerCall returns the bytes that f allocates per call, on average.
func bytesPerCall(f func()) uint64 {
	const calls = 1000
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range calls {
		f()
	}
	runtime.ReadMemStats(&after)
	return (after.TotalAlloc - before.TotalAlloc) / calls
}

// sameFrames requires the frames of fast to be those of slow, which goes on
// past the frame that deferred the recover.
func sameFrames(t *testing.T, fast, slow Stack) {
	t.Helper()
	require.NotEmpty(t, fast)
	want, got := slow.Frames(), fast.Frames()
	require.LessOrEqual(t, len(got), len(want), "frames\n%s\nwant\n%s", fast, slow)
	require.True(t, hasBothWays(got), "the walk reaches the frame that deferred:\n%s", fast)
	for i := range got {
		assert.Equal(t, want[i].Function, got[i].Function, "frame %d", i)
		assert.Equal(t, want[i].File, got[i].File, "frame %d", i)
		assert.Equal(t, want[i].Line, got[i].Line, "frame %d", i)
	}
}

func hasBothWays(frames []runtime.Frame) bool {
	for _, f := range frames {
		if f.Function == "github.com/arbor-go/arbor/actor.bothWays" {
			return true
		}
	}
	return false
}

func TestCallersWalksUpToTop(t *testing.T) {
	top := framePointer()
	if top == nil {
		t.Skip("no frame pointers here: newPanicError always uses runtime.Callers")
	}
	var pcs [8]uintptr
	n, reached := callers(0, pcs[:], top)
	require.True(t, reached)
	require.Equal(t, 2, n, "this function's frame, then the one it returns into")
	f, _ := runtime.CallersFrames(pcs[:1]).Next()
	assert.Equal(t, "github.com/arbor-go/arbor/actor.TestCallersWalksUpToTop", f.Function)

	n, reached = callers(0, pcs[:1], top)
	assert.False(t, reached, "a buffer too short does not reach top")
	assert.Equal(t, 1, n)

	below := framePointer()
	_, reached = callers(0, pcs[:], unsafe.Add(below, -8))
	assert.False(t, reached, "a top below the walk's start is never reached")
}

// deep panics n frames down, so that the stacks below have some depth.
//
//go:noinline
func deep(n int) {
	if n == 0 {
		panic("deep")
	}
	deep(n - 1)
}

// benchCapture panics ten frames deep and captures the stack with capture
// in the deferred recover, as the dispatch loop does.
func benchCapture(b *testing.B, capture func(v any, top unsafe.Pointer) Stack) {
	b.ReportAllocs()
	for b.Loop() {
		func() {
			top := framePointer()
			defer func() { _ = capture(recover(), top) }()
			deep(10)
		}()
	}
}

// BenchmarkCaptureStack is the capture of a crash's stack by frame pointers.
func BenchmarkCaptureStack(b *testing.B) {
	benchCapture(b, func(v any, top unsafe.Pointer) Stack { return newPanicError(v, top).Stack })
}

// BenchmarkCaptureStackCallers is its baseline, runtime.Callers, which reads
// the unwinding tables at every frame.
func BenchmarkCaptureStackCallers(b *testing.B) {
	benchCapture(b, func(any, unsafe.Pointer) Stack { return unwound() })
}

// BenchmarkPanicRecover is the panic and recover alone, which both pay.
func BenchmarkPanicRecover(b *testing.B) {
	benchCapture(b, func(any, unsafe.Pointer) Stack { return nil })
}
