"""Who may talk to a distributed search's chief: workers that send its token.

KerasTuner's chief serves plain gRPC to anyone who reaches its port, who could then read
the search and report made-up scores (issue 27). Here every call carries a token, and the
chief answers only calls with its own. `tune --workers N`, whose chief serves on loopback
and starts every worker itself, makes a new random token per run and hands it to them. A
chief whose workers are started by hand (KerasTuner's variables) takes the token from
TUNING_CHIEF_TOKEN, which each worker must be started with too, and refuses to serve
without one. The token authenticates; it does not encrypt: run the search on a network you
trust, or through an SSH tunnel.
"""

from __future__ import annotations

import collections
import hmac
import os
import secrets
import threading
import time

import grpc

from tuning.engine import kt_internals
from tuning.errors import TuningError

TOKEN_ENV = "TUNING_CHIEF_TOKEN"
METADATA_KEY = "tuning-chief-token"  # gRPC metadata keys are lower case
WORKER_KEY = "tuning-worker"  # who calls: the worker's KerasTuner tuner id
MIN_TOKEN_LENGTH = 16
RECONNECT_SECONDS = 600  # how long a worker's call waits for its chief to come back


def chief_token(own_workers_only: bool) -> str:
    """The chief's token: TUNING_CHIEF_TOKEN, or a new one where it starts every worker.

    Raises:
        TuningError: workers started by hand, and no token of 16 characters or more.
    """
    token = os.environ.get(TOKEN_ENV, "")
    if not token and own_workers_only:
        token = os.environ[TOKEN_ENV] = secrets.token_hex(16)  # its workers inherit it
    if len(token) < MIN_TOKEN_LENGTH:
        raise TuningError(
            f"a chief whose workers are started by hand needs a secret they share: set "
            f"{TOKEN_ENV} to 16 characters or more for the chief and every worker, e.g. "
            f"{TOKEN_ENV}=$(python3 -c 'import secrets; print(secrets.token_hex(16))')"
        )
    return token


def worker_token() -> str:
    """The token a worker sends: TUNING_CHIEF_TOKEN, as the chief or its starter set it."""
    return os.environ.get(TOKEN_ENV, "")


class TokenCheck(grpc.ServerInterceptor):
    """Answers a call only if it carries the chief's token; UNAUTHENTICATED otherwise.

    It notes when each worker last called (`seen`, monotonic seconds by tuner id): the
    chief's lease on a remote worker's trial (`tuning.distributed.chief`).
    """

    def __init__(self, token: str):
        self.token = token.encode()
        self.seen: dict[str, float] = {}

    def intercept_service(self, continuation, handler_call_details):  # noqa: ANN001, ANN201
        """Pass a call with the token on, its caller known to the oracle; refuse any other."""
        metadata = dict(handler_call_details.invocation_metadata or ())
        if not hmac.compare_digest(metadata.get(METADATA_KEY, "").encode(), self.token):
            return grpc.unary_unary_rpc_method_handler(refuse)
        worker = metadata.get(WORKER_KEY) or None
        if worker:
            self.seen[worker] = time.monotonic()
        handler = continuation(handler_call_details)
        if handler is None or handler.unary_unary is None:
            return handler
        return grpc.unary_unary_rpc_method_handler(
            as_caller(worker, handler.unary_unary),
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )


# The worker whose call the oracle is answering, in the thread that answers it: a late
# report from a worker that lost its trial is told apart from the new holder's (issue 27).
_calling = threading.local()


def caller() -> str | None:
    """The tuner id of the worker whose call this thread answers; None outside a call."""
    return getattr(_calling, "worker", None)


def as_caller(worker: str | None, answer):  # noqa: ANN001, ANN201 - a gRPC behaviour
    """`answer`, run with `caller()` naming `worker`."""

    def answered(request, context):  # noqa: ANN001, ANN202
        _calling.worker = worker
        try:
            return answer(request, context)
        finally:
            _calling.worker = None

    return answered


def refuse(request: object, context: grpc.ServicerContext) -> None:
    """The answer to a call without the chief's token."""
    context.abort(grpc.StatusCode.UNAUTHENTICATED, f"wrong or missing {TOKEN_ENV}")


class TokenSender(grpc.UnaryUnaryClientInterceptor):
    """Adds the worker's token to every call it makes to the chief."""

    def __init__(self, token: str):
        self.token = token

    def intercept_unary_unary(self, continuation, client_call_details, request):  # noqa: ANN001, ANN201
        """Send the call with the token in its metadata, waiting for a chief restarted.

        KerasTuner's calls fail at once when the chief is gone, and the worker with them.
        They wait for it instead (gRPC's `wait_for_ready`), up to `RECONNECT_SECONDS`, so
        that a chief killed and started again with the same command gets its workers back,
        each with its trial.
        """
        details = client_call_details
        worker = os.environ.get("KERASTUNER_TUNER_ID", "")
        metadata = [*(details.metadata or ()), (METADATA_KEY, self.token), (WORKER_KEY, worker)]
        return continuation(
            CallDetails(
                details.method,
                RECONNECT_SECONDS if details.timeout is None else details.timeout,
                metadata,
                details.credentials,
                True if details.wait_for_ready is None else details.wait_for_ready,
                details.compression,
            ),
            request,
        )


class CallDetails(
    collections.namedtuple(
        "CallDetails",
        ("method", "timeout", "metadata", "credentials", "wait_for_ready", "compression"),
    ),
    grpc.ClientCallDetails,
):
    """A call's details with the token added, as gRPC's client interceptors pass them on."""


def channel(address: str) -> grpc.Channel:
    """A channel to the chief at `address` (HOST:PORT) whose calls carry the worker's token."""
    return grpc.intercept_channel(grpc.insecure_channel(address), TokenSender(worker_token()))


def stub(address: str):  # noqa: ANN201 - a generated gRPC stub
    """KerasTuner's oracle stub, calling the chief at `address` with the worker's token."""
    return kt_internals.service_grpc().OracleStub(channel(address))


def keep_in_touch(address: str, every: float) -> threading.Event:
    """Call the chief every `every` seconds from a daemon thread, while this worker lives.

    Its trial's epochs may be far apart (18 minutes on 2 CPU cores): these calls tell the
    chief the worker is alive meanwhile. Set the returned event to stop them.
    """
    done = threading.Event()
    oracle = stub(address)

    def beat() -> None:
        while not done.wait(every):
            try:
                oracle.GetSpace(kt_internals.service().GetSpaceRequest(), timeout=every)
            except grpc.RpcError:
                pass  # the chief is gone or busy: the trial's own calls will say which

    threading.Thread(target=beat, name="heartbeat", daemon=True).start()
    return done


def check_token(address: str) -> None:
    """Ask the chief at `address` for the search space once, to learn whether it lets us in.

    Raises:
        TuningError: the chief refused this worker's token.
    """
    try:
        stub(address).GetSpace(kt_internals.service().GetSpaceRequest(), timeout=60)
    except grpc.RpcError as e:
        if e.code() != grpc.StatusCode.UNAUTHENTICATED:
            raise
        raise TuningError(
            f"the chief at {address} refused this worker: start it with the chief's {TOKEN_ENV}"
        ) from None
