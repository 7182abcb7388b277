#!/usr/bin/env bash
# The Go module builds outside the repository from a vendored copy: a program in a temporary
# directory requires github.com/gadgetrt/gadgetrt/bindings/go, the module's files (and only
# them: no ../../include) are copied elsewhere as a download would be, `go mod vendor`
# vendors them, the copy is deleted, and `go build -mod=vendor` must still succeed; the
# program then runs the demo gadget and prints its events.
#
# usage: go_vendored.sh LIBDIR GADGET_WASM
set -euo pipefail
LIBDIR=$1 GADGET=$2
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
export PATH="$PATH:/usr/local/go/bin"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

# The module as `go get` would fetch it: bindings/go's tracked files, nothing from the rest.
mkdir -p "$tmp/modcache/gadgetrt-go"
(cd "$ROOT/bindings/go" && git ls-files -z --cached --others --exclude-standard . | xargs -0 -I{} cp --parents {} "$tmp/modcache/gadgetrt-go/")
test ! -e "$tmp/modcache/include"

mkdir -p "$tmp/app" && cd "$tmp/app"
cat > go.mod <<MOD
module example.com/app

go 1.23

require github.com/gadgetrt/gadgetrt/bindings/go v0.0.0

replace github.com/gadgetrt/gadgetrt/bindings/go => $tmp/modcache/gadgetrt-go
MOD
cat > main.go <<'GO'
package main

import (
	"context"
	"fmt"
	"log"
	"os"

	gadgetrt "github.com/gadgetrt/gadgetrt/bindings/go"
)

func main() {
	rt, err := gadgetrt.NewRuntime()
	if err != nil {
		log.Fatal(err)
	}
	defer rt.Close()
	g, err := rt.LoadPath(os.Args[1])
	if err != nil {
		log.Fatal(err)
	}
	defer g.Close()
	events, err := g.Events(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	if err := g.Start(); err != nil {
		log.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		ev := <-events
		fmt.Println("event", ev.DataSource)
	}
	_, err = rt.LoadPath("/nonexistent.wasm")
	fmt.Println("error:", err)
}
GO
go mod vendor
test -f vendor/github.com/gadgetrt/gadgetrt/bindings/go/gadgetrt.h || { echo "vendor/ lacks gadgetrt.h"; exit 1; }
rm -rf "$tmp/modcache"                      # only vendor/ is left
CGO_LDFLAGS="-L$LIBDIR -Wl,-rpath,$LIBDIR" go build -mod=vendor -o app .
out=$(env -u LD_LIBRARY_PATH ./app "$GADGET")
echo "$out"
[ "$(grep -c '^event ' <<<"$out")" = 3 ] || { echo "expected 3 events"; exit 1; }
grep -q 'error: .*\[NOT_FOUND\]' <<<"$out" || { echo "expected a NOT_FOUND error text"; exit 1; }
echo "OK: Go module builds from a vendored copy outside the repository"
