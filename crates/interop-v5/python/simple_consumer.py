#!/usr/bin/env python3
"""Receives and acks with the official Python client's SimpleConsumer.

Receives until --expect distinct bodies have been acked, then goes on
receiving for --linger seconds (to show nothing else arrives). Bodies given to
--unacked are not acked on their first delivery: they come back once their
--invisible seconds are over, and are acked then.

Prints `RECEIVED <body> <attempt> k=v...` per message, `ACKED <body>` /
`UNACKED <body>`, then `DONE`; `TIMEOUT ...` and exit 3 if the deadline
passes first.
"""

import time

from common import Run, describe, emit, parser


def main():
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--group", required=True)
    p.add_argument("--expect", type=int, required=True, help="distinct bodies to ack")
    p.add_argument("--unacked", nargs="*", default=[], help="bodies not acked on their first delivery")
    p.add_argument("--invisible", type=int, default=10, help="invisible duration, seconds")
    p.add_argument("--await", dest="await_s", type=int, default=2, help="long polling, seconds")
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--filter", default="*", help="tag expression")
    p.add_argument("--linger", type=float, default=0.0)
    args = p.parse_args()
    run = Run(args)

    from rocketmq import FilterExpression, SimpleConsumer

    consumer = SimpleConsumer(
        run.configuration(),
        args.group,
        {args.topic: FilterExpression(args.filter)},
        await_duration=args.await_s,
        tls_enable=False,
    )
    try:
        consumer.startup()
    except Exception as e:  # noqa: BLE001
        run.fail("startup", e)
    run.wait_for_settings(consumer)

    acked = set()
    left_once = set()
    linger_until = None
    try:
        while not run.expired():
            if linger_until is None and len(acked) >= args.expect:
                linger_until = time.monotonic() + args.linger
            if linger_until is not None and time.monotonic() >= linger_until:
                break
            for m in consumer.receive(args.batch, args.invisible):
                body = m.body.decode()
                emit("RECEIVED", body, m.delivery_attempt, *describe(m))
                if body in args.unacked and body not in left_once:
                    left_once.add(body)
                    emit("UNACKED", body)
                    continue
                consumer.ack(m)
                acked.add(body)
                emit("ACKED", body)
    except Exception as e:  # noqa: BLE001
        run.fail("receive/ack", e, consumer)
    if len(acked) < args.expect:
        emit("TIMEOUT", f"acked {len(acked)} of {args.expect}")
        run.finish(False, consumer)
    run.finish(True, consumer)


if __name__ == "__main__":
    main()
