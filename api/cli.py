"""The ``oms`` command: serve, migrate, seed, export-schema, clients, channels, keys, staff
and catalogue files."""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import shutil
import sys
from collections.abc import Callable, Sequence
from typing import Any

from api import database
from api.files import write_private
from api.settings import ConfigurationError, Settings, check_host, check_port, request_bytes
from domain.secrets import configure as configure_hashing


def _admin_token(settings: Settings) -> tuple[str, bool]:
    """The embedded default's admin token, created once under the var folder."""
    path = settings.admin_token_file
    token = secrets.token_urlsafe(32)
    try:
        created = write_private(path, token + "\n")
        path.chmod(0o600)
        return (token if created else path.read_text().strip()), created
    except OSError as error:
        raise ConfigurationError(f"OMS_VAR_DIR: cannot keep the admin token in {path} "
                                 f"({error.strerror or error})") from None


async def _prepare(settings: Settings, *, seed_demo: bool) -> bool:
    """Migrate the embedded database and load the demo data into an empty one."""
    from api.seed import seed_demo_if_empty

    await database.migrate(settings)
    if not seed_demo:
        return False
    await database.connect(settings)
    try:
        return await seed_demo_if_empty()
    finally:
        await database.close()


async def _check(settings: Settings) -> None:
    await database.connect(settings)
    await database.close()


def serve(settings: Settings, *, host: str, port: int, workers: int) -> None:
    import uvicorn

    if workers < 1:
        raise ConfigurationError("--workers must be at least 1")
    if workers > 1 and settings.is_sqlite:
        raise ConfigurationError(
            "--workers above 1 needs PostgreSQL: SQLite cannot take concurrent writers "
            "(set OMS_DATABASE_URL=postgres://...)"
        )
    if settings.is_sqlite:
        seeded = asyncio.run(_prepare(settings, seed_demo=True))
        if seeded:
            print("Loaded the demo catalogue (channel 'web', locations, products and stock).")
    else:
        asyncio.run(_check(settings))
    if settings.admin_token is None and settings.embedded:
        token, created = _admin_token(settings)
        os.environ["OMS_ADMIN_TOKEN"] = token
        where = "Created" if created else "Using"
        print(f"{where} the admin token stored in {settings.admin_token_file}:\n  {token}")
        print(
            f"  curl -s http://{host}:{port}/graphql -H 'Authorization: Bearer {token}' "
            "-H 'Content-Type: application/json' -d '{\"query\":\"{ channels { code name } }\"}'"
        )
    print(f"GraphiQL: http://{host}:{port}/graphql")
    if workers > 1:  # every worker writes its metrics here; any of them answers a scrape
        shared = settings.var_dir / "metrics"
        shutil.rmtree(shared, ignore_errors=True)
        shared.mkdir(parents=True, mode=0o700)
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(shared)
    # Forwarded headers are read by api.addresses, from OMS_TRUSTED_PROXIES only; uvicorn's
    # own reading would believe any client connecting from 127.0.0.1.
    uvicorn.run("api.app:create_app", factory=True, host=host, port=port, workers=workers,
                log_config=None, access_log=False, log_level=settings.log_level.lower(),
                proxy_headers=False, ws_per_message_deflate=settings.ws_per_message_deflate,
                # a websocket message over it is closed with 1009 before it is put together
                ws_max_size=request_bytes(settings.max_document_bytes,
                                          settings.max_variables_bytes))


async def _client_command(settings: Settings, args: argparse.Namespace) -> None:
    from domain.errors import DomainError
    from domain.partners import service

    await database.connect(settings)
    try:
        if args.action == "create":
            channels = [c for c in (args.channels or "").split(",") if c] or None
            client, secret = await service.create_client(
                name=args.name, scopes=[s for s in args.scopes.split(",") if s],
                channels=channels)
            print(f"client_id:     {client.client_id}\nclient_secret: {secret}\n"
                  f"scopes:        {' '.join(client.scopes)}\n"
                  f"channels:      {', '.join(client.channels) if client.channels else 'all'}\n"
                  "The secret is shown once; it is stored hashed.")
        else:
            revoked = await service.revoke_client(client_id=args.client_id)
            print(f"Revoked {revoked.client_id} ({revoked.name}).")
    except DomainError as error:
        raise ConfigurationError(error.message) from None
    finally:
        await database.close()


def _read_password() -> str:
    """Asked twice on a terminal; otherwise the first line of standard input."""
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\n")
    import getpass

    first = getpass.getpass("Password: ")
    if getpass.getpass("Again: ") != first:
        raise ConfigurationError("The passwords differ")
    return first


async def _staff_command(settings: Settings, args: argparse.Namespace) -> None:
    from domain.errors import DomainError
    from domain.staff.accounts import bootstrap_owner

    if settings.is_sqlite:
        await database.migrate(settings)
    await database.connect(settings)
    try:
        member = await bootstrap_owner(email=args.email, name=args.name,
                                       password=_read_password(), force=args.force)
        print(f"Created owner {member.email}: sign in with staffSignIn.")
    except DomainError as error:
        raise ConfigurationError(error.message) from None
    finally:
        await database.close()


