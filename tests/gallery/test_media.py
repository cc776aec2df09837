"""The media view: Range requests, validators, downloads, and signed URLs on object storage.

The view serves files itself only from a local disk: the tests of that serving (Range,
If-Range, validators, blocks) use ``local_storage`` so they run the same under both test
profiles. The others hold for whichever storage the profile configures (under
``production``, S3: a redirect to a signed URL, followed to compare the bytes).
"""
from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.urls import reverse

from videos.models import VideoAsset
from videos.views.media import BLOCK_SIZE, parse_range

from ..profile_checks import disposition, fetch, media_body, signed_url, uses_s3

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def video(real_job) -> VideoAsset:
    return real_job.assets.get(variant="video")


@pytest.fixture
def signed_in(client, viewer):
    client.force_login(viewer)
    return client


def body(response) -> bytes:
    return b"".join(response.streaming_content)


def on_disk(asset: VideoAsset) -> bytes:
    with asset.file.open("rb") as fh:
        return fh.read()


@pytest.mark.usefixtures("local_storage")
def test_whole_file_with_validators(signed_in, video):
    data = on_disk(video)
    response = signed_in.get(reverse("videos:asset", args=[video.pk]))
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "video/mp4"
    assert response["Accept-Ranges"] == "bytes"
    assert int(response["Content-Length"]) == len(data) == video.bytes
    assert response["ETag"] == f'"{video.sha256}"'
    assert response["Last-Modified"]
    assert "private" in response["Cache-Control"]
    assert body(response) == data
    assert response["Content-Disposition"].startswith("inline")


@pytest.mark.usefixtures("local_storage")
def test_range_gives_206_with_the_right_bytes(signed_in, video):
    data = on_disk(video)
    url = reverse("videos:asset", args=[video.pk])
    cases = {
        "bytes=0-99": (0, 99),
        "bytes=100-": (100, len(data) - 1),
        "bytes=-50": (len(data) - 50, len(data) - 1),
        f"bytes=10-{len(data) + 1000}": (10, len(data) - 1),
        "bytes = 5 - 5": (5, 5),
    }
    for header, (first, last) in cases.items():
        response = signed_in.get(url, HTTP_RANGE=header)
        assert response.status_code == 206, header
        assert response["Content-Range"] == f"bytes {first}-{last}/{len(data)}", header
        assert int(response["Content-Length"]) == last - first + 1, header
        assert body(response) == data[first:last + 1], header


@pytest.mark.usefixtures("local_storage")
def test_unsatisfiable_range_is_416(signed_in, video):
    url = reverse("videos:asset", args=[video.pk])
    for header in (f"bytes={video.bytes}-", f"bytes={video.bytes + 10}-{video.bytes + 20}", "bytes=-0"):
        response = signed_in.get(url, HTTP_RANGE=header)
        assert response.status_code == 416, header
        assert response["Content-Range"] == f"bytes */{video.bytes}"


@pytest.mark.usefixtures("local_storage")
def test_ranges_we_do_not_serve_fall_back_to_the_whole_file(signed_in, video):
    url = reverse("videos:asset", args=[video.pk])
    for header in ("bytes=0-1,5-9", "items=0-5", "bytes=9-2", "bytes=abc", "bytes=-"):
        response = signed_in.get(url, HTTP_RANGE=header)
        assert response.status_code == 200, header
        assert int(response["Content-Length"]) == video.bytes


@pytest.mark.usefixtures("local_storage")
def test_if_range_and_conditional_requests(signed_in, video):
    url = reverse("videos:asset", args=[video.pk])
    etag = f'"{video.sha256}"'
    assert signed_in.get(url, HTTP_RANGE="bytes=0-9", HTTP_IF_RANGE=etag).status_code == 206
    stale = signed_in.get(url, HTTP_RANGE="bytes=0-9", HTTP_IF_RANGE='"something-else"')
    assert stale.status_code == 200 and int(stale["Content-Length"]) == video.bytes
    assert signed_in.get(url, HTTP_IF_NONE_MATCH=etag).status_code == 304
    last_modified = signed_in.get(url)["Last-Modified"]
    assert signed_in.get(url, HTTP_IF_MODIFIED_SINCE=last_modified).status_code == 304


