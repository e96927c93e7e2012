"""Re-encrypt every registered stored secret under the newest key of FIELD_ENCRYPTION_KEYS.

Run it after putting a new key first (FIELD_ENCRYPTION_KEYS=new,old); when it reports nothing
unreadable, the old key can be dropped. Rows are read in batches by primary key; the ones not yet under
the newest key are locked, read again and rewritten in one transaction per batch (a secret rotated
meanwhile is re-read, never overwritten with a stale value). `updated_at` is left alone: nothing a user
sees changed. Running it twice rewrites nothing the second time. Never prints a secret.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import models, transaction

from secretbox.box import SecretBoxError, decrypt, is_current, reencrypt
from secretbox.registry import EncryptedField, registered


@dataclass
class Tally:
    current: int = 0  # already under the newest key
    stale: int = 0  # readable, under an older key or a legacy derivation (--check only)
    rewritten: int = 0
    unreadable: int = 0


def _batches(model: type[models.Model], field_name: str, size: int) -> Iterator[list[tuple[Any, str]]]:
    manager = model._base_manager
    last_pk = None
    while True:
        queryset = manager.order_by("pk")
        if last_pk is not None:
            queryset = queryset.filter(pk__gt=last_pk)
        rows = list(queryset.values_list("pk", field_name)[:size])
        if not rows:
            return
        yield rows
        last_pk = rows[-1][0]


class Command(BaseCommand):
    help = (
        "Re-encrypt every registered stored secret under the newest key in FIELD_ENCRYPTION_KEYS. "
        "With --check, rewrite nothing and fail if any value does not decrypt with the current keys."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--check",
            action="store_true",
            help="Rewrite nothing; exit non-zero if a stored secret does not decrypt with the current keys.",
        )
        parser.add_argument("--batch-size", type=int, default=500, help="Rows per transaction (default 500).")

    def handle(self, *args: Any, check: bool, batch_size: int, **options: Any) -> None:
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        unreadable: list[tuple[EncryptedField, Any]] = []
        for field in registered():
            tally = (
                self._check(field, batch_size, unreadable)
                if check
                else self._rewrite(field, batch_size, unreadable)
            )
            self.stdout.write(self._describe(field, tally, check=check))
        for field, pk in unreadable:
            self.stderr.write(f"{field} pk={pk}: does not decrypt with the keys in FIELD_ENCRYPTION_KEYS")
        if unreadable:
            raise CommandError(
                f"{len(unreadable)} stored secret(s) do not decrypt with the current keys (listed above). "
                "Add the key they were written with to FIELD_ENCRYPTION_KEYS (after the newest) and run "
                "`manage.py reencrypt_secrets`, or set those secrets again."
            )

    def _check(self, field: EncryptedField, batch_size: int, unreadable: list) -> Tally:
        tally = Tally()
        for rows in _batches(field.model, field.field_name, batch_size):
            for pk, token in rows:
                if not token:
                    continue
                if is_current(token, purpose=field.purpose):
                    tally.current += 1
                    continue
                try:
                    decrypt(token, purpose=field.purpose)  # the plaintext is dropped at once
                except SecretBoxError:
                    tally.unreadable += 1
                    unreadable.append((field, pk))
                else:
                    tally.stale += 1
        return tally

    def _rewrite(self, field: EncryptedField, batch_size: int, unreadable: list) -> Tally:
        tally = Tally()
        manager = field.model._base_manager
        for rows in _batches(field.model, field.field_name, batch_size):
            stale_pks = []
            for pk, token in rows:
                if token and not is_current(token, purpose=field.purpose):
                    stale_pks.append(pk)
                elif token:
                    tally.current += 1
            if not stale_pks:
                continue
            with transaction.atomic():
                locked = (
                    manager.select_for_update()
                    .filter(pk__in=stale_pks)
                    .order_by("pk")
                    .values_list("pk", field.field_name)
                )
                for pk, token in locked:
                    if not token:  # emptied since the batch was read
                        continue
                    try:
                        new_token = reencrypt(token, purpose=field.purpose)
                    except SecretBoxError:
                        tally.unreadable += 1
                        unreadable.append((field, pk))
                        continue
                    if new_token == token:  # rewritten by someone else since the batch was read
                        tally.current += 1
                        continue
                    manager.filter(pk=pk).update(**{field.field_name: new_token})
                    tally.rewritten += 1
        return tally

    @staticmethod
    def _describe(field: EncryptedField, tally: Tally, *, check: bool) -> str:
        if check:
            parts = [f"{tally.current} under the newest key", f"{tally.stale} to re-encrypt"]
        else:
            parts = [f"{tally.rewritten} rewritten", f"{tally.current} already under the newest key"]
        if tally.unreadable:
            parts.append(f"{tally.unreadable} unreadable")
        return f"{field}: {', '.join(parts)}"