def _progress(unit: str) -> Callable[[int, int], None]:
    """A progress bar on standard error."""
    def show(done: int, total: int) -> None:
        width = 30
        filled = width * done // max(total, 1)
        sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} {unit}")
        if done == total:
            sys.stderr.write("\n")
        sys.stderr.flush()
    return show


async def _seed_command(settings: Settings, orders: int) -> None:
    from api.history import seed_history
    from domain.reports.summaries import refresh_all as refresh_summaries

    await _prepare(settings, seed_demo=True)
    if orders:
        await database.connect(settings)
        try:
            await seed_history(orders, progress=_progress("orders"))
            sys.stderr.write("Summarising the history for the reports...\n")
            await refresh_summaries()
        except ValueError as error:
            raise ConfigurationError(str(error)) from None
        finally:
            await database.close()


async def _keys_command(settings: Settings, action: str) -> None:
    from api.tokens import TokenService
    from domain.signing.store import stored

    tokens = TokenService.from_settings(settings)
    if settings.is_sqlite:
        await database.migrate(settings)
    await database.connect(settings)
    try:
        if action == "rotate":
            rotation = await tokens.rotate()
            print(f"New signing key {rotation.kid}: it signs from now on (running servers "
                  f"switch to it within {settings.key_refresh_interval:g} s); older keys keep "
                  "verifying their tokens.")
            for kid in rotation.retired:
                print(f"Retired {kid}: every token it signed has expired.")
        else:
            await tokens.load()
            for number, key in enumerate(await stored()):
                role = "signs" if number == 0 else "verifies"
                print(f"{key.kid}  {key.created_at:%Y-%m-%d %H:%M:%S} UTC  {role}")
    finally:
        await database.close()


async def _reconcile_command(settings: Settings, channel: str) -> None:
    from api.app import make_pushers
    from domain.errors import DomainError
    from domain.marketplaces.sync import reconcile

    await database.connect(settings)
    pushers = make_pushers()
    try:
        fixed = await reconcile(channel=channel, pushers=pushers, progress=_progress("SKUs"))
    except DomainError as error:
        raise ConfigurationError(error.message) from None
    finally:
        for pusher in pushers.values():
            await pusher.close()
        await database.close()
    for drift in fixed:
        print(f"{drift.sku}: marketplace had {drift.theirs}, now {drift.ours}")
    print(f"{len(fixed)} SKU(s) corrected on {channel}.")


