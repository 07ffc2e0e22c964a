"""``users add | list | passwd | role | remove``: the people who may sign in to the app (``RISKBOARD_AUTH=password``).

Passwords come from stdin (``--password-stdin``, one line) or are asked twice without echo; they never appear in
arguments, the shell history or the activity log.
"""

from __future__ import annotations

import argparse
import getpass
import sys

from core.cli._common import emit_json, json_flag, settings_home
from core.errors import SignInError

MISMATCH = "the two passwords differ; run the command again."
NO_STDIN = "no password on stdin; pipe one line into --password-stdin."


def read_password(from_stdin: bool) -> str:
    """One line from stdin, or a password typed twice without echo."""
    if from_stdin:
        line = sys.stdin.readline()
        if not line:
            raise SignInError(NO_STDIN)
        return line.rstrip("\r\n")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Repeat the password: ") != first:
        raise SignInError(MISMATCH)
    return first


def _cmd_add(args: argparse.Namespace) -> int:
    from core.security import users

    user = users.add_user(settings_home(), args.name, args.role, read_password(args.password_stdin))
    emit_json(user.to_dict()) if args.json else print(f"added {user.name} as {user.role}")
    return 0


def _cmd_list(args: argparse.Namespace) -> int:
    from core.security import users

    found = users.list_users(settings_home())
    if args.json:
        emit_json({"users": [u.to_dict() for u in found]})
        return 0
    if not found:
        print("no users yet; add one with `python -m core users add NAME --role editor`")
    for user in found:
        print(f"{user.name:<32} {user.role:<7} added {user.created_at}  changed {user.changed_at}")
    return 0


def _cmd_passwd(args: argparse.Namespace) -> int:
    from core.security import users

    users.set_password(settings_home(), args.name, read_password(args.password_stdin))
    emit_json({"name": args.name, "changed": True}) if args.json else print(f"changed the password of {args.name}")
    return 0


def _cmd_role(args: argparse.Namespace) -> int:
    from core.security import users

    user = users.set_role(settings_home(), args.name, args.role)
    emit_json(user.to_dict()) if args.json else print(f"{user.name} is now {user.role}")
    return 0


def _cmd_remove(args: argparse.Namespace) -> int:
    from core.security import users

    users.remove_user(settings_home(), args.name)
    emit_json({"name": args.name, "removed": True}) if args.json else print(f"removed {args.name}")
    return 0


def register(sub) -> None:
    group = sub.add_parser("users", help="add, list, change or remove the people who may sign in")
    actions = group.add_subparsers(dest="action", required=True, parser_class=type(group))
    add = actions.add_parser("add", parents=[json_flag()], help="add a user (asks for the password twice)")
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=("editor", "viewer"))
    add.add_argument("--password-stdin", action="store_true", help="read the password from one line of stdin")
    add.set_defaults(func=_cmd_add)
    listing = actions.add_parser("list", parents=[json_flag()], help="list users and roles (never hashes)")
    listing.set_defaults(func=_cmd_list)
    passwd = actions.add_parser("passwd", parents=[json_flag()], help="set a user's password")
    passwd.add_argument("name")
    passwd.add_argument("--password-stdin", action="store_true", help="read the password from one line of stdin")
    passwd.set_defaults(func=_cmd_passwd)
    role = actions.add_parser("role", parents=[json_flag()], help="make a user an editor or a viewer")
    role.add_argument("name")
    role.add_argument("--role", required=True, choices=("editor", "viewer"))
    role.set_defaults(func=_cmd_role)
    remove = actions.add_parser("remove", parents=[json_flag()], help="remove a user")
    remove.add_argument("name")
    remove.set_defaults(func=_cmd_remove)
