-- Urban Audit population counts of each geo code (cities, greater cities and the countries the files also carry),
-- one row per geo × measure × year: foreign-born residents (urb_cpopcb DE2009V), foreign citizens (urb_cpopcb
-- DE2012V) and the total population (urb_cpop1 DE1001V), annual cells only. When two sources publish the same
-- cell, the newest vintage (dataset_updated_at, then the latest load) is kept, as for the indicators.
with observations as (
    select * from {{ ref('stg_eurostat__observations') }}
),

measured as (
    select
        case
            when observations.dataset_code = 'urb_cpopcb' and observations.dimensions ->> 'indic_ur' = 'DE2009V'
                then 'foreign_born'
            when observations.dataset_code = 'urb_cpopcb' and observations.dimensions ->> 'indic_ur' = 'DE2012V'
                then 'foreign_citizens'
            when observations.dataset_code = 'urb_cpop1' and observations.dimensions ->> 'indic_ur' = 'DE1001V'
                then 'total_population'
        end as measure,
        observations.dataset_code,
        observations.dimensions ->> 'indic_ur' as indic_ur,
        observations.geo_code,
        observations.time_period,
        observations.observation_value,
        observations.observation_flags,
        observations.dataset_updated_at,
        observations.source_id,
        observations.loaded_at
    from observations
    where
        observations.dataset_code in ('urb_cpopcb', 'urb_cpop1')
        and coalesce(observations.dimensions ->> 'freq', 'A') = 'A'
        and observations.time_period ~ '^[0-9]{4}$'
),

ranked as (
    select
        *,
        row_number() over (
            partition by measure, geo_code, time_period
            order by dataset_updated_at desc nulls last, loaded_at desc nulls last, source_id asc
        ) as vintage_rank
    from measured
    where measure is not null
)

select
    geo_code,
    measure,
    dataset_code,
    indic_ur,
    time_period::integer as reference_year,
    observation_value::numeric as observation_value,
    nullif(observation_flags, '') as observation_flags,
    source_id
from ranked
where vintage_rank = 1
