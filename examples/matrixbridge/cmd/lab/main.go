// Command lab starts the servers the bridge needs, on loopback, waits until
// they answer, creates Matrix users, prints where everything is, and stops
// both servers on Ctrl-C: a local Matrix and IRC network to run the bridge
// (or any client) against by hand.
//
//	go run ./cmd/lab -user alice:alice-password -registration registration.yaml
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/arbor-go/arbor/examples/matrixbridge/lab"
)

// users collects repeated -user name:password flags.
type users []string

func (u *users) String() string     { return strings.Join(*u, ",") }
func (u *users) Set(v string) error { *u = append(*u, v); return nil }

func main() {
	var accounts users
	flag.Var(&accounts, "user", "a Matrix user to create, as name:password (repeatable)")
	dir := flag.String("dir", "", "where the servers keep their files (default: a new temporary directory)")
	registration := flag.String("registration", "", "an application service registration for Dendrite to load")
	ircPort := flag.Int("irc-port", 0, "the IRC server's port (default: a free one)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *dir, *registration, *ircPort, accounts); err != nil {
		fmt.Fprintln(os.Stderr, "lab:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, dir, registration string, ircPort int, accounts users) error {
	if dir == "" {
		tmp, err := os.MkdirTemp("", "arbor-lab-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	}
	setup, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	ircd, err := lab.StartIRCd(setup, filepath.Join(dir, "ngircd"), ircPort)
	if err != nil {
		return err
	}
	defer ircd.Kill()
	var regs []string
	if registration != "" {
		abs, err := filepath.Abs(registration)
		if err != nil {
			return err
		}
		regs = append(regs, abs)
	}
	hs, err := lab.StartDendrite(setup, filepath.Join(dir, "dendrite"), regs...)
	if err != nil {
		return err
	}
	defer hs.Stop()
	for _, a := range accounts {
		name, password, ok := strings.Cut(a, ":")
		if !ok {
			return fmt.Errorf("-user %q: want name:password", a)
		}
		if _, err := hs.Register(setup, name, password); err != nil {
			return err
		}
		fmt.Printf("created @%s:%s\n", name, hs.Domain)
	}
	fmt.Printf("homeserver: %s (server name %s)\nIRC server: %s\nfiles and logs: %s\nCtrl-C stops both.\n",
		hs.URL, hs.Domain, ircd.Addr, dir)
	<-ctx.Done()
	return nil
}
