// Command bench measures build-push against `crane append` + `crane push`
// on the same generated context, in the same run, against the same local
// Debian docker-registry. scripts/bench build-push runs it; see there.
//
//	bench run -work DIR -crane PATH -build-push PATH   the whole comparison, markdown on stdout
//	bench gen DIR                                      only generate the context
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"runtime"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: bench run|gen ...")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "gen":
		if len(os.Args) != 3 {
			err = fmt.Errorf("usage: bench gen DIR")
			break
		}
		err = generate(os.Args[2])
	case "run":
		err = runCmd(ctx, os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func numCPU() int { return runtime.NumCPU() }
