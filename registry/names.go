package registry

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxNameLen is the longest name or group, in bytes.
const MaxNameLen = 255

// ValidName returns nil if name can be registered or joined, else an
// *InvalidNameError saying why.
func ValidName(name string) error {
	reason := ""
	switch {
	case name == "":
		reason = "empty"
	case len(name) > MaxNameLen:
		reason = "longer than 255 bytes"
	case !utf8.ValidString(name):
		reason = "not valid UTF-8"
	default:
		for _, c := range name {
			if unicode.IsControl(c) {
				reason = "holds a control character"
				break
			}
		}
	}
	if reason == "" {
		return nil
	}
	return &InvalidNameError{Name: name, Reason: reason}
}

// under reports whether name lies under the path prefix: the empty prefix
// holds every name; "bridge/portal" holds itself and "bridge/portal/...",
// but not "bridge/portals"; a prefix ending in "/" holds what starts with it.
func under(name, prefix string) bool {
	if !strings.HasPrefix(name, prefix) {
		return false
	}
	return len(name) == len(prefix) || prefix == "" || prefix[len(prefix)-1] == '/' || name[len(prefix)] == '/'
}
