#!/usr/bin/env python3
"""Run moto's server as a local Cognito user pool issuer and print signed-in tokens.

Usage: python3 fixture.py --port PORT

The fixture starts `python3 -m moto.server` on 127.0.0.1:PORT as a child process. Through
boto3 it creates two user pools with app clients, a group and users, and signs the users in
with USER_PASSWORD_AUTH. It prints one line of JSON to stdout, whose fields README.md
describes. It then keeps moto running until stdin reaches end of file or the fixture receives SIGTERM,
SIGINT or SIGHUP, and stops the moto child by its process id.

Logs go to stderr. stdout carries only the JSON line.
"""

from __future__ import annotations

import argparse
import base64
import ctypes
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from typing import Any

# Dummy credentials for the local moto server. moto accepts any value, but boto3 does not
# sign a request without credentials.
DUMMY_ACCESS_KEY_ID = "testing"
DUMMY_SECRET_ACCESS_KEY = "testing"

HOST = "127.0.0.1"
GROUP_NAME = "read:users"
CUSTOM_ATTRIBUTE = "tenant"
PASSWORD = "Fixture-Passw0rd!"
PR_SET_PDEATHSIG = 1

log = logging.getLogger("moto-fixture")


class FixtureError(Exception):
    """Failure of a setup step. The message names the step and the cause."""


class StopRequested(Exception):
    """Stop request from SIGTERM, SIGINT or SIGHUP."""


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--port",
        type=int,
        default=0,
        help="TCP port on 127.0.0.1 for moto (default 0: pick a free port)",
    )
    parser.add_argument(
        "--region",
        default="eu-west-1",
        help="AWS region name that the user pools are created in (default eu-west-1)",
    )
    parser.add_argument(
        "--startup-timeout",
        type=float,
        default=60.0,
        help="seconds to wait for moto to answer HTTP requests (default 60)",
    )
    parser.add_argument(
        "--moto-log",
        help="file that moto's stdout and stderr are appended to (default: an unnamed "
        "temporary file whose end is copied to stderr if setup fails)",
    )
    parser.add_argument(
        "--ignore-stdin",
        action="store_true",
        help="do not stop at end of file on stdin; stop only on a signal",
    )
    args = parser.parse_args(argv)
    if not 0 <= args.port <= 65535:
        parser.error(f"--port must be between 0 and 65535, got {args.port}")
    return args


def raise_stop_requested(signum: int, _frame: Any) -> None:
    raise StopRequested(signal.Signals(signum).name)


