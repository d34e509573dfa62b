-- Every geo code: the aggregates and countries of the reference seed, the NUTS 2021 regions of levels 1 and 2,
-- the Urban Audit cities and greater cities, plus any code the Eurostat data uses that none of them has (level
-- unknown). dim_geo publishes it; int_geo_countries_by_iso_alpha2 maps country codes with it.
with reference as (
    select * from {{ ref('geo_reference') }}
),

nuts as (
    select * from {{ ref('nuts_2021_regions') }}
),

cities as (
    select * from {{ ref('urban_audit_cities') }}
),

seen as (
    select distinct geo_code from {{ ref('stg_eurostat__observations') }}
),

countries_and_aggregates as (
    select
        geo_code,
        nullif(iso_alpha2, '') as iso_alpha2,
        nullif(iso_alpha3, '') as iso_alpha3,
        geo_name,
        geo_level,
        is_eu_member,
        nullif(parent_geo_code, '') as parent_geo_code,
        case when geo_level = 'country' then geo_code end as country_code,
        null::text as nuts2_code,
        null::bigint as geonames_id
    from reference
),

regions as (
    select
        nuts_code as geo_code,
        null::text as iso_alpha2,
        null::text as iso_alpha3,
        nuts_name as geo_name,
        'nuts' || nuts_level as geo_level,
        false as is_eu_member,
        nullif(parent_nuts_code, '') as parent_geo_code,
        country_code,
        case when nuts_level = 2 then nuts_code end as nuts2_code,
        null::bigint as geonames_id
    from nuts
    where nuts_level in (1, 2)
),

urban_audit as (
    select
        geo_code,
        null::text as iso_alpha2,
        null::text as iso_alpha3,
        city_label as geo_name,
        geo_level,
        false as is_eu_member,
        country_code as parent_geo_code,
        country_code,
        nullif(nuts2_code, '') as nuts2_code,
        geonames_id::bigint as geonames_id
    from cities
),

known as (
    select * from countries_and_aggregates
    union all
    select * from regions
    union all
    select * from urban_audit
),

unseen as (
    select
        seen.geo_code,
        null::text as iso_alpha2,
        null::text as iso_alpha3,
        seen.geo_code as geo_name,
        'unknown' as geo_level,
        null::boolean as is_eu_member,
        null::text as parent_geo_code,
        null::text as country_code,
        null::text as nuts2_code,
        null::bigint as geonames_id
    from seen
    left join known on seen.geo_code = known.geo_code
    where known.geo_code is null
)

select * from known
union all
select * from unseen
