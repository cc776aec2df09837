"""Forms of the admin studio: the shared request forms (:mod:`videos.forms`) with the admin's widgets."""
from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.admin.widgets import AutocompleteSelect

from .. import forms as shared
from ..forms import ExtendForm, NewPromptForm, RejectForm, VideoSettingsForm
from ..models import VideoJob

__all__ = ["ExtendForm", "GenerateForm", "NewPromptForm", "ReferenceUploadForm", "RejectForm", "VideoSettingsForm"]


class GenerateForm(shared.GenerateForm):
    """The Generate page's form: saved prompts picked with the admin's autocomplete."""

    def __init__(self, *args: Any, admin_site: admin.AdminSite | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if admin_site is not None:
            field = self.fields["saved_prompt"]
            field.widget = AutocompleteSelect(VideoJob._meta.get_field("prompt"), admin_site)
            field.widget.choices = field.choices


class ReferenceUploadForm(forms.Form):
    image = forms.FileField(
        label="Image", widget=forms.ClearableFileInput(attrs={"accept": "image/jpeg,image/png,image/webp"}),
        help_text="JPEG, PNG or WebP. It is checked, stored upright (EXIF applied) and kept once per content.",
    )
