from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, connections, models, router, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Q
from django.utils import timezone


class Lease(models.Model):
    """A named, expiring lock shared by every worker through the database.

    Used so only one tracking sweep per provider runs at a time; a crashed holder's lease
    simply runs out.
    """

    name = models.CharField(max_length=100, primary_key=True)
    holder = models.CharField(max_length=100)
    expires_at = models.DateTimeField()

    @classmethod
    def lock(cls, name: str) -> None:
        """Serialize on this row until the current transaction ends.

        A row lock on PostgreSQL; on SQLite the write lock taken at BEGIN IMMEDIATE does
        the same. Call inside ``transaction.atomic()``.
        """
        if cls.objects.select_for_update().filter(name=name).exists():  # the row is there (but once): locked
            return
        cls.objects.get_or_create(name=name, defaults={"holder": "", "expires_at": timezone.now()})
        cls.objects.select_for_update().filter(name=name).exists()

    @classmethod
    def acquire(cls, name: str, holder: str, ttl: float) -> bool:
        """Take or renew the lease for ``ttl`` seconds; False while another live holder has it.

        One statement where the database has ``INSERT ... ON CONFLICT DO UPDATE ... WHERE``
        (PostgreSQL, SQLite): a burst of callers for a held lease (one per job made) costs a
        statement each, not an UPDATE, an INSERT and a rolled-back savepoint.
        """
        now = timezone.now()
        expires = now + dt.timedelta(seconds=ttl)
        db = connections[router.db_for_write(cls)]
        if db.vendor in ("postgresql", "sqlite"):
            return cls._upsert(db, name, holder, now, expires)
        if cls.objects.filter(name=name).filter(Q(expires_at__lt=now) | Q(holder=holder)).update(
            holder=holder, expires_at=expires
        ):
            return True
        try:
            with transaction.atomic():
                cls.objects.create(name=name, holder=holder, expires_at=expires)
            return True
        except IntegrityError:
            return False

    @classmethod
    def _upsert(cls, db: BaseDatabaseWrapper, name: str, holder: str, now: dt.datetime, expires: dt.datetime) -> bool:
        table, quote = db.ops.quote_name(cls._meta.db_table), db.ops.quote_name
        prep = cls._meta.get_field("expires_at").get_db_prep_save
        name_, holder_, expires_ = quote("name"), quote("holder"), quote("expires_at")
        sql = (f"INSERT INTO {table} ({name_}, {holder_}, {expires_}) VALUES (%s, %s, %s) "
               f"ON CONFLICT ({name_}) DO UPDATE SET {holder_} = excluded.{holder_}, {expires_} = excluded.{expires_} "
               f"WHERE {table}.{expires_} < %s OR {table}.{holder_} = excluded.{holder_}")
        with db.cursor() as cursor:
            cursor.execute(sql, [name, holder, prep(expires, db), prep(now, db)])
            return cursor.rowcount == 1

    @classmethod
    def release(cls, name: str, holder: str) -> None:
        cls.objects.filter(name=name, holder=holder).delete()

    @classmethod
    def held(cls, name: str) -> bool:
        """Whether someone holds the lease now (it has not run out)."""
        return cls.objects.filter(name=name, expires_at__gte=timezone.now()).exists()

    def __str__(self) -> str:
        return f"{self.name} held by {self.holder} until {self.expires_at:%H:%M:%S}"
