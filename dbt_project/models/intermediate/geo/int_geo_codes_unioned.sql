-- Every geo code: the known codes of the reference seed, plus any code the Eurostat data uses that the seed lacks
-- (level unknown). dim_geo publishes it; int_geo_countries_by_iso_alpha2 maps country codes with it.
with reference as (
    select * from {{ ref('geo_reference') }}
),

seen as (
    select distinct geo_code from {{ ref('stg_eurostat__observations') }}
),

unseen as (
    select
        seen.geo_code,
        null::text as iso_alpha2,
        null::text as iso_alpha3,
        seen.geo_code as geo_name,
        'unknown' as geo_level,
        null::boolean as is_eu_member,
        null::text as parent_geo_code
    from seen
    left join reference on seen.geo_code = reference.geo_code
    where reference.geo_code is null
)

select
    geo_code,
    nullif(iso_alpha2, '') as iso_alpha2,
    nullif(iso_alpha3, '') as iso_alpha3,
    geo_name,
    geo_level,
    is_eu_member,
    nullif(parent_geo_code, '') as parent_geo_code
from reference
union all
select * from unseen
