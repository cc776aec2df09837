import pytest

from videos import services
from videos.models import JobStatus

from ..support import settle

pytestmark = pytest.mark.django_db(transaction=True)


def test_smoke(sora):
    job = services.create_video("A red kite over a green park, slow pan", size="1280x720", seconds=4)
    assert job.status == JobStatus.PENDING
    [job] = settle([job])
    assert job.status == JobStatus.COMPLETED, job.error_message
    assert {a.variant for a in job.assets.all()} == {"video", "thumbnail", "spritesheet"}
    assert sora.stats()["jobs_created"] == 1
