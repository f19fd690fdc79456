"""`python -m arkor.server serve|token create`: run the backend, or mint an operator token.

serve: binds `--host`/`--port` (0 = any free port), and once listening atomically writes `--record FILE`
(JSON `{"url", "pid", "version"}`). SIGINT/SIGTERM shut down gracefully: workers are stopped and
their jobs marked failed with the reason.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from arkor import __version__
from arkor.errors import ConfigError

if TYPE_CHECKING:
    from .settings import ServerSettings


def _settings(args: argparse.Namespace) -> ServerSettings:
    from .settings import ServerSettings

    overrides: dict[str, Any] = {}
    if getattr(args, "data_dir", None):
        overrides["data_dir"] = Path(args.data_dir)
    if getattr(args, "executor", None):
        overrides["executor"] = args.executor
    return ServerSettings(**overrides)


def _write_record(path: Path, url: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps({"url": url, "pid": os.getpid(), "version": __version__}))
    os.replace(tmp, path)


def serve(args: argparse.Namespace) -> int:
    from .runner import make_server

    server, sock, url = make_server(_settings(args), args.host, args.port)
    if args.record:
        record = Path(args.record)

        def announce() -> None:
            server.ready.wait()
            _write_record(record, url)

        threading.Thread(target=announce, daemon=True).start()
    logging.getLogger(__name__).info("arkor backend listening on %s", url)
    print(f"arkor backend listening on {url}", file=sys.stderr, flush=True)
    server.run(sockets=[sock])
    return 0


def token_create(args: argparse.Namespace) -> int:
    from .db import Database
    from .identity import create_identity

    settings = _settings(args)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(settings.resolved_database_url)
    db.migrate()
    identity = create_identity(
        db, user_name=args.name, anonymous=False, token_kind="operator", org_slug=args.org, org_name=args.org
    )
    db.dispose()
    print(identity.token)
    print(f"token for {args.name!r} in org {identity.org.slug!r} (shown once; stored hashed)", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m arkor.server", description="The arkor training backend.")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("serve", help="run the backend")
    run.add_argument("--host", default="127.0.0.1")
    run.add_argument("--port", type=int, default=8787)
    run.add_argument("--data-dir", help="where the database, datasets and artifacts live (ARKOR_DATA_DIR)")
    run.add_argument("--record", help="write {url, pid, version} JSON here once listening")
    run.add_argument(
        "--executor",
        help="where jobs run: local (default) or ray, or a registered executor's name "
        "(ARKOR_EXECUTOR; ray needs RAY_ADDRESS)",
    )
    run.set_defaults(func=serve)
    token = commands.add_parser("token", help="operator tokens")
    token_commands = token.add_subparsers(dest="token_command", required=True)
    create = token_commands.add_parser(
        "create", help="create a user with a bearer token in an org (created if missing)"
    )
    create.add_argument("--name", required=True)
    create.add_argument("--org", required=True, help="org slug")
    create.add_argument("--data-dir")
    create.set_defaults(func=token_create)
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=os.environ.get("ARKOR_LOG", "INFO").upper(), format="%(asctime)s %(name)s %(levelname)s %(message)s"
    )
    try:
        return args.func(args)
    except ConfigError as exc:  # bad settings (e.g. an unknown ARKOR_EXECUTOR): the message, not a traceback
        print(f"arkor backend: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
