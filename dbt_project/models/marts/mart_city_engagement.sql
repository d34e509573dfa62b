-- Per GeoNames city: how many reports mention it and how many events the reports place there.
with city_facts as (
    select * from {{ ref('fct_report_fact') }}
    where kind = 'city' and geonames_id is not null
),

report_events as (
    select * from {{ ref('int_report_events') }}
    where geonames_id is not null
),

countries as (
    select
        geo_code,
        iso_alpha2
    from {{ ref('dim_geo') }}
    where geo_level = 'country'
),

mentions as (
    select
        geonames_id,
        count(distinct document_id) as document_count,
        count(*) as mention_count
    from city_facts
    group by geonames_id
),

hosted as (
    select
        geonames_id,
        count(distinct (start_date, end_date)) as report_event_count,
        min(start_date) as first_report_event_date,
        max(end_date) as last_report_event_date
    from report_events
    group by geonames_id
),

cities as (
    select distinct on (geonames_id)
        geonames_id,
        city_name,
        country_code
    from (
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
    ) as named
    order by geonames_id, city_name
)

select
    cities.geonames_id,
    cities.city_name,
    cities.country_code,
    countries.geo_code,
    coalesce(mentions.document_count, 0) as document_count,
    coalesce(mentions.mention_count, 0) as mention_count,
    coalesce(hosted.report_event_count, 0) as report_event_count,
    hosted.first_report_event_date,
    hosted.last_report_event_date
from cities
left join mentions on cities.geonames_id = mentions.geonames_id
left join hosted on cities.geonames_id = hosted.geonames_id
left join countries on cities.country_code = countries.iso_alpha2
