-- The Eurostat geo code of each ISO 3166-1 alpha-2 country code (GR is EL, GB is UK): the one place where a
-- source's country code is mapped to dim_geo. Countries without an alpha-2 code have nothing to match.
with geo as (
    select * from {{ ref('dim_geo') }}
)

select
    iso_alpha2,
    geo_code
from geo
where geo_level = 'country' and iso_alpha2 is not null
