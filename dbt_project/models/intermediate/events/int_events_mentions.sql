-- Every mention of an event: each feed or page occurrence ever published (with its history) and each event a
-- report names, on local dates, with its host city and the merged event it belongs to; `is_sample` when its feed or
-- page entry reads a file written for the project (a report mention is a published text: reports entries cannot be
-- samples, see config.registry). Two mentions are one
-- event when their titles, local start dates and host cities agree after normalisation (lower case, accents
-- and punctuation dropped; the city by GeoNames id, else by name). A mention without a host city, or a feed
-- occurrence without a start (its reason in `event_start_missing_reason`, its start date NULL), is an event of
-- its own.
with occurrences as (
    select * from {{ ref('int_events_occurrences_tracked') }}
),

report_events as (
    select distinct
        document_id,
        event_title,
        start_date,
        end_date,
        city_name,
        geonames_id,
        country_code,
        organiser
    from {{ ref('int_report_events') }}
),

registry_entries as (
    select * from {{ ref('stg_audit__registry_entries') }}
),

zones as (
    select name as zone_name from pg_timezone_names
),

feed_mentions as (
    select
        'feed' as mention_kind,
        occurrences.event_occurrence_id as mention_id,
        occurrences.source_id,
        occurrences.event_uid,
        null::text as document_id,
        occurrences.event_title,
        occurrences.event_start_utc,
        occurrences.event_end_utc,
        occurrences.event_start_missing_reason,
        occurrences.event_original_tzid,
        occurrences.is_all_day,
        occurrences.event_location,
        occurrences.event_status,
        occurrences.is_recurring,
        occurrences.event_last_modified_at,
        host.place ->> 'city_name' as city_name,
        (host.place ->> 'geonames_id')::bigint as geonames_id,
        host.place ->> 'country_code' as country_code,
        coalesce(tzid.zone_name, host.place ->> 'timezone', 'UTC') as local_zone,
        occurrences.event_places,
        null::text as organiser,
        occurrences.is_deleted,
        occurrences.deleted_at,
        occurrences.uid_first_published_at as first_published_at,
        occurrences.uid_last_published_at as last_published_at
    from occurrences
    left join zones as tzid on occurrences.event_original_tzid = tzid.zone_name
    left join lateral (
        select elements.place from jsonb_array_elements(occurrences.event_places) as elements (place)
        where elements.place ->> 'role' = 'host'
        limit 1
    ) as host on true
),

feed_dated as (
    select
        *,
        (event_start_utc at time zone local_zone)::date as event_start_date,
        greatest(
            (event_start_utc at time zone local_zone)::date,
            -- an all-day event ends at midnight after its last day
            ((
                event_end_utc at time zone local_zone) - case when is_all_day then interval '1 second'
                else interval '0'
            end)::date
        ) as event_end_date
    from feed_mentions
),

report_mentions as (
    select
        'report' as mention_kind,
        md5(concat_ws('|', 'report', document_id, event_title, start_date, end_date, city_name, organiser))
            as mention_id,
        null::text as source_id,
        null::text as event_uid,
        document_id,
        event_title,
        null::timestamptz as event_start_utc,
        null::timestamptz as event_end_utc,
        null::text as event_start_missing_reason,
        null::text as event_original_tzid,
        null::boolean as is_all_day,
        null::text as event_location,
        null::text as event_status,
        false as is_recurring,
        null::timestamptz as event_last_modified_at,
        city_name,
        geonames_id,
        country_code,
        null::text as local_zone,
        '[]'::jsonb as event_places,
        organiser,
        false as is_deleted,
        null::timestamptz as deleted_at,
        null::timestamptz as first_published_at,
        null::timestamptz as last_published_at,
        start_date as event_start_date,
        end_date as event_end_date
    from report_events
),

mentions as (
    select * from feed_dated
    union all
    select * from report_mentions
),

normalised as (
    select
        *,
        trim(regexp_replace(
            translate(
                lower(event_title),
                'áàâäãåāăąçćčďđéèêëēėęěíìîïīįıłĺľñńňóòôöõøōőŕřśšşßťţúùûüūůűųýÿźżž'
                || 'ÁÀÂÄÃÅĀĂĄÇĆČĎĐÉÈÊËĒĖĘĚÍÌÎÏĪĮŁĹĽÑŃŇÓÒÔÖÕØŌŐŔŘŚŠŞŤŢÚÙÛÜŪŮŰŲÝŸŹŻŽ',
                'aaaaaaaaacccddeeeeeeeeiiiiiiilllnnnoooooooorrssssttuuuuuuuuyyzzz'
                || 'aaaaaaaaacccddeeeeeeeeiiiiiilllnnnoooooooorrsssttuuuuuuuuyyzzz'
            ),
            '[^a-z0-9]+', ' ', 'g'
        )) as title_key,
        coalesce(geonames_id::text, nullif(lower(trim(city_name)), '')) as city_key
    from mentions
)

select
    case
        when normalised.city_key is null or normalised.event_start_missing_reason is not null then normalised.mention_id
        else md5(concat_ws('|', 'event', normalised.title_key, normalised.event_start_date, normalised.city_key))
    end as event_occurrence_id,
    normalised.*,
    case
        when normalised.mention_kind = 'report' then false
        else registry_entries.is_sample
    end as is_sample
from normalised
left join registry_entries on normalised.source_id = registry_entries.source_id
