//go:build !race

package bridge

// raceEnabled tells whether the test binary was built with -race.
const raceEnabled = false
