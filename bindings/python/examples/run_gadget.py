#!/usr/bin/env python3
"""Runs a gadget and prints its events as JSON lines.

    python3 bindings/python/examples/run_gadget.py tests/gadgets/out/go/demo.wasm
    python3 run_gadget.py DIR_WITH_PROGRAM_WASM --param param-key=param-value

Stops after --timeout seconds without events (default 1), after --max-events, when the
gadget stops, or on Ctrl-C.
"""

import argparse
import json
import sys

import gadgetrt


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("gadget", help=".wasm file, directory with program.wasm (+ gadget.yaml) or OCI image")
    ap.add_argument("--reference", help="image reference inside an OCI archive")
    ap.add_argument("--param", action="append", default=[], metavar="KEY=VALUE")
    ap.add_argument("--datasource", action="append", metavar="NAME", help="only these data sources")
    ap.add_argument("--timeout", type=float, default=1.0, help="idle timeout in seconds (0: none)")
    ap.add_argument("--max-events", type=int, default=0)
    ap.add_argument("-v", "--verbose", action="store_true", help="print gadget logs to stderr")
    args = ap.parse_args()

    def log(level, gadget, msg):
        print(f"[{level.name if hasattr(level, 'name') else level}] {gadget}: {msg}", file=sys.stderr)

    try:
        with gadgetrt.Runtime(logger=log if args.verbose else None) as rt, rt.load_path(
            args.gadget, args.reference
        ) as g:
            for kv in args.param:
                k, _, v = kv.partition("=")
                g.set_param(k, v)
            events = g.events(timeout=args.timeout or None, datasources=args.datasource)
            g.start()
            n = 0
            try:
                for ev in events:
                    print(json.dumps({"datasource": ev.datasource, "data": json.loads(ev.json())}), flush=True)
                    n += 1
                    if args.max_events and n >= args.max_events:
                        break
            except KeyboardInterrupt:
                pass
            finally:
                events.close()
            g.stop()
    except gadgetrt.GadgetError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
