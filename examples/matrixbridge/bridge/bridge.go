// Package bridge relays messages between Matrix rooms and IRC channels. It
// is a Matrix application service built as an Arbor supervision tree:
//
//	bridge (one-for-one, 3 restarts a minute + those of irc's cooldowns)
//	├── matrix (rest-for-one)
//	│   ├── appservice   task: the HTTP listener the homeserver pushes to
//	│   └── router       "matrix/router": transactions → portals
//	├── rooms (rest-for-one)
//	│   ├── portals      dynamic: one portal actor per mapped room, "portal/<#channel>"
//	│   └── provisioner  starts a portal per mapping (again, if portals restarts)
//	└── irc (one-for-all, exponential backoff with jitter, intensity)
//	    ├── conn         task: the IRC connection; IRC messages → portals
//	    └── sender       task: "irc/sender", portals → IRC
//
// The listener starts first: the homeserver pushes the bot's joins as soon
// as the portals make them, and backs off for seconds when nobody answers.
// Every part finds the others by name in the tree's registry. When the IRC
// server goes away, conn ends, one-for-all restarts the IRC subtree in place
// after a backoff, and what portals sent meanwhile waits in the sender's
// mailbox, then, as each connection ends, in a queue of the bridge's that
// outlives the subtree: nothing is lost. Past the IRC intensity, the IRC
// subtree gives up, the root restarts it only after the configured
// cooldown, and the bridge says so in its log and in every mapped room.
package bridge

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"maunium.net/go/mautrix/appservice"
	"maunium.net/go/mautrix/id"

	"github.com/arbor-go/arbor/actor"
	"github.com/arbor-go/arbor/registry"
	"github.com/arbor-go/arbor/strategy"
	"github.com/arbor-go/arbor/tree"
)

// Names in the bridge's registry.
const (
	nameRouter  = "matrix/router"
	nameSender  = "irc/sender"
	namePortals = "rooms/portals"
)

// portalName is the registry name of the portal of an IRC channel.
func portalName(channel string) string { return "portal/" + fold(channel) }

// Paths of the supervisors, as events name them.
const (
	PathRoot   = "bridge"
	PathIRC    = "bridge/irc"
	PathMatrix = "bridge/matrix"
	PathRooms  = "bridge/rooms"
)

// Bridge is a running bridge.
type Bridge struct {
	cfg      Config
	log      zerolog.Logger
	reg      *registry.Registry
	as       *appservice.AppService
	rooms    map[id.RoomID]Mapping
	channels map[string]Mapping // by fold(channel)
	link     *ircLink
	sup      *tree.Sup

	// joinBackoff spaces a portal's attempts to join a room it cannot.
	joinBackoff strategy.Backoff

	status     *tree.Subscription
	statusDone chan struct{}
	mu         sync.Mutex
	ircDown    *IRCDown  // set from when the IRC subtree gives up until IRC is back
	ircUpAt    time.Time // when the IRC connection was last made
}

// IRCDown describes an IRC outage that made the IRC subtree give up.
type IRCDown struct {
	// Since is when it first gave up, in this outage.
	Since time.Time
	// Restarts is how many failures its intensity window held when it last
	// gave up: one more than the intensity allows.
	Restarts int
	// Retry is when the root starts it again (after the cooldown); once it
	// is past, the subtree is trying again.
	Retry time.Time
	// Reason is the last failure: why the connection ended.
	Reason error
}

// Start starts the bridge's tree and returns once every part has started
// (the IRC connection itself is made in the background, and retried). The
// bridge runs until Stop, or until ctx ends.
func Start(ctx context.Context, cfg Config, log zerolog.Logger) (*Bridge, error) {
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	reg, err := appservice.LoadRegistration(cfg.Appservice.Registration)
	if err != nil {
		return nil, fmt.Errorf("bridge: registration: %w", err)
	}
	as, err := appservice.CreateFull(appservice.CreateOpts{
		Registration:     reg,
		HomeserverDomain: cfg.Homeserver.Domain,
		HomeserverURL:    cfg.Homeserver.URL,
	})
	if err != nil {
		return nil, fmt.Errorf("bridge: %w", err)
	}
	as.Log = log.With().Str("component", "mautrix").Logger()
	b := &Bridge{
		cfg: cfg, log: log, reg: registry.New(), as: as,
		rooms: map[id.RoomID]Mapping{}, channels: map[string]Mapping{},
		link: newIRCLink(), statusDone: make(chan struct{}),
		joinBackoff: strategy.Exponential(2*time.Second, 2*time.Minute).WithJitter(strategy.EqualJitter),
	}
	for _, m := range cfg.Rooms {
		b.rooms[m.Room], b.channels[fold(m.Channel)] = m, m
	}
	b.sup, err = tree.Start(ctx, b.spec(), tree.WithRegistry(b.reg), tree.WithLogger(log))
	if err != nil {
		return nil, err
	}
	b.status = b.sup.Subscribe(256)
	go b.watch()
	return b, nil
}

