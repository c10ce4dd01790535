"""What protovalidate costs a generated server, measured against the same server with validation
off, in the same run.

    python benchmarks/validate.py [--calls N]

The validation fixture contract (tests/fixtures/validate: field, message/CEL, oneof and nested
rules) is generated into a temporary directory. One sync server on 127.0.0.1 (a free port) is
started twice, with `validate=True` and `validate=False`; the generated sync client makes N
sequential PlaceOrder calls with a valid request (the cost a valid request pays) to each, and the
ratio of calls/s is printed. And the cost of one validation call in-process: the first call
(before any server ran: it compiles the message types' rules) and the mean of many after it
(protovalidate caches the compiled rules in the one Validator the process keeps).

Figures depend on the machine; the ratio measured in the same run is what carries over.
"""

from __future__ import annotations

import argparse
import importlib
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
FIXTURE = REPO / "tests" / "fixtures" / "validate"


def generate(project: Path) -> Path:
    from protoforge.config import config_from_mapping
    from protoforge.output.plan import apply, compare
    from protoforge.pipeline import generate as generate_plan

    shutil.copytree(FIXTURE / "proto", project / "proto")
    config = config_from_mapping({"proto_roots": ["proto"], "out": "gen"}, project)
    plan = generate_plan(config)
    apply(compare(plan), plan.managed_dirs)
    return config.out


def calls_per_second(
    rt: Any, client_module: Any, servicer: Any, request: Any, calls: int, validate: bool
) -> float:
    running = rt.start([servicer], "127.0.0.1:0", validate=validate)
    try:
        with client_module.ShopClient.connect(f"127.0.0.1:{running.port}", timeout=10) as client:
            for _ in range(200):  # warm up: connection, first compile of the rules
                client.place_order(request)
            start = time.perf_counter()
            for _ in range(calls):
                client.place_order(request)
            return calls / (time.perf_counter() - start)
    finally:
        running.stop_now()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=3000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="protoforge-bench-validate-") as tmp:
        out = generate(Path(tmp))
        sys.path.insert(0, str(out))
        pb2 = importlib.import_module("shop.v1.shop_pb2")
        server = importlib.import_module("shop.v1.shop_pf_server")
        client = importlib.import_module("shop.v1.shop_pf_client")
        rt = importlib.import_module("_protoforge_runtime")
        pfv = importlib.import_module("_protoforge_validate")

        class Shop(server.ShopServicer):  # type: ignore[misc, name-defined]
            def place_order(self, request: Any, context: Any) -> Any:
                return pb2.OrderReply(id="o1", lines=len(request.lines))

        request = pb2.PlaceOrderRequest(
            email="ada@example.com",
            lines=[pb2.Line(sku=f"sku{i}", quantity=1) for i in range(5)],
            phone="+1 555 0100",
            min_total_cents=1,
            max_total_cents=5,
        )
        start = time.perf_counter()
        pfv._validator()  # what a server does at start: import protovalidate, one Validator
        setup = time.perf_counter() - start
        start = time.perf_counter()
        pfv.check(request)  # the first validation of the type: compiles its rules (CEL too)
        first = time.perf_counter() - start
        # Interleaved, twice each, so that drift of the machine hits both alike.
        rates: dict[bool, list[float]] = {True: [], False: []}
        for _ in range(2):
            for validate in (False, True):
                rates[validate].append(
                    calls_per_second(rt, client, Shop(), request, args.calls, validate)
                )
        off, on = max(rates[False]), max(rates[True])
        print(f"loopback unary PlaceOrder, {args.calls} sequential calls (best of 2):")
        print(f"  validation off: {off:8.0f} calls/s")
        print(f"  validation on:  {on:8.0f} calls/s   ratio on/off: {on / off:.3f}")

        count = 20000
        start = time.perf_counter()
        for _ in range(count):
            pfv.check(request)
        mean = (time.perf_counter() - start) / count
        print(f"protovalidate loaded, its Validator made (once per process): {setup * 1e3:.0f} ms")
        print(f"first validation of PlaceOrderRequest (compiles its rules): {first * 1e3:.1f} ms")
        print(f"then {mean * 1e6:.1f} us per validation (5 lines)")


if __name__ == "__main__":
    main()
