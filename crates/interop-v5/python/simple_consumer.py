#!/usr/bin/env python3
"""Receives and acks with the official Python client's SimpleConsumer.

Receives until --expect distinct bodies have been acked, then goes on
receiving for --linger seconds (to show nothing else arrives). Bodies given to
--unacked are not acked on their first delivery: they come back once their
--invisible seconds are over, and are acked then. With --abandon-after, it
only starts one receive and shuts down while that is in flight.

Prints `RECEIVED <body> <attempt> k=v...` per message, `ACKED <body>` /
`UNACKED <body>`, then `DONE`; `TIMEOUT ...` and exit 3 if the deadline
passes first.
"""

import time

from common import Run, describe, emit, now_ms, parser


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
    p.add_argument(
        "--abandon-after",
        type=float,
        help="instead: start one receive, shut down after this many seconds with it in flight",
    )
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

    # Which queue each receive asks for, for the record (the client picks a
    # queue of the route round-robin; the server pops from its broker).
    build_request = consumer._receive_req

    def receive_request(topic, queue, *rest, **named):
        mq = queue.message_queue0()
        emit("POLL", f"{mq.broker.name}/{mq.id}", f"at={now_ms()}")
        return build_request(topic, queue, *rest, **named)

    consumer._receive_req = receive_request

    if args.abandon_after is not None:
        consumer.receive_async(args.batch, args.invisible)
        time.sleep(args.abandon_after)
        emit("ABANDONED")
        run.finish(True, consumer)

    acked = set()
    left_once = set()
    linger_until = None
    try:
        while not run.expired():
            if linger_until is None and len(acked) >= args.expect:
                linger_until = time.monotonic() + args.linger
            if linger_until is not None and time.monotonic() >= linger_until:
                break
            started = time.monotonic()
            messages = consumer.receive(args.batch, args.invisible)
            emit("POLLED", len(messages), f"{time.monotonic() - started:.2f}s")
            for m in messages:
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
