"""A job's family: the parent chain up and the remixes, edits and extensions down.

Two recursive CTEs (standard SQL, SQLite and PostgreSQL alike) find the ids whatever the
depth, then one query loads the rows: the page costs the same for a lone video and for
one with a hundred descendants.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.db.models import Prefetch

from ..models import AssetVariant, JobStatus, VideoAsset, VideoJob

MAX_DEPTH = 50
MAX_DESCENDANTS = 200


@dataclass
class Node:
    job: VideoJob
    children: list["Node"] = field(default_factory=list)
    current: bool = False


@dataclass
class Lineage:
    ancestors: list[VideoJob]  # root first, parent last
    tree: Node  # the current job with its descendants
    descendants: int
    truncated: bool

    @property
    def empty(self) -> bool:
        return not self.ancestors and not self.tree.children


def _ids(sql: str, params: list[Any]) -> list[tuple[int, int | None, int]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return list(cursor.fetchall())


def lineage(job: VideoJob) -> Lineage:
    table = connection.ops.quote_name(VideoJob._meta.db_table)
    up = _ids(
        f"""
        WITH RECURSIVE up(id, parent_id, depth) AS (
            SELECT id, parent_id, 0 FROM {table} WHERE id = %s
            UNION ALL
            SELECT j.id, j.parent_id, up.depth + 1 FROM {table} j JOIN up ON j.id = up.parent_id
            WHERE up.depth < %s
        )
        SELECT id, parent_id, depth FROM up WHERE depth > 0
        """,
        [job.pk, MAX_DEPTH],
    )
    down = _ids(
        f"""
        WITH RECURSIVE down(id, parent_id, depth) AS (
            SELECT id, parent_id, 0 FROM {table} WHERE id = %s
            UNION ALL
            SELECT j.id, j.parent_id, down.depth + 1 FROM {table} j JOIN down ON j.parent_id = down.id
            WHERE down.depth < %s
        )
        SELECT id, parent_id, depth FROM down WHERE depth > 0 ORDER BY depth, id LIMIT %s
        """,
        [job.pk, MAX_DEPTH, MAX_DESCENDANTS + 1],
    )
    truncated = len(down) > MAX_DESCENDANTS
    down = down[:MAX_DESCENDANTS]
    wanted = {row[0] for row in up} | {row[0] for row in down}
    rows: dict[int, VideoJob] = {}
    if wanted:
        thumbs = Prefetch(
            "assets", queryset=VideoAsset.objects.filter(variant=AssetVariant.THUMBNAIL), to_attr="thumbs"
        )
        rows = {
            j.pk: j
            for j in VideoJob.objects.filter(pk__in=wanted).exclude(status=JobStatus.DRAFT)
            .select_related("owner").prefetch_related(thumbs)
        }
    ancestors = [rows[r[0]] for r in sorted(up, key=lambda r: -r[2]) if r[0] in rows]
    root = Node(job=job, current=True)
    nodes = {job.pk: root}
    for pk, parent_id, _depth in down:  # ordered by depth: parents come first
        if pk in rows and parent_id in nodes:
            node = Node(job=rows[pk])
            nodes[parent_id].children.append(node)
            nodes[pk] = node
    return Lineage(ancestors=ancestors, tree=root, descendants=len(nodes) - 1, truncated=truncated)
