"""Forms of the admin's sequence pages: the Generate sequence page (settings + a formset of
shots) and the Replace shot page. They collect input; videos.sequences validates it."""
from __future__ import annotations

from typing import Any

from django import forms

from .. import conf
from ..exceptions import SoraVideosError
from ..forms import MultipleFileField, VideoSettingsForm, by_number
from ..models import ReferenceImage

#: The most shots one sequence can be given on the page.
MAX_SHOTS = 20
IMAGE_ACCEPT = "image/jpeg,image/png,image/webp"
FITS = [("crop", "Crop to fill"), ("letterbox", "Letterbox (black bars)")]


def all_seconds() -> list[str]:
    try:
        configs = conf.providers().values()
    except SoraVideosError:
        return []
    return by_number({s for config in configs for m in config.models.values() for s in m.seconds})


class SequenceSettingsForm(VideoSettingsForm):
    """Title, provider, model, size, the default length of a shot, and how images are fitted."""

    title = forms.CharField(
        max_length=200, required=False,
        help_text="Shown in the gallery and the admin; the first shot's prompt when left empty.",
        widget=forms.TextInput(attrs={"size": 60}),
    )
    fit = forms.ChoiceField(label="Fit", choices=FITS, widget=forms.RadioSelect, required=False,
                            help_text="How a reference image of another size is fitted to the video size.")
    images = MultipleFileField(
        label="Images, one shot each", required=False,
        help_text="Choose several at once: they start the shots below in order (shots without an image of "
                  "their own); a shot without a prompt takes the first shot's.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["seconds"].label = "Seconds per shot"
        self.fields["seconds"].help_text = "Each shot's length, unless the shot says otherwise."
        self.fields["fit"].initial = conf.get("REFERENCE_FIT")
        self.order_fields(["title", "provider", "model", "size", "seconds", "fit", "images"])


class ShotForm(forms.Form):
    """One shot: a prompt, an optional first frame, an optional length of its own."""

    prompt = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text="What happens in this shot; describe the camera too (the shots are joined in order).",
    )
    image = forms.FileField(
        label="Reference image", required=False, widget=forms.ClearableFileInput(attrs={"accept": IMAGE_ACCEPT}),
        help_text="Optional first frame: JPEG, PNG or WebP.",
    )
    reference_image = forms.ModelChoiceField(ReferenceImage.objects.all(), required=False, widget=forms.HiddenInput)
    clear_image = forms.BooleanField(label="Remove the kept image", required=False)
    seconds = forms.CharField(required=False, widget=forms.Select, label="Seconds")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["seconds"].widget.choices = [("", "Default")] + [(s, f"{s} s") for s in all_seconds()]
        self.fields["seconds"].widget.attrs["data-sora-shot-seconds"] = "1"

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        has_image = bool(data.get("image")) or (data.get("reference_image") is not None and not data.get("clear_image"))
        if not (data.get("prompt") or "").strip() and (has_image or data.get("seconds")):
            self.add_error("prompt", "Write a prompt for this shot, or clear the row.")
        return data

    @property
    def filled(self) -> bool:
        return bool(getattr(self, "cleaned_data", None) and (self.cleaned_data.get("prompt") or "").strip())

    def kept_image(self) -> ReferenceImage | None:
        """The stored reference image this shot will use (after an upload or a previous attempt)."""
        data = getattr(self, "cleaned_data", None) or {}
        if data.get("clear_image"):
            return None
        return data.get("reference_image")

    def kept_preview(self) -> ReferenceImage | None:
        """The kept image to show on the page (from the bound data, valid or not)."""
        value = self.data.get(self.add_prefix("reference_image")) if self.is_bound else None
        if not value or not str(value).isdigit() or self.data.get(self.add_prefix("clear_image")):
            return None
        return ReferenceImage.objects.filter(pk=int(value)).first()


ShotFormSet = forms.formset_factory(
    ShotForm, extra=3, max_num=MAX_SHOTS, absolute_max=MAX_SHOTS, validate_max=True,
)


class ReplaceShotForm(forms.Form):
    """A shot's new prompt, image or length (a new job renders it; the other shots stay)."""

    prompt = forms.CharField(widget=forms.Textarea(attrs={"rows": 4, "cols": 80}), required=False,
                             help_text="Leave it as it is to keep the prompt.")
    image = forms.FileField(
        label="New reference image", required=False, widget=forms.ClearableFileInput(attrs={"accept": IMAGE_ACCEPT}),
        help_text="Optional: a new first frame (JPEG, PNG or WebP).",
    )
    drop_image = forms.BooleanField(label="Remove the reference image", required=False)
    seconds = forms.CharField(widget=forms.Select, label="Seconds")

    def __init__(self, *args: Any, seconds_choices: list[str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = seconds_choices or all_seconds()
        self.fields["seconds"].widget.choices = [(s, f"{s} s") for s in choices]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("image") and data.get("drop_image"):
            self.add_error("drop_image", "Upload a new image or remove it, not both.")
        return data