// spec is the bridge's tree; see the package comment.
func (b *Bridge) spec() tree.Spec {
	quick := strategy.Exponential(100*time.Millisecond, 5*time.Second).WithJitter(strategy.FullJitter)
	return tree.Spec{
		Name:      PathRoot,
		Strategy:  strategy.OneForOne,
		Intensity: b.rootIntensity(),
		Children: []tree.ChildSpec{
			tree.Supervisor("matrix", tree.Spec{
				Strategy: strategy.RestForOne,
				Backoff:  quick,
				Children: []tree.ChildSpec{
					tree.Task("appservice", b.serveAppservice),
					tree.Worker("router", func() actor.Actor { return newRouter(b) }, tree.Name(nameRouter)),
				},
			}),
			tree.Supervisor("rooms", tree.Spec{
				Strategy: strategy.RestForOne,
				Backoff:  quick,
				Children: []tree.ChildSpec{
					tree.Dynamic("portals", tree.DynamicSpec{
						Template: b.portalSpec,
						Backoff:  quick,
					}, tree.Name(namePortals)),
					tree.Worker("provisioner", func() actor.Actor { return &provisioner{b: b} }),
				},
			}),
			tree.Supervisor("irc", tree.Spec{
				Strategy:  strategy.OneForAll,
				Backoff:   b.cfg.IRC.backoff(),
				Intensity: b.cfg.IRC.intensity(),
				Children: []tree.ChildSpec{
					tree.Task("conn", b.runConn),
					tree.Task("sender", b.runSender, tree.Name(nameSender)),
				},
			}, tree.Backoff(strategy.Constant(b.cfg.IRC.Cooldown))),
		},
	}
}

// rootIntensity is the root's restart intensity: 3 restarts a minute for the
// Matrix side, plus as many restarts of the IRC subtree as its cooldown lets
// fit in a minute. The root restarts that subtree only a cooldown after it
// gave up, so its restarts are more than a cooldown apart: at most
// minute/cooldown + 1 of them fall within any minute. However short the
// cooldown, an IRC outage then never makes the root give up, which would
// stop the Matrix side with it.
func (b *Bridge) rootIntensity() strategy.Intensity {
	const period = time.Minute
	irc := int(period/b.cfg.IRC.Cooldown) + 1
	return strategy.Intensity{MaxRestarts: 3 + irc, Period: period}
}

// Subscribe returns a subscription to the bridge's supervision events.
func (b *Bridge) Subscribe(buffer int) *tree.Subscription { return b.sup.Subscribe(buffer) }

// Tree returns the bridge's root supervisor, to inspect its children.
func (b *Bridge) Tree() *tree.Sup { return b.sup }

// Registry returns the bridge's registry of names.
func (b *Bridge) Registry() *registry.Registry { return b.reg }

// Done is closed when the bridge has stopped.
func (b *Bridge) Done() <-chan struct{} { return b.sup.Done() }

// Err is why the bridge stopped, once Done is closed.
func (b *Bridge) Err() error { return b.sup.Err() }

// IRCDown returns the state of an IRC outage that made the IRC subtree give
// up, from then until the connection is made again (through the cooldowns
// and the tries after them), or nil.
func (b *Bridge) IRCDown() *IRCDown {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.ircDown == nil {
		return nil
	}
	d := *b.ircDown
	return &d
}

// Stop stops the bridge: its parts stop in reverse start order, each within
// its shutdown timeout.
func (b *Bridge) Stop(ctx context.Context) tree.StopReport {
	rep := b.sup.Stop(ctx)
	b.status.Close()
	<-b.statusDone
	return rep
}

// errIRCDisconnected ends the IRC connection task when the server hangs up.
var errIRCDisconnected = errors.New("irc: disconnected by the server")
