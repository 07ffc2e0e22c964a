"""``keys new | status | rotate --new-key-file F``: the master key that encrypts the workspace at rest.

``keys new`` prints a fresh key on its last line (keep it in a secrets manager or a file only you can read, and set
``RISKBOARD_DATA_KEY`` or ``RISKBOARD_DATA_KEY_FILE``). ``keys rotate`` re-wraps every data key under the new key
without rewriting any data file; afterwards point ``RISKBOARD_DATA_KEY_FILE`` at the new key.
``keys encrypt-workspace`` seals, in place, the row-level files written before a key was set (resumable: run it
again after an interruption); ``keys status`` counts the ones still in plaintext.
"""

from __future__ import annotations

import argparse
import sys

from core.cli._common import emit_json, json_flag, settings_home


def _cmd_new(args: argparse.Namespace) -> int:
    from core.security.keys import new_master_key

    key = new_master_key()
    if args.json:
        emit_json({"key": key})
        return 0
    print("a new master key (32 random bytes, base64); keep it secret and set RISKBOARD_DATA_KEY or "
          "RISKBOARD_DATA_KEY_FILE to it:", file=sys.stderr)
    print(key)
    return 0


def _cmd_status(args: argparse.Namespace) -> int:
    from core.data.encrypt_existing import plaintext_files
    from core.security.at_rest import keyring, master_fingerprint

    home = settings_home()
    ring = keyring(home)
    plain = plaintext_files(home)
    payload = {"encrypted": ring.encrypted(), "expected_fingerprint": ring.expected_fingerprint(),
               "key_set_fingerprint": master_fingerprint(), "data_keys": len(ring.key_ids()),
               "plaintext_files": len(plain)}
    if args.json:
        emit_json(payload)
        return 0
    if not payload["encrypted"]:
        print("this workspace is not encrypted" + (" yet (a key is set: new files are encrypted)"
                                                   if payload["key_set_fingerprint"] else "; set RISKBOARD_DATA_KEY"))
    else:
        print(f"encrypted with master key {payload['expected_fingerprint']}; {payload['data_keys']} data keys; "
              f"the key set here is {payload['key_set_fingerprint'] or 'none'}")
    if plain and (payload["encrypted"] or payload["key_set_fingerprint"]):
        print(f"{len(plain)} row-level file(s) are still plaintext (first: {plain[0]}); run "
              "`python -m core keys encrypt-workspace`")
    return 0


def _cmd_encrypt(args: argparse.Namespace) -> int:
    from core.data.encrypt_existing import encrypt_workspace

    sweep = encrypt_workspace(settings_home())
    if args.json:
        emit_json(sweep.to_dict())
    else:
        print(f"sealed {len(sweep.sealed)} file(s); removed {len(sweep.removed)} stale temp file(s)"
              + (f"; still plaintext (in use, or could not be removed): {', '.join(sweep.left)}" if sweep.left
                 else "; no plaintext row-level file is left"))
    return 0


def _cmd_rotate(args: argparse.Namespace) -> int:
    from core.security import activity
    from core.security.at_rest import keyring
    from core.security.crypto import fingerprint
    from core.security.keys import read_key_file

    home = settings_home()
    new_key = read_key_file(args.new_key_file)
    ring = keyring(home)
    old = ring.expected_fingerprint()
    count = ring.rotate(new_key)
    new = fingerprint(new_key)
    activity.append(home, "key_rotated", "keyring", {"from": old, "to": new, "data_keys": count})
    if args.json:
        emit_json({"rotated": count, "from": old, "to": new})
    else:
        print(f"re-wrapped {count} data keys under {new}; now set RISKBOARD_DATA_KEY_FILE={args.new_key_file}")
    return 0


def register(sub) -> None:
    group = sub.add_parser("keys", help="make, inspect or rotate the master key for encryption at rest")
    actions = group.add_subparsers(dest="action", required=True, parser_class=type(group))
    new = actions.add_parser("new", parents=[json_flag()], help="print a fresh master key on the last line")
    new.set_defaults(func=_cmd_new)
    status = actions.add_parser("status", parents=[json_flag()], help="is the workspace encrypted, and with what key")
    status.set_defaults(func=_cmd_status)
    rotate = actions.add_parser("rotate", parents=[json_flag()], help="re-wrap every data key under a new key")
    rotate.add_argument("--new-key-file", required=True, help="file holding the new key (from `keys new`)")
    rotate.set_defaults(func=_cmd_rotate)
    encrypt = actions.add_parser("encrypt-workspace", parents=[json_flag()],
                                 help="seal the files written before a key was set (resumable)")
    encrypt.set_defaults(func=_cmd_encrypt)
