-- The Eurostat geo code of each ISO 3166-1 alpha-2 country code (GR is EL, GB is UK): the one place where a
-- source's country code is mapped to dim_geo. Built from the geo codes dim_geo publishes (int_geo_codes_unioned:
-- the geo_reference seed and the codes of stg_eurostat__observations), not from the mart, so dependencies flow from
-- intermediate to marts only. Countries without an alpha-2 code have nothing to match.
with geo_codes as (
    select * from {{ ref('int_geo_codes_unioned') }}
)

select
    iso_alpha2,
    geo_code
from geo_codes
where geo_level = 'country' and iso_alpha2 is not null
