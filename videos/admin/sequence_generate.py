"""The Generate sequence page (the sequence admin's add view): shots, one video made of them."""
from __future__ import annotations

import re
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from .. import budgets, conf, sequences, services
from ..exceptions import InvalidRequest, SoraVideosError
from ..forms import model_table
from ..models import (
    Sequence,
)
from .common import (
    admin_page,
    money,
    reference_image_url,
    safe_provider,
    say_if_workers_unreachable,
)
from .sequence_forms import MAX_SHOTS, SequenceSettingsForm, ShotFormSet
from .sequence_tools import job_admin_link

_SHOT_ERROR = re.compile(r"^Shot (\d+): (.*)$", re.S)


class GenerateSequenceMixin:
    """The sequence admin's add view."""

    # --- the Generate sequence page (the add view) -----------------------------------------------
    def add_view(self, request: HttpRequest, form_url: str = "", extra_context: dict[str, Any] | None = None
                 ) -> HttpResponse:
        if not self.has_add_permission(request):
            raise PermissionDenied
        if request.method != "POST":
            return self.render_generate(request, SequenceSettingsForm(), ShotFormSet(prefix="shots"))
        form = SequenceSettingsForm(request.POST)
        shots, image_errors = self._bind_shots(request)
        form_ok = form.is_valid()
        shots_ok = shots.is_valid()
        for index, message in image_errors.items():
            if index < len(shots.forms):
                shots.forms[index].add_error("image", message)
                shots_ok = False
        if form_ok and shots_ok:
            filled = [f for f in shots.forms if f.filled]
            if not filled:
                shots._non_form_errors = shots.error_class(["Write the prompt of at least one shot."])
            else:
                sequence = self._create(request, form, filled)
                if sequence is not None:
                    jobs = list(sequence.shots.order_by("position").select_related("job"))
                    total = sum((s.job.estimated_cost for s in jobs if s.job), 0)
                    messages.success(request, format_html(
                        "Sequence #{} is queued: {} shot{} ({}), {} {} · {} · estimated {} in all. The shots are "
                        "stitched into one video when the last one is stored.",
                        sequence.pk, len(jobs), "s" if len(jobs) != 1 else "",
                        format_html_join(", ", "{}", ((job_admin_link(s.job),) for s in jobs if s.job)),
                        sequence.model, sequence.size, safe_provider(sequence.provider).display_name, money(total)))
                    say_if_workers_unreachable(request)
                    return HttpResponseRedirect(reverse("admin:sora_videos_sequence_change", args=[sequence.pk]))
        return self.render_generate(request, form, shots)

    def _bind_shots(self, request: HttpRequest) -> tuple[Any, dict[int, str]]:
        """Bind the shots, storing each uploaded image first so it survives an error elsewhere.

        A stored image goes back to the page as the shot's hidden ``reference_image`` (the
        browser cannot refill a file field); a refused one becomes that shot's error.
        """
        data = request.POST.copy()
        errors: dict[int, str] = {}
        try:
            total = min(int(data.get("shots-TOTAL_FORMS", "0")), MAX_SHOTS)
        except ValueError:
            total = 0
        for index in range(total):
            upload = request.FILES.get(f"shots-{index}-image")
            if upload is None:
                continue
            try:
                ref = services.save_reference_image(upload, user=request.user)
            except InvalidRequest as exc:
                errors[index] = exc.message
            else:
                data[f"shots-{index}-reference_image"] = str(ref.pk)
                data.pop(f"shots-{index}-clear_image", None)
        total = self._spread_images(request, data, total, errors)
        return ShotFormSet(data, prefix="shots"), errors

    @staticmethod
    def _spread_images(request: HttpRequest, data: Any, total: int, errors: dict[int, str]) -> int:
        """Several images chosen at once start the shots without an image, in order (rows are
        added as needed); a shot left without a prompt takes the first shot's."""
        uploads = request.FILES.getlist("images")
        if not uploads:
            return total
        prompts = [data.get(f"shots-{i}-prompt", "").strip() for i in range(total)]
        first = next((p for p in prompts if p), "")
        index = 0
        for upload in uploads:
            while index < MAX_SHOTS and data.get(f"shots-{index}-reference_image"):
                index += 1
            if index >= MAX_SHOTS:
                errors[MAX_SHOTS - 1] = f"A sequence takes at most {MAX_SHOTS} shots; leave out some images."
                break
            try:
                ref = services.save_reference_image(upload, user=request.user)
            except InvalidRequest as exc:
                errors[index] = f"{upload.name}: {exc.message}"
            else:
                data[f"shots-{index}-reference_image"] = str(ref.pk)
                if not data.get(f"shots-{index}-prompt", "").strip():
                    data[f"shots-{index}-prompt"] = first
            index += 1
        total = max(total, index)
        data["shots-TOTAL_FORMS"] = str(total)
        return total

    def _create(self, request: HttpRequest, form: SequenceSettingsForm, filled: list[Any]) -> Sequence | None:
        data = form.cleaned_data
        specs = [sequences.ShotSpec(prompt=f.cleaned_data["prompt"].strip(), image=f.kept_image(),
                                    seconds=f.cleaned_data.get("seconds") or None) for f in filled]
        try:
            return sequences.create_sequence(
                specs, title=data.get("title") or "", provider=data["provider"], model=data["model"],
                size=data["size"], seconds=data["seconds"], user=request.user, fit=data.get("fit") or None,
            )
        except InvalidRequest as exc:
            field = exc.field or ""
            match = _SHOT_ERROR.match(exc.message)
            if match is None:
                form.add_error(field if field in form.fields else None, exc.message)
                return None
            number, text = int(match.group(1)), match.group(2)
            target = filled[number - 1] if 1 <= number <= len(filled) else None
            own_seconds = target is not None and bool(target.cleaned_data.get("seconds"))
            if field in ("provider", "model", "size") or (field == "seconds" and not own_seconds):
                form.add_error(field, text)  # a setting of the whole sequence
            elif target is not None:
                target.add_error({"prompt": "prompt", "reference_image": "image", "seconds": "seconds"}.get(field),
                                 text)
                form.add_error(None, exc.message)  # also at the top: the row may be far down the page
            else:
                form.add_error(None, exc.message)
        except SoraVideosError as exc:
            form.add_error(None, str(exc))
        return None

    def render_generate(self, request: HttpRequest, form: SequenceSettingsForm, shots: Any) -> TemplateResponse:
        provider = safe_provider(form.value("provider") or None) or conf.provider()
        remaining = budgets.spendable(request.user)
        rows = [{"form": f, "number": n, "kept": f.kept_preview()} for n, f in enumerate(shots.forms, 1)]
        for row in rows:
            row["kept_url"] = reference_image_url(row["kept"])
        context = {
            **admin_page(self, request, "Generate a sequence"),
            "form": form,
            "shots": shots,
            "rows": rows,
            "max_shots": MAX_SHOTS,
            "media": self.media + form.media,
            "model_table": model_table(),
            "remaining_text": money(remaining) if remaining is not None else "",
            "provider": provider,
            "emulator": provider.emulator,
            "has_view_permission": self.has_view_permission(request),
            "add": True,
            "is_popup": False,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/sora_videos/sequence/generate.html", context)


