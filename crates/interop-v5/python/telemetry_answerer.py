#!/usr/bin/env python3
"""A 5.x consumer that answers the server's Telemetry questions as
RocketMQ's Java client does.

None of the official 5.x clients available here (Rust `rocketmq` 5.0.0,
Python 5.1.2) answers PrintThreadStackTraceCommand or VerifyMessageCommand;
the Java client does (`ClientImpl.onPrintThreadStackTraceCommand`,
`PushConsumerImpl.onVerifyMessageCommand`). This script speaks the published
API through the official Python package's generated stubs
(`rocketmq.grpc_protocol`): it sends a simple consumer's settings on its
Telemetry stream, heartbeats every 10 s, and answers
  PrintThreadStackTraceCommand  with this process's thread stacks,
  VerifyMessageCommand          by printing the message and answering
                                --verify-code (OK by default).

Prints `READY <client_id>` once the settings are answered,
`STACKS_ASKED <nonce>`, `VERIFY <topic> <body> <message_id>`, and `DONE`
once it has said goodbye (NotifyClientTermination), which it does when the
file `leave` appears in --log-dir, or at its deadline.
"""

import asyncio
import os
import socket
import sys
import traceback
import uuid

from common import EXIT_CLIENT_ERROR, emit, parser


def thread_stacks():
    """Every thread's stack, as a thread dump lists them."""
    import threading

    names = {t.ident: t.name for t in threading.enumerate()}
    dump = []
    for ident, frame in sys._current_frames().items():
        dump.append(f'"{names.get(ident, ident)}"\n' + "".join(traceback.format_stack(frame)))
    return "\n".join(dump)


async def answer_telemetry_commands(args):
    import grpc
    from google.protobuf.duration_pb2 import Duration
    from rocketmq.grpc_protocol import definition_pb2 as d
    from rocketmq.grpc_protocol import service_pb2 as s
    from rocketmq.grpc_protocol import MessagingServiceStub

    client_id = f"{socket.gethostname()}@{uuid.uuid4().hex[:12]}"
    metadata = (
        ("x-mq-client-id", client_id),
        ("x-mq-language", "PYTHON"),
        ("x-mq-protocol", "GRPC_V2"),
        ("x-mq-client-version", "5.1.2"),
    )
    host, port = args.endpoint.rsplit(":", 1)
    group = d.Resource(name=args.group)
    settings = d.Settings(
        client_type=d.ClientType.SIMPLE_CONSUMER,
        access_point=d.Endpoints(scheme=d.AddressScheme.IPv4, addresses=[d.Address(host=host, port=int(port))]),
        request_timeout=Duration(seconds=5),
        subscription=d.Subscription(
            group=group,
            subscriptions=[
                d.SubscriptionEntry(
                    topic=d.Resource(name=args.topic),
                    expression=d.FilterExpression(type=d.FilterType.TAG, expression="*"),
                )
            ],
        ),
        user_agent=d.UA(language=d.Language.PYTHON, version="5.1.2", platform=sys.platform, hostname=host),
    )
    outbox = asyncio.Queue()
    await outbox.put(s.TelemetryCommand(settings=settings))

    async def requests():
        while True:
            command = await outbox.get()
            if command is None:
                return
            yield command

    async with grpc.aio.insecure_channel(args.endpoint) as channel:
        stub = MessagingServiceStub(channel)
        stream = stub.Telemetry(requests(), metadata=metadata)

        async def heartbeats():
            while True:
                request = s.HeartbeatRequest(group=group, client_type=d.ClientType.SIMPLE_CONSUMER)
                await stub.Heartbeat(request, metadata=metadata, timeout=5)
                await asyncio.sleep(10)

        async def read():
            beating = None
            async for command in stream:
                which = command.WhichOneof("command")
                if which == "settings":
                    if command.status.code != d.Code.OK:
                        emit("ERROR", "settings refused:", command.status.message)
                        sys.exit(EXIT_CLIENT_ERROR)
                    if beating is None:
                        beating = asyncio.ensure_future(heartbeats())
                        emit("READY", client_id)
                elif which == "print_thread_stack_trace_command":
                    nonce = command.print_thread_stack_trace_command.nonce
                    emit("STACKS_ASKED", nonce)
                    answer = s.ThreadStackTrace(nonce=nonce, thread_stack_trace=thread_stacks())
                    await outbox.put(
                        s.TelemetryCommand(status=d.Status(code=d.Code.OK, message="OK"), thread_stack_trace=answer)
                    )
                elif which == "verify_message_command":
                    verify = command.verify_message_command
                    m = verify.message
                    emit("VERIFY", m.topic.name, m.body.decode(errors="replace"), m.system_properties.message_id)
                    code = d.Code.Value(args.verify_code)
                    await outbox.put(
                        s.TelemetryCommand(
                            status=d.Status(code=code, message=args.verify_code),
                            verify_message_result=s.VerifyMessageResult(nonce=verify.nonce),
                        )
                    )
                else:
                    emit("IGNORED", which)

        async def told_to_leave():
            leave = os.path.join(args.log_dir or ".", "leave")
            while not os.path.exists(leave):
                await asyncio.sleep(0.2)

        reading = asyncio.ensure_future(read())
        leaving = asyncio.ensure_future(told_to_leave())
        done, _ = await asyncio.wait([reading, leaving], timeout=args.deadline, return_when=asyncio.FIRST_COMPLETED)
        leaving.cancel()
        if reading in done and reading.exception() is not None:
            emit("ERROR", "telemetry stream failed:", reading.exception())
            sys.exit(EXIT_CLIENT_ERROR)
        await stub.NotifyClientTermination(s.NotifyClientTerminationRequest(group=group), metadata=metadata, timeout=5)
        await outbox.put(None)
        reading.cancel()
    emit("DONE")


def main():
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--group", required=True)
    p.add_argument("--verify-code", default="OK", help="the Code to answer a VerifyMessageCommand with")
    args = p.parse_args()
    asyncio.run(answer_telemetry_commands(args))


if __name__ == "__main__":
    main()
