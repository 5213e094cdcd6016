package main

import (
	"testing"

	"github.com/fxplatform/deploy-actions/pkg/action/actiontest"
)

func TestActionYAML(t *testing.T) { actiontest.CheckActionYAML(t, spec) }

func TestReadme(t *testing.T) { actiontest.CheckReadme(t, spec) }
