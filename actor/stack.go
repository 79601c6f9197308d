package actor

import (
	"fmt"
	"runtime"
	"strings"
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
		all = append(all, f)
		if !more {
			break
		}
	}
	start, end := 0, len(all)
	for i, f := range all {
		switch {
		case f.Function == "runtime.gopanic" || f.Function == "runtime.sigpanic" ||
			strings.HasPrefix(f.Function, "runtime.panic"):
			start = i + 1 // the user's frame comes after the panic machinery
		case i == start && isRuntimeFrame(f.Function):
			// A runtime function that panicked for the user (a nil map
			// write, a failed conversion) is not where the reader looks.
			start = i + 1
		case i > start && isDispatchFrame(f.Function) && end == len(all):
			end = i
		}
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
	return &PanicError{Value: v, Stack: captureStack()}
}

// captureStack is called from a deferred recover: it records the program
// counters of the panicking goroutine, and nothing more.
func captureStack() Stack {
	var pcs [64]uintptr
	n := runtime.Callers(3, pcs[:])
	return append(Stack(nil), pcs[:n]...)
}

const selfPkg = "github.com/arbor-go/arbor/actor."

// isDispatchFrame reports whether fn is part of the runtime loop that calls the
// user's code, as opposed to a user's function that happens to live in this
// package (such as a Func adapter, which is kept).
func isDispatchFrame(fn string) bool {
	return strings.HasPrefix(fn, selfPkg+"(*Ref).") || fn == "runtime.goexit"
}

func isRuntimeFrame(fn string) bool {
	return strings.HasPrefix(fn, "runtime.") || strings.HasPrefix(fn, "internal/runtime/")
}
