#!/usr/bin/env python3
"""Sends messages with the official Python client's Producer.

Modes:
  normal       --count N --prefix P: bodies P0..P(N-1), with --tag, keys
               (--key-prefix K: key K<i>) and --property NAME=VALUE
  fifo         as normal, message group <--group-prefix><i % --groups>
  delay        as normal, delivery timestamp now + --delay-seconds (whole s)
  recall       as delay, then recalls (Producer.recall_message, RocketMQ 5.3)
               the bodies given to --recall by their receipts' recall
               handles, each once more (which must be refused), once with
               a handle that is not one and once with a well-formed handle
               naming a broker group that does not exist (broker-z)
  transaction  half messages --commit B..., --rollback B..., --orphan B...
               (no decision: the broker's check asks the TransactionChecker,
               which commits the bodies given to --check-commit and rolls
               back the rest); waits until every orphan has been checked

Prints `SENT <body> <message_id> [k=v...]` per message, `COMMITTED <body>` /
`ROLLED_BACK <body>` per decision, `CHECKED <body> COMMIT|ROLLBACK` per check,
`RECALLED <body> <message_id>` per recall answered, `REFUSED <what>
<exception> <text>` per recall refused (`<body>`, `again:<body>`, `garbage`
or `foreign`), then `DONE`.
"""

import base64
import threading
import time

from common import Run, emit, parser


def main():
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--mode", choices=["normal", "fifo", "delay", "recall", "transaction"], default="normal")
    p.add_argument("--count", type=int, default=0)
    p.add_argument("--prefix", default="m")
    p.add_argument("--tag")
    p.add_argument("--key-prefix")
    p.add_argument("--property", action="append", default=[], metavar="NAME=VALUE")
    p.add_argument("--groups", type=int, default=1)
    p.add_argument("--group-prefix", default="order-")
    p.add_argument("--delay-seconds", type=int, default=3)
    p.add_argument("--commit", nargs="*", default=[])
    p.add_argument("--rollback", nargs="*", default=[])
    p.add_argument("--orphan", nargs="*", default=[])
    p.add_argument("--check-commit", nargs="*", default=[])
    p.add_argument("--recall", nargs="*", default=[], help="recall mode: bodies to recall")
    args = p.parse_args()
    run = Run(args)

    from rocketmq import Message, Producer, TransactionChecker, TransactionResolution

    checked = {}
    checked_lock = threading.Lock()

    class Checker(TransactionChecker):
        def check(self, message):
            body = message.body.decode()
            commit = body in args.check_commit
            emit("CHECKED", body, "COMMIT" if commit else "ROLLBACK")
            with checked_lock:
                checked[body] = checked.get(body, 0) + 1
            return TransactionResolution.COMMIT if commit else TransactionResolution.ROLLBACK

    transactional = args.mode == "transaction"
    producer = Producer(
        run.configuration(), (args.topic,), checker=Checker() if transactional else None, tls_enable=False
    )
    try:
        producer.startup()
    except Exception as e:  # noqa: BLE001
        run.fail("startup", e)
    run.wait_for_settings(producer)

    def message(body):
        m = Message()
        m.topic = args.topic
        m.body = body.encode()
        return m

    try:
        if transactional:
            for body in args.commit + args.rollback + args.orphan:
                transaction = producer.begin_transaction()
                receipt = producer.send(message(body), transaction)
                emit("SENT", body, receipt.message_id, f"tx={receipt.transaction_id}")
                if body in args.commit:
                    transaction.commit()
                    emit("COMMITTED", body)
                elif body in args.rollback:
                    transaction.rollback()
                    emit("ROLLED_BACK", body)
            # Stay up until the broker has asked about every orphan.
            while not run.expired():
                with checked_lock:
                    if all(b in checked for b in args.orphan):
                        break
                time.sleep(0.1)
            with checked_lock:
                missing = [b for b in args.orphan if b not in checked]
            if missing:
                emit("TIMEOUT", "not checked:", ",".join(missing))
                run.finish(False, producer)
            if args.orphan:
                # The client sends its END_TRANSACTION after check() returns,
                # asynchronously: give it time to go out before shutdown
                # closes the channel.
                time.sleep(1)
        else:
            handles = {}
            for i in range(args.count):
                if run.expired():
                    emit("TIMEOUT", f"sent {i} of {args.count}")
                    run.finish(False, producer)
                body = f"{args.prefix}{i}"
                m = message(body)
                extra = []
                if args.tag:
                    m.tag = args.tag
                if args.key_prefix:
                    m.keys = f"{args.key_prefix}{i}"
                for prop in args.property:
                    name, value = prop.split("=", 1)
                    m.add_property(name, value)
                if args.mode == "fifo":
                    m.message_group = f"{args.group_prefix}{i % args.groups}"
                    extra.append(f"group={m.message_group}")
                elif args.mode in ("delay", "recall"):
                    m.delivery_timestamp = int(time.time()) + args.delay_seconds
                    extra.append(f"due={m.delivery_timestamp}")
                receipt = producer.send(m)
                if args.mode == "recall":
                    handles[body] = receipt.recall_handle
                    extra.append(f"handle={'yes' if receipt.recall_handle else 'no'}")
                emit("SENT", body, receipt.message_id, *extra)
            if args.mode == "recall":
                recall(producer, args.topic, handles, args.recall)
    except Exception as e:  # noqa: BLE001
        run.fail("send", e, producer)
    run.finish(True, producer)


def recall(producer, topic, handles, bodies):
    """Recalls each of `bodies` by its handle, then each again, then once by
    a handle that is not one and once by one of another broker group (RocketMQ
    5.3's format: URL-safe base64 of `v1 <topic> <broker> <ms> <id>`);
    refusals are printed, not raised."""

    def attempt(what, handle):
        try:
            message_id = producer.recall_message(topic, handle)
        except Exception as e:  # noqa: BLE001 - the broker's refusal, as the client reports it
            emit("REFUSED", what, type(e).__name__, str(e).replace("\n", " "))
        else:
            emit("RECALLED", what, message_id)

    for body in bodies:
        attempt(body, handles.get(body) or "")
    for body in bodies:
        attempt(f"again:{body}", handles.get(body) or "")
    attempt("garbage", "bm90IGEgaGFuZGxl!")
    foreign = f"v1 {topic} broker-z {int(time.time() * 1000) + 60000} 00000000000000000000000000000000"
    attempt("foreign", base64.urlsafe_b64encode(foreign.encode()).decode())


if __name__ == "__main__":
    main()
