// Package labtest lets a test use the lab's servers, or skip loudly when a
// tool they need is missing, or fail when ARBOR_E2E_REQUIRED is set (as CI
// does, so that a missing install step can never pass as a skip).
package labtest

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/arbor-go/arbor/examples/matrixbridge/lab"
)

// Required reports whether a missing tool fails the test rather than skip it.
func Required() bool { return os.Getenv("ARBOR_E2E_REQUIRED") != "" }

// Check fails or skips t when err says a tool is missing, and fails it for
// any other error.
func Check(t testing.TB, err error) {
	t.Helper()
	if err == nil {
		return
	}
	if errors.Is(err, lab.ErrMissingTool) && !Required() {
		t.Skipf("\n\n*** SKIPPING END-TO-END TEST: %v ***\n*** (set ARBOR_E2E_REQUIRED=1 to make this a failure) ***\n\n", err)
	}
	t.Fatal(err)
}

// Dendrite starts a homeserver for the test, stopped at its end.
func Dendrite(t testing.TB, registrations ...string) *lab.Dendrite {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	d, err := lab.StartDendrite(ctx, keptDir(t, "dendrite"), registrations...)
	Check(t, err)
	t.Cleanup(d.Stop)
	return d
}

// IRCd starts an IRC server for the test, killed at its end.
func IRCd(t testing.TB) *lab.IRCd {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := lab.StartIRCd(ctx, keptDir(t, "ngircd"), 0)
	Check(t, err)
	t.Cleanup(s.Kill)
	return s
}

// keptDir is a directory for a server's files, removed after the test
// unless it failed: then its logs are there to read.
func keptDir(t testing.TB, name string) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "arbor-e2e-"+name+"-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("%s's files are kept in %s", name, dir)
			return
		}
		os.RemoveAll(dir)
	})
	return dir
}
