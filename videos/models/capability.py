from __future__ import annotations

from django.db import models


class ProviderCapability(models.Model):
    """One thing learned about what a provider's server can do, and when and how it was learned.

    Rows are facts from the server's own answers (a 405 on DELETE, a thumbnail answered
    with an MP4, the models ``GET /models`` lists); settings pins and the dialect's
    defaults are not stored (see :mod:`videos.capabilities`).
    """

    provider = models.CharField(max_length=64)
    #: ``remix``, ``edit``, ``extend``, ``delete``, ``list``, ``variants``, ``sync`` or ``models``.
    feature = models.CharField(max_length=32)
    supported = models.BooleanField()
    #: For ``models``: the model ids the server listed.
    value = models.JSONField(default=list, blank=True)
    evidence = models.TextField(blank=True, help_text="The answer it was learned from")
    learned_at = models.DateTimeField()

    class Meta:
        verbose_name = "provider capability"
        verbose_name_plural = "providers: what each can do"
        ordering = ["provider", "feature"]
        constraints = [
            models.UniqueConstraint(fields=["provider", "feature"], name="sora_capability_once"),
        ]

    def __str__(self) -> str:
        return f"{self.provider}: {self.feature} {'yes' if self.supported else 'no'}"
