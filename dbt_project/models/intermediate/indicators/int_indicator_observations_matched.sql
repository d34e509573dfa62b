-- One row per indicator × geo × period × group × sex × age: the cells of int_indicator_cells_matched where, when two
-- sources publish the same cell, the newest vintage (dataset_updated_at, then the latest load) is kept.
with cells as (
    select * from {{ ref('int_indicator_cells_matched') }}
),

newest_vintage as (
    select
        *,
        {{ indicator_newest_vintage_rank() }} as vintage_rank
    from cells
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
