package actor

import (
	"fmt"
	"runtime"
	"strings"
	"unsafe"
)

// Stack is a goroutine's call stack, captured as program counters when an
// actor panics. Capturing is cheap; the frames are resolved, and trimmed to
// the ones that matter, only when the stack is read with Frames or String,
// which a crash that nobody reads never pays for.
type Stack []uintptr

// Frames resolves the stack into frames, from the one that panicked down to
// the user's code that Arbor called: the runtime's panic machinery above it
// and Arbor's dispatch loop below it are left out.
func (s Stack) Frames() []runtime.Frame {
	if len(s) == 0 {
		return nil
	}
	frames := runtime.CallersFrames(s)
	all := make([]runtime.Frame, 0, len(s))
	for {
		f, more := frames.Next()
		if !isWrapper(f) {
			all = append(all, f)
		}
		if !more {
			break
		}
	}
	// The user's code that Arbor called ends at the first dispatch frame.
	// Within it, the frame that panicked comes after the last panic's
	// machinery (a value recovered and panicked again was raised at the
	// first panic, below), and after a runtime function that panicked for
	// the user (a nil map write, a failed conversion), which is not where
	// the reader looks. A panic further down, past a dispatch frame, is
	// another one's: that of the crash in whose recover a restart in
	// place ran an Init that panicked.
	start, end := 0, len(all)
	for i := 1; i < len(all); i++ {
		if isDispatchFrame(all[i].Function) {
			end = i
			break
		}
	}
	for i := end - 1; i >= 0; i-- {
		if isPanicFrame(all[i].Function) {
			start = i + 1
			break
		}
	}
	for start < end && isRuntimeFrame(all[start].Function) {
		start++
	}
	if start >= end {
		return all
	}
	return all[start:end]
}

// String formats the stack as Go prints a panic: a function per line, then its
// file and line.
func (s Stack) String() string {
	var b strings.Builder
	for _, f := range s.Frames() {
		fmt.Fprintf(&b, "%s\n\t%s:%d\n", f.Function, f.File, f.Line)
	}
	return b.String()
}

// NewPanicError turns a recovered panic value into a *PanicError carrying the
// panicking goroutine's stack. Call it in the deferred function that
// recovered, so that the stack still holds the frames that panicked:
//
//	defer func() {
//		if v := recover(); v != nil {
//			err = actor.NewPanicError(v)
//		}
//	}()
func NewPanicError(v any) *PanicError {
	return newPanicError(v, nil)
}

// newPanicError is called from a deferred recover of v: it records the
// program counters of the panicking goroutine, and nothing more, in the
// *PanicError it returns. top is the frame pointer of the function that
// deferred the recover (framePointer, called in it), up to which callers
// walks the chain of frame pointers; nil (or a chain that does not lead
// there) means runtime.Callers.
//
//go:noinline
func newPanicError(v any, top unsafe.Pointer) *PanicError {
	var pcs [64]uintptr
	n, ok := 0, false
	if _, fault := v.(runtime.Error); !fault && top != nil {
		// A runtime error may come from a fault in a function with no
		// frame of its own (a leaf that dereferenced nil), which a walk of
		// frame pointers would skip: it unwinds with the runtime's tables.
		n, ok = callers(2, pcs[:], top) // not newPanicError, the deferred function
	}
	if !ok {
		n = runtime.Callers(3, pcs[:]) // not Callers, newPanicError, the deferred function
	}
	return record(v, pcs[:n])
}

// record returns a *PanicError holding v and a copy of pcs, made in one
// allocation with room for the stack's depth and little more: allocating
// costs in proportion to the size, and a crash's stack, cut at the dispatch
// loop, is most often a handful of frames.
func record(v any, pcs []uintptr) *PanicError {
	switch n := len(pcs); {
	case n <= 5:
		return recordIn[[5]uintptr](v, pcs)
	case n <= 11:
		return recordIn[[11]uintptr](v, pcs)
	case n <= 17:
		return recordIn[[17]uintptr](v, pcs)
	}
	return &PanicError{Value: v, Stack: append(Stack(nil), pcs...)}
}

// pcRoom is the room for a stack in a panic's record: each size fills its
// class of the allocator (80, 128 and 176 bytes with the PanicError).
type pcRoom interface {
	[5]uintptr | [11]uintptr | [17]uintptr
}

// recordIn is record with room R, which must hold pcs.
func recordIn[R pcRoom](v any, pcs []uintptr) *PanicError {
	rec := &struct {
		err  PanicError
		room R
	}{err: PanicError{Value: v}}
	room := unsafe.Slice(&rec.room[0], len(rec.room))
	rec.err.Stack = room[:copy(room, pcs):len(pcs)]
	return &rec.err
}

const selfPkg = "github.com/arbor-go/arbor/actor."

// isDispatchFrame reports whether fn is part of the runtime loop that calls the
// user's code, as opposed to a user's function that happens to live in this
// package (such as a Func adapter, which is kept).
func isDispatchFrame(fn string) bool {
	return strings.HasPrefix(fn, selfPkg+"(*Ref).") || fn == "runtime.goexit"
}

// isWrapper reports whether f is code the compiler wrote around a call (a
// method through a pointer, a method value, a go or defer statement), which
// runtime.Callers leaves out and a walk of frame pointers does not.
func isWrapper(f runtime.Frame) bool {
	return f.File == "<autogenerated>" || strings.HasSuffix(f.Function, "-fm") ||
		strings.Contains(f.Function, ".gowrap") || strings.Contains(f.Function, ".deferwrap")
}

// isPanicFrame reports whether fn is the runtime's entry to a panic.
func isPanicFrame(fn string) bool {
	return fn == "runtime.gopanic" || fn == "runtime.sigpanic" || strings.HasPrefix(fn, "runtime.panic")
}

func isRuntimeFrame(fn string) bool {
	return strings.HasPrefix(fn, "runtime.") || strings.HasPrefix(fn, "internal/runtime/")
}
