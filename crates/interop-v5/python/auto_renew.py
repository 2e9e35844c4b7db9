#!/usr/bin/env python3
"""Receives as a push consumer does (`auto_renew`), holds the messages, then acks or terminates.

The official Python client's PushConsumer receives with auto_renew=true but
gives no control over how long a message is held; this script speaks the
same calls itself, with the client's own generated gRPC stubs
(rocketmq.grpc_protocol): Telemetry settings as a PUSH_CONSUMER,
QueryAssignment, ReceiveMessage with auto_renew=true until --expect
distinct bodies are in, then it holds them --hold seconds, acks the bodies
given to --ack with the receipt handles it got at receive time, and with
--terminate says NotifyClientTermination.

Prints `RECEIVED <body> <attempt> at=<ms>`, `HOLDING <n> at=<ms>`,
`ACK <body> <code> <message>`, `TERMINATED <code> at=<ms>`, then `DONE`; `TIMEOUT
...` and exit 3 if the deadline passes first.
"""

import queue
import sys
import threading
import time
import uuid

from common import EXIT_CLIENT_ERROR, EXIT_TIMEOUT, emit, now_ms, parser


def main():
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--group", required=True)
    p.add_argument("--expect", type=int, required=True, help="distinct bodies to receive before holding")
    p.add_argument("--hold", type=float, required=True, help="seconds to hold them unacked")
    p.add_argument("--ack", nargs="*", default=[], help="bodies acked after holding")
    p.add_argument("--terminate", action="store_true", help="NotifyClientTermination after the acks")
    args = p.parse_args()
    started = time.monotonic()

    try:
        import grpc
        from google.protobuf.duration_pb2 import Duration
        from rocketmq.grpc_protocol import definition_pb2 as d
        from rocketmq.grpc_protocol import service_pb2 as s
        from rocketmq.grpc_protocol import service_pb2_grpc as rpc
    except ImportError as e:
        emit("ERROR", "the official Python client is not installed (run scripts/ci-deps.sh):", e)
        sys.exit(EXIT_CLIENT_ERROR)

    channel = grpc.insecure_channel(args.endpoint)
    stub = rpc.MessagingServiceStub(channel)
    meta = [("x-mq-client-id", f"auto-renew-{uuid.uuid4().hex[:12]}"), ("x-mq-language", "PYTHON")]
    group = d.Resource(name=args.group)
    topic = d.Resource(name=args.topic)
    tag_all = d.FilterExpression(type=d.TAG, expression="*")

    def fail(what, detail):
        emit("ERROR", what, str(detail).replace("\n", " "))
        sys.stdout.flush()
        channel.close()
        sys.exit(EXIT_CLIENT_ERROR)

    # Telemetry: the settings, then the stream stays open until the end.
    outbound = queue.Queue()
    settings = d.Settings(
        client_type=d.PUSH_CONSUMER,
        request_timeout=Duration(seconds=args.request_timeout),
        subscription=d.Subscription(
            group=group, subscriptions=[d.SubscriptionEntry(topic=topic, expression=tag_all)]
        ),
    )
    outbound.put(s.TelemetryCommand(settings=settings))

    def commands():
        while True:
            command = outbound.get()
            if command is None:
                return
            yield command

    answered = threading.Event()

    def read_telemetry():
        try:
            for reply in stub.Telemetry(commands(), metadata=meta):
                if reply.HasField("settings"):
                    answered.set()
        except grpc.RpcError:
            pass

    threading.Thread(target=read_telemetry, daemon=True).start()
    if not answered.wait(10):
        fail("telemetry", "no settings answer within 10 s")

    assignment = stub.QueryAssignment(s.QueryAssignmentRequest(topic=topic, group=group), metadata=meta, timeout=5)
    if assignment.status.code != d.OK or not assignment.assignments:
        fail("query assignment", assignment.status)
    mq = assignment.assignments[0].message_queue

    received = {}  # body -> (message id, receipt handle)
    while len(received) < args.expect:
        if time.monotonic() - started > args.deadline:
            emit("TIMEOUT", f"received {len(received)} of {args.expect}")
            outbound.put(None)
            sys.exit(EXIT_TIMEOUT)
        request = s.ReceiveMessageRequest(
            group=group,
            message_queue=mq,
            filter_expression=tag_all,
            batch_size=32,
            auto_renew=True,
            long_polling_timeout=Duration(seconds=5),
        )
        try:
            for reply in stub.ReceiveMessage(request, metadata=meta, timeout=args.request_timeout + 5):
                if reply.HasField("message"):
                    m = reply.message
                    body = m.body.decode()
                    props = m.system_properties
                    received[body] = (props.message_id, props.receipt_handle)
                    emit("RECEIVED", body, props.delivery_attempt, f"at={now_ms()}")
        except grpc.RpcError as e:
            fail("receive", e)

    emit("HOLDING", len(received), f"at={now_ms()}")
    time.sleep(args.hold)

    for body in args.ack:
        message_id, handle = received[body]
        entry = s.AckMessageEntry(message_id=message_id, receipt_handle=handle)
        answer = stub.AckMessage(s.AckMessageRequest(group=group, topic=topic, entries=[entry]), metadata=meta, timeout=5)
        status = answer.entries[0].status if answer.entries else answer.status
        emit("ACK", body, status.code, status.message.replace(" ", "_"))

    if args.terminate:
        answer = stub.NotifyClientTermination(s.NotifyClientTerminationRequest(group=group), metadata=meta, timeout=5)
        emit("TERMINATED", answer.status.code, f"at={now_ms()}")
    outbound.put(None)
    channel.close()
    emit("DONE")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
