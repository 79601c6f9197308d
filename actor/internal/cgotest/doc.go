// Package cgotest checks that a panic raised in Go code that C called back,
// under an actor's Receive, is captured with its whole stack and without
// harm: the chain of frame pointers that the capture follows crosses C
// frames, which may not keep one. It needs cgo; without it, it is empty.
package cgotest
