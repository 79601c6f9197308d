// Command demo runs the whole bridge locally, as `make bridge` does: a
// Dendrite homeserver and an ngIRCd server on loopback, the bridge between
// them, a Matrix user (alice) and an IRC user (carol) who greet each other
// through it. With -keep it then stays up, for you to connect your own
// clients, until Ctrl-C.
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/rs/zerolog"
	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"

	"github.com/arbor-go/arbor/examples/matrixbridge/bridge"
	"github.com/arbor-go/arbor/examples/matrixbridge/lab"
)

func main() {
	keep := flag.Bool("keep", false, "stay up after the greeting, until Ctrl-C")
	verbose := flag.Bool("v", false, "show the bridge's log at debug level")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *keep, *verbose); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

// step prints what the demo does next.
func step(format string, args ...any) { fmt.Printf("\n>> "+format+"\n", args...) }

func run(ctx context.Context, keep, verbose bool) error {
	dir, err := os.MkdirTemp("", "arbor-bridge-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	setup, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()

	step("starting ngIRCd and Dendrite on loopback (in %s)", dir)
	ircd, err := lab.StartIRCd(setup, filepath.Join(dir, "ngircd"), 0)
	if err != nil {
		return err
	}
	defer ircd.Kill()
	port, err := lab.FreePort()
	if err != nil {
		return err
	}
	cfg := bridge.Config{
		Homeserver: bridge.Homeserver{Domain: "localhost"},
		Appservice: bridge.Appservice{
			Listen:       net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
			Registration: filepath.Join(dir, "registration.yaml"),
		},
		IRC: bridge.IRC{Server: ircd.Addr},
	}
	if err := bridge.NewRegistration(cfg, "ircbridge").Save(cfg.Appservice.Registration); err != nil {
		return err
	}
	release, err := lab.StandIn(cfg.Appservice.Listen)
	if err != nil {
		return err
	}
	defer release()
	hs, err := lab.StartDendrite(setup, filepath.Join(dir, "dendrite"), cfg.Appservice.Registration)
	if err != nil {
		return err
	}
	defer hs.Stop()
	cfg.Homeserver.URL = hs.URL
	fmt.Printf("   homeserver %s (server name localhost), IRC server %s\n", hs.URL, ircd.Addr)

	step("alice registers on Matrix and creates a public room; carol joins #arbor on IRC")
	alice, err := hs.Register(setup, "alice", "alice-demo-password")
	if err != nil {
		return err
	}
	room, err := alice.CreateRoom(setup, &mautrix.ReqCreateRoom{Preset: "public_chat", Name: "Arbor demo"})
	if err != nil {
		return err
	}
	cfg.Rooms = []bridge.Mapping{{Room: room.RoomID, Channel: "#arbor"}}
	carol, err := lab.ConnectIRC(setup, ircd.Addr, "carol", "#arbor")
	if err != nil {
		return err
	}
	defer carol.Close()

	step("starting the bridge: %s <-> #arbor", room.RoomID)
	level := zerolog.InfoLevel
	if verbose {
		level = zerolog.DebugLevel
	}
	log := zerolog.New(zerolog.ConsoleWriter{Out: os.Stdout, TimeFormat: time.TimeOnly}).
		Level(level).With().Timestamp().Logger()
	release()
	b, err := bridge.Start(context.WithoutCancel(ctx), cfg, log)
	if err != nil {
		return err
	}
	defer func() {
		step("stopping the bridge")
		shut, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		rep := b.Stop(shut)
		fmt.Printf("   stopped: %v\n", rep.Err)
	}()
	fmt.Printf("   names in the bridge's registry: %v\n", b.Registry().Names())
	if err := carol.WaitJoin(setup, bridge.DefaultNick); err != nil {
		return err
	}

	step("alice says hello on Matrix (ngIRCd throttles new clients: a few seconds)")
	if _, err := alice.SendText(setup, room.RoomID, "Hello from Matrix!"); err != nil {
		return err
	}
	got, err := carol.WaitMessage(setup, "<alice> Hello from Matrix!")
	if err != nil {
		return err
	}
	fmt.Printf("   carol reads on IRC: %s: %s\n", got.Source.Name, got.Last())

	step("carol answers on IRC")
	carol.Say("Hello from IRC!")
	ghost := b.GhostID("carol")
	evt, err := lab.WaitRoomMessage(setup, alice, room.RoomID, func(evt *event.Event) bool {
		return evt.Sender == ghost && evt.Content.AsMessage().Body == "Hello from IRC!"
	})
	if err != nil {
		return err
	}
	fmt.Printf("   alice reads on Matrix: %s: %s\n", evt.Sender, evt.Content.AsMessage().Body)

	if keep {
		step("the bridge stays up: Ctrl-C to stop. Log in to %s as alice (password alice-demo-password), "+
			"or connect an IRC client to %s and join #arbor", hs.URL, ircd.Addr)
		select {
		case <-ctx.Done():
		case <-b.Done():
			return b.Err()
		}
	}
	return nil
}
