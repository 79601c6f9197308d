package tree

// WithoutFastPath is withoutFastPath, for the tests of package tree_test.
var WithoutFastPath = withoutFastPath
