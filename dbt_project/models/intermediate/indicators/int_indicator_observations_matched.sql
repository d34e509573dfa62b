-- Cells of every Eurostat dataset matched to the catalogue's indicators (a cell belongs to an indicator when
-- it carries all codes of the indicator's dimension filter), with the population group split out.
with observations as (
    select * from {{ ref('stg_eurostat__observations') }}
),

catalogue as (
    select * from {{ ref('indicator_catalogue') }}
),

matched as (
    select
        catalogue.indicator_id,
        observations.geo_code,
        observations.time_period,
        observations.dimensions ->> catalogue.population_dimension as population_group,
        coalesce(observations.dimensions ->> 'sex', 'T') as sex,
        coalesce(observations.dimensions ->> 'age', 'TOTAL') as age_group,
        observations.observation_value,
        observations.observation_flags,
        catalogue.unit,
        observations.dataset_code,
        observations.dataset_updated_at,
        observations.source_id,
        observations.load_id
    from observations
    inner join catalogue
        on observations.dataset_code = catalogue.dataset_code
        and observations.dimensions @> catalogue.dimension_filter
)

select * from matched
