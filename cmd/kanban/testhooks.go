//go:build testhooks

package main

import "github.com/kanbanshim/kanbanshim/internal/testhooks"

// A build with the testhooks tag (the torture's, the tests' that build
// binaries) reads the KANBANSHIM_TEST_* switches; a release build has
// neither this file nor the package it installs.
func init() { testhooks.Install() }