@pytest.mark.usefixtures("local_storage")
def test_streams_in_blocks(signed_in, video):
    response = signed_in.get(reverse("videos:asset", args=[video.pk]))
    chunks = list(response.streaming_content)
    assert len(chunks) == -(-video.bytes // BLOCK_SIZE)
    assert max(len(c) for c in chunks) <= BLOCK_SIZE


def test_download_has_a_readable_filename(signed_in, real_job):
    for variant, ext in (("video", "mp4"), ("thumbnail", "webp"), ("spritesheet", "jpg")):
        asset = real_job.assets.get(variant=variant)
        response = signed_in.get(reverse("videos:asset", args=[asset.pk]) + "?download=1")
        header = disposition(response)  # the header, or the signed URL's response-content-disposition
        assert header.startswith("attachment;")
        match = re.search(r'filename="([^"]+)"', header)
        assert match, header
        name = match.group(1)
        assert name.startswith("a-paper-boat-drifts-down-a-rainy-street-"), name
        assert name.endswith("." + ext), name
        assert str(real_job.uuid)[:8] in name


def test_missing_asset_or_file_is_404(signed_in, video):
    assert signed_in.get(reverse("videos:asset", args=[video.pk + 10_000])).status_code == 404
    video.file.storage.delete(video.file.name)
    response = signed_in.get(reverse("videos:asset", args=[video.pk]))
    if uses_s3():  # the view signs without asking S3 (no round trip per request); S3 answers 404
        assert fetch(signed_url(response))[0] == 404
    else:
        assert response.status_code == 404


def test_reference_image(signed_in, sora, viewer, stranger, tmp_path):
    from PIL import Image

    from tests.support import settle
    from videos import services

    image = tmp_path / "first frame.png"
    Image.new("RGB", (1280, 720), (200, 80, 40)).save(image)
    job = services.create_video("A lighthouse at dusk, the beam sweeping", size="1280x720", seconds=4,
                                reference_image=str(image), user=viewer)
    [job] = settle([job])
    ref = job.reference_image
    url = reverse("videos:reference_image", args=[ref.pk])
    response = signed_in.get(url)
    with ref.image.open("rb") as fh:
        data = fh.read()
    assert media_body(response) == data
    if uses_s3():  # S3 serves the object's type and the Range itself
        status, headers, _ = fetch(signed_url(response))
        assert headers["Content-Type"] == "image/png"
        status, headers, part = fetch(signed_url(signed_in.get(url, HTTP_RANGE="bytes=0-7")), Range="bytes=0-7")
        assert (status, part) == (206, data[:8])
    else:
        assert response["Content-Type"] == "image/png"
        assert signed_in.get(url, HTTP_RANGE="bytes=0-7").status_code == 206
    download = signed_in.get(url + "?download=1")
    assert 'filename="first-frame.png"' in disposition(download)
    detail = signed_in.get(reverse("videos:detail", args=[job.uuid])).content.decode()
    assert url in detail
    assert 'alt="Reference image used as the first frame: first frame.png"' in detail
    signed_in.logout()
    assert signed_in.get(url)["Location"].startswith(reverse("videos:login"))
    signed_in.force_login(stranger)
    assert signed_in.get(url).status_code == 403


@pytest.fixture
def s3_storage(settings):
    """The profile's S3 (the moto server tests/profiles.py starts), or moto in-process under ``default``.

    Never ``mock_aws`` next to the moto server: it resets moto's state, the server's buckets included.
    Ask for it after the fixtures that store files, so under ``default`` those stay on the local disk.
    """
    if uses_s3():
        yield None
        return
    boto3 = pytest.importorskip("boto3")
    moto = pytest.importorskip("moto")
    with moto.mock_aws():
        boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="sora-test")
        settings.STORAGES = {
            **settings.STORAGES,
            "default": {
                "BACKEND": "storages.backends.s3.S3Storage",
                "OPTIONS": {"bucket_name": "sora-test", "region_name": "us-east-1", "access_key": "test",
                            "secret_key": "test", "querystring_auth": True, "querystring_expire": 120,
                            "file_overwrite": True, "default_acl": None},
            },
        }
        assert uses_s3()
        yield boto3.client("s3", region_name="us-east-1")


def test_object_storage_redirects_to_a_short_lived_signed_url(signed_in, video, s3_storage):
    """On S3 the view answers with a signed, expiring URL, never a public one, and never streams."""
    storage = video.file.storage
    url = reverse("videos:asset", args=[video.pk])
    response = signed_in.get(url)
    location = signed_url(response)  # 302, signature and expiry in the query, Cache-Control: private, no-store
    assert storage.bucket_name in location and video.file.name in location
    expiry = storage.querystring_expire
    assert f"X-Amz-Expires={expiry}" in location or "Expires=" in location
    if s3_storage is None:  # the production profile: the ready-to-run site's settings sign with SigV4
        assert "X-Amz-Algorithm=AWS4-HMAC-SHA256" in location and f"X-Amz-Expires={expiry}" in location
    assert 0 < expiry <= 3600
    download = signed_in.get(url + "?download=1")
    assert "response-content-disposition=attachment" in signed_url(download)
    if s3_storage is None:  # the profile's S3 server: the signed URL gives the bytes, the bare one nothing
        with video.file.open("rb") as fh:
            data = fh.read()
        status, headers, body_ = fetch(location)
        assert (status, body_) == (200, data)
        assert headers["Content-Type"] == "video/mp4"
        bare = urlunsplit(urlsplit(location)._replace(query=""))
        assert fetch(bare)[0] == 403  # the object is private: no signature, no bytes
        grants = storage.connection.meta.client.get_object_acl(Bucket=storage.bucket_name, Key=video.file.name)
        assert not any("AllUsers" in str(g.get("Grantee", {}).get("URI", "")) for g in grants["Grants"])
    signed_in.logout()
    assert signed_in.get(url).status_code == 302
    assert signed_in.get(url)["Location"].startswith(reverse("videos:login"))


@pytest.mark.parametrize(
    "header,size,expected",
    [
        ("", 10, None), ("bytes=0-0", 10, (0, 0)), ("bytes=-3", 10, (7, 9)), ("bytes=-30", 10, (0, 9)),
        ("bytes=3-", 10, (3, 9)), ("bytes=10-", 10, False), ("bytes=0-1,3-4", 10, None), ("bytes=5-2", 10, None),
        ("bytes=0-", 0, False),
    ],
)
def test_parse_range(header, size, expected):
    assert parse_range(header, size) == expected
