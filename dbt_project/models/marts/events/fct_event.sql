-- One row per event occurrence, merged across feeds, pages and reports (see int_events_mentions): times and
-- place from a feed mention when there is one (an active one first), provenance from all. `is_sample`: every
-- source that names the event reads a file written for the project (one real source makes it a real event).
-- A feed occurrence without a start (`event_start_missing_reason`) is a row of its own, with NULL start date.
with mentions as (
    select * from {{ ref('int_events_mentions') }}
),

countries as (
    select * from {{ ref('int_geo_countries_by_iso_alpha2') }}
),

representative as (
    select distinct on (event_occurrence_id) *
    from mentions
    order by
        event_occurrence_id, mention_kind = 'report', is_deleted, source_id, event_uid, event_start_utc,
        document_id
),

provenance as (
    select
        event_occurrence_id,
        jsonb_agg(
            jsonb_strip_nulls(jsonb_build_object(
                'kind', mention_kind, 'source_id', source_id, 'event_uid', event_uid, 'document_id', document_id,
                'is_deleted', is_deleted
            ))
            order by mention_kind, source_id, event_uid, document_id
        ) as provenance,
        count(*) as mention_count,
        bool_or(mention_kind = 'feed') as has_feed_mention,
        bool_or(mention_kind = 'report') as has_report_mention,
        bool_and(is_deleted) as is_deleted,
        max(deleted_at) as deleted_at,
        min(first_published_at) as first_published_at,
        max(last_published_at) as last_published_at,
        array_agg(distinct document_id) filter (where document_id is not null) as document_ids,
        (array_agg(organiser order by document_id) filter (where organiser is not null))[1] as organiser,
        bool_and(is_sample) as is_sample
    from mentions
    group by event_occurrence_id
)

select
    representative.event_occurrence_id,
    representative.event_title,
    representative.event_start_date,
    representative.event_end_date,
    representative.event_start_utc,
    representative.event_end_utc,
    representative.event_start_missing_reason,
    representative.event_original_tzid,
    representative.is_all_day,
    representative.event_location,
    representative.event_status,
    representative.is_recurring,
    representative.city_name,
    representative.geonames_id,
    representative.country_code,
    countries.geo_code,
    provenance.organiser,
    representative.source_id,
    representative.event_uid,
    provenance.document_ids,
    provenance.provenance,
    provenance.mention_count,
    provenance.has_feed_mention,
    provenance.has_report_mention,
    provenance.is_deleted,
    case when provenance.is_deleted then provenance.deleted_at end as deleted_at,
    representative.event_last_modified_at,
    provenance.first_published_at,
    provenance.last_published_at,
    provenance.is_sample
from representative
inner join provenance on representative.event_occurrence_id = provenance.event_occurrence_id
left join countries on representative.country_code = countries.iso_alpha2
