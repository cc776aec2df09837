from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import models
from django.utils import timezone


class Project(models.Model):
    """A body of work: its videos and sequences, who belongs to it, what it may spend.

    With ``SORA_VIDEOS["VISIBILITY"] = "projects"`` a person sees only the projects they belong
    to (directly or through a group); managers and superusers see all.
    """

    name = models.CharField(max_length=120, unique=True)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="sora_projects")
    member_groups = models.ManyToManyField(Group, blank=True, related_name="sora_projects")
    monthly_budget = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True,
                                         help_text="What the project's videos may cost a month (empty: no limit)")
    approval_above = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True,
                                         help_text="A video or sequence costing more waits for a reviewer "
                                                   "(empty: the provider's or the site's threshold)")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
