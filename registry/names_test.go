package registry_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/arbor-go/arbor/registry"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNameValidation(t *testing.T) {
	cases := []struct {
		sentence string
		name     string
		reason   string // "" for a valid name
	}{
		{"a single letter is a name", "a", ""},
		{"a path is a name", "bridge/portal/!room:example.org", ""},
		{"letters beyond ASCII are allowed", "portail/salle-été/日本", ""},
		{"spaces are allowed", "my worker", ""},
		{"a name of exactly 255 bytes is allowed", strings.Repeat("x", 255), ""},
		{"the empty name is refused", "", "empty"},
		{"a name of 256 bytes is refused", strings.Repeat("x", 256), "longer than 255 bytes"},
		{"a NUL byte is refused", "a\x00b", "control character"},
		{"a newline is refused", "bridge\nmatrix", "control character"},
		{"a tab is refused", "\tbridge", "control character"},
		{"DEL is refused", "bridge\x7f", "control character"},
		{"a C1 control character is refused", "bridge\u0085", "control character"},
		{"a byte that is not UTF-8 is refused", "bridge/\xff", "not valid UTF-8"},
		{"a truncated UTF-8 sequence is refused", "salle-\xc3", "not valid UTF-8"},
	}
	for _, tc := range cases {
		t.Run(tc.sentence, func(t *testing.T) {
			reg := registry.New()
			b := spawnBox(t)
			err := registry.ValidName(tc.name)
			regErr := reg.Register(tc.name, b.ref)
			joinErr := reg.Join(tc.name, b.ref)
			if tc.reason == "" {
				require.NoError(t, err)
				require.NoError(t, regErr)
				require.NoError(t, joinErr)
				ref, ok := reg.Lookup(tc.name)
				assert.True(t, ok)
				assert.Same(t, b.ref, ref)
				return
			}
			for _, e := range []error{err, regErr, joinErr} {
				require.ErrorIs(t, e, registry.ErrInvalidName)
				var inv *registry.InvalidNameError
				require.True(t, errors.As(e, &inv))
				assert.Equal(t, tc.name, inv.Name)
				assert.Contains(t, inv.Reason, tc.reason)
			}
			assert.Empty(t, reg.Names(), "nothing was registered")
			assert.Empty(t, reg.Groups(), "no group was made")
		})
	}
}

func TestSelect(t *testing.T) {
	reg := registry.New()
	b := spawnBox(t)
	for _, name := range []string{
		"bridge/portal/b", "bridge/portal/a", "bridge/portal", "bridge/portals",
		"bridge/matrix", "bridgework", "other",
	} {
		require.NoError(t, reg.Register(name, b.ref))
	}
	cases := []struct {
		sentence string
		prefix   string
		want     []string
	}{
		{"the empty prefix selects every name, sorted", "", []string{
			"bridge/matrix", "bridge/portal", "bridge/portal/a", "bridge/portal/b",
			"bridge/portals", "bridgework", "other",
		}},
		{"a path selects itself and what lies below it, not its siblings", "bridge/portal",
			[]string{"bridge/portal", "bridge/portal/a", "bridge/portal/b"}},
		{"a prefix ending in a slash selects only what lies below it", "bridge/portal/",
			[]string{"bridge/portal/a", "bridge/portal/b"}},
		{"a path does not select names that merely start with its letters", "bridge",
			[]string{"bridge/matrix", "bridge/portal", "bridge/portal/a", "bridge/portal/b", "bridge/portals"}},
		{"a full name selects itself", "other", []string{"other"}},
		{"a prefix nobody is under selects nothing", "nobody", nil},
	}
	for _, tc := range cases {
		t.Run(tc.sentence, func(t *testing.T) {
			assert.Equal(t, tc.want, reg.Select(tc.prefix))
		})
	}
	t.Run("Names is Select of the empty prefix", func(t *testing.T) {
		assert.Equal(t, reg.Select(""), reg.Names())
	})
}
