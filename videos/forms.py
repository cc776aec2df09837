"""The forms that collect a video request, shared by the admin and the gallery.

They collect input; :mod:`videos.services` validates it (one source of truth). The page's
script narrows the choices with :func:`model_table` and the services check them again.
"""
from __future__ import annotations

from typing import Any

from django import forms

from . import capabilities, conf
from .models import Project, Prompt, ReferenceImage
from .models.prompt import STRUCTURED_FIELDS


def model_table() -> dict[str, Any]:
    """The configured providers' model tables, for the page's JSON (no URLs, no keys)."""
    providers: dict[str, Any] = {}
    for name, config in conf.providers().items():
        providers[name] = {
            "emulator": config.emulator,
            "dialect": config.dialect,
            "features": capabilities.features(config),
            "default_model": config.default_model,
            "models": {
                spec.name: {
                    "sizes": list(spec.sizes),
                    "seconds": list(spec.seconds),
                    "prices": {size: str(price) for size, price in spec.prices.items()},
                    "extra_params": list(spec.named_extra_params),
                    "any_extra": spec.any_extra,
                    "open_sizes": spec.open_sizes, "min_side": spec.min_side, "max_side": spec.max_side,
                    "open_seconds": spec.open_seconds, "max_seconds": spec.max_seconds,
                    "extend_seconds": list(spec.extend_seconds),
                }
                for spec in config.models.values()
            },
        }
    return {"currency": conf.get("CURRENCY"), "default_provider": conf.provider().name, "providers": providers}


def by_number(values: set[str]) -> list[str]:
    return sorted(values, key=lambda v: (len(v), v))


def _by_area(sizes: set[str]) -> list[str]:
    def key(size: str) -> tuple[int, int, str]:
        w, _, h = size.partition("x")
        return (int(w) * int(h), int(w), size)

    return sorted(sizes, key=key)


class VideoSettingsForm(forms.Form):
    """Provider, model, size and seconds. Offers every configured value; the page's script
    narrows the choices to what the chosen provider's model allows, and the services
    check the combination on the server whatever the browser sent."""

    provider = forms.CharField(widget=forms.Select)
    model = forms.CharField(widget=forms.Select)
    size = forms.CharField(widget=forms.Select)
    seconds = forms.CharField(widget=forms.Select)
    custom_size = forms.CharField(
        label="Other size", required=False, max_length=11, widget=forms.TextInput(attrs={"placeholder": "1000x562"}),
        help_text="Any WIDTHxHEIGHT: this server takes sizes no list names.",
    )
    custom_seconds = forms.IntegerField(
        label="Other length", required=False, min_value=1, help_text="Any whole number of seconds this server takes.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        configs = conf.providers()
        default = conf.provider()
        spec = default.model(None)
        self.fields["provider"].widget.choices = [
            (name, config.display_name + (" (emulator)" if config.emulator else "")) for name, config in configs.items()
        ]
        models = {m for config in configs.values() for m in config.models}
        sizes = {s for config in configs.values() for m in config.models.values() for s in m.sizes}
        seconds = {s for config in configs.values() for m in config.models.values() for s in m.seconds}
        self.fields["model"].widget.choices = [(m, m) for m in sorted(models)]
        self.fields["size"].widget.choices = [(s, s) for s in _by_area(sizes)]
        self.fields["seconds"].widget.choices = [(s, f"{s} s") for s in by_number(seconds)]
        self.fields["provider"].initial = default.name
        self.fields["model"].initial = spec.name
        self.fields["size"].initial = spec.sizes[0]
        self.fields["seconds"].initial = spec.seconds[0]
        for name in ("provider", "model", "size", "seconds"):
            self.fields[name].widget.attrs["data-sora"] = name
        self.fields["custom_size"].widget.attrs["data-sora-open"] = "size"
        self.fields["custom_seconds"].widget.attrs["data-sora-open"] = "seconds"

    def clean(self) -> dict[str, Any]:
        """A size or length typed in (servers with open tables) replaces the chosen one."""
        data = super().clean()
        if (data.get("custom_size") or "").strip():
            data["size"] = data["custom_size"].strip()
        if data.get("custom_seconds"):
            data["seconds"] = str(data["custom_seconds"])
        return data

    def value(self, name: str) -> str:
        """The submitted (or initial) value of a field, valid or not."""
        if self.is_bound:
            return self.data.get(self.add_prefix(name)) or ""
        return str(self.initial.get(name) or self.fields[name].initial or "")


class GenerateForm(VideoSettingsForm):
    saved_prompt = forms.ModelChoiceField(
        Prompt.objects.all(), required=False, label="Saved prompt",
        help_text="Send a saved prompt as it is composed; leave the fields below empty.",
    )
    text = forms.CharField(
        label="Prompt", required=False, widget=forms.Textarea(attrs={"rows": 4, "cols": 80}),
        help_text="Free text. With storyboard fields, it is added after them.",
    )
    save_as = forms.CharField(
        label="Save as prompt", required=False, max_length=200,
        help_text="Optional title: keep this prompt in Prompts for later.",
    )
    reference_upload = forms.FileField(
        label="Reference image", required=False,
        help_text="First frame: JPEG, PNG or WebP. Another size is fitted to the video size (preview below).",
        widget=forms.ClearableFileInput(attrs={"accept": "image/jpeg,image/png,image/webp"}),
    )
    reference_image = forms.ModelChoiceField(ReferenceImage.objects.all(), required=False, widget=forms.HiddenInput)
    fit = forms.ChoiceField(
        label="Fit", choices=[("crop", "Crop to fill"), ("letterbox", "Letterbox (black bars)")],
        widget=forms.RadioSelect, required=False,
    )
    seed = forms.IntegerField(required=False, help_text="Only for servers that accept a seed.")
    negative_prompt = forms.CharField(required=False, help_text="Only for servers that accept one.")
    # vLLM-Omni's further inputs (protocol/videos.py); shown only where the model takes them.
    generate_sound = forms.BooleanField(required=False, label="Generate sound",
                                        help_text="The model adds an audio track (models that can).")
    sound_duration = forms.FloatField(required=False, min_value=0.1, label="Sound length (s)",
                                      help_text="Defaults to the video's length.")
    video_reference = forms.CharField(required=False, label="Video reference", help_text=(
        "JSON as the server takes it, e.g. {\"url\": \"https://…/clip.mp4\"}; not with a reference image."))
    audio_reference = forms.CharField(required=False, label="Audio reference", help_text=(
        "JSON as the server takes it, e.g. {\"url\": \"https://…/voice.wav\"}; not with a reference image."))

    EXTRA_FIELDS = ("seed", "negative_prompt", "generate_sound", "sound_duration", "video_reference",
                    "audio_reference")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, label in STRUCTURED_FIELDS:
            field = Prompt._meta.get_field(name)
            self.fields[name] = forms.CharField(
                label=label, required=False, max_length=field.max_length, help_text=field.help_text,
                widget=forms.TextInput(attrs={"size": 60}),
            )
        self.order_fields(
            ["saved_prompt", "text", *[n for n, _ in STRUCTURED_FIELDS], "save_as", "reference_upload",
             "reference_image", "fit", "provider", "model", "size", "custom_size", "seconds", "custom_seconds",
             *self.EXTRA_FIELDS]
        )
        self.fields["fit"].initial = conf.get("REFERENCE_FIT")
        for name in self.EXTRA_FIELDS:
            self.fields[name].widget.attrs["data-sora-extra"] = name

    @property
    def extra_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.EXTRA_FIELDS]

    @property
    def storyboard_fields(self) -> list[forms.BoundField]:
        return [self[name] for name, _ in STRUCTURED_FIELDS]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        written = [n for n in ("text", *[n for n, _ in STRUCTURED_FIELDS]) if (data.get(n) or "").strip()]
        if data.get("saved_prompt") and written:
            raise forms.ValidationError(
                "Choose a saved prompt or write a prompt, not both: clear the saved prompt or the fields below."
            )
        if data.get("saved_prompt") and data.get("save_as"):
            self.add_error("save_as", "This prompt is already saved.")
        return data

    def prompt(self) -> Prompt:
        """The prompt to send: the saved one, or an unsaved Prompt built from the fields."""
        data = self.cleaned_data
        if data.get("saved_prompt"):
            return data["saved_prompt"]
        return Prompt(
            title=data.get("save_as") or "", text=data.get("text") or "",
            **{name: (data.get(name) or "").strip() for name, _ in STRUCTURED_FIELDS},
        )

    def extra_params(self) -> dict[str, Any]:
        data = self.cleaned_data
        extras = {"seed": data.get("seed"), "generate_sound": True if data.get("generate_sound") else None,
                  "sound_duration": data.get("sound_duration")}
        for name in ("negative_prompt", "video_reference", "audio_reference"):
            extras[name] = (data.get(name) or "").strip() or None
        return {k: v for k, v in extras.items() if v is not None}


