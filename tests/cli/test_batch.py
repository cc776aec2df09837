"""``manage.py sora batch``: validate every row, report bad ones by line, submit the rest."""
from __future__ import annotations

import json

import pytest
from django.contrib.auth import get_user_model

from tests.support import settle
from videos import media
from videos.models import JobStatus, VideoJob

from .helpers import make_image, no_api_calls, sora

pytestmark = pytest.mark.django_db(transaction=True)

CSV = """prompt,image,model,size,seconds,seed
A red kite over a park,,sora-2,1280x720,4,
A lighthouse at dusk,refs/light.png,,1280x720,8,
Too wide,,sora-2,1920x1080,4,
,,,,4,
"A bay, seen from a hill",refs/missing.png,,,4,
Reproducible,,,,4,42
Too long,,,,30,
Pro shot,,sora-2-pro,1792x1024,4,
"""


@pytest.fixture
def csv_file(tmp_path):
    make_image(tmp_path / "refs" / "light.png")
    path = tmp_path / "jobs.csv"
    path.write_text(CSV)
    return path


def test_csv_with_bad_rows(site, csv_file, tmp_path):
    result = sora("batch", csv_file, "--output-dir", tmp_path)
    assert result.code == 1
    err, out = result.err, result.out
    # every invalid row by line number and reason, before anything was submitted
    assert "line 4: invalid: sora-2 at default does not offer size 1920x1080; it offers 720x1280, 1280x720" in err
    assert "line 5: invalid: The prompt is empty" in err
    assert "line 6: invalid: Reference image" in err and "missing.png' does not exist" in err
    assert "line 7: invalid: " in err and "does not accept seed for sora-2" in err
    assert "line 8: invalid: sora-2 does not offer 30 seconds" in err
    assert "4 rows were invalid" not in err and "5 of 8 rows were invalid, refused or failed" in err

    jobs = list(VideoJob.objects.order_by("pk"))
    assert [(j.prompt_text, j.size, j.seconds, j.model) for j in jobs] == [
        ("A red kite over a park", "1280x720", 4, "sora-2"),
        ("A lighthouse at dusk", "1280x720", 8, "sora-2"),
        ("Pro shot", "1792x1024", 4, "sora-2-pro"),
    ]
    assert jobs[1].reference_image.original_name == "light.png"  # relative to the batch file
    assert all(j.status == JobStatus.COMPLETED for j in jobs)  # --output-dir waits
    assert site.stats()["jobs_created"] == 3

    # the summary table: line, job, status, cost, error
    lines = {line.split()[0]: line for line in out.splitlines()[1:]}
    assert lines["2"].split()[:3] == ["2", str(jobs[0].pk), "completed"] and "0.40 USD" in lines["2"]
    assert lines["3"].split()[:3] == ["3", str(jobs[1].pk), "completed"] and "0.80 USD" in lines["3"]
    assert lines["9"].split()[:3] == ["9", str(jobs[2].pk), "completed"] and "2.00 USD" in lines["9"]
    assert lines["4"].split()[:3] == ["4", "-", "invalid"] and "does not offer size 1920x1080" in lines["4"]
    for job, line in zip(jobs, (2, 3, 9)):
        saved = tmp_path / f"line{line}-{job.uuid}.mp4"
        assert media.probe(saved).duration == pytest.approx(job.seconds, abs=0.3)


def test_dry_run_submits_nothing(site, csv_file):
    result = sora("batch", csv_file, "--dry-run")
    assert result.code == 1
    assert "3 valid row(s), 5 invalid, estimated 3.20 USD in all." in result.err
    assert "nothing was submitted" in result.err
    assert not VideoJob.objects.exists() and no_api_calls(site)


def test_jsonl_all_valid_with_defaults_from_options(site, tmp_path):
    path = tmp_path / "jobs.jsonl"
    path.write_text("\n".join([
        json.dumps({"prompt": "Waves at night"}),
        "",
        json.dumps({"prompt": "Waves at noon", "duration": 8, "size": "720x1280"}),
    ]) + "\n")
    result = sora("batch", path, "--size", "1280x720", "--seconds", "4")
    assert result.code == 0, result.err
    jobs = list(VideoJob.objects.order_by("pk"))
    assert [(j.size, j.seconds) for j in jobs] == [("1280x720", 4), ("720x1280", 8)]
    assert all(j.status == JobStatus.PENDING for j in jobs)  # queued, not waited for
    assert [line.split()[0] for line in result.out.splitlines()[1:]] == ["1", "3"]
    settle(jobs)


