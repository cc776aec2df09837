from __future__ import annotations

from django.conf import settings
from django.db import models

#: The storyboard parts the prompting guides ask for, in the order they compose.
STRUCTURED_FIELDS: tuple[tuple[str, str], ...] = (
    ("shot", "Shot / camera"),
    ("subject", "Subject"),
    ("action", "Action"),
    ("setting", "Setting"),
    ("lighting", "Lighting"),
    ("style", "Style"),
)


class Prompt(models.Model):
    """A saved prompt: free text, or storyboard fields composed the way the guides advise."""

    title = models.CharField(max_length=200)
    text = models.TextField(blank=True, help_text="Free text; used as is when the structured fields are empty.")
    shot = models.CharField("shot / camera", max_length=500, blank=True, help_text="e.g. Slow dolly forward, 35mm")
    subject = models.CharField(max_length=500, blank=True, help_text="e.g. A gourmet burger on a wooden board")
    action = models.CharField(max_length=500, blank=True, help_text="One clear action, in beats")
    setting = models.CharField(max_length=500, blank=True, help_text="e.g. Rustic kitchen at dusk")
    lighting = models.CharField(max_length=500, blank=True, help_text="e.g. Warm, soft light from above")
    style = models.CharField(max_length=500, blank=True, help_text="e.g. 90s documentary, shallow depth of field")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="sora_prompts"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at"]
        indexes = [models.Index(fields=["owner", "-updated_at"])]

    def __str__(self) -> str:
        return self.title

    def compose(self) -> str:
        """The prompt text to send: style first (so it carries through), then the shot."""
        parts = [getattr(self, name).strip() for name, _ in STRUCTURED_FIELDS]
        if not any(parts):
            return self.text.strip()
        style, rest = parts[-1], parts[:-1]
        sentences = [p.rstrip(".") + "." for p in ([style] if style else []) + rest if p]
        if self.text.strip():
            sentences.append(self.text.strip())
        return " ".join(sentences)