def isolate_boto3_from_local_config() -> None:
    """Keep boto3 away from local AWS profiles, the instance metadata address and proxies."""
    os.environ["AWS_CONFIG_FILE"] = os.devnull
    os.environ["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
    os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
    for name in ("NO_PROXY", "no_proxy"):
        existing = os.environ.get(name, "")
        os.environ[name] = ",".join(filter(None, [existing, HOST, "localhost"]))


def choose_port(requested: int) -> int:
    """Return a port on 127.0.0.1 that nothing listens on, or raise FixtureError.

    Port 0 picks a free port. The port is released before moto binds it, so another
    process could take it in between. moto then fails to start, and the fixture reports it.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((HOST, requested))
        except OSError as error:
            raise FixtureError(f"port {requested} on {HOST} is not free: {error}") from error
        return probe.getsockname()[1]


def stop_with_parent(parent_pid: int) -> None:
    """Ask Linux to send SIGTERM to this child when the fixture dies, even by SIGKILL.

    Runs in the child between fork and exec. Without it, a test that kills the fixture
    with SIGKILL would leave moto running.
    """
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if os.getppid() != parent_pid:
        # The fixture died before prctl took effect.
        os._exit(1)


def start_moto(port: int, log_file: Any) -> subprocess.Popen:
    command = [sys.executable, "-m", "moto.server", "-H", HOST, "-p", str(port)]
    parent_pid = os.getpid()
    preexec = (lambda: stop_with_parent(parent_pid)) if sys.platform == "linux" else None
    child = subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=log_file,
        stderr=subprocess.STDOUT,
        preexec_fn=preexec,
    )
    log.info("started moto server, pid %d, port %d", child.pid, port)
    return child


def stop_moto(child: subprocess.Popen) -> None:
    if child.poll() is not None:
        log.info("moto server, pid %d, had already exited with code %s", child.pid, child.returncode)
        return
    os.kill(child.pid, signal.SIGTERM)
    try:
        child.wait(timeout=10)
    except subprocess.TimeoutExpired:
        log.warning("moto server, pid %d, ignored SIGTERM for 10 s; sending SIGKILL", child.pid)
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
    log.info("stopped moto server, pid %d", child.pid)


# A direct opener, so that HTTP GETs to 127.0.0.1 never go through a proxy from the environment.
DIRECT_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def http_get(url: str, timeout: float = 10.0) -> tuple[int, bytes]:
    try:
        with DIRECT_OPENER.open(url, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def wait_until_ready(child: subprocess.Popen, endpoint: str, timeout: float) -> None:
    """Poll moto's dashboard URL every 50 ms until it returns 200, the child exits or time runs out."""
    deadline = time.monotonic() + timeout
    last_error = "no attempt made"
    while time.monotonic() < deadline:
        if child.poll() is not None:
            raise FixtureError(f"moto server exited with code {child.returncode} during startup")
        try:
            status, _ = http_get(f"{endpoint}/moto-api/", timeout=2.0)
            if status == 200:
                return
            last_error = f"HTTP status {status}"
        except OSError as error:
            last_error = str(error)
        time.sleep(0.05)
    raise FixtureError(
        f"timed out after {timeout} s waiting for moto server at {endpoint}: {last_error}; "
        "raise --startup-timeout if the machine is slow"
    )


def decode_jwt_part(token: str, index: int) -> dict[str, Any]:
    """Decode the header (index 0) or payload (index 1) of a compact JWS without verifying it."""
    part = token.split(".")[index]
    padded = part + "=" * (-len(part) % 4)
    return json.loads(base64.urlsafe_b64decode(padded))


def create_pool(cognito: Any, name: str) -> str:
    response = cognito.create_user_pool(
        PoolName=name,
        Schema=[
            {
                "Name": CUSTOM_ATTRIBUTE,
                "AttributeDataType": "String",
                "Mutable": True,
            }
        ],
        AutoVerifiedAttributes=["email"],
    )
    return response["UserPool"]["Id"]


def create_client(cognito: Any, pool_id: str, name: str) -> str:
    # moto copies into the ID token only the standard attributes listed in ReadAttributes.
    response = cognito.create_user_pool_client(
        UserPoolId=pool_id,
        ClientName=name,
        GenerateSecret=False,
        ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
        ReadAttributes=["email", "email_verified", f"custom:{CUSTOM_ATTRIBUTE}"],
    )
    return response["UserPoolClient"]["ClientId"]


def create_user(cognito: Any, pool_id: str, username: str, tenant: str) -> dict[str, Any]:
    email = f"{username}@example.com"
    cognito.admin_create_user(
        UserPoolId=pool_id,
        Username=username,
        UserAttributes=[
            {"Name": "email", "Value": email},
            {"Name": "email_verified", "Value": "true"},
            {"Name": f"custom:{CUSTOM_ATTRIBUTE}", "Value": tenant},
        ],
        MessageAction="SUPPRESS",
    )
    cognito.admin_set_user_password(
        UserPoolId=pool_id, Username=username, Password=PASSWORD, Permanent=True
    )
    return {
        "username": username,
        "password": PASSWORD,
        "email": email,
        f"custom:{CUSTOM_ATTRIBUTE}": tenant,
        "groups": [],
    }


def sign_in(cognito: Any, pool: str, client_id: str, user: dict[str, Any]) -> dict[str, Any]:
    response = cognito.initiate_auth(
        ClientId=client_id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": user["username"], "PASSWORD": user["password"]},
    )
    result = response.get("AuthenticationResult")
    if result is None:
        raise FixtureError(
            f"sign-in of {user['username']} with client {client_id} returned challenge "
            f"{response.get('ChallengeName')} instead of tokens"
        )
    return {
        "pool": pool,
        "client_id": client_id,
        "username": user["username"],
        "groups": user["groups"],
        "access_token": result["AccessToken"],
        "id_token": result["IdToken"],
        "expires_in": result["ExpiresIn"],
    }


def fetch_json(url: str) -> Any:
    status, body = http_get(url)
    if status != 200:
        raise FixtureError(f"GET {url} returned HTTP status {status}")
    try:
        return json.loads(body)
    except ValueError as error:
        raise FixtureError(f"GET {url} returned a body that is not JSON: {error}") from error


def check_pool_documents(endpoint: str, pool: dict[str, Any], sign_ins: list[dict]) -> None:
    """Check that the pool's JWKS and OpenID configuration match the tokens issued for it.

    Sets pool["issuer"] to the iss claim that the pool's tokens carry.
    """
    jwks = fetch_json(pool["jwks_url"])
    kids = {key.get("kid") for key in jwks.get("keys", [])}
    if not kids:
        raise FixtureError(f"JWKS at {pool['jwks_url']} contains no keys")

    issuers = set()
    for entry in sign_ins:
        for token_name in ("access_token", "id_token"):
            token = entry[token_name]
            kid = decode_jwt_part(token, 0).get("kid")
            if kid not in kids:
                raise FixtureError(
                    f"{token_name} of {entry['username']} has kid {kid!r}, "
                    f"which is not in the JWKS at {pool['jwks_url']} (kids {sorted(kids)})"
                )
            issuers.add(decode_jwt_part(token, 1).get("iss"))
    if len(issuers) != 1:
        raise FixtureError(f"tokens of pool {pool['id']} carry different iss claims: {issuers}")
    pool["issuer"] = issuers.pop()

    discovery = fetch_json(pool["openid_configuration_url"])
    if discovery.get("issuer") != pool["issuer"]:
        raise FixtureError(
            f"OpenID configuration issuer {discovery.get('issuer')!r} differs from the "
            f"tokens' iss {pool['issuer']!r}"
        )
    if discovery.get("jwks_uri") != pool["jwks_url"]:
        raise FixtureError(
            f"OpenID configuration jwks_uri {discovery.get('jwks_uri')!r} differs from "
            f"{pool['jwks_url']!r}"
        )


def provision(endpoint: str, region: str) -> dict[str, Any]:
    """Create the pools, clients, group and users, sign them in, and return the JSON document."""
    import boto3
    import moto

    cognito = boto3.session.Session().client(
        "cognito-idp",
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id=DUMMY_ACCESS_KEY_ID,
        aws_secret_access_key=DUMMY_SECRET_ACCESS_KEY,
    )

    main_pool_id = create_pool(cognito, "cloudauth-main")
    other_pool_id = create_pool(cognito, "cloudauth-other")
    main_client_a = create_client(cognito, main_pool_id, "client-a")
    main_client_b = create_client(cognito, main_pool_id, "client-b")
    other_client = create_client(cognito, other_pool_id, "other-client")
    cognito.create_group(GroupName=GROUP_NAME, UserPoolId=main_pool_id)

    member = create_user(cognito, main_pool_id, "member", "tenant-one")
    cognito.admin_add_user_to_group(
        UserPoolId=main_pool_id, Username="member", GroupName=GROUP_NAME
    )
    member["groups"] = [GROUP_NAME]
    non_member = create_user(cognito, main_pool_id, "non-member", "tenant-two")
    other_user = create_user(cognito, other_pool_id, "other-user", "tenant-three")

    sign_ins = {
        "member_client_a": sign_in(cognito, "main", main_client_a, member),
        "non_member_client_a": sign_in(cognito, "main", main_client_a, non_member),
        "member_client_b": sign_in(cognito, "main", main_client_b, member),
        "other_pool_user": sign_in(cognito, "other", other_client, other_user),
    }

    pools = {}
    for name, pool_id, clients, users in (
        ("main", main_pool_id, {"a": main_client_a, "b": main_client_b}, [member, non_member]),
        ("other", other_pool_id, {"a": other_client}, [other_user]),
    ):
        pools[name] = {
            "id": pool_id,
            "issuer": None,
            "jwks_url": f"{endpoint}/{pool_id}/.well-known/jwks.json",
            "openid_configuration_url": f"{endpoint}/{pool_id}/.well-known/openid-configuration",
            "clients": clients,
            "users": {user["username"]: user for user in users},
        }
        pool_sign_ins = [entry for entry in sign_ins.values() if entry["pool"] == name]
        check_pool_documents(endpoint, pools[name], pool_sign_ins)

    return {
        "endpoint": endpoint,
        "region": region,
        "moto_version": moto.__version__,
        "group": GROUP_NAME,
        "pools": pools,
        "sign_ins": sign_ins,
    }


def wait_for_stop(ignore_stdin: bool) -> None:
    """Block until stdin reaches end of file, or until a signal raises StopRequested."""
    if ignore_stdin:
        while True:
            signal.pause()
    while sys.stdin.buffer.read(4096):
        pass
    log.info("stdin reached end of file")


def warn_if_stdin_is_null(ignore_stdin: bool) -> None:
    if ignore_stdin:
        return
    try:
        stdin_stat = os.fstat(sys.stdin.fileno())
        null_stat = os.stat(os.devnull)
    except (OSError, ValueError):
        return
    if (stdin_stat.st_dev, stdin_stat.st_ino) == (null_stat.st_dev, null_stat.st_ino):
        log.warning(
            "stdin is %s, so the fixture stops right after printing its JSON line; "
            "give it a pipe as stdin or pass --ignore-stdin",
            os.devnull,
        )


def open_moto_log(path: str | None) -> Any:
    """Open the file that receives moto's output.

    Without a path, the file is an unnamed temporary file, so nothing is left behind even
    when the fixture is killed with SIGKILL.
    """
    if path:
        return open(path, "ab")
    return tempfile.TemporaryFile(prefix="moto-fixture-", suffix=".log")


def print_log_tail(log_file: Any, max_bytes: int = 4000) -> None:
    log_file.flush()
    log_file.seek(0, os.SEEK_END)
    size = log_file.tell()
    log_file.seek(max(0, size - max_bytes))
    tail = log_file.read().decode("utf-8", "replace")
    if tail:
        sys.stderr.write(f"moto server output, last {max_bytes} bytes:\n{tail}\n")


def main(argv: list[str]) -> int:
    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr, format="moto-fixture: %(levelname)s %(message)s"
    )
    args = parse_args(argv)
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, raise_stop_requested)
    isolate_boto3_from_local_config()
    warn_if_stdin_is_null(args.ignore_stdin)

    started = time.monotonic()
    child = None
    setup_done = False
    log_file = open_moto_log(args.moto_log)
    try:
        port = choose_port(args.port)
        endpoint = f"http://{HOST}:{port}"
        child = start_moto(port, log_file)
        wait_until_ready(child, endpoint, args.startup_timeout)
        log.info("moto server is ready after %.2f s", time.monotonic() - started)

        document = provision(endpoint, args.region)
        document["moto_pid"] = child.pid
        document["startup_seconds"] = round(time.monotonic() - started, 3)
        line = json.dumps(document, separators=(",", ":")) + "\n"
        # Set before writing: a caller may send SIGTERM as soon as it has read the line.
        setup_done = True
        sys.stdout.write(line)
        sys.stdout.flush()
        log.info("fixture is ready after %.2f s; waiting for end of stdin or a signal",
                 time.monotonic() - started)

        wait_for_stop(args.ignore_stdin)
        return 0
    except StopRequested as stop:
        log.info("received %s", stop)
        return 0 if setup_done else 1
    except FixtureError as error:
        log.error("%s", error)
        return 1
    except Exception:
        log.exception("fixture setup failed")
        return 1
    finally:
        # A second signal during cleanup must not interrupt the stop of the child.
        for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(signum, signal.SIG_IGN)
        if child is not None:
            stop_moto(child)
        if not setup_done:
            print_log_tail(log_file)
        log_file.close()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
