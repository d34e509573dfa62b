-- Every event occurrence ever published, kept across batches: raw.calendar_event holds only each source's
-- latest publication, so this incremental model is the events' history (full_refresh=false: a
-- `dbt build --full-refresh` does not wipe it).
--
-- Keyed by source × UID (delete+insert): a UID in its source's current publication replaces all its earlier
-- occurrences (an update by UID: moved, renamed, cancelled, occurrences added or excluded), unless a newer
-- version is already known (higher SEQUENCE, then later LAST-MODIFIED), which then stays. A UID that its
-- source's current publication no longer lists keeps its occurrences, marked deleted from the batch that
-- first missed it. A source with no current publication is left as it is.
-- A column added to the occurrences (on_schema_change='append_new_columns') is added to the kept history, NULL
-- in its earlier rows.
{{ config(
    materialized='incremental',
    unique_key=['source_id', 'event_uid'],
    incremental_strategy='delete+insert',
    on_schema_change='append_new_columns',
    full_refresh=false
) }}

{%- set occurrence_columns = [
    'event_occurrence_id', 'source_id', 'load_id', 'event_uid', 'event_start_utc', 'event_end_utc',
    'event_original_tzid', 'is_all_day', 'event_title', 'event_description', 'event_location', 'event_status',
    'event_sequence', 'event_last_modified_at', 'is_recurring', 'event_places', 'event_start_missing_reason'] %}
{#- a known occurrence kept as it is: its columns and its UID's version in force -#}
{%- set kept_columns = occurrence_columns + [
    'uid_sequence', 'uid_last_modified_at', 'uid_content_md5', 'uid_first_published_at', 'uid_updated_at'] %}

with published as (
    select * from {{ ref('stg_events__calendar_events') }}
),

published_versions as (
    select
        source_id,
        event_uid,
        max(event_sequence) as uid_sequence,
        coalesce(max(event_last_modified_at), '-infinity') as uid_last_modified_at,
        md5(string_agg(
            concat_ws(
                '|', event_start_utc, event_end_utc, event_original_tzid, event_title, event_description,
                event_location, event_status, event_places::text, event_start_missing_reason
            ),
            '~' order by event_start_utc
        )) as uid_content_md5,
        max(loaded_at) as published_at
    from published
    group by source_id, event_uid
),

{% if is_incremental() %}
    known as (
        select * from {{ this }}
    ),

    known_versions as (
        select distinct on (source_id, event_uid)
            source_id,
            event_uid,
            uid_sequence,
            uid_last_modified_at,
            uid_content_md5,
            uid_first_published_at,
            uid_updated_at
        from known
    ),

    source_publications as (
        select
            source_id,
            max(published_at) as published_at
        from published_versions
        group by source_id
    ),

{% endif %}
current_version as (
    select
        {% for column in occurrence_columns %}published.{{ column }},
        {% endfor %}versions.uid_sequence,
        versions.uid_last_modified_at,
        versions.uid_content_md5,
        {% if is_incremental() %}
            coalesce(known_versions.uid_first_published_at, versions.published_at) as uid_first_published_at,
            case when known_versions.uid_content_md5 = versions.uid_content_md5 then known_versions.uid_updated_at
                else versions.published_at
            end as uid_updated_at,
        {% else %}
            versions.published_at as uid_first_published_at,
            versions.published_at as uid_updated_at,
        {% endif %}
        versions.published_at as uid_last_published_at,
        false as is_deleted,
        null::timestamptz as deleted_at
    from published
    inner join published_versions as versions
        on published.source_id = versions.source_id and published.event_uid = versions.event_uid
    {% if is_incremental() %}
        left join known_versions
            on published.source_id = known_versions.source_id and published.event_uid = known_versions.event_uid
        where known_versions.event_uid is null
            or (versions.uid_sequence, versions.uid_last_modified_at)
            >= (known_versions.uid_sequence, known_versions.uid_last_modified_at)
    {% endif %}
)

{% if is_incremental() %}
    ,

    older_version_republished as (
        select
            {% for column in kept_columns %}known.{{ column }},
            {% endfor %}versions.published_at as uid_last_published_at,
            false as is_deleted,
            null::timestamptz as deleted_at
        from known
        inner join published_versions as versions
            on known.source_id = versions.source_id and known.event_uid = versions.event_uid
        where (versions.uid_sequence, versions.uid_last_modified_at)
            < (known.uid_sequence, known.uid_last_modified_at)
    ),

    withdrawn as (
        select
            {% for column in kept_columns %}known.{{ column }},
            {% endfor %}known.uid_last_published_at,
            true as is_deleted,
            source_publications.published_at as deleted_at
        from known
        inner join source_publications on known.source_id = source_publications.source_id
        left join published_versions as versions
            on known.source_id = versions.source_id and known.event_uid = versions.event_uid
        where versions.event_uid is null and not known.is_deleted
    )

    select * from current_version
    union all
    select * from older_version_republished
    union all
    select * from withdrawn
{% else %}

    select * from current_version
{% endif %}
