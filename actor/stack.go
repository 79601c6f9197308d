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

// Frames resolves the stack into frames, from the one that raised the panic
// down to the user's code that Arbor called, as Go's traceback shows them:
// the runtime's panic machinery on top and Arbor's frames below are left
// out. A panic that this one interrupted (a value recovered and panicked
// again, a deferred cleanup that failed during a panic) shows below it,
// after its runtime.gopanic, as in Go's traceback. A function of the user's
// that Arbor ran at once from an API the user's code called (an end hook on
// a stopped actor) shows down to the hook.
func (s Stack) Frames() []runtime.Frame {
	if len(s) == 0 {
		return nil
	}
	frames := runtime.CallersFrames(s)
	all := make([]runtime.Frame, 0, len(s))
	top := false // right below a panic, before any frame of the user's
	for {
		f, more := frames.Next()
		// Code the compiler wrote around a call is left out, as
		// runtime.Callers and Go's traceback leave it, unless it raised
		// the panic itself (a value method called through a nil pointer);
		// so is the runtime's running of defers at a return, and the
		// wrapper of a generic function's instantiation, named as the
		// function, which only the walk of frame pointers sees.
		switch {
		case f.Function == "runtime.deferreturn":
		case isWrapper(f) && !top:
		case len(all) > 0 && isInstantiationWrapper(f, all[len(all)-1]):
		default:
			all = append(all, f)
			top = isPanicFrame(f.Function) || top && isRuntimeFrame(f.Function)
		}
		if !more {
			break
		}
	}
	// The frame that raised the panic comes after the innermost panic's
	// machinery, and after a runtime function that panicked for the user
	// (a nil map write, a failed conversion), which is not where the
	// reader looks; an interrupted panic's runtime.gopanic stops it.
	start := 0
	for i, f := range all {
		if isPanicFrame(f.Function) {
			start = i + 1
			break
		}
	}
	for start < len(all) && isRuntimeFrame(all[start].Function) && !isPanicFrame(all[start].Function) {
		start++
	}
	// The user's code ends where Arbor called it: at the first of Arbor's
	// frames below a frame of the user's. Arbor's code that the user's
	// called and that panicked itself (a method on a nil pointer) is kept,
	// with what it inlined. Below the top, only an interrupted panic's
	// runtime.gopanic is kept of the runtime's frames, as Go's traceback
	// keeps it.
	var out []runtime.Frame
	user := false
	for i := start; i < len(all); i++ {
		f := all[i]
		arbor := isDispatchFrame(f.Function) || inlinedIntoArbor(all, i)
		if arbor && user {
			break
		}
		switch {
		case f.Function == "runtime.gopanic":
			user = false // an interrupted panic: its top is as this one's
		case !arbor && !isRuntimeFrame(f.Function):
			user = true
		}
		if !isRuntimeFrame(f.Function) || f.Function == "runtime.gopanic" {
			out = append(out, f)
		}
	}
	if len(out) == 0 {
		return all
	}
	return out
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

// isInstantiationWrapper reports whether f is the compiler's wrapper of a
// generic function's instantiation, which calls below, the frame before it:
// it has the function's name but its own entry, and its line is that of its
// entry, the declaration's. A frame of another instantiation of the same
// generic has a line of its own (the call), and an inlined frame no entry of
// its own (Func is nil).
func isInstantiationWrapper(f, below runtime.Frame) bool {
	if f.Func == nil || f.Function != below.Function || f.Entry == below.Entry {
		return false
	}
	_, line := f.Func.FileLine(f.Entry)
	return f.Line == line
}

// inlinedIntoArbor reports whether all[i] is a frame inlined into one of
// Arbor's functions: it has no function of its own (Func is nil), and the
// function it ran in is the next real frame, whose entry it carries.
func inlinedIntoArbor(all []runtime.Frame, i int) bool {
	if all[i].Func != nil {
		return false
	}
	for _, f := range all[i+1:] {
		if f.Func != nil {
			return f.Entry == all[i].Entry && isDispatchFrame(f.Function)
		}
	}
	return false
}

// arborCallers are the packages of Arbor's whose code calls the user's: the
// supervisors (factories), the registry (observers), the mailbox (through
// the actor's dead-letter hook), the strategies (a backoff's source of
// jitter), the fake clock (its functions).
var arborCallers = [...]string{
	"github.com/arbor-go/arbor/tree.",
	"github.com/arbor-go/arbor/registry.",
	"github.com/arbor-go/arbor/mailbox.",
	"github.com/arbor-go/arbor/strategy.",
	"github.com/arbor-go/arbor/clock.",
}

// isDispatchFrame reports whether fn is Arbor's code that calls the user's:
// the actor's runtime loop and its hooks, or the other packages that call
// the user's code; not the Func adapter, which stands for the user's
// function it calls.
func isDispatchFrame(fn string) bool {
	if strings.HasPrefix(fn, selfPkg) && !strings.HasPrefix(fn, selfPkg+"Func.") || fn == "runtime.goexit" {
		return true
	}
	for _, p := range arborCallers {
		if strings.HasPrefix(fn, p) {
			return true
		}
	}
	return false
}

// isWrapper reports whether f is code the compiler wrote around a call (a
// method through a pointer, a method value, a go or defer statement), which
// runtime.Callers leaves out and a walk of frame pointers does not.
func isWrapper(f runtime.Frame) bool {
	// The compiler's equality functions ("type:.eq.T") are autogenerated
	// too, but do the work: Go's traceback shows them.
	return f.File == "<autogenerated>" && !strings.HasPrefix(f.Function, "type:") || strings.HasSuffix(f.Function, "-fm") ||
		numbered(f.Function, ".gowrap") || numbered(f.Function, ".deferwrap")
}

// numbered reports whether fn ends in name and a number, as the compiler
// names the wrappers of go and defer statements ("main.f.gowrap1"): not
// "main.gowrapHelper", but a function of the user's named gowrap1 too.
func numbered(fn, name string) bool {
	i := strings.LastIndex(fn, name)
	if i < 0 || i+len(name) == len(fn) {
		return false
	}
	for _, c := range fn[i+len(name):] {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// isPanicFrame reports whether fn is the runtime's entry to a panic.
func isPanicFrame(fn string) bool {
	return fn == "runtime.gopanic" || fn == "runtime.sigpanic" || strings.HasPrefix(fn, "runtime.panic")
}

func isRuntimeFrame(fn string) bool {
	return strings.HasPrefix(fn, "runtime.") || strings.HasPrefix(fn, "internal/runtime/")
}