def test_jsonl_bad_lines(site, tmp_path):
    path = tmp_path / "jobs.jsonl"
    path.write_text('{"prompt": "ok", "seconds": 4}\n{"prompt": "oops"\n["a list"]\n{"promt": "typo"}\n')
    result = sora("batch", path)
    assert result.code == 1
    assert "line 2: invalid: not valid JSON" in result.err
    assert "line 3: invalid: not a JSON object" in result.err
    assert "line 4: invalid: unknown key(s) promt" in result.err
    assert VideoJob.objects.count() == 1


def test_file_level_errors_exit_2(site, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("prompt,colour\nA kite,red\n")
    result = sora("batch", path)
    assert result.code == 2 and "Line 1 of" in result.err and "unknown column(s) 'colour'" in result.err
    missing = sora("batch", tmp_path / "nope.csv")
    assert missing.code == 2 and "Cannot read the batch file" in missing.err
    assert no_api_calls(site)


def test_budget_refusals_are_reported_per_row_and_the_rest_go_on(site, settings, tmp_path):
    settings.SORA_VIDEOS = {**settings.SORA_VIDEOS, "USER_MONTHLY_BUDGET": "1.00"}
    get_user_model().objects.create_user("ann")
    path = tmp_path / "jobs.csv"
    path.write_text("prompt,seconds\nOne,4\nTwo,8\nThree,4\n")  # 0.40 + 0.80 + 0.40 against 1.00
    result = sora("batch", path, "--user", "ann")
    assert result.code == 1
    assert "line 3: refused: Over budget" in result.err
    rows = {line.split()[0]: line.split()[:3] for line in result.out.splitlines()[1:]}
    assert rows["2"][2] == "pending" and rows["3"][1:] == ["-", "refused"] and rows["4"][2] == "pending"
    assert [j.prompt_text for j in VideoJob.objects.order_by("pk")] == ["One", "Three"]
    assert "2 submitted, 0 invalid, 1 refused, 0 failed." in result.err


def test_failed_jobs_fail_the_batch(site, tmp_path):
    site.set_faults([{"endpoint": "create", "fault": "fail_job", "match": {"prompt": "Doomed"},
                      "message": "The render crashed"}])
    path = tmp_path / "jobs.csv"
    path.write_text("prompt,seconds\nFine,4\nDoomed,4\n")
    result = sora("batch", path, "--wait")
    assert result.code == 1
    rows = {line.split()[0]: line for line in result.out.splitlines()[1:]}
    assert "completed" in rows["2"]
    assert "failed" in rows["3"] and "The render crashed" in rows["3"]


def _merged_csv(tmp_path, closing: str = "") -> str:
    rows = [f"Shot {n} of the harbour,,sora-2,1280x720,4" for n in range(9)]
    text = "prompt,image,model,size,seconds\n\"unterminated quote,,sora-2,1280x720,4\n" + "\n".join(rows) + closing
    path = tmp_path / "merged.csv"
    path.write_text(text + "\n")
    return str(path)


@pytest.mark.parametrize("closing", ["", '",,,,'], ids=["never closed", "closed rows later"])
def test_a_quote_that_swallows_later_rows_is_refused_with_its_line(site, tmp_path, closing):
    path = _merged_csv(tmp_path, closing)
    for args in (("--dry-run",), ()):
        result = sora("batch", path, *args)
        assert result.code == 2, result.err
        assert "Line 2 of" in result.err and "nothing was sent" in result.err
    assert not VideoJob.objects.exists() and no_api_calls(site)


def test_a_line_break_quoted_on_purpose_is_kept(site, tmp_path):
    path = tmp_path / "multiline.csv"
    path.write_text('prompt,seconds\n"A long prompt:\nthe camera pans slowly across the bay",4\nA second row,4\n')
    result = sora("batch", str(path), "--dry-run")
    assert result.code == 0, result.err
    assert "2 valid row(s), 0 invalid" in result.err
