"""``log [--run ID] [--actor NAME] [--action A] [--json] | log --verify``: the activity log (who did what).

``--verify`` walks the hash chain and checks the head recorded outside the log table (and any ``--head SEQ:HASH``
copied from a report): exit 0 when it is intact, 1 when an entry was changed, removed (the newest ones too) or
reordered (the first bad or missing ``seq`` is named).
"""

from __future__ import annotations

import argparse

from core.cli._common import emit_json, json_flag, settings_home
from core.errors import ConfigError


def _cmd_log(args: argparse.Namespace) -> int:
    from core.security import activity

    home = settings_home()
    if args.head and not args.verify:
        raise ConfigError("--head is a head to check the log against; use it with --verify.")
    if args.verify:
        try:
            heads = [activity.parse_head(text) for text in args.head or []]
        except ValueError as exc:
            raise ConfigError(f"--head {str(exc)[:80]!r} is not SEQ:HASH (a number, a colon and 64 hex digits, as "
                              "the report's Accountability section prints it).") from None
        result = activity.verify(home, heads)
        if args.json:
            emit_json({"ok": result.ok, "entries": result.entries, "head": result.head, "head_seq": result.head_seq,
                       "first_bad_seq": result.first_bad_seq, "reason": result.reason})
        elif result.ok:
            print(f"the activity log is intact: {result.entries} entries, head {result.head_seq}:{result.head}")
        else:
            print(f"the activity log was altered at entry {result.first_bad_seq}: {result.reason}")
        return 0 if result.ok else 1
    if args.action and args.action not in activity.ACTIONS:
        raise ConfigError(activity.UNKNOWN_ACTION.format(action=args.action, choices=", ".join(activity.ACTIONS)))
    found = activity.entries(home, run=args.run, actor=args.actor, action=args.action)
    if args.json:
        emit_json({"entries": [e.to_dict() for e in found], "head": activity.head(home)})
        return 0
    if not found:
        print("no activity matches")
    for e in found:
        details = " ".join(f"{k}={v}" for k, v in e.details.items())
        print(f"{e.seq:>6}  {e.at}  {e.actor:<24} {e.action:<18} {e.subject}  {details}".rstrip())
    return 0


def register(sub) -> None:
    parser = sub.add_parser("log", parents=[json_flag()], help="list the activity log, or --verify its hash chain")
    parser.add_argument("--run", help="only entries about this run")
    parser.add_argument("--actor", help="only entries by this user (cli:<user> for the command line)")
    parser.add_argument("--action", help="only this action (sign_in, run_started, dataset_deleted, ...)")
    parser.add_argument("--verify", action="store_true", help="check the hash chain; exit 1 if it was altered")
    parser.add_argument("--head", action="append", metavar="SEQ:HASH",
                        help="with --verify: also check a head copied from a report (repeatable)")
    parser.set_defaults(func=_cmd_log)
