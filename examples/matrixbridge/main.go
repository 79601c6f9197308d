// Command matrixbridge relays messages between Matrix rooms and IRC
// channels: a Matrix application service built as an Arbor supervision
// tree. See docs/matrix-bridge.md at the repository's root.
//
//	matrixbridge -config bridge.yaml -generate-registration
//	matrixbridge -config bridge.yaml
//
// The first writes the registration file named in the configuration, for the
// homeserver's application services; the second runs the bridge until
// interrupted.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"github.com/arbor-go/arbor/examples/matrixbridge/bridge"
)

func main() {
	configPath := flag.String("config", "bridge.yaml", "the bridge's configuration file")
	generate := flag.Bool("generate-registration", false, "write a new registration file (appservice.registration) and exit")
	bot := flag.String("bot", "ircbridge", "the bridge bot's localpart, for -generate-registration")
	verbose := flag.Bool("v", false, "log at debug level")
	flag.Parse()

	log := zerolog.New(zerolog.ConsoleWriter{Out: os.Stderr, TimeFormat: time.TimeOnly}).With().Timestamp().Logger()
	if !*verbose {
		log = log.Level(zerolog.InfoLevel)
	}
	if err := run(*configPath, *generate, *bot, log); err != nil {
		fmt.Fprintln(os.Stderr, "matrixbridge:", err)
		os.Exit(1)
	}
}

func run(configPath string, generate bool, bot string, log zerolog.Logger) error {
	cfg, err := bridge.LoadConfig(configPath)
	if err != nil {
		return err
	}
	if generate {
		path := cfg.Appservice.Registration
		if _, err := os.Stat(path); err == nil {
			return fmt.Errorf("%s exists: remove it first to make new tokens", path)
		}
		if err := bridge.NewRegistration(cfg, bot).Save(path); err != nil {
			return err
		}
		fmt.Printf("wrote %s: add it to your homeserver's application services and restart it\n", path)
		return nil
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// The bridge lives as long as ctx: Ctrl-C gives up a start under way as
	// well as stopping a running bridge.
	b, err := bridge.Start(ctx, cfg, log)
	if err != nil {
		if ctx.Err() != nil {
			log.Info().Err(err).Msg("interrupted while starting")
			return nil
		}
		return err
	}
	select {
	case <-ctx.Done():
		// The tree began to stop when ctx ended; Stop waits for it, 30 s
		// at most, and reports.
		log.Info().Msg("interrupted: stopping")
		shut, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		return b.Stop(shut).Err
	case <-b.Done():
		return b.Err()
	}
}
