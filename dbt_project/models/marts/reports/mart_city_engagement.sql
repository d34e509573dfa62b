-- Per GeoNames city: how many reports mention it, how many events the reports place there, and its part in the
-- events of fct_event by role (host, participant, speaker's organisation). fct_event already merges the feed,
-- page and report mentions of one event into one row, so counting its ids counts an event once, however many
-- sources name it; occurrences their feed withdrew and cancelled ones are not engagement and do not count.
-- An event without a start (fct_event.event_start_missing_reason) counts in the counts, which need no date, and
-- is left out of first_event_date / last_event_date, which do; undated_event_count says how many.
with city_facts as (
    select * from {{ ref('fct_report_fact') }}
    where kind = 'city' and geonames_id is not null
),

report_events as (
    select * from {{ ref('int_report_events') }}
    where geonames_id is not null
),

participations as (
    select * from {{ ref('fct_event_participation') }}
    where geonames_id is not null
),

events as (
    select * from {{ ref('fct_event') }}
),

countries as (
    select * from {{ ref('int_geo_countries_by_iso_alpha2') }}
),

mentions as (
    select
        geonames_id,
        count(distinct document_id) as document_count,
        count(*) as mention_count
    from city_facts
    group by geonames_id
),

report_event_spans as (
    select distinct
        geonames_id,
        start_date,
        end_date
    from report_events
),

report_event_dates as (
    select
        geonames_id,
        count(*) as report_event_count,
        min(start_date) as first_report_event_date,
        max(end_date) as last_report_event_date
    from report_event_spans
    group by geonames_id
),

engagements as (
    select
        participations.geonames_id,
        participations.city_name,
        participations.country_code,
        participations.participation_role,
        participations.event_occurrence_id,
        events.event_start_date,
        coalesce(events.event_end_date, events.event_start_date) as event_end_date,
        events.event_start_missing_reason,
        participations.is_sample
    from participations
    inner join events on participations.event_occurrence_id = events.event_occurrence_id
    where
        not events.is_deleted
        and events.event_status is distinct from 'CANCELLED'
),

event_counts as (
    select
        geonames_id,
        count(distinct event_occurrence_id) as event_count,
        count(distinct event_occurrence_id) filter (where participation_role = 'host') as hosted_event_count,
        count(distinct event_occurrence_id) filter (
            where participation_role = 'participant'
        ) as participant_event_count,
        count(distinct event_occurrence_id) filter (
            where participation_role = 'speaker_organisation'
        ) as speaker_organisation_event_count,
        min(event_start_date) filter (where event_start_missing_reason is null) as first_event_date,
        max(event_end_date) filter (where event_start_missing_reason is null) as last_event_date,
        count(distinct event_occurrence_id) filter (
            where event_start_missing_reason is not null
        ) as undated_event_count,
        count(distinct event_occurrence_id) filter (where is_sample) as sample_event_count
    from engagements
    group by geonames_id
),

named as (
    select
        geonames_id,
        name as city_name,
        country_code
    from city_facts
    union all
    select
        geonames_id,
        city_name,
        country_code
    from report_events
    union all
    select
        geonames_id,
        city_name,
        country_code
    from engagements
),

cities as (
    select
        geonames_id,
        min(city_name) as city_name,
        min(country_code) as country_code
    from named
    group by geonames_id
)

select
    cities.geonames_id,
    cities.city_name,
    cities.country_code,
    countries.geo_code,
    coalesce(mentions.document_count, 0) as document_count,
    coalesce(mentions.mention_count, 0) as mention_count,
    coalesce(report_event_dates.report_event_count, 0) as report_event_count,
    report_event_dates.first_report_event_date,
    report_event_dates.last_report_event_date,
    coalesce(event_counts.event_count, 0) as event_count,
    coalesce(event_counts.hosted_event_count, 0) as hosted_event_count,
    coalesce(event_counts.participant_event_count, 0) as participant_event_count,
    coalesce(event_counts.speaker_organisation_event_count, 0) as speaker_organisation_event_count,
    event_counts.first_event_date,
    event_counts.last_event_date,
    coalesce(event_counts.undated_event_count, 0) as undated_event_count,
    coalesce(event_counts.sample_event_count, 0) as sample_event_count,
    coalesce(event_counts.sample_event_count, 0) > 0 as includes_sample
from cities
left join mentions on cities.geonames_id = mentions.geonames_id
left join report_event_dates on cities.geonames_id = report_event_dates.geonames_id
left join event_counts on cities.geonames_id = event_counts.geonames_id
left join countries on cities.country_code = countries.iso_alpha2
