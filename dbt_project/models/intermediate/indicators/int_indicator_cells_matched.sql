-- Cells of every Eurostat source matched to the catalogue's indicators (a cell belongs to an indicator when it
-- carries all codes of the indicator's dimension filter), with the population group split out; indicators without
-- a population dimension (context indicators of the whole population) get the group TOTAL. Every source's cell is
-- kept, also where two sources publish the same one: int_indicator_observations_matched and the incremental
-- fct_indicator_observation pick the newest vintage among them (macro indicator_newest_vintage_rank), the latter
-- for the sources it rebuilds only, which a filter on `source_id` here selects before any ranking.
with observations as (
    select * from {{ ref('stg_eurostat__observations') }}
),

catalogue as (
    select * from {{ ref('indicator_catalogue') }}
),

catalogue_checksums as (
    {{ indicator_catalogue_checksums('catalogue') }}
),

matched as (
    select
        catalogue.indicator_id,
        observations.geo_code,
        observations.time_period,
        coalesce(observations.dimensions ->> catalogue.population_dimension, 'TOTAL') as population_group,
        coalesce(observations.dimensions ->> 'sex', 'T') as sex,
        coalesce(observations.dimensions ->> 'age', 'TOTAL') as age_group,
        observations.observation_value,
        observations.observation_flags,
        catalogue.unit,
        observations.dataset_code,
        observations.dataset_updated_at,
        observations.source_id,
        observations.load_id,
        observations.loaded_at,
        catalogue_checksums.catalogue_checksum
    from observations
    inner join catalogue
        on observations.dataset_code = catalogue.dataset_code
        and observations.dimensions @> catalogue.dimension_filter
    inner join catalogue_checksums
        on observations.dataset_code = catalogue_checksums.dataset_code
)

select * from matched
