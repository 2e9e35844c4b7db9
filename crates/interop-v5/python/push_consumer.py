#!/usr/bin/env python3
"""Consumes with the official Python client's PushConsumer.

The MessageListener returns SUCCESS, except for the first delivery of each
body given to --fail: FAILURE, so the client asks for it again later (a
higher delivery attempt). Runs until --expect distinct bodies have been
consumed successfully, then --linger more seconds.

Prints `RECEIVED <body> <attempt> result=SUCCESS|FAILURE k=v...` per
delivery, then `DONE`; `TIMEOUT ...` and exit 3 if the deadline passes first.
"""

import threading
import time

from common import Run, describe, emit, parser


def main():
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--group", required=True)
    p.add_argument("--expect", type=int, required=True, help="distinct bodies to consume successfully")
    p.add_argument("--fail", nargs="*", default=[], help="bodies failed on their first delivery")
    p.add_argument("--filter", default="*", help="tag expression")
    p.add_argument("--threads", type=int, default=4)
    p.add_argument("--linger", type=float, default=0.0)
    args = p.parse_args()
    run = Run(args)

    from rocketmq import ConsumeResult, FilterExpression, MessageListener, PushConsumer

    lock = threading.Lock()
    consumed = set()
    failed_once = set()

    class Listener(MessageListener):
        def consume(self, message):
            body = message.body.decode()
            with lock:
                fail = body in args.fail and body not in failed_once
                if fail:
                    failed_once.add(body)
                else:
                    consumed.add(body)
            result = ConsumeResult.FAILURE if fail else ConsumeResult.SUCCESS
            emit("RECEIVED", body, message.delivery_attempt, f"result={result.name}", *describe(message))
            return result

    consumer = PushConsumer(
        run.configuration(),
        args.group,
        Listener(),
        {args.topic: FilterExpression(args.filter)},
        consumption_thread_count=args.threads,
        tls_enable=False,
    )
    try:
        consumer.startup()
    except Exception as e:  # noqa: BLE001
        run.fail("startup", e)

    while not run.expired():
        with lock:
            if len(consumed) >= args.expect:
                break
        time.sleep(0.05)
    with lock:
        n = len(consumed)
    if n < args.expect:
        emit("TIMEOUT", f"consumed {n} of {args.expect}")
        run.finish(False, consumer)
    time.sleep(args.linger)
    run.finish(True, consumer)


if __name__ == "__main__":
    main()
