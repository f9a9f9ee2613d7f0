"""Counts over one environment's raw events estimated from a block sample, for the reads that would
otherwise scan a whole time range at every visit: Top interactions, the definition preview and the
definitions list's matches of the last 7 days.

A range holding more events than RAW_ESTIMATE_ABOVE_EVENTS (the planner's estimate, which costs a
millisecond and follows the table's size without an ANALYZE) is read through
`TABLESAMPLE SYSTEM (p)`: p% of the environment's partition's pages, chosen so that about
RAW_ESTIMATE_SAMPLE_EVENTS of the range's rows are in it (reading at most READ_FACTOR times as many
rows of the whole history) whatever the history's size. Each page is kept with
probability p/100, so a count in the sample times 100/p is an unbiased estimate of the exact count;
`REPEATABLE` makes the same table give the same estimate on every visit. The pages show it marked
"≈" and fetch the exact counts (the unchanged exact path) right after. Smaller ranges always take
the exact path, and so does Citus: there the coordinator's statistics of a partition are an empty
shell's (the size check would not see the rows), and sampling was not tried on a cluster.
"""

import json
import logging
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import connection
from psycopg2 import sql

from warehouse.citus import citus_active
from warehouse.models.raw import raw_events_partition

logger = logging.getLogger(__name__)

# Any constant: the sample's pages depend only on it and the table.
SAMPLE_SEED = 24
# A short range of a long history: the sample may read this many times RAW_ESTIMATE_SAMPLE_EVENTS events
# to find more of the range's (5M events, 7 days: 2% of the pages held 11,000 of the range's, and a top-5
# count was 42% off).
READ_FACTOR = 3


@dataclass(frozen=True)
class RawSample:
    """How a read sees raw_events `e`: all of it (the default), or a `percent` sample of its pages."""

    percent: float = 100.0
    estimated: bool = False
    # The planner's estimate of the events in the range (what made this a sample); 0 when exact.
    events_in_range: int = 0

    def source(self) -> sql.Composable:
        """The FROM item: `raw_events e`, sampled when estimating (the environment filter prunes partitions)."""
        if not self.estimated:
            return sql.SQL("raw_events e")
        return sql.SQL("raw_events e TABLESAMPLE SYSTEM ({}) REPEATABLE ({})").format(
            sql.Literal(self.percent), sql.Literal(SAMPLE_SEED)
        )

    def scaled(self, count: int) -> int:
        """A count in the sample as an estimate of the count in all events."""
        return round(count * 100 / self.percent) if self.estimated else count

    @property
    def percent_text(self) -> str:
        return f"{self.percent:.2g}%" if self.percent < 10 else f"{self.percent:.0f}%"


EXACT = RawSample()


def _planned_rows(query: sql.Composable, params: list) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql.SQL("EXPLAIN (FORMAT JSON) {}").format(query).as_string(cursor.connection), params)
        plan = cursor.fetchone()[0]
    plan = json.loads(plan) if isinstance(plan, str) else plan
    return int(plan[0]["Plan"]["Plan Rows"])


def raw_sample_for(*, environment_id: int, since: datetime, exact: bool = False) -> RawSample:
    """EXACT for a small range (or when asked, or on Citus); else the sample that holds about
    RAW_ESTIMATE_SAMPLE_EVENTS of the range's events."""
    if exact or citus_active():
        return EXACT
    # The partition itself, not raw_events filtered by environment: before its first ANALYZE the planner
    # knows the partition's size (from its pages) but would guess the environment filter's selectivity.
    partition = sql.Identifier(raw_events_partition(environment_id))
    in_range = _planned_rows(sql.SQL("SELECT 1 FROM {} WHERE time >= %s").format(partition), [since])
    if in_range <= settings.RAW_ESTIMATE_ABOVE_EVENTS:
        return EXACT
    # The sample reads pages of all the environment's history, not only the range's: it aims at
    # RAW_ESTIMATE_SAMPLE_EVENTS events in the range, reading no more than READ_FACTOR times that many.
    events = _planned_rows(sql.SQL("SELECT 1 FROM {}").format(partition), [])
    wanted = settings.RAW_ESTIMATE_SAMPLE_EVENTS
    percent = float(f"{min(100 * wanted / in_range, 100 * wanted * READ_FACTOR / max(events, 1)):.3g}")
    if percent >= 100:
        return EXACT
    logger.info("raw sample: %.3g%% of ~%d events (~%d in range)", percent, events, in_range)
    return RawSample(percent=percent, estimated=True, events_in_range=in_range)
