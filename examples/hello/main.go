// Command hello is Arbor's first demo: actors that are told and asked, a
// loop-style task, and a crash that a monitor sees with its stack, without
// taking anything else down.
//
//	go run ./examples/hello
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/arbor-go/arbor/actor"
	"github.com/rs/zerolog"
)

type deposit struct{ amount int }
type balance struct{}

// account keeps a balance: a deposit is told, the balance is asked.
type account struct{ total int }

func (a *account) Receive(c *actor.Context, msg any) error {
	switch m := msg.(type) {
	case deposit:
		if m.amount <= 0 {
			return fmt.Errorf("deposit of %d", m.amount) // a crash, with this reason
		}
		a.total += m.amount
	case balance:
		return c.Reply(a.total)
	}
	return nil
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "hello:", err)
		os.Exit(1)
	}
}

func run() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	log := zerolog.New(zerolog.ConsoleWriter{Out: os.Stderr, TimeFormat: time.TimeOnly}).With().Timestamp().Logger()

	acct, err := actor.Spawn(ctx, &account{}, actor.WithName("account"), actor.WithLogger(log))
	if err != nil {
		return err
	}

	// A task owns a goroutine, for work that blocks by nature: here a ticker
	// that pays in five times, then returns (a normal exit).
	payer, err := actor.Spawn(ctx, actor.Task(func(ctx context.Context, c *actor.Context) error {
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for i := 1; i <= 5; i++ {
			select {
			case <-tick.C:
				if err := acct.Send(deposit{amount: 10 * i}); err != nil {
					return err
				}
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		return nil
	}), actor.WithName("payer"))
	if err != nil {
		return err
	}
	<-payer.Done()
	total, err := actor.CallAs[int](ctx, acct, balance{})
	if err != nil {
		return err
	}
	fmt.Printf("payer finished (reason: %v); balance asked: %d\n", payer.Err(), total)

	// An actor that panics does not take the program down: its panic is its
	// exit reason, with the stack of the line that panicked, and whoever
	// monitors it is told.
	flaky, err := actor.Spawn(ctx, actor.Func(func(c *actor.Context, msg any) error {
		key, value, _ := strings.Cut(msg.(string), "=")
		fields := strings.Fields(value)
		fmt.Println(key, fields[0]) // "visit" has no value: index out of range
		return nil
	}), actor.WithName("flaky"), actor.WithLogger(zerolog.Nop()))
	if err != nil {
		return err
	}
	downs := make(chan actor.Down, 1)
	watcher, err := actor.Spawn(ctx, actor.Func(func(c *actor.Context, msg any) error {
		switch m := msg.(type) {
		case *actor.Ref:
			_, err := c.Monitor(m)
			return err
		case actor.Down:
			downs <- m
		}
		return nil
	}), actor.WithName("watcher"))
	if err != nil {
		return err
	}
	_ = watcher.Send(flaky)
	_ = flaky.Send("visit")
	down := <-downs
	var perr *actor.PanicError
	if errors.As(down.Reason, &perr) {
		first := strings.SplitN(perr.Stack.String(), "\n", 3)
		fmt.Printf("watcher saw %s stop: %v\n  at %s %s\n", down.Ref, perr, first[0], strings.TrimSpace(first[1]))
	}

	// A deposit of nothing crashes the account; the crash is logged with its
	// reason, and the account's callers learn it at once.
	_ = acct.Send(deposit{amount: 0})
	<-acct.Done()
	_, err = actor.CallAs[int](ctx, acct, balance{})
	fmt.Printf("account stopped (%v); a call now fails: %v\n", acct.Err(), err)

	return watcher.Stop(ctx)
}
