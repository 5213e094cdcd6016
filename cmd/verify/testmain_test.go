//go:build !integration

package main

import "testing"

// testMain runs the unit tests: they need no sandbox.
func testMain(m *testing.M) int { return m.Run() }
