-- Cells of every Eurostat dataset matched to the catalogue's indicators (a cell belongs to an indicator when
-- it carries all codes of the indicator's dimension filter), with the population group split out. Indicators
-- without a population dimension (context indicators of the whole population) get the group TOTAL. When two
-- sources publish the same cell, the newest vintage (dataset_updated_at, then the latest load) is kept.
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
        observations.loaded_at
    from observations
    inner join catalogue
        on observations.dataset_code = catalogue.dataset_code
        and observations.dimensions @> catalogue.dimension_filter
),

newest_vintage as (
    select
        *,
        row_number() over (
            partition by indicator_id, geo_code, time_period, population_group, sex, age_group
            order by dataset_updated_at desc nulls last, loaded_at desc nulls last, source_id asc
        ) as vintage_rank
    from matched
)

select
    indicator_id,
    geo_code,
    time_period,
    population_group,
    sex,
    age_group,
    observation_value,
    observation_flags,
    unit,
    dataset_code,
    dataset_updated_at,
    source_id,
    load_id
from newest_vintage
where vintage_rank = 1