class NewPromptForm(forms.Form):
    """For remix and edit: the change to make."""

    prompt = forms.CharField(widget=forms.Textarea(attrs={"rows": 4, "cols": 80}), required=False)


class RejectForm(forms.Form):
    """A reviewer's reason for not approving (the maker sees it)."""

    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3, "cols": 60}), max_length=500,
                             help_text="What the maker should change; they see this.")


class ExtendForm(NewPromptForm):
    seconds = forms.CharField(widget=forms.Select, label="Add seconds")

    def __init__(self, *args: Any, choices: list[str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        values = choices or []
        self.fields["seconds"].widget.choices = [(s, f"{s} s") for s in by_number(set(values))]
        if values:
            self.fields["seconds"].initial = by_number(set(values))[0]


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files from one input (Django's documented pattern)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": "image/jpeg,image/png,image/webp"}))
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[Any]:
        single = super().clean
        if isinstance(data, (list, tuple)):
            return [single(d, initial) for d in data if d]
        return [single(data, initial)] if data else []


class MakeForm(GenerateForm):
    """The gallery's make page: a prompt or a storyboard, one reference image or one image per
    shot, and ``||`` between prompts for a sequence."""

    title = forms.CharField(label="Sequence title", required=False, max_length=200,
                            help_text="Only for a sequence; its first prompt otherwise.")
    project = forms.ModelChoiceField(Project.objects.none(), required=False, empty_label="No project",
                                     help_text="Its members see it; its budget and approval threshold apply.")
    shot_images = MultipleFileField(
        label="Images for a sequence", required=False,
        help_text="Choose several at once: each image starts one shot, in the order chosen.",
    )

    def __init__(self, *args: Any, projects: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ("saved_prompt", "save_as"):
            del self.fields[name]
        self.fields["project"].queryset = projects if projects is not None else Project.objects.none()
        self.fields["text"].help_text = ("Describe one shot: subject, action, setting, camera, light. Separate "
                                         "several prompts with || to make a sequence of shots.")
        self.fields["text"].widget.attrs.update({"rows": 5, "cols": 60, "data-sora-prompt": "1"})
        self.fields["shot_images"].widget.attrs["data-sora-shots"] = "1"
        if len(self.fields["provider"].widget.choices) == 1:  # nothing to choose: not shown
            self.fields["provider"].widget = forms.HiddenInput(attrs={"data-sora": "provider"})
