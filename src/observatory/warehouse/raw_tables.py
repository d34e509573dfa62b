"""The raw tables: one per parser output shape, shared by every source of that shape.

Each parser yields tuples in exactly the order of ``RawTable.columns``; the loader adds
``load_id`` and ``source_id`` in front. The natural key is what must be unique within one
source's published rows (the quality gate checks it, the loader relies on it).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RawTable:
    name: str
    columns: tuple[tuple[str, str], ...]  # (column name, PostgreSQL type)
    natural_key: tuple[str, ...]

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.columns)


RAW_TABLES: dict[str, RawTable] = {
    table.name: table
    for table in (
        RawTable(
            name="eurostat_observation",
            columns=(
                ("dataset_code", "text"),  # e.g. lfsa_ergan
                ("dimensions", "jsonb"),  # every dimension but geo and time: {"citizen": "NAT", ...}
                ("geo", "text"),  # Eurostat geo code (EL = Greece)
                ("time_period", "text"),  # as published: 2024, 2024-Q1, 2024-01
                ("value", "double precision"),  # NULL when the cell is missing (':')
                ("flags", "text"),  # Eurostat status flags as published ('b', 'bu', ...), NULL if none
                ("dataset_updated", "timestamptz"),  # the source's 'updated' stamp, NULL if unknown
                ("confidentiality", "text"),  # SDMX CONF_STATUS as published ('C', 'F', ...), NULL if none or unknown
            ),
            natural_key=("dataset_code", "dimensions", "geo", "time_period"),
        ),
        RawTable(
            name="report_document",
            columns=(
                ("document_id", "text"),  # sha256 of the raw bytes
                ("resource_name", "text"),  # file name or URL path as collected
                ("media_type", "text"),  # text/plain, text/markdown, text/html, application/pdf
                ("title", "text"),
                ("publisher", "text"),
                ("language", "text"),  # ISO 639-1, NULL if unknown
                ("published_on", "date"),
                ("body_text", "text"),  # extracted plain text; fact offsets point into it
                ("facts", "jsonb"),  # JSON array of observatory.extract Fact records (doc = resource_name)
            ),
            natural_key=("document_id",),
        ),
        RawTable(
            name="funding_operation",
            columns=(
                ("operation_key", "text"),  # stable key: hash of beneficiary + title + start date
                ("beneficiary_name", "text"),
                ("operation_title", "text"),
                ("operation_summary", "text"),
                ("start_date", "date"),
                ("end_date", "date"),
                ("amount", "numeric(18,2)"),  # exact decimal, in `currency`
                ("currency", "text"),  # ISO 4217
                ("cofinancing_rate", "numeric(7,4)"),  # percent, e.g. 49.92
                ("location_code", "text"),  # postcode or NUTS code as published
                ("location_name", "text"),
                ("country_code", "text"),  # ISO 3166-1 alpha-2
                ("fund", "text"),  # ESF, ERDF, AMIF, ... as published or configured
                ("theme", "text"),
                ("programme", "text"),  # operational programme as published or configured, e.g. "... (2014-2020)"
                ("city_name", "text"),  # GeoNames city (observatory.extract.locations), NULL if unresolved
                ("geonames_id", "bigint"),
            ),
            natural_key=("operation_key",),
        ),
        RawTable(
            name="calendar_event",
            columns=(
                ("event_uid", "text"),
                ("occurrence_start_utc", "timestamptz"),  # one row per occurrence in the window; NULL: no start
                ("occurrence_end_utc", "timestamptz"),
                ("original_tzid", "text"),  # TZID as published, 'UTC' or NULL for floating / all-day
                ("all_day", "boolean"),
                ("summary", "text"),
                ("description", "text"),
                ("location", "text"),
                ("status", "text"),  # CONFIRMED / TENTATIVE / CANCELLED, NULL if absent
                ("sequence", "integer"),
                ("last_modified", "timestamptz"),
                ("is_recurring", "boolean"),
                ("places", "jsonb"),  # resolved cities and their role (host, participant, ...): extract.locations
                ("uid_synthesised", "boolean"),  # the feed gave no UID: event_uid is a hash of the VEVENT's content
                # why occurrence_start_utc is NULL (no DTSTART, an unreadable one); NULL when the start is known
                ("start_missing_reason", "text"),
            ),
            natural_key=("event_uid", "occurrence_start_utc"),  # a NULL start counts as one value: once per UID
        ),
    )
}
