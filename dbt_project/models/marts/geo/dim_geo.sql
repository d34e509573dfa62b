-- One row per geo code, as int_geo_codes_unioned puts together the reference seed (aggregates, countries), the
-- NUTS 2021 regions of levels 1 and 2, the Urban Audit cities and greater cities, and the codes the data uses.
with geo_codes as (
    select * from {{ ref('int_geo_codes_unioned') }}
)

select
    geo_code,
    iso_alpha2,
    iso_alpha3,
    geo_name,
    geo_level,
    is_eu_member,
    parent_geo_code,
    country_code,
    nuts2_code,
    geonames_id
from geo_codes
