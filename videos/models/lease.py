from __future__ import annotations

from django.db import models


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
        from django.utils import timezone

        cls.objects.get_or_create(name=name, defaults={"holder": "", "expires_at": timezone.now()})
        cls.objects.select_for_update().filter(name=name).first()

    def __str__(self) -> str:
        return f"{self.name} held by {self.holder} until {self.expires_at:%H:%M:%S}"