async def _catalog_command(settings: Settings, args: argparse.Namespace,
                           text: str | None) -> list[str]:
    """``oms catalog import FILE`` / ``oms catalog export``: the files of
    domain/application/catalog_files.py, with a progress bar on standard error."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from domain.access import ADMIN, Scope
    from domain.application import catalog_files, stock_files
    from domain.catalog.rows import Format
    from domain.errors import DomainError, FileRejected

    path = args.file
    fmt = Format(args.format) if args.format else (
        Format.JSONL if str(path or "").endswith((".jsonl", ".ndjson")) else Format.CSV)
    if settings.is_sqlite:
        await database.migrate(settings)
    await database.connect(settings)
    try:
        if args.action == "export":
            export = (catalog_files.export_products if args.kind == "products"
                      else stock_files.export_stock)
            return list(await export(Scope(ADMIN), fmt))
        assert text is not None
        run = (catalog_files.import_products if args.kind == "products"
               else stock_files.import_stock)
        console = Console(stderr=True)
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                      console=console, transient=False) as bar:
            tasks: dict[str, Any] = {}

            def show(phase: str, done: int, total: int) -> None:
                if phase not in tasks:
                    tasks[phase] = bar.add_task(f"{phase} rows", total=total)
                bar.update(tasks[phase], completed=done, total=total)

            try:
                result = await run(text, fmt, actor="system:cli", source=os.path.basename(path),
                                   progress=show)
            except FileRejected as rejected:
                bar.stop()
                sys.stderr.writelines(f"{path}:{problem}\n" for problem in rejected.problems)
                lines = len({problem.line for problem in rejected.problems})
                raise ConfigurationError(
                    f"{path} was not imported: {lines} bad line(s); nothing was written"
                ) from None
            except DomainError as error:
                raise ConfigurationError(error.message) from None
        print(f"Imported {path}: {result.rows} row(s), {result.created} created, "
              f"{result.changed} changed"
              + (f", {result.products_created} new product(s)" if args.kind == "products"
                 else "") + ".")
        return []
    finally:
        await database.close()


def _catalog(settings: Settings, args: argparse.Namespace) -> None:
    text = None
    if args.action == "import":
        try:
            with open(args.file, encoding="utf-8-sig", newline="") as file:
                text = file.read()
        except (OSError, UnicodeDecodeError) as error:
            raise ConfigurationError(f"cannot read {args.file}: {error}") from None
    lines = asyncio.run(_catalog_command(settings, args, text))
    if args.action == "export":
        if args.file:
            with open(args.file, "w", encoding="utf-8", newline="") as out:
                out.writelines(lines)
        else:
            sys.stdout.writelines(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="oms", description="Headless order management system")
    commands = parser.add_subparsers(dest="command", required=True)
    serve_cmd = commands.add_parser("serve", help="run the API server")
    serve_cmd.add_argument("--host", help="default: OMS_HOST, else 127.0.0.1")
    serve_cmd.add_argument("--port", help="default: OMS_PORT, else 8000")
    serve_cmd.add_argument("--workers", type=int, default=1)
    commands.add_parser("migrate", help="apply pending database migrations")
    seed_cmd = commands.add_parser("seed", help="load data")
    seed_cmd.add_argument("--demo", action="store_true", required=True,
                          help="the demo catalogue, locations and stock")
    seed_cmd.add_argument("--orders", type=int, default=0,
                          help="also add this many orders of history (for reports)")
    commands.add_parser("export-schema", help="print the GraphQL SDL")
    client_cmd = commands.add_parser("client", help="partner apps' OAuth clients")
    client_actions = client_cmd.add_subparsers(dest="action", required=True)
    create_cmd = client_actions.add_parser("create", help="create a client; prints its secret once")
    create_cmd.add_argument("--name", required=True)
    create_cmd.add_argument("--scopes", required=True, help="comma-separated, e.g. orders:read")
    create_cmd.add_argument("--channels", help="comma-separated channel codes (default: all)")
    revoke_cmd = client_actions.add_parser("revoke", help="revoke a client")
    revoke_cmd.add_argument("client_id")
    channels_cmd = commands.add_parser("channels", help="marketplace channels")
    channel_actions = channels_cmd.add_subparsers(dest="action", required=True)
    reconcile_cmd = channel_actions.add_parser(
        "reconcile", help="compare a marketplace's stock with ours and fix the differences")
    reconcile_cmd.add_argument("channel")
    keys_cmd = commands.add_parser("keys", help="the keys that sign access tokens")
    keys_actions = keys_cmd.add_subparsers(dest="action", required=True)
    keys_actions.add_parser("rotate", help="add a key that signs from now on; drop keys whose "
                                           "tokens have all expired")
    keys_actions.add_parser("list", help="the current keys, the one that signs first")
    staff_cmd = commands.add_parser("staff", help="staff accounts")
    staff_actions = staff_cmd.add_subparsers(dest="action", required=True)
    staff_create = staff_actions.add_parser(
        "create", help="create the first owner (password asked, or read from standard input)")
    staff_create.add_argument("--email", required=True)
    staff_create.add_argument("--name")
    staff_create.add_argument("--force", action="store_true",
                              help="add an owner even though one exists")
    catalog_cmd = commands.add_parser("catalog", help="import and export products and stock")
    catalog_actions = catalog_cmd.add_subparsers(dest="action", required=True)
    import_cmd = catalog_actions.add_parser(
        "import", help="check a file row by row, then write all of it or none of it")
    import_cmd.add_argument("file")
    export_cmd = catalog_actions.add_parser("export", help="write a file that imports back")
    export_cmd.add_argument("--output", "-o", dest="file", help="default: standard output")
    for cmd in (import_cmd, export_cmd):
        cmd.add_argument("--kind", choices=["products", "stock"], required=True)
        cmd.add_argument("--format", choices=["csv", "jsonl"],
                         help="default: from the file's extension, else csv")
    args = parser.parse_args(argv)

    try:
        settings = Settings.from_env()
        configure_hashing(settings.password_hash)  # for the commands that hash (staff, client)
        if args.command == "serve":
            host = settings.host if args.host is None else check_host(args.host, "--host")
            port = settings.port if args.port is None else check_port(args.port, "--port")
            serve(settings, host=host, port=port, workers=args.workers)
        elif args.command == "migrate":
            asyncio.run(database.migrate(settings))
            print("Migrations applied.")
        elif args.command == "seed":
            if args.orders < 0:
                parser.error("--orders must be 0 or more")
            asyncio.run(_seed_command(settings, args.orders))
            print("Demo data is loaded." + (f" {args.orders} orders of history added."
                                            if args.orders else ""))
        elif args.command == "client":
            asyncio.run(_client_command(settings, args))
        elif args.command == "staff":
            asyncio.run(_staff_command(settings, args))
        elif args.command == "keys":
            asyncio.run(_keys_command(settings, args.action))
        elif args.command == "channels":
            asyncio.run(_reconcile_command(settings, args.channel))
        elif args.command == "catalog":
            _catalog(settings, args)
        elif args.command == "export-schema":
            from api.graphql.schema import export_sdl

            sys.stdout.write(export_sdl())
    except ConfigurationError as error:
        print(f"oms: error: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    except KeyboardInterrupt:
        raise SystemExit(130) from None
