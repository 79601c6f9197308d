package tree

// WithoutFastPath is withoutFastPath, for the tests of package tree_test.
var WithoutFastPath = withoutFastPath

// CheckCounts makes every supervisor check, after each message it handles,
// that its counts agree with a scan of its children (see settleSlots).
func CheckCounts(on bool) { checkCounts = on }

// CountsBroken returns the first disagreement CheckCounts found, or "".
func CountsBroken() string {
	if p := countsBroken.Load(); p != nil {
		return *p
	}
	return ""
}
