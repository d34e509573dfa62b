-- One row per event × city × role: the host city of every mention, and from feed and page texts the cities
-- of speakers' organisations and other participating cities (observatory.locations). `is_sample`: only files
-- written for the project name this participation.
with mentions as (
    select * from {{ ref('int_events_mentions') }}
),

countries as (
    select * from {{ ref('int_geo_countries_by_iso_alpha2') }}
),

feed_places as (
    select
        mentions.event_occurrence_id,
        mentions.mention_kind,
        elements.place ->> 'role' as participation_role,
        elements.place ->> 'city_name' as city_name,
        (elements.place ->> 'geonames_id')::bigint as geonames_id,
        elements.place ->> 'country_code' as country_code,
        elements.place ->> 'organisation' as organisation_name,
        elements.place ->> 'resolved_from' as resolved_from,
        mentions.is_sample
    from mentions
    cross join lateral jsonb_array_elements(mentions.event_places) as elements (place)
),

report_hosts as (
    select
        event_occurrence_id,
        mention_kind,
        'host' as participation_role,
        city_name,
        geonames_id,
        country_code,
        null::text as organisation_name,
        'report' as resolved_from,
        is_sample
    from mentions
    where mention_kind = 'report' and city_name is not null
),

participations as (
    select * from feed_places
    union all
    select * from report_hosts
)

select
    md5(concat_ws(
        '|', participations.event_occurrence_id, participations.participation_role,
        coalesce(participations.geonames_id::text, lower(participations.city_name))
    )) as event_participation_id,
    participations.event_occurrence_id,
    participations.participation_role,
    min(participations.city_name) as city_name,
    participations.geonames_id,
    min(participations.country_code) as country_code,
    min(countries.geo_code) as geo_code,
    string_agg(distinct participations.organisation_name, '; ') as organisation_names,
    array_agg(distinct participations.resolved_from) as resolved_from,
    count(*) as mention_count,
    bool_and(participations.is_sample) as is_sample
from participations
left join countries on participations.country_code = countries.iso_alpha2
group by
    participations.event_occurrence_id,
    participations.participation_role,
    participations.geonames_id,
    coalesce(participations.geonames_id::text, lower(participations.city_name))
