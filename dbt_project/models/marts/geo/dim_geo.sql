-- One row per geo code, as int_geo_codes_unioned completes the reference seed with the codes the data uses.
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
    parent_geo_code
from geo_codes
