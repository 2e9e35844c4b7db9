"""Shared by the role scripts next to this file (producer.py,
simple_consumer.py, push_consumer.py): arguments every role takes, output
lines, the client's log, and a hard deadline.

Every script prints one machine-readable line per event on stdout
(`SENT ...`, `RECEIVED ...`, `DONE`), exits 0 only if everything it was asked
to do happened before its deadline, and exits non-zero on any client error,
including errors the client only logs from its background threads.
"""

import argparse
import logging
import os
import sys
import threading
import time

_print_lock = threading.Lock()

# Exit codes the Rust side can tell apart.
EXIT_CLIENT_ERROR = 1
EXIT_CLIENT_LOGGED_ERRORS = 2
EXIT_TIMEOUT = 3
EXIT_HARD_DEADLINE = 124


def emit(*fields):
    """One output line, flushed at once (the caller may be killed later)."""
    line = " ".join(str(f) for f in fields)
    with _print_lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def now_ms():
    return int(time.time() * 1000)


def parser(description):
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--endpoint", required=True, help="host:port of the gRPC endpoint (plaintext)")
    p.add_argument("--topic", required=True)
    p.add_argument("--deadline", type=float, default=30.0, help="seconds; give up (exit 3) after this long")
    p.add_argument("--request-timeout", type=int, default=5, help="seconds per RPC")
    p.add_argument("--log-dir", help="directory for the client's own log (it writes ~/logs/rocketmq_python/)")
    return p


# Errors rocketmq-python-client 5.1.2 logs whatever the server does; shown as
# `CLIENT_BUG ...`, not counted.
KNOWN_CLIENT_BUGS = [
    # PushConsumer.reset_metric registers its gauges on the meter provider
    # even when metrics are off (no provider): every settings answer from the
    # server (which always carries a `metric` message) raises this in the
    # Telemetry reading loop, which then stops reading that stream.
    "object has no attribute 'get_meter'",
]


class _ErrorCounter(logging.Handler):
    """Counts the client's ERROR records and echoes them on stdout.

    Records logged once shutdown has begun (a long poll cancelled by
    shutdown() is logged as an error) are shown but not counted.
    """

    def __init__(self):
        super().__init__(level=logging.ERROR)
        self.count = 0
        self.shutting_down = False

    def emit(self, record):
        text = record.getMessage().replace("\n", " ")
        if any(bug in text for bug in KNOWN_CLIENT_BUGS):
            emit("CLIENT_BUG", text)
        elif self.shutting_down:
            emit("CLIENT_ERROR_AT_SHUTDOWN", text)
        else:
            self.count += 1
            emit("CLIENT_ERROR", text)


class Run:
    """The client library, imported with its log redirected, and a watchdog
    that ends the process if shutting the client down hangs."""

    def __init__(self, args):
        self.args = args
        self.started = time.monotonic()
        if args.log_dir:
            # The client logs to ~/logs/rocketmq_python/, resolved when it is
            # imported: point HOME at the test's directory first.
            os.makedirs(args.log_dir, exist_ok=True)
            os.environ["HOME"] = args.log_dir
        try:
            import rocketmq  # noqa: F401
            from rocketmq.v5.util.version import SDK_VERSION
        except ImportError as e:
            emit("ERROR", "the official Python client is not installed (run scripts/ci-deps.sh):", e)
            sys.exit(EXIT_CLIENT_ERROR)
        self.errors = _ErrorCounter()
        logging.getLogger("rocketmq-python-client").addHandler(self.errors)
        emit("CLIENT", "rocketmq-python-client", SDK_VERSION)
        hard = threading.Timer(args.deadline + 15, self._hard_deadline)
        hard.daemon = True
        hard.start()

    @staticmethod
    def _hard_deadline():
        emit("ERROR", "hard deadline: the client did not finish or shut down in time")
        os._exit(EXIT_HARD_DEADLINE)

    def configuration(self):
        from rocketmq import ClientConfiguration, Credentials

        return ClientConfiguration(self.args.endpoint, Credentials(), request_timeout=self.args.request_timeout)

    def wait_for_settings(self, client, within=10.0):
        """Waits for the server's answer to the client's settings (sent over
        the Telemetry stream when startup finds the endpoints).

        The Python client's Producer and SimpleConsumer return from startup()
        without waiting for it, so a receive right after startup can reach
        the server before the settings do, and be refused ("cannot find
        client settings for this client"). The PushConsumer waits by itself.
        """
        if not client._init_settings_event.wait(timeout=within):
            emit("ERROR", f"no settings from the server within {within} s of startup")
            client.shutdown()
            sys.stdout.flush()
            os._exit(EXIT_CLIENT_ERROR)

    def remaining(self):
        return self.args.deadline - (time.monotonic() - self.started)

    def expired(self):
        return self.remaining() <= 0

    def finish(self, ok, client=None):
        """Shuts `client` down, prints DONE (or why not) and exits."""
        code = 0 if ok else EXIT_TIMEOUT
        self.errors.shutting_down = True
        if client is not None:
            try:
                client.shutdown()
            except Exception as e:  # noqa: BLE001 - any client error fails the run
                emit("ERROR", "shutdown:", repr(e))
                code = EXIT_CLIENT_ERROR
        if code == 0 and self.errors.count:
            emit("ERROR", f"the client logged {self.errors.count} error(s)")
            code = EXIT_CLIENT_LOGGED_ERRORS
        if code == 0:
            emit("DONE")
        sys.stdout.flush()
        # Client threads (gRPC, schedulers) must not keep the process alive.
        os._exit(code)

    def fail(self, what, e, client=None):
        emit("ERROR", what, type(e).__name__, str(e).replace("\n", " "))
        if client is not None:
            try:
                client.shutdown()
            except Exception:  # noqa: BLE001
                pass
        sys.stdout.flush()
        os._exit(EXIT_CLIENT_ERROR)


def describe(message):
    """`key=value` fields of a received message (no spaces inside values)."""
    keys = ",".join(sorted(message.keys)) if message.keys else ""
    props = ",".join(f"{k}:{v}" for k, v in sorted(message.properties.items())) if message.properties else ""
    return [
        f"id={message.message_id}",
        f"tag={message.tag or ''}",
        f"keys={keys}",
        f"group={message.message_group or ''}",
        f"props={props}",
        f"delivery={message.delivery_timestamp or ''}",
        f"at={now_ms()}",
    ]
