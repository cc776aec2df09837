from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, models, transaction
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
        cls.objects.get_or_create(name=name, defaults={"holder": "", "expires_at": timezone.now()})
        cls.objects.select_for_update().filter(name=name).first()

    @classmethod
    def acquire(cls, name: str, holder: str, ttl: float) -> bool:
        """Take or renew the lease for ``ttl`` seconds; False while another live holder has it."""
        now = timezone.now()
        expires = now + dt.timedelta(seconds=ttl)
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
    def release(cls, name: str, holder: str) -> None:
        cls.objects.filter(name=name, holder=holder).delete()

    @classmethod
    def held(cls, name: str) -> bool:
        """Whether someone holds the lease now (it has not run out)."""
        return cls.objects.filter(name=name, expires_at__gte=timezone.now()).exists()

    def __str__(self) -> str:
        return f"{self.name} held by {self.holder} until {self.expires_at:%H:%M:%S}"
