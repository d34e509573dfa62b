"""The ``observatory`` command."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="observatory", description="Integrating Cities Observatory")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("up", help="start the local warehouse (unless OBSERVATORY_WAREHOUSE_DSN is set)")
    commands.add_parser("down", help="stop the local warehouse")
    dsn_command = commands.add_parser("dsn", help="print the connection string of the warehouse in use")
    dsn_command.add_argument(
        "--reader", action="store_true", help="the read-only bi_reader's connection string (for BI tools)"
    )
    commands.add_parser("env", help="print shell exports for dbt and Airflow against the warehouse in use")
    commands.add_parser("demo", help="run every DAG once on the bundled sample data and print what the marts hold")
    commands.add_parser("summary", help="print one line per mart: 'mart <schema>.<table> rows=<N>'")
    commands.add_parser("health", help="print the latest daily data-health summary (audit.data_health)")
    freshness_command = commands.add_parser(
        "freshness-sources", help="write the registry's freshness thresholds into dbt's source file"
    )
    freshness_command.add_argument("--check", action="store_true", help="exit 1 if the file is not up to date")
    sources = commands.add_parser(
        "sources", help="list what a collection of the registry's entries would fetch (nothing is fetched)"
    )
    chosen = sources.add_mutually_exclusive_group()
    chosen.add_argument("--live", action="store_true", help="the live profile: the publishers' real URLs")
    chosen.add_argument("--profile", help="a registry profile (demo, live, all); default OBSERVATORY_REGISTRY_PROFILE")
    extract = commands.add_parser("extract", help="print the facts found in documents as JSON Lines")
    extract.add_argument("paths", nargs="+")
    parse = commands.add_parser(
        "parse", help="parse a local file with registry-style options: rows as JSON Lines, rejected records on stderr"
    )
    parse.add_argument("format", help="a registry format: jsonstat, eurostat_tsv, funding_csv, ics, ...")
    parse.add_argument("file")
    parse.add_argument("--option", action="append", default=[], metavar="KEY=VALUE", help="a parse option (repeatable)")
    args = parser.parse_args(argv)

    from observatory.config.settings import Settings
    from observatory.warehouse import connection

    try:
        if args.command in ("up", "dsn"):
            from observatory.warehouse.bootstrap import ensure_warehouse

            conninfo = ensure_warehouse()
            print(connection.reader_dsn() if getattr(args, "reader", False) else conninfo)
        elif args.command == "down":
            print("stopped" if connection.stop_local() else "not running")
        elif args.command == "env":
            from observatory.warehouse.connection import dbt_env

            conninfo = connection.dsn()
            for name, value in {connection.DSN_ENV: conninfo, **dbt_env(conninfo)}.items():
                print(f"export {name}='{value}'")
        elif args.command == "demo":
            try:
                from observatory_dev.demo import run_demo
            except ModuleNotFoundError:  # the production image installs the runtime package only
                print(
                    "observatory demo: the demo is development tooling (src/observatory_dev): run it from a "
                    "checkout with `make demo`",
                    file=sys.stderr,
                )
                return 1
            run_demo()
        elif args.command == "summary":
            from observatory.reporting.summary import print_summary

            with connection.connect() as conn:
                print_summary(conn)
        elif args.command == "health":
            from observatory.quality.health import print_health

            with connection.connect() as conn:
                print_health(conn)
        elif args.command == "freshness-sources":
            from observatory.quality import freshness

            settings = Settings.from_env()
            if args.check:
                if not freshness.dbt_sources_up_to_date(settings):
                    print(f"{settings.dbt_sources_path} is stale: run `observatory freshness-sources`", file=sys.stderr)
                    return 1
                print(f"{settings.dbt_sources_path} is up to date")
            else:
                print(freshness.write_dbt_sources(settings))
        elif args.command == "sources":
            from observatory.config.listing import source_lines

            for line in source_lines(Settings.from_env(), "live" if args.live else args.profile):
                print(line)
        elif args.command == "extract":
            from observatory.extract.cli import run

            return run(args.paths)
        elif args.command == "parse":
            from observatory.parse.cli import run as run_parse

            return run_parse(args.format, args.file, args.option)
    except Exception as exc:  # the command's user gets one clear line, not a traceback
        print(f"observatory {args.command}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
