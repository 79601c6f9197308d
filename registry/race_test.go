package registry_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/arbor-go/arbor/actor"
	"github.com/arbor-go/arbor/registry"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// These tests race registrations against deaths; run them under -race.

func TestRacesWithDeath(t *testing.T) {
	t.Run("contenders for a name whose holders keep dying never find it held by a dead actor", func(t *testing.T) {
		reg := registry.New()
		const contenders, rounds = 4, 50
		var (
			clock atomic.Uint64
			dead  sync.Map // *actor.Ref -> the clock when its death was seen
		)
		kill := func(ref *actor.Ref) {
			ref.Kill()
			<-ref.Done()
			dead.LoadOrStore(ref, clock.Add(1))
		}
		var wg sync.WaitGroup
		for range contenders {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range rounds {
					ref, err := actor.Spawn(context.Background(), behaviour(make(chan any, 8)), quiet())
					if !assert.NoError(t, err) {
						return
					}
					for {
						began := clock.Add(1)
						err = reg.Register("contested", ref)
						var taken *registry.TakenError
						if !errors.As(err, &taken) {
							break
						}
						assert.NotSame(t, ref, taken.Holder)
						if at, ok := dead.Load(taken.Holder); ok && at.(uint64) < began {
							assert.Fail(t, "a holder dead before Register began still held the name")
						}
						kill(taken.Holder)
					}
					assert.NoError(t, err)
					kill(ref)
				}
			}()
		}
		wg.Wait()
		require.Eventually(t, func() bool { return len(reg.Names()) == 0 }, wait, wait/1000,
			"once every holder is dead the name is gone")
	})

	t.Run("registering and unregistering while the actors die leaves only live holders", func(t *testing.T) {
		reg := registry.New()
		const workers, names = 4, 64
		refs := make([]*actor.Ref, names)
		for i := range refs {
			ref, err := actor.Spawn(context.Background(), behaviour(make(chan any, 8)), quiet())
			require.NoError(t, err)
			refs[i] = ref
		}
		var wg sync.WaitGroup
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range names {
					j := (i*7 + w*13) % names
					name := fmt.Sprintf("n/%d", j)
					switch (i + w) % 3 {
					case 0:
						_ = reg.Register(name, refs[j])
						_ = reg.Join("g", refs[j])
					case 1:
						_ = reg.Unregister(name)
						_ = reg.Leave("g", refs[j])
					case 2:
						if j%2 == 0 {
							refs[j].Kill()
						}
					}
				}
			}()
		}
		wg.Wait()
		for j := 0; j < names; j += 2 {
			refs[j].Kill()
			closed(t, refs[j].Done())
		}
		require.Eventually(t, func() bool {
			for _, name := range reg.Names() {
				if ref, ok := reg.Lookup(name); ok && !ref.Alive() {
					return false
				}
			}
			for _, ref := range reg.Members("g") {
				if !ref.Alive() {
					return false
				}
			}
			return true
		}, wait, wait/1000, "every dead holder and member is removed")
		for _, name := range reg.Names() {
			var j int
			_, err := fmt.Sscanf(name, "n/%d", &j)
			require.NoError(t, err)
			ref, _ := reg.Lookup(name)
			assert.Same(t, refs[j], ref, "a name points to the actor that registered it")
		}
		for j := 1; j < names; j += 2 {
			stop(t, refs[j])
		}
		require.Eventually(t, func() bool { return len(reg.Names()) == 0 && len(reg.Groups()) == 0 },
			wait, wait/1000)
	})

	t.Run("lookups always find a held name while thousands come and go and the table grows", func(t *testing.T) {
		reg := registry.New()
		b := spawnBox(t)
		require.NoError(t, reg.Register("stable", b.ref))
		done := make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				for i := range 2000 {
					_ = reg.Register(fmt.Sprintf("churn/%d", i), b.ref)
				}
				for i := range 2000 {
					_ = reg.Unregister(fmt.Sprintf("churn/%d", i))
				}
				select {
				case <-done:
					return
				default:
				}
			}
		}()
		misses := 0
		for range 20000 {
			if ref, ok := reg.Lookup("stable"); !ok || ref != b.ref {
				misses++
			}
			if ref, ok := reg.Lookup("churn/1999"); ok && ref != b.ref {
				misses++
			}
		}
		close(done)
		wg.Wait()
		assert.Zero(t, misses, "a lookup found a held name missing or another actor")
	})
}
