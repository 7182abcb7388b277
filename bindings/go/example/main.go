// Command example runs a gadget and prints its events as JSON lines.
//
//	CGO_LDFLAGS="-L$PWD/../../target/release -Wl,-rpath,$PWD/../../target/release" \
//	    go run ./example ../../tests/gadgets/out/go/demo.wasm
//
// The gadget may be a .wasm file, a directory with program.wasm (+ gadget.yaml) or an OCI
// image. It stops after -timeout without events, after -max events, when the gadget stops,
// or on Ctrl-C.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"time"

	gadgetrt "github.com/gadgetrt/gadgetrt/bindings/go"
)

type params []string

func (p *params) String() string     { return strings.Join(*p, ",") }
func (p *params) Set(v string) error { *p = append(*p, v); return nil }

func main() {
	var ps params
	flag.Var(&ps, "param", "KEY=VALUE (repeatable)")
	timeout := flag.Duration("timeout", time.Second, "stop after this long without events (0: never)")
	max := flag.Int("max", 0, "stop after this many events (0: no limit)")
	verbose := flag.Bool("v", false, "print gadget logs to stderr")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: %s [flags] GADGET [DATASOURCE...]\n", os.Args[0])
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() < 1 {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(flag.Arg(0), flag.Args()[1:], ps, *timeout, *max, *verbose); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

func run(path string, datasources []string, ps params, idle time.Duration, max int, verbose bool) error {
	var opts []gadgetrt.Option
	if verbose {
		opts = append(opts, gadgetrt.WithLogger(func(l gadgetrt.LogLevel, g, msg string) {
			fmt.Fprintf(os.Stderr, "[%s] %s: %s\n", l, g, msg)
		}))
	}
	rt, err := gadgetrt.NewRuntime(opts...)
	if err != nil {
		return err
	}
	defer rt.Close()
	g, err := rt.LoadPath(path)
	if err != nil {
		return err
	}
	defer g.Close()
	for _, kv := range ps {
		k, v, _ := strings.Cut(kv, "=")
		if err := g.SetParam(k, v); err != nil {
			return err
		}
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	events, err := g.Events(ctx, datasources...) // subscribe before Start
	if err != nil {
		return err
	}
	if err := g.Start(); err != nil {
		return err
	}
	defer g.Stop()

	enc := json.NewEncoder(os.Stdout)
	var idleC <-chan time.Time
	n := 0
	for {
		if idle > 0 {
			idleC = time.After(idle)
		}
		select {
		case ev, ok := <-events:
			if !ok {
				return nil
			}
			line := struct {
				DataSource string          `json:"datasource"`
				Data       json.RawMessage `json:"data"`
			}{ev.DataSource, ev.JSON}
			if err := enc.Encode(line); err != nil {
				return err
			}
			if n++; max > 0 && n >= max {
				return nil
			}
		case <-idleC:
			return nil
		}
	}
}
